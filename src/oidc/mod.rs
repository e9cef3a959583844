//! OpenID Connect: discovery documents, the JWKS, userinfo and RP-initiated logout.

pub mod discovery;
pub mod logout;
pub mod userinfo;

use actix_web::web;

/// Mounts the OpenID Connect routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery::openid_configuration),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(discovery::oauth_metadata),
    )
    .route("/jwks", web::get().to(discovery::jwks))
    .route("/userinfo", web::get().to(userinfo::userinfo))
    .route("/userinfo", web::post().to(userinfo::userinfo))
    .route("/logout", web::get().to(logout::end_session))
    .route("/logout", web::post().to(logout::end_session));
}
