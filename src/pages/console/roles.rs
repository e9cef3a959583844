//! The console's roles and permissions, signing keys and audit log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{admin, confirm, done_message, page_error, Form};
use crate::accounts::roles::{Permission, Role};
use crate::admin::people::{self as ops, AdminError};
use crate::i18n::{t, t1};
use crate::pages::account::when;
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError, Params};

#[derive(Template)]
#[template(path = "console/roles.html")]
struct RolesPage {
    csrf: String,
    roles: Vec<Role>,
    permissions: Vec<Permission>,
    message: Option<String>,
    error: Option<String>,
}

async fn roles_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &super::Admin,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let people = admin.people(state);
    let roles = ops::list_roles(people).await.map_err(page_error)?;
    let permissions = ops::list_permissions(people).await.map_err(page_error)?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(csrf::page(req, state.secure_cookies(), status, |csrf| {
        RolesPage {
            csrf,
            roles,
            permissions,
            message: done_message(req),
            error,
        }
    }))
}

/// `GET /admin/roles`.
pub(super) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    roles_page(&state, &req, &admin, None).await
}

/// `POST /admin/roles/{action}`: create-role, delete-role, create-permission,
/// delete-permission, grant, revoke.
pub(super) async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    action: web::Path<String>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let form = Form::checked(&state, &req, form)?;
    let people = admin.people(&state);
    let acting = &admin.acting;
    let (name, description) = (form.get("name"), form.get("description"));
    let (role, permission) = (form.get("role"), form.get("permission"));
    let outcome = match action.as_str() {
        "delete-role" if !form.confirmed() => {
            return Ok(confirm(
                &state,
                &req,
                &form,
                t1("console-roles-delete-role-ask", "name", name),
                &t("console-delete"),
                "/admin/roles",
            ))
        }
        "delete-permission" if !form.confirmed() => {
            return Ok(confirm(
                &state,
                &req,
                &form,
                t1("console-roles-delete-permission-ask", "name", name),
                &t("console-delete"),
                "/admin/roles",
            ))
        }
        "create-role" => ops::create_role(people, acting, name, description)
            .await
            .map(|_| ()),
        "delete-role" => ops::delete_role(people, acting, name).await.map(|_| ()),
        "create-permission" => ops::create_permission(people, acting, name, description)
            .await
            .map(|_| ()),
        "delete-permission" => ops::delete_permission(people, acting, name)
            .await
            .map(|_| ()),
        "grant" => ops::link(people, acting, role, permission, true)
            .await
            .map(|_| ()),
        "revoke" => ops::link(people, acting, role, permission, false)
            .await
            .map(|_| ()),
        _ => return Err(PageError::NotFound(t("console-no-such-action"))),
    };
    match outcome {
        Ok(()) => Ok(page::see_other("/admin/roles?done=saved")),
        Err(AdminError::Invalid(why) | AdminError::Conflict(why) | AdminError::NotFound(why)) => {
            roles_page(&state, &req, &admin, Some(why)).await
        }
        Err(e) => Err(page_error(e)),
    }
}

struct KeyLine {
    kid: String,
    state: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    csrf: String,
    keys: Vec<KeyLine>,
    message: Option<String>,
}

/// `GET /admin/signing-keys`.
pub(super) async fn keys(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Err(resp) = admin(&state, &req).await? {
        return Ok(resp);
    }
    let keys = crate::admin::key_list(&state)
        .await?
        .iter()
        .map(|d| KeyLine {
            kid: d["kid"].as_str().unwrap_or_default().to_string(),
            state: d["state"].as_str().unwrap_or_default().to_string(),
            created: d["created"]
                .as_i64()
                .map(when)
                .unwrap_or_else(|| d["created"].to_string()),
        })
        .collect();
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |csrf| KeysPage {
            csrf,
            keys,
            message: done_message(&req),
        },
    ))
}

async fn rotate(
    state: &AppState,
    req: &HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
    now: bool,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(state, req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let form = Form::checked(state, req, form)?;
    if now && !form.confirmed() {
        return Ok(confirm(
            state,
            req,
            &form,
            t("console-keys-rotate-now-ask"),
            &t("console-keys-rotate-now"),
            "/admin/signing-keys",
        ));
    }
    let how = if now {
        crate::admin::Rotation::Now
    } else {
        crate::admin::Rotation::Next
    };
    crate::admin::rotate(state, &how)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    ops::keys_rotated(admin.people(state), &admin.acting, &how.describe()).await;
    Ok(page::see_other(if now {
        "/admin/signing-keys?done=rotated-now"
    } else {
        "/admin/signing-keys?done=rotated"
    }))
}

/// `POST /admin/signing-keys/rotate-now` (asks first).
pub(super) async fn rotate_now(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    rotate(&state, &req, form, true).await
}

/// `POST /admin/signing-keys/publish-next`.
pub(super) async fn publish_next(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    rotate(&state, &req, form, false).await
}

struct EventLine {
    at: String,
    kind: String,
    user: String,
    client: String,
    ip: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    user: String,
    kind: String,
    hours: i64,
    events: Vec<EventLine>,
    prev: Option<String>,
    next: Option<String>,
}

/// Events per page.
const EVENTS_PER_PAGE: i64 = 50;

/// `GET /admin/audit?user=&kind=&hours=&page=`.
pub(super) async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Err(resp) = admin(&state, &req).await? {
        return Ok(resp);
    }
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(t("console-invalid-request")))?;
    let field = |name: &str| -> String {
        params
            .get(name)
            .unwrap_or("")
            .trim()
            .chars()
            .take(254)
            .collect()
    };
    let (user, kind) = (field("user"), field("kind"));
    let hours = params
        .get("hours")
        .and_then(|h| h.parse::<i64>().ok())
        .unwrap_or(24)
        .clamp(1, 24 * 366);
    let page_no = params
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let since = crate::time::now() - hours * 3600;
    let (u, k) = (user.clone(), kind.clone());
    let rows = crate::db::run(&state.pool, move |conn| {
        let user_id = if u.is_empty() {
            None
        } else {
            Some(match crate::accounts::find_named(conn, &u)? {
                Some(found) => found.id.to_string(),
                None => u.clone(),
            })
        };
        Ok(crate::audit::store::page(
            conn,
            user_id.as_deref(),
            Some(k.as_str()).filter(|k| !k.is_empty()),
            since,
            (page_no - 1) * EVENTS_PER_PAGE,
            EVENTS_PER_PAGE + 1,
        )?)
    })
    .await?;
    let more = rows.len() as i64 > EVENTS_PER_PAGE;
    let events = rows
        .into_iter()
        .take(EVENTS_PER_PAGE as usize)
        .map(|e| EventLine {
            at: when(e.at),
            kind: e.kind,
            user: e.user_id.unwrap_or_default(),
            client: e.client_id.unwrap_or_default(),
            ip: e.ip,
            detail: e.detail.chars().take(300).collect(),
        })
        .collect();
    let link = |p: i64| {
        url::form_urlencoded::Serializer::new(String::from("/admin/audit?"))
            .append_pair("user", &user)
            .append_pair("kind", &kind)
            .append_pair("hours", &hours.to_string())
            .append_pair("page", &p.to_string())
            .finish()
    };
    Ok(page::render(
        StatusCode::OK,
        &AuditPage {
            prev: (page_no > 1).then(|| link(page_no - 1)),
            next: more.then(|| link(page_no + 1)),
            user: user.clone(),
            kind: kind.clone(),
            hours,
            events,
        },
    ))
}
