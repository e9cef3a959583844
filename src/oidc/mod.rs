//! OpenID Connect: discovery documents, the JWKS, userinfo and RP-initiated logout.

pub mod discovery;
pub mod logout;
pub mod userinfo;

use actix_web::web;

/// Mounts the OpenID Connect routes. Metadata and keys allow cross-origin reads from
/// anywhere; userinfo from the web origins of the token's client; logout is a page and
/// does not.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let open = |path: &str| web::resource(path.to_string()).wrap(crate::web::cors());
    cfg.service(
        open("/.well-known/openid-configuration")
            .route(web::get().to(discovery::openid_configuration)),
    )
    .service(
        open("/.well-known/oauth-authorization-server")
            .route(web::get().to(discovery::oauth_metadata)),
    )
    .service(open("/jwks").route(web::get().to(discovery::jwks)))
    .service(
        web::resource("/userinfo")
            .wrap(actix_web::middleware::from_fn(crate::web::client_cors))
            .route(web::get().to(userinfo::userinfo))
            .route(web::post().to(userinfo::userinfo)),
    )
    .route("/logout", web::get().to(logout::end_session))
    .route("/logout", web::post().to(logout::end_session));
}
