//! The error page: what a browser sees when a request cannot go on.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;

/// The error page template.
#[derive(Template)]
#[template(path = "web/error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// An error shown to a person as a page. The message is safe to show; causes of 500s are
/// logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("too many attempts")]
    TooMany(i64),
    /// The database (or another dependency) is out of reach for a moment: 503.
    #[error("temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            PageError::Unavailable(e.to_string())
        } else {
            PageError::Internal(e.to_string())
        }
    }
}

impl From<crate::crypto::Busy> for PageError {
    fn from(e: crate::crypto::Busy) -> Self {
        PageError::Unavailable(e.to_string())
    }
}

impl PageError {
    /// The error page with a `Retry-After` of `seconds`.
    fn page_with_retry(&self, title: &str, message: &str, seconds: i64) -> HttpResponse {
        let mut resp = super::render(self.status_code(), &ErrorPage { title, message });
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string()) {
            resp.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        use crate::i18n::{t, t1};
        let (title, message) = match self {
            PageError::BadRequest(m) => (t("error-bad-request-title"), m.clone()),
            PageError::Forbidden(m) => (t("error-forbidden-title"), m.clone()),
            PageError::NotFound(m) => (t("error-not-found-title"), m.clone()),
            PageError::TooMany(seconds) => {
                let message = t1("error-too-many-failures", "seconds", seconds);
                return self.page_with_retry(&t("error-slow-down-title"), &message, *seconds);
            }
            PageError::Unavailable(cause) => {
                tracing::warn!(%cause, "temporarily unavailable");
                return self.page_with_retry(&t("error-busy-title"), &t("error-busy-message"), 2);
            }
            PageError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (t("error-internal-title"), t("error-internal-message"))
            }
        };
        super::render(
            self.status_code(),
            &ErrorPage {
                title: &title,
                message: &message,
            },
        )
    }
}
