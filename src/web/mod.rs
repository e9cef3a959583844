//! The HTTP toolkit every page and API module shares, and nothing domain-specific: page
//! rendering, the error page, CSRF, security headers, CORS, redirects, request parameters,
//! bearer tokens and where a request came from. A leaf: it imports no other module of
//! Porta's but `db` and `crypto`.

pub mod bearer;
pub mod csrf;
pub mod error;
pub mod params;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

pub use error::PageError;
pub use params::Params;

/// The security headers every response carries (unless a handler set its own), with
/// `Strict-Transport-Security` when `hsts_max_age` is given.
pub fn security_headers(hsts_max_age: Option<i64>) -> actix_web::middleware::DefaultHeaders {
    let headers = actix_web::middleware::DefaultHeaders::new();
    let headers = match hsts_max_age {
        Some(age) if age > 0 => {
            headers.add((header::STRICT_TRANSPORT_SECURITY, format!("max-age={age}")))
        }
        _ => headers,
    };
    headers
        .add((
            header::CONTENT_SECURITY_POLICY,
            // No scripts needed; no framing (clickjacking on sign-in and consent).
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
             img-src 'self' data:; frame-ancestors 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// CORS for endpoints browser apps call directly (no cookies: any origin, no credentials).
pub fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600)
}

/// Renders an askama page with `status`; pages are never cached (they carry CSRF tokens
/// and personal data).
pub fn render<T: Template>(status: actix_web::http::StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("Internal error")
        }
    }
}

/// A 303 redirect to `location` (after a form POST the browser must switch to GET).
pub fn see_other(location: &str) -> HttpResponse {
    redirect(actix_web::http::StatusCode::SEE_OTHER, location)
}

/// A 302 redirect to `location`, never cached.
pub fn found(location: &str) -> HttpResponse {
    redirect(actix_web::http::StatusCode::FOUND, location)
}

fn redirect(status: actix_web::http::StatusCode, location: &str) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    match HeaderValue::from_str(location) {
        Ok(v) => resp.insert_header((header::LOCATION, v)).finish(),
        Err(_) => HttpResponse::BadRequest().body("invalid redirect"),
    }
}

/// True when the request body is a form: its media type (parameters aside) is
/// `application/x-www-form-urlencoded`, in any letter case.
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The client's IP: the peer's, or with `trust_proxy` the one the proxy forwarded.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy {
        req.connection_info()
            .realip_remote_addr()
            .map(|a| {
                // "1.2.3.4", "1.2.3.4:5678", "[::1]:5678" or "::1": keep the address only.
                a.parse::<std::net::SocketAddr>()
                    .map(|s| s.ip())
                    .or_else(|_| a.trim_matches(['[', ']']).parse::<std::net::IpAddr>())
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|_| a.to_string())
            })
            .unwrap_or_default()
    } else {
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }
}

/// The user agent, at most 300 characters.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}
