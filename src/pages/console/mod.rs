//! The admin console (`/admin`): server-rendered pages over the same operations as the
//! admin API (`admin::people`, `admin::apps`), for people holding the `admin` role. Every
//! page needs a sign-in within `admin_fresh_sign_in` and, when the admin has a second
//! factor (or `admin_require_mfa` is on), a sign-in that used it. Every form carries the
//! CSRF token; destructive actions ask for confirmation first. Works without JavaScript.

mod apps;
mod people;
mod roles;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::signed_in::signed_in;
use crate::accounts::{self, User};
use crate::admin::people::{Acting, Actor, People};
use crate::admin::ADMIN_ROLE;
use crate::db;
use crate::i18n::t;
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError};

/// Mounts the console's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(dashboard))
        .route("/admin/people", web::get().to(people::search))
        .route("/admin/people", web::post().to(people::invite))
        .route("/admin/people/{id}", web::get().to(people::show))
        .route("/admin/people/{id}/{action}", web::post().to(people::act))
        .route("/admin/roles", web::get().to(roles::show))
        .route("/admin/roles/{action}", web::post().to(roles::act))
        .route("/admin/apps", web::get().to(apps::list))
        .route("/admin/apps", web::post().to(apps::create))
        .route("/admin/apps/{id}", web::get().to(apps::show))
        .route("/admin/apps/{id}/{action}", web::post().to(apps::act))
        .route("/admin/signing-keys", web::get().to(roles::keys))
        .route(
            "/admin/signing-keys/rotate-now",
            web::post().to(roles::rotate_now),
        )
        .route(
            "/admin/signing-keys/publish-next",
            web::post().to(roles::publish_next),
        )
        .route("/admin/audit", web::get().to(roles::audit));
}

/// A signed-in administrator who passed the console's checks.
pub(crate) struct Admin {
    pub user: User,
    pub acting: Acting,
}

impl Admin {
    /// The operations on people, with this node's settings.
    pub fn people<'a>(&self, state: &'a AppState) -> People<'a> {
        People::of(state)
    }
}

#[derive(Template)]
#[template(path = "console/again.html")]
struct AgainPage {
    csrf: String,
    message: String,
}

/// The person at the console, or the answer that sends them elsewhere: to sign in, to sign
/// in again (too long ago, or without the second factor), or away (not an admin).
async fn admin(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Result<Admin, HttpResponse>, PageError> {
    let Some(who) = signed_in(state, req).await? else {
        return Ok(Err(page::see_other("/login")));
    };
    let id = who.user.id.to_string();
    let (roles, has_totp) = db::run(&state.pool, move |conn| {
        Ok((
            accounts::store::roles(conn, &id)?,
            crate::mfa::has_totp(conn, &id)?,
        ))
    })
    .await?;
    if !roles.iter().any(|r| r == ADMIN_ROLE) {
        return Err(PageError::Forbidden(t("console-not-admin")));
    }
    let settings = &state.settings.accounts;
    let again = |message: String| {
        csrf::page(req, state.secure_cookies(), StatusCode::FORBIDDEN, |csrf| {
            AgainPage { csrf, message }
        })
    };
    if crate::time::now() - who.session.auth_time > settings.admin_fresh_sign_in {
        return Ok(Err(again(t("console-again-too-long-ago"))));
    }
    let second_factor = who.session.amr_list().iter().any(|a| a == "mfa");
    if (has_totp || settings.admin_require_mfa) && !second_factor {
        return Ok(Err(again(if has_totp {
            t("console-again-with-totp")
        } else {
            t("console-again-needs-mfa")
        })));
    }
    Ok(Ok(Admin {
        acting: Acting {
            actor: Actor::Person(who.user.id.to_string()),
            origin: state.origin(req),
        },
        user: who.user,
    }))
}

/// An administrative action's refusal as a page: not found, or a 400 saying why.
fn page_error(e: crate::admin::AdminError) -> PageError {
    use crate::admin::AdminError;
    match e {
        AdminError::NoAccount(_) | AdminError::NotFound(_) => PageError::NotFound(e.to_string()),
        AdminError::Invalid(why) | AdminError::Conflict(why) => PageError::BadRequest(why),
        AdminError::Db(d) => d.into(),
    }
}

/// A console form: every field, its CSRF token checked.
pub(crate) struct Form(pub HashMap<String, String>);

impl Form {
    fn checked(
        state: &AppState,
        req: &HttpRequest,
        form: web::Form<HashMap<String, String>>,
    ) -> Result<Form, PageError> {
        let form = form.into_inner();
        csrf::require(
            req,
            state.secure_cookies(),
            form.get("csrf").map_or("", String::as_str),
        )?;
        Ok(Form(form))
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }

    /// True once the person confirmed on the confirmation page.
    pub fn confirmed(&self) -> bool {
        self.get("confirm") == "yes"
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    csrf: String,
    question: String,
    action: String,
    fields: Vec<(String, String)>,
    yes: String,
    back: String,
}

/// "Are you sure?": the same form again with `confirm=yes`.
fn confirm(
    state: &AppState,
    req: &HttpRequest,
    form: &Form,
    question: String,
    yes: &str,
    back: &str,
) -> HttpResponse {
    let fields = form
        .0
        .iter()
        .filter(|(k, _)| k.as_str() != "csrf" && k.as_str() != "confirm")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    csrf::page(req, state.secure_cookies(), StatusCode::OK, |csrf| {
        ConfirmPage {
            csrf,
            question,
            action: req.path().to_string(),
            fields,
            yes: yes.to_string(),
            back: back.to_string(),
        }
    })
}

/// Messages a page may show after a redirect (`?done=…`): a fixed list, so nothing a link
/// carries is ever shown as it was sent.
fn done_message(req: &HttpRequest) -> Option<String> {
    let params = crate::web::Params::parse(req.query_string().as_bytes()).ok()?;
    Some(match params.get("done")? {
        "disabled" => t("console-done-disabled"),
        "enabled" => t("console-done-enabled"),
        "ended" => t("console-done-ended"),
        "mfa" => t("console-done-mfa"),
        "unlocked" => t("console-done-unlocked"),
        "password" => t("console-done-password"),
        "deleted" => t("console-done-deleted"),
        "invited" => t("console-done-invited"),
        "saved" => t("console-done-saved"),
        "roles" => t("console-done-roles"),
        "app-deleted" => t("console-done-app-deleted"),
        "app-disabled" => t("console-done-app-disabled"),
        "app-enabled" => t("console-done-app-enabled"),
        "rotated" => t("console-done-rotated"),
        "rotated-now" => t("console-done-rotated-now"),
        _ => return None,
    })
}

/// A state as the pages show it (an account's or an app's `active` or `disabled`, a
/// signing key's `next`, `active` or `retired`); any other value as it is.
pub(crate) fn state_label(state: &str) -> String {
    match state {
        "active" => t("console-state-active"),
        "disabled" => t("console-state-disabled"),
        "next" => t("console-state-next"),
        "retired" => t("console-state-retired"),
        other => other.to_string(),
    }
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    admin: String,
    people: i64,
    disabled: i64,
    apps: usize,
    sign_ins: i64,
    failures: i64,
    locked: i64,
}

/// `GET /admin`: people, apps, and the last day's sign-ins and failures.
async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let admin = match admin(&state, &req).await? {
        Ok(a) => a,
        Err(resp) => return Ok(resp),
    };
    let since = crate::time::now() - 24 * 3600;
    let (people, disabled, apps, sign_ins, failures, locked) = db::run(&state.pool, move |conn| {
        let (people, disabled) = accounts::store::counts(conn)?;
        Ok((
            people,
            disabled,
            crate::clients::store::list(conn)?.len(),
            crate::audit::store::count(conn, crate::audit::kind::SIGN_IN_SUCCESS, since)?,
            crate::audit::store::count(conn, crate::audit::kind::SIGN_IN_FAILURE, since)?,
            crate::audit::store::count(conn, crate::audit::kind::ACCOUNT_LOCKED, since)?,
        ))
    })
    .await?;
    Ok(page::render(
        StatusCode::OK,
        &DashboardPage {
            admin: admin.user.label(),
            people,
            disabled,
            apps,
            sign_ins,
            failures,
            locked,
        },
    ))
}
