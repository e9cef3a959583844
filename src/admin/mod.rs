//! Administration: the admin API (`/admin/api/…`, JSON, described by
//! `/admin/api/openapi.json`) and the older key routes (`/admin/keys`). Callers present an
//! access token: a service account (a client-credentials client granted admin scopes) or
//! a person with the `admin` role whose app asked for admin scopes. `porta:admin` opens
//! everything.

mod api;
pub mod apps;
pub mod people;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::db;
use crate::keys::{self, rotation};
use crate::oauth::OAuthError;
use crate::resource::ApiError;
use crate::state::AppState;
use crate::tokens;
use crate::web::bearer::{bearer, Bearer};
use crate::web::Params;

pub use people::{Acting, Actor, AdminError};

/// The scope that opens the whole admin API (and the key routes).
pub const ADMIN_SCOPE: &str = "porta:admin";
/// Read people (search, one person).
pub const USERS_READ: &str = "admin:users:read";
/// Change people (create, update, disable, delete, end sessions, reset factors).
pub const USERS_WRITE: &str = "admin:users:write";
/// Manage roles and permissions.
pub const ROLES: &str = "admin:roles";
/// Read the audit log.
pub const AUDIT: &str = "admin:audit";
/// List and rotate signing keys.
pub const KEYS: &str = "admin:keys";
/// Manage apps.
pub const CLIENTS: &str = "admin:clients";

/// The admin scopes in plain words, for the consent page.
pub const SCOPES: &[(&str, &str)] = &[
    (ADMIN_SCOPE, "Administer Porta: everything"),
    (USERS_READ, "Administer Porta: look people up"),
    (
        USERS_WRITE,
        "Administer Porta: change, disable and delete people",
    ),
    (ROLES, "Administer Porta: manage roles and permissions"),
    (AUDIT, "Administer Porta: read the audit log"),
    (KEYS, "Administer Porta: manage signing keys"),
    (CLIENTS, "Administer Porta: manage apps"),
];

/// The role a person needs, besides an admin scope, to use the admin API.
pub const ADMIN_ROLE: &str = "admin";

/// Mounts the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/keys", web::get().to(list_keys))
        .route("/admin/keys/rotate", web::post().to(rotate_keys));
    api::configure(cfg);
}

/// True when `scopes` open `needed`: the scope itself, `porta:admin`, or (for reading
/// people) the write scope.
fn grants(scopes: &crate::scopes::Scopes, needed: &str) -> bool {
    scopes.contains(needed)
        || scopes.contains(ADMIN_SCOPE)
        || (needed == USERS_READ && scopes.contains(USERS_WRITE))
}

/// Who calls the admin API, checked: a valid token with the scope `needed`, and for a
/// person, an active account that holds the `admin` role now (not when the token was
/// issued).
pub(crate) async fn admin_caller(
    state: &AppState,
    req: &HttpRequest,
    needed: &'static str,
) -> Result<Acting, ApiError> {
    let token = match bearer(req) {
        Bearer::Token(token) | Bearer::TooLong(token) => token,
        Bearer::Empty => "",
        Bearer::Missing | Bearer::NotText | Bearer::OtherScheme => return Err(ApiError::NoToken),
    };
    let access = tokens::verify_access(&state.tokens(), token)
        .await?
        .ok_or_else(|| {
            ApiError::InvalidToken("the access token is invalid, expired or revoked".into())
        })?;
    if !grants(&access.scopes(), needed) {
        return Err(ApiError::InsufficientScope(needed.to_string()));
    }
    let client_id = access.str("client_id").unwrap_or_default().to_string();
    // A person's grant carries the sign-in time; a client-credentials token does not.
    let actor = if access.claims().contains_key("auth_time") {
        let sub = access.str("sub").unwrap_or_default().to_string();
        let id = sub.clone();
        let admin = db::run(&state.pool, move |conn| {
            let Some(user) = crate::accounts::store::find(conn, &id)? else {
                return Ok(false);
            };
            Ok(user.is_active()
                && crate::accounts::store::roles(conn, &id)?
                    .iter()
                    .any(|r| r == ADMIN_ROLE))
        })
        .await?;
        if !admin {
            return Err(ApiError::Forbidden(
                "only people with the admin role may use the admin API".into(),
            ));
        }
        Actor::Person(sub)
    } else {
        // A service account's app must still exist and be enabled.
        if state.client(client_id.clone()).await?.is_none() {
            return Err(ApiError::InvalidToken(
                "the access token is invalid, expired or revoked".into(),
            ));
        }
        Actor::Service(client_id)
    };
    Ok(Acting {
        actor,
        origin: state.origin(req),
    })
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
    if !grants(&access.scopes(), KEYS) {
        return Err(OAuthError::insufficient_scope(ADMIN_SCOPE));
    }
    Ok(())
}

/// How an administrator rotates the signing keys.
pub enum Rotation {
    /// Publish a `next` key (it signs after the pre-publication window).
    Next,
    /// Emergency: a new key signs at once.
    Now,
    /// Remove key KID at once.
    Revoke(String),
}

impl Rotation {
    /// What the audit log says about it.
    pub fn describe(&self) -> String {
        match self {
            Rotation::Next => "rotation=next".into(),
            Rotation::Now => "rotation=now".into(),
            Rotation::Revoke(kid) => format!("revoked={kid}"),
        }
    }
}

/// Rotates the signing keys (the API, the older routes and the console all come here);
/// false when `Revoke` named no key. This node switches at once, the others within
/// `key_check_interval`.
pub async fn rotate(state: &AppState, how: &Rotation) -> Result<bool, keys::KeyError> {
    match how {
        Rotation::Now => {
            rotation::rotate_now(&state.pool, &state.master).await?;
        }
        Rotation::Revoke(kid) => {
            if !rotation::revoke(&state.pool, &state.master, kid).await? {
                return Ok(false);
            }
        }
        Rotation::Next => {
            let schedule = rotation::Schedule::from_settings(&state.settings);
            rotation::publish_next(&state.pool, &state.master, schedule).await?;
        }
    }
    state.keys.reload(&state.pool, &state.master).await?;
    Ok(true)
}

/// The signing keys as administrators see them (what `porta keys list` prints).
pub async fn key_list(state: &AppState) -> Result<Vec<serde_json::Value>, db::DbError> {
    let rows = db::run(&state.pool, |conn| Ok(keys::store::list(conn)?)).await?;
    Ok(rows
        .iter()
        .map(|k| keys::describe(k, &state.settings))
        .collect())
}

async fn keys_json(state: &AppState) -> Result<HttpResponse, OAuthError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "keys": key_list(state).await? })))
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
    let how = match (params.get("now"), params.get("revoke")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("use now or revoke, not both"))
        }
        (Some("true"), None) => Rotation::Now,
        (Some(_), None) => return Err(OAuthError::invalid_request("now must be true")),
        (None, Some(kid)) => Rotation::Revoke(kid.to_string()),
        (None, None) => Rotation::Next,
    };
    if !rotate(&state, &how)
        .await
        .map_err(OAuthError::server_error)?
    {
        let mut e = OAuthError::invalid_request("no such key");
        e.status = actix_web::http::StatusCode::NOT_FOUND;
        return Err(e);
    }
    keys_json(&state).await
}
