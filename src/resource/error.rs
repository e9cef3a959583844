//! API errors: RFC 6750 for token problems, the same JSON shape for everything else.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::web::bearer;

/// Why an API request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token at all: 401 with a bare challenge (RFC 6750 3.1).
    #[error("no bearer token")]
    NoToken,
    /// The token is expired, revoked, malformed or not for this API: 401 `invalid_token`.
    #[error("{0}")]
    InvalidToken(String),
    /// The token lacks a scope: 403 `insufficient_scope` naming the scope.
    #[error("this needs the {0} scope")]
    InsufficientScope(String),
    /// The caller may not do this (a role, or a state rule): 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 403 `premium_required`: a premium item, and no active subscription (the expired one,
    /// if any, is named in the answer's `subscription`).
    #[error("{0}")]
    PremiumRequired(String, Option<super::Subscription>),
    /// 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// 404 `not_found`; also answers for other people's records, so ids cannot be probed.
    #[error("{0}")]
    NotFound(String),
    /// 409 `conflict`: the request clashes with the current state (a taken slot, say).
    #[error("{0}")]
    Conflict(String),
    /// 413 `request_rejected`: an upload larger than the limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415 `unsupported_media_type`: an upload of a type this endpoint does not take.
    #[error("{0}")]
    UnsupportedType(String),
    /// 429 `too_many_requests` with `Retry-After` (seconds): a per-person allowance is used up.
    #[error("{0}")]
    TooMany(String, u64),
    /// The issuer could not be reached to check the token: 503 `temporarily_unavailable`.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `server_error`; the detail is logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(cause = %e, "database unavailable");
            ApiError::Unavailable("the database is busy; try again".into())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        // SQLite's lock held past the wait, or PostgreSQL restarting: the request may
        // simply be tried again, which is a 503, not a failure of ours.
        if crate::db::is_unavailable(&e) {
            ApiError::Unavailable("the database is busy; try again".into())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NoToken | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_)
            | ApiError::Forbidden(_)
            | ApiError::PremiumRequired(..) => StatusCode::FORBIDDEN,
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooMany(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        let (code, description) = match self {
            ApiError::NoToken => {
                resp.insert_header((header::WWW_AUTHENTICATE, bearer::challenge(None, &[])));
                ("invalid_request", "a bearer token is required".to_string())
            }
            ApiError::InvalidToken(why) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    bearer::challenge(
                        None,
                        &[("error", "invalid_token"), ("error_description", why)],
                    ),
                ));
                ("invalid_token", why.clone())
            }
            ApiError::InsufficientScope(scope) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    bearer::challenge(None, &[("error", "insufficient_scope"), ("scope", scope)]),
                ));
                ("insufficient_scope", self.to_string())
            }
            ApiError::Forbidden(why) => ("forbidden", why.clone()),
            ApiError::PremiumRequired(why, subscription) => {
                return resp.json(json!({
                    "error": "premium_required",
                    "error_description": why,
                    "subscription": subscription.as_ref().map(|s| json!({
                        "plan": s.plan,
                        "expires_at": s.expires_at,
                        "active": false,
                    })),
                }));
            }
            ApiError::InvalidRequest(why) => ("invalid_request", why.clone()),
            ApiError::NotFound(why) => ("not_found", why.clone()),
            ApiError::Conflict(why) => ("conflict", why.clone()),
            ApiError::TooLarge(why) => ("request_rejected", why.clone()),
            ApiError::UnsupportedType(why) => ("unsupported_media_type", why.clone()),
            ApiError::TooMany(why, retry_after) => {
                resp.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                ("too_many_requests", why.clone())
            }
            ApiError::Unavailable(why) => {
                resp.insert_header((header::RETRY_AFTER, "2"));
                ("temporarily_unavailable", why.clone())
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "API request failed");
                (
                    "server_error",
                    "something went wrong on our side".to_string(),
                )
            }
        };
        resp.json(json!({ "error": code, "error_description": description }))
    }
}
