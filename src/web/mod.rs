//! The HTTP frame shared by every domain: application state, error pages, CSRF,
//! security headers and page rendering.

pub mod csrf;
pub mod error;

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::DbPool;
use crate::keys::KeyRing;

pub use error::PageError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: DbPool,
    pub keys: KeyRing,
    pub master: MasterKey,
    pub demo: Option<Arc<crate::demo::DemoConfig>>,
    /// The discovery document, rendered once at start.
    pub discovery_json: String,
    /// Recently read clients.
    pub clients: Arc<crate::clients::ClientCache>,
    /// Email (and SMS) delivery.
    pub notifier: Arc<crate::notify::Notifier>,
    /// The resource-server parts served beside the identity provider.
    pub apis: crate::app::Apis,
}

impl AppState {
    /// Secure, `__Host-` cookies when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.settings.secure_cookies()
    }

    /// A registered client (briefly cached; see `ClientCache`).
    pub async fn client(
        &self,
        id: String,
    ) -> Result<Option<crate::clients::Client>, crate::db::DbError> {
        self.clients.get(&self.pool, id).await
    }

    /// An absolute URL on this issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.server.issuer, path)
    }
}

/// The security headers every response carries (unless a handler set its own).
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
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

/// Where a request came from: the peer's IP (or the proxy's forwarded one when
/// `trust_proxy_headers` is on) and the user agent.
pub fn origin(req: &HttpRequest, settings: &crate::config::Settings) -> crate::audit::Origin {
    let ip = if settings.server.trust_proxy_headers {
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
    };
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    crate::audit::Origin { ip, user_agent }
}
