//! OAuth 2.0: the authorization, token, introspection and revocation endpoints, consent,
//! codes and refresh tokens. The only domain that imports oxide-auth.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod error;
pub mod introspect;
pub mod params;
pub mod registrar;
pub mod store;
pub mod token;
pub mod tokens;

use actix_web::web;

pub use error::OAuthError;

/// Mounts the OAuth routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorize", web::get().to(authorize::authorize))
        .route("/authorize", web::post().to(authorize::authorize))
        .route("/authorize/resume", web::get().to(authorize::resume))
        .route("/consent", web::get().to(consent::show_consent))
        .route("/consent", web::post().to(consent::submit_consent))
        .route("/token", web::post().to(token::token))
        .route("/introspect", web::post().to(introspect::introspect))
        .route("/revoke", web::post().to(introspect::revoke));
}
