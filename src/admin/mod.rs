//! The admin API: signing keys for operators' tools. Callers present an access token
//! with the `porta:admin` scope (a client registered for that scope, via
//! `client_credentials`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::db;
use crate::keys::{self, rotation};
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::tokens;
use crate::web::bearer::{bearer, Bearer};
use crate::web::Params;

/// The scope that opens the admin API.
pub const ADMIN_SCOPE: &str = "porta:admin";

/// Mounts the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/keys", web::get().to(list_keys))
        .route("/admin/keys/rotate", web::post().to(rotate_keys));
}

async fn authorize_admin(state: &AppState, req: &HttpRequest) -> Result<(), OAuthError> {
    let token = match bearer(req) {
        Bearer::Token(token) | Bearer::TooLong(token) => token,
        // Checked like any other token: it is not valid.
        Bearer::Empty => "",
        Bearer::Missing | Bearer::NotText | Bearer::OtherScheme => {
            return Err(OAuthError::missing_token())
        }
    };
    let access = tokens::verify_access(&state.tokens(), token)
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_token("the access token is invalid, expired or revoked")
        })?;
    if !access.scopes().contains(ADMIN_SCOPE) {
        return Err(OAuthError::insufficient_scope(ADMIN_SCOPE));
    }
    Ok(())
}

async fn keys_json(state: &AppState) -> Result<HttpResponse, OAuthError> {
    let rows = db::run(&state.pool, |conn| Ok(keys::store::list(conn)?)).await?;
    let list: Vec<_> = rows
        .iter()
        .map(|k| keys::describe(k, &state.settings))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "keys": list })))
}

/// `GET /admin/keys`.
async fn list_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    authorize_admin(&state, &req).await?;
    keys_json(&state).await
}

/// `POST /admin/keys/rotate` with an optional form body: `now=true` (emergency rotation)
/// or `revoke=KID`. Without either it publishes a `next` key.
async fn rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    authorize_admin(&state, &req).await?;
    let params = Params::parse(&body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let fail = OAuthError::server_error;
    match (params.get("now"), params.get("revoke")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("use now or revoke, not both"))
        }
        (Some("true"), None) => {
            rotation::rotate_now(&state.pool, &state.master)
                .await
                .map_err(fail)?;
        }
        (Some(_), None) => return Err(OAuthError::invalid_request("now must be true")),
        (None, Some(kid)) => {
            if !rotation::revoke(&state.pool, &state.master, kid)
                .await
                .map_err(fail)?
            {
                let mut e = OAuthError::invalid_request("no such key");
                e.status = actix_web::http::StatusCode::NOT_FOUND;
                return Err(e);
            }
        }
        (None, None) => {
            let schedule = rotation::Schedule::from_settings(&state.settings);
            rotation::publish_next(&state.pool, &state.master, schedule)
                .await
                .map_err(fail)?;
        }
    }
    // This node switches at once; the others within key_check_interval.
    state
        .keys
        .reload(&state.pool, &state.master)
        .await
        .map_err(fail)?;
    keys_json(&state).await
}
