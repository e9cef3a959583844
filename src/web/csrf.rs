//! CSRF protection for forms: a random token in a cookie that must come back in the form
//! (double submit). The cookie is HttpOnly and SameSite=Lax, so another site can neither
//! read it nor send it with a cross-site POST.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::crypto;

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-porta_csrf"
    } else {
        "porta_csrf"
    }
}

/// The browser's CSRF token, and a cookie to set when it had none yet.
pub fn token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(cookie_name(secure)) {
        if c.value().len() >= 32 {
            return (c.value().to_string(), None);
        }
    }
    let value = crypto::random_token(32);
    let cookie = Cookie::build(cookie_name(secure), value.clone())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    (value, Some(cookie))
}

/// True when the form's token matches the cookie.
pub fn verify(req: &HttpRequest, secure: bool, submitted: &str) -> bool {
    match req.cookie(cookie_name(secure)) {
        Some(c) => !submitted.is_empty() && crypto::constant_time_eq(c.value(), submitted),
        None => false,
    }
}

/// `verify`, as the error every form answers when it fails.
pub fn require(req: &HttpRequest, secure: bool, submitted: &str) -> Result<(), super::PageError> {
    if verify(req, secure, submitted) {
        Ok(())
    } else {
        Err(super::PageError::Forbidden(crate::i18n::t(
            "error-form-expired",
        )))
    }
}

/// Renders a page that carries a form: `build` gets the browser's CSRF token (a new one,
/// set as a cookie, when the browser has none yet).
pub fn page<T: askama::Template>(
    req: &HttpRequest,
    secure: bool,
    status: actix_web::http::StatusCode,
    build: impl FnOnce(String) -> T,
) -> actix_web::HttpResponse {
    let (token, cookie) = token(req, secure);
    let mut resp = super::render(status, &build(token));
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    resp
}
