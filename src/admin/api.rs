//! The admin API's routes: thin handlers over `people` (parse → act → JSON).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::apps::{self, Apps};
use super::people::{self, AdminError, Inviting, People, Update};
use super::{admin_caller, Rotation, AUDIT, CLIENTS, KEYS, ROLES, USERS_READ, USERS_WRITE};
use crate::accounts::store::{Changes, Search};
use crate::clients::{ClientChanges, Lifetimes, NewClient};
use crate::resource::{ApiError, Paged, Pagination};
use crate::state::AppState;
use crate::web::Params;

/// The OpenAPI document of the admin API.
const OPENAPI: &str = include_str!("openapi.json");

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/api/openapi.json", web::get().to(openapi))
        .route("/admin/api/users", web::get().to(list_users))
        .route("/admin/api/users", web::post().to(create_user))
        .route("/admin/api/users/{user}", web::get().to(show_user))
        .route("/admin/api/users/{user}", web::patch().to(update_user))
        .route("/admin/api/users/{user}", web::delete().to(delete_user))
        .route(
            "/admin/api/users/{user}/{action}",
            web::post().to(user_action),
        )
        .route(
            "/admin/api/users/{user}/roles/{role}",
            web::put().to(add_user_role),
        )
        .route(
            "/admin/api/users/{user}/roles/{role}",
            web::delete().to(remove_user_role),
        )
        .route("/admin/api/attributes", web::get().to(attribute_schema))
        .route("/admin/api/roles", web::get().to(list_roles))
        .route("/admin/api/roles", web::post().to(create_role))
        .route("/admin/api/roles/{role}", web::delete().to(delete_role))
        .route(
            "/admin/api/roles/{role}/permissions/{permission}",
            web::put().to(grant_permission),
        )
        .route(
            "/admin/api/roles/{role}/permissions/{permission}",
            web::delete().to(revoke_permission),
        )
        .route("/admin/api/permissions", web::get().to(list_permissions))
        .route("/admin/api/permissions", web::post().to(create_permission))
        .route(
            "/admin/api/permissions/{permission}",
            web::delete().to(delete_permission),
        )
        .route("/admin/api/clients", web::get().to(list_clients))
        .route("/admin/api/clients", web::post().to(create_client))
        .route("/admin/api/clients/{client}", web::get().to(show_client))
        .route(
            "/admin/api/clients/{client}",
            web::patch().to(update_client),
        )
        .route(
            "/admin/api/clients/{client}",
            web::delete().to(delete_client),
        )
        .route(
            "/admin/api/clients/{client}/{action}",
            web::post().to(client_action),
        )
        .route("/admin/api/audit", web::get().to(audit_events))
        .route("/admin/api/keys", web::get().to(list_keys))
        .route("/admin/api/keys/rotate", web::post().to(rotate_keys));
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NoAccount(_) | AdminError::NotFound(_) => ApiError::NotFound(e.to_string()),
            AdminError::Invalid(why) => ApiError::InvalidRequest(why),
            AdminError::Conflict(why) => ApiError::Conflict(why),
            AdminError::Db(db) => db.into(),
        }
    }
}

fn ok(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn created(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// A JSON body of type `T` (unknown fields refused), or a clear 400.
fn json_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::InvalidRequest(
            "send the body as application/json".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::InvalidRequest(format!("invalid body: {e}")))
}

/// A present field, even when its value is `null` (`Some(None)`: clear it).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn query(req: &HttpRequest) -> Result<Params, ApiError> {
    Params::parse(req.query_string().as_bytes())
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

fn number(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::InvalidRequest(format!("{name} must be a whole number")))
        })
        .transpose()
}

fn pagination(params: &Params) -> Result<Pagination, ApiError> {
    Pagination {
        page: number(params, "page")?,
        per_page: number(params, "per_page")?,
    }
    .checked()
}

/// `GET /admin/api/openapi.json`.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// `GET /admin/api/users?q=&email=&phone=&role=&state=&page=&per_page=`.
async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, USERS_READ).await?;
    let params = query(&req)?;
    let page = pagination(&params)?;
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match params.get(name) {
            None | Some("") => Ok(None),
            Some(v) if v.chars().count() > 254 => Err(ApiError::InvalidRequest(format!(
                "{name} is at most 254 characters"
            ))),
            Some(v) => Ok(Some(v.to_string())),
        }
    };
    let search = Search {
        text: text("q")?,
        email: text("email")?.map(|e| e.trim().to_lowercase()),
        phone: text("phone")?.map(|p| crate::accounts::normalize_phone(&p, None).unwrap_or(p)),
        role: text("role")?,
        attribute: Search::parse_attribute(&text("attribute")?.unwrap_or_default())
            .map_err(|_| ApiError::InvalidRequest("attribute is name:value".into()))?,
        disabled: Search::parse_state(params.get("state").unwrap_or(""))
            .map_err(|_| ApiError::InvalidRequest("state is active or disabled".into()))?,
    };
    let (items, total) =
        people::search(People::of(&state), search, page.offset(), page.limit()).await?;
    Ok(ok(Paged::new(items, total, &page)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: Option<String>,
    password: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    /// Email a one-time link to choose a password instead (no `password` then).
    #[serde(default)]
    invite: bool,
}

/// `POST /admin/api/users`.
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    let new: NewUser = json_body(&req, &body)?;
    if new.invite {
        if new.password.is_some() {
            return Err(ApiError::InvalidRequest(
                "an invitation lets the person choose the password: send no password".into(),
            ));
        }
        let user = people::invite(
            People::of(&state),
            &acting,
            Inviting::of(&state),
            &new.email,
            new.name,
            new.roles,
        )
        .await?;
        return Ok(created(user));
    }
    if new
        .password
        .as_ref()
        .is_some_and(|p| p.len() > crate::accounts::PASSWORD_MAX_LENGTH)
    {
        return Err(ApiError::InvalidRequest("the password is too long".into()));
    }
    let user = people::create(
        People::of(&state),
        &acting,
        &new.email,
        new.name,
        new.password,
        new.roles,
    )
    .await?;
    Ok(created(user))
}

/// `GET /admin/api/users/{user}` (id, email or phone number).
async fn show_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, USERS_READ).await?;
    Ok(ok(people::show(People::of(&state), &path).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    email: Option<String>,
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    zoneinfo: Option<Option<String>>,
    roles: Option<Vec<String>>,
    attributes: Option<serde_json::Map<String, Value>>,
}

/// `PATCH /admin/api/users/{user}`.
async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    let patch: UserPatch = json_body(&req, &body)?;
    let update = Update {
        changes: Changes {
            name: patch.name,
            email: patch.email,
            email_verified: patch.email_verified,
            phone: patch.phone_number,
            locale: patch.locale,
            zoneinfo: patch.zoneinfo,
        },
        roles: patch.roles,
        attributes: patch.attributes,
    };
    Ok(ok(people::update(
        People::of(&state),
        &acting,
        &path,
        update,
    )
    .await?))
}

/// `DELETE /admin/api/users/{user}`.
async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    Ok(ok(people::delete(People::of(&state), &acting, &path).await?))
}

/// `POST /admin/api/users/{user}/{action}`: disable, enable, end-sessions, reset-mfa,
/// unlock, reset-password.
async fn user_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user, action) = path.into_inner();
    let known = [
        "disable",
        "enable",
        "end-sessions",
        "reset-mfa",
        "unlock",
        "reset-password",
    ];
    if !known.contains(&action.as_str()) {
        return Err(ApiError::NotFound(format!("no action {action}")));
    }
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    let pool = People::of(&state);
    let body = match action.as_str() {
        "disable" => people::set_disabled(pool, &acting, &user, true).await?,
        "enable" => people::set_disabled(pool, &acting, &user, false).await?,
        "end-sessions" => people::end_sessions(pool, &acting, &user).await?,
        "reset-mfa" => people::reset_mfa(pool, &acting, &user).await?,
        "unlock" => people::unlock(pool, &acting, &user).await?,
        _ => people::reset_password(pool, &acting, &user).await?,
    };
    Ok(ok(body))
}

/// `PUT /admin/api/users/{user}/roles/{role}`: one role more, the others kept.
async fn add_user_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    let (user, role) = path.into_inner();
    Ok(ok(people::change_role(
        People::of(&state),
        &acting,
        &user,
        &role,
        true,
    )
    .await?))
}

/// `DELETE /admin/api/users/{user}/roles/{role}`.
async fn remove_user_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, USERS_WRITE).await?;
    let (user, role) = path.into_inner();
    Ok(ok(people::change_role(
        People::of(&state),
        &acting,
        &user,
        &role,
        false,
    )
    .await?))
}

/// `GET /admin/api/attributes`: the custom attributes declared in settings.
async fn attribute_schema(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, USERS_READ).await?;
    Ok(ok(
        json!({ "attributes": state.settings.attributes.attributes }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewName {
    name: String,
    #[serde(default)]
    description: String,
}

/// `GET /admin/api/roles`.
async fn list_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, ROLES).await?;
    Ok(ok(
        json!({ "roles": people::list_roles(People::of(&state)).await? }),
    ))
}

/// `POST /admin/api/roles`.
async fn create_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    let new: NewName = json_body(&req, &body)?;
    let role =
        people::create_role(People::of(&state), &acting, &new.name, &new.description).await?;
    Ok(created(role))
}

/// `DELETE /admin/api/roles/{role}`.
async fn delete_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    Ok(ok(
        people::delete_role(People::of(&state), &acting, &path).await?
    ))
}

/// `PUT /admin/api/roles/{role}/permissions/{permission}`.
async fn grant_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    let (role, permission) = path.into_inner();
    Ok(ok(people::link(
        People::of(&state),
        &acting,
        &role,
        &permission,
        true,
    )
    .await?))
}

/// `DELETE /admin/api/roles/{role}/permissions/{permission}`.
async fn revoke_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    let (role, permission) = path.into_inner();
    Ok(ok(people::link(
        People::of(&state),
        &acting,
        &role,
        &permission,
        false,
    )
    .await?))
}

/// `GET /admin/api/permissions`.
async fn list_permissions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, ROLES).await?;
    Ok(ok(
        json!({ "permissions": people::list_permissions(People::of(&state)).await? }),
    ))
}

/// `POST /admin/api/permissions`.
async fn create_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    let new: NewName = json_body(&req, &body)?;
    Ok(created(
        people::create_permission(People::of(&state), &acting, &new.name, &new.description).await?,
    ))
}

/// `DELETE /admin/api/permissions/{permission}`.
async fn delete_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, ROLES).await?;
    Ok(ok(people::delete_permission(
        People::of(&state),
        &acting,
        &path,
    )
    .await?))
}

/// `GET /admin/api/audit?user=&kind=&since=&limit=`: newest first.
async fn audit_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, AUDIT).await?;
    let params = query(&req)?;
    let limit = number(&params, "limit")?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::InvalidRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let since = number(&params, "since")?.unwrap_or(crate::time::now() - 24 * 3600);
    let kind = params
        .get("kind")
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let user = params
        .get("user")
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let events = crate::db::run(&state.pool, move |conn| {
        // The user filter takes an id, email or phone number, like the other routes.
        let user_id = match &user {
            Some(u) => match crate::accounts::find_named(conn, u)? {
                Some(found) => Some(found.id.to_string()),
                None => Some(u.clone()),
            },
            None => None,
        };
        Ok(crate::audit::store::query(
            conn,
            user_id.as_deref(),
            kind.as_deref(),
            since,
            limit,
        )?)
    })
    .await?;
    Ok(ok(json!({ "events": events })))
}

/// `GET /admin/api/keys`.
async fn list_keys(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, KEYS).await?;
    Ok(ok(json!({ "keys": super::key_list(&state).await? })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    #[serde(default)]
    now: bool,
    revoke: Option<String>,
}

/// `POST /admin/api/keys/rotate` with `{}` (publish a next key), `{"now": true}`
/// (emergency) or `{"revoke": "KID"}`.
async fn rotate_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, KEYS).await?;
    let rotate: Rotate = if body.is_empty() {
        Rotate::default()
    } else {
        json_body(&req, &body)?
    };
    let how = match (rotate.now, rotate.revoke) {
        (true, Some(_)) => {
            return Err(ApiError::InvalidRequest(
                "use now or revoke, not both".into(),
            ))
        }
        (true, None) => Rotation::Now,
        (false, Some(kid)) => Rotation::Revoke(kid),
        (false, None) => Rotation::Next,
    };
    if !super::rotate(&state, &how)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    {
        return Err(ApiError::NotFound("no such key".into()));
    }
    people::keys_rotated(People::of(&state), &acting, &how.describe()).await;
    Ok(ok(json!({ "keys": super::key_list(&state).await? })))
}

/// `GET /admin/api/clients`.
async fn list_clients(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, CLIENTS).await?;
    Ok(ok(
        json!({ "clients": apps::list(Apps::of(&state)).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApp {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    grant_types: Vec<String>,
    scope: Option<String>,
    #[serde(default)]
    skip_consent: bool,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
    access_token_ttl: Option<i64>,
    id_token_ttl: Option<i64>,
    refresh_token_ttl: Option<i64>,
    refresh_id_token: Option<bool>,
    access_token_format: Option<crate::clients::AccessTokenFormat>,
}

/// `POST /admin/api/clients`: the answer holds the secret, shown this once.
async fn create_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, CLIENTS).await?;
    let a: NewApp = json_body(&req, &body)?;
    let new = NewClient {
        name: a.name,
        redirect_uris: a.redirect_uris,
        post_logout_redirect_uris: a.post_logout_redirect_uris,
        public: a.public,
        grant_types: a.grant_types,
        scopes: a.scope.into_iter().collect(),
        skip_consent: a.skip_consent,
        audiences: a.audiences,
        web_origins: a.web_origins,
        lifetimes: Lifetimes {
            access_token_ttl: a.access_token_ttl,
            id_token_ttl: a.id_token_ttl,
            refresh_token_ttl: a.refresh_token_ttl,
            refresh_id_token: a.refresh_id_token.unwrap_or(true),
            access_token_format: a.access_token_format.unwrap_or_default(),
        },
    };
    Ok(created(apps::create(Apps::of(&state), &acting, new).await?))
}

/// `GET /admin/api/clients/{client}`.
async fn show_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admin_caller(&state, &req, CLIENTS).await?;
    Ok(ok(apps::show(Apps::of(&state), &path).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
    skip_consent: Option<bool>,
    audiences: Option<Vec<String>>,
    web_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    access_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    id_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    refresh_token_ttl: Option<Option<i64>>,
    refresh_id_token: Option<bool>,
    access_token_format: Option<crate::clients::AccessTokenFormat>,
}

/// `PATCH /admin/api/clients/{client}`.
async fn update_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, CLIENTS).await?;
    let p: AppPatch = json_body(&req, &body)?;
    let changes = ClientChanges {
        name: p.name,
        redirect_uris: p.redirect_uris,
        post_logout_redirect_uris: p.post_logout_redirect_uris,
        grant_types: p.grant_types,
        scopes: p.scope.map(|s| vec![s]),
        skip_consent: p.skip_consent,
        audiences: p.audiences,
        web_origins: p.web_origins,
        access_token_ttl: p.access_token_ttl,
        id_token_ttl: p.id_token_ttl,
        refresh_token_ttl: p.refresh_token_ttl,
        refresh_id_token: p.refresh_id_token,
        access_token_format: p.access_token_format,
    };
    Ok(ok(
        apps::update(Apps::of(&state), &acting, &path, changes).await?
    ))
}

/// `DELETE /admin/api/clients/{client}`.
async fn delete_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let acting = admin_caller(&state, &req, CLIENTS).await?;
    Ok(ok(apps::delete(Apps::of(&state), &acting, &path).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretRotation {
    grace_seconds: Option<i64>,
}

/// `POST /admin/api/clients/{client}/rotate-secret|disable|enable`.
async fn client_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (client, action) = path.into_inner();
    if !["rotate-secret", "disable", "enable"].contains(&action.as_str()) {
        return Err(ApiError::NotFound(format!("no action {action}")));
    }
    let acting = admin_caller(&state, &req, CLIENTS).await?;
    let apps = Apps::of(&state);
    let body = match action.as_str() {
        "rotate-secret" => {
            let rotation: SecretRotation = if body.is_empty() {
                SecretRotation::default()
            } else {
                json_body(&req, &body)?
            };
            let most = state.settings.tokens.client_secret_grace;
            let grace = rotation.grace_seconds.unwrap_or(most);
            if !(0..=most).contains(&grace) {
                return Err(ApiError::InvalidRequest(format!(
                    "grace_seconds must be 0 to {most} (client_secret_grace)"
                )));
            }
            apps::rotate_secret(apps, &acting, &client, grace).await?
        }
        "disable" => serde_json::to_value(apps::set_disabled(apps, &acting, &client, true).await?)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        _ => serde_json::to_value(apps::set_disabled(apps, &acting, &client, false).await?)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    Ok(ok(body))
}
