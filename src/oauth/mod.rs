//! OAuth 2.0 endpoints: authorization, consent, token, introspection and revocation. The
//! only module that imports oxide-auth; what the grants are and how tokens are minted live
//! below it, in `grants` and `tokens`.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod error;
pub mod handoff;
pub mod introspect;
pub mod registrar;
pub mod token;

use actix_web::web;

pub use error::OAuthError;

/// Mounts the OAuth routes. The token, introspection and revocation endpoints answer
/// cross-origin requests from the calling client's web origins only (`client_cors`,
/// checked by `allow_origin` once the client is known); the authorization endpoint never
/// does (RFC 9700 2.6). Other methods get 405 as JSON.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorize", web::get().to(authorize::authorize))
        .route("/authorize", web::post().to(authorize::authorize))
        .route("/authorize/resume", web::get().to(authorize::resume))
        .route("/consent", web::get().to(consent::show_consent))
        .route("/consent", web::post().to(consent::submit_consent))
        .service(
            web::resource("/token")
                .wrap(actix_web::middleware::from_fn(crate::web::client_cors))
                .route(web::post().to(token::token))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/introspect")
                .wrap(actix_web::middleware::from_fn(crate::web::client_cors))
                .route(web::post().to(introspect::introspect))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/revoke")
                .wrap(actix_web::middleware::from_fn(crate::web::client_cors))
                .route(web::post().to(introspect::revoke))
                .default_service(web::to(method_not_allowed)),
        );
}

/// Checks a browser's `Origin` against `client`'s web origins: no `Origin` (a server, a
/// native app) passes; an allowed one is marked for the CORS answer; any other is
/// refused with 403, so a page elsewhere cannot use the client (its answer would be
/// unreadable anyway, but the grant would already be spent).
pub fn allow_origin(
    req: &actix_web::HttpRequest,
    client: &crate::clients::Client,
) -> Result<(), OAuthError> {
    use actix_web::HttpMessage;
    let Some(origin) = crate::web::request_origin(req) else {
        return Ok(());
    };
    if client.allows_origin(origin) {
        req.extensions_mut()
            .insert(crate::web::CorsAllowed(origin.to_string()));
        return Ok(());
    }
    let mut e = OAuthError::new(
        "unauthorized_client",
        "requests from this web origin are not allowed for this client",
    );
    e.status = actix_web::http::StatusCode::FORBIDDEN;
    Err(e)
}

/// One request of `client`'s rate at the token endpoints (`rate_limit_per_client`); past
/// it, 429 with `Retry-After`.
pub fn within_client_rate(
    state: &crate::state::AppState,
    client: &crate::clients::Client,
) -> Result<(), OAuthError> {
    let Some(bucket) = &state.client_rate else {
        return Ok(());
    };
    bucket.take(&client.id.to_string()).map_err(|wait| {
        let seconds = crate::web::limit::retry_after(wait);
        let mut e = OAuthError::invalid_request(format!(
            "too many requests from this client; retry in {seconds} seconds"
        ));
        e.status = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
        e.retry_after = Some(seconds as i64);
        e
    })
}

/// RFC 6749 3.2: the token endpoint takes POST only.
async fn method_not_allowed() -> actix_web::HttpResponse {
    let mut e = OAuthError::invalid_request("use POST");
    e.status = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
    actix_web::ResponseError::error_response(&e)
}
