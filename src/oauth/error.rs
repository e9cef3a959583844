//! OAuth error answers: RFC 6749 5.2 JSON from the token, introspection and revocation
//! endpoints, RFC 6750 from protected resources.

use crate::web::bearer;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;

/// The realm of Porta's own bearer challenges.
const REALM: &str = "porta";

/// An error a protocol endpoint answers as JSON.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// `WWW-Authenticate` value, for 401 answers.
    pub challenge: Option<String>,
    /// `Retry-After` seconds, for 429 answers.
    pub retry_after: Option<i64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            challenge: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    /// Failed client authentication: 401 with a Basic challenge (RFC 6749 5.2).
    pub fn invalid_client(d: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: d.into(),
            challenge: Some("Basic realm=\"porta\", charset=\"UTF-8\"".into()),
            retry_after: None,
        }
    }

    /// A bad bearer token at a protected resource (RFC 6750 3.1).
    pub fn invalid_token(d: impl Into<String>) -> Self {
        let description = d.into();
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            challenge: Some(bearer::challenge(
                Some(REALM),
                &[
                    ("error", "invalid_token"),
                    ("error_description", &description),
                ],
            )),
            description,
            retry_after: None,
        }
    }

    /// A request without any bearer token: a bare challenge (RFC 6750 3.1).
    pub fn missing_token() -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_request",
            description: "a bearer token is required".into(),
            challenge: Some(bearer::challenge(Some(REALM), &[])),
            retry_after: None,
        }
    }

    pub fn insufficient_scope(scope: &str) -> Self {
        OAuthError {
            status: StatusCode::FORBIDDEN,
            error: "insufficient_scope",
            description: format!("the token lacks the {scope} scope"),
            challenge: Some(bearer::challenge(
                Some(REALM),
                &[("error", "insufficient_scope"), ("scope", scope)],
            )),
            retry_after: None,
        }
    }

    /// 503 `temporarily_unavailable` + Retry-After: the database is out of reach for a
    /// moment (restarting, or SQLite's write lock held past the wait).
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "temporarily unavailable at a protocol endpoint");
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the server is busy for a moment; try again".into(),
            challenge: None,
            retry_after: Some(2),
        }
    }

    pub fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "server error at a protocol endpoint");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the server could not complete the request".into(),
            challenge: None,
            retry_after: None,
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl From<DbError> for OAuthError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            OAuthError::unavailable(e)
        } else {
            OAuthError::server_error(e)
        }
    }
}

/// RFC 6749 5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E; anything
/// else (a client's own bytes echoed back) becomes `?`.
pub fn description_charset(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(seconds) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = &self.challenge {
            resp.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        resp.json(Body {
            error: self.error,
            error_description: &description_charset(&self.description),
        })
    }
}
