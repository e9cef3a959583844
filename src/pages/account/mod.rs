//! The account pages: who you are, the authenticator app (TOTP) and recovery codes, and
//! "sign out everywhere". Every page needs a session; every new or changed way in (phone,
//! email, first password, authenticator, recovery codes) needs a fresh sign-in
//! (`fresh_sign_in_window`), and the owner is told by email after each change.

mod confirm;
mod devices;
mod leaving;
mod password;
pub(crate) mod profile;
mod totp;

use super::signed_in::{csrf_forms, Action, SignedIn};
use crate::accounts;
use crate::audit::{self, kind};
use crate::db;
use crate::mfa;
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use confirm::*;
use devices::*;
use leaving::*;
use password::*;
use profile::*;
use totp::*;

/// Mounts the account routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(show_account))
        .route("/account/totp/setup", web::post().to(setup_totp))
        .route("/account/totp/enable", web::post().to(enable_totp))
        .route("/account/totp/disable", web::post().to(disable_totp))
        .route("/account/recovery-codes", web::post().to(regenerate_codes))
        .route(
            "/account/sign-out-everywhere",
            web::post().to(sign_out_everywhere),
        )
        .route("/account/sessions/end", web::post().to(end_session))
        .route("/account/browsers/forget", web::post().to(forget_browsers))
        .route("/account/apps/revoke", web::post().to(revoke_app))
        .route("/account/password", web::post().to(change_password))
        .route("/account/name", web::post().to(change_name))
        .route("/account/preferences", web::post().to(change_preferences))
        .route("/account/attributes", web::post().to(change_attributes))
        .route("/account/export", web::post().to(export))
        .route("/account/delete", web::post().to(delete_account))
        .route("/account/email", web::post().to(change_email))
        .route("/account/email/verify", web::get().to(show_email_code))
        .route("/account/email/verify", web::post().to(verify_email_change))
        .route("/account/phone", web::post().to(add_phone))
        .route("/account/phone/verify", web::get().to(show_phone_code))
        .route("/account/phone/verify", web::post().to(verify_phone));
}

#[derive(Template)]
#[template(path = "accounts/index.html")]
struct AccountPage {
    csrf: String,
    email: String,
    name: String,
    totp_enabled: bool,
    recovery_left: i64,
    /// Browsers remembered after a second factor.
    remembered: i64,
    has_password: bool,
    phone: String,
    /// The saved language (empty: chosen by the browser) and time zone.
    locale: String,
    zoneinfo: String,
    sessions: Vec<SessionLine>,
    apps: Vec<AppLine>,
    attributes: Vec<AttributeLine>,
    editable_attributes: bool,
    /// Holds the `admin` role: the page links to the console.
    admin: bool,
    message: Option<String>,
}

/// A custom attribute as the account page shows it.
struct AttributeLine {
    name: String,
    label: String,
    /// `text`, `number`, `date`, `checkbox`, `select` or `list`.
    input: &'static str,
    value: String,
    checked: bool,
    options: Vec<String>,
    editable: bool,
}

/// How a form asks for an attribute: `checkbox`, `number`, `date`, `select` (from its
/// values), `list` (text, comma-separated) or `text`. The account page and the console's
/// person page both use it.
pub(crate) fn attribute_input(spec: &crate::config::AttributeSpec) -> &'static str {
    use crate::config::AttributeKind;
    match spec.kind {
        AttributeKind::Boolean => "checkbox",
        AttributeKind::Number => "number",
        AttributeKind::Date => "date",
        AttributeKind::List => "list",
        AttributeKind::Enum => "select",
        AttributeKind::String if !spec.values.is_empty() => "select",
        AttributeKind::String => "text",
    }
}

/// The account page's lines for the declared attributes and `values`.
fn attribute_lines(
    specs: &[crate::config::AttributeSpec],
    values: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<AttributeLine> {
    use crate::config::AttributeEditor;
    specs
        .iter()
        .map(|spec| {
            let value = values.get(&spec.name);
            let text = match value {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                Some(serde_json::Value::Bool(b)) => {
                    if *b {
                        crate::i18n::t("account-attribute-yes")
                    } else {
                        crate::i18n::t("account-attribute-no")
                    }
                }
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let input = attribute_input(spec);
            AttributeLine {
                name: spec.name.clone(),
                label: spec.label().to_string(),
                input,
                checked: value == Some(&serde_json::Value::Bool(true)),
                value: text,
                options: spec.values.clone(),
                editable: spec.editable_by == AttributeEditor::Person,
            }
        })
        .collect()
}

/// A browser session as the account page lists it.
struct SessionLine {
    id: String,
    device: String,
    ip: String,
    first_seen: String,
    last_seen: String,
    current: bool,
}

/// A connected app.
struct AppLine {
    client_id: String,
    name: String,
    scopes: String,
    since: String,
}

/// Date and time for people, in their time zone when known.
pub(crate) fn when(ts: i64) -> String {
    crate::i18n::when(ts)
}

csrf_forms! {
    /// A form with nothing but its CSRF token (the action is in the URL).
    CsrfOnly {}
    /// The first code from a new authenticator app.
    CodeForm { code }
    /// The session (hash) to end.
    EndSessionForm { session }
    /// The app whose access to revoke.
    RevokeAppForm { client_id }
    /// The current password (when the account has one) and the new one.
    PasswordForm { current_password, new_password }
    /// A phone number to add.
    PhoneForm { phone }
    /// A new display name.
    NameForm { name }
    /// The language (a tag, or empty for the browser's) and time zone (IANA, or empty).
    PreferencesForm { locale, zoneinfo }
    /// A new email address.
    EmailForm { email }
    /// A confirmation code for a phone or email change.
    ConfirmForm { challenge, code }
    /// Deleting the account: `confirm=yes` once the person said so.
    DeleteForm { confirm }
}

async fn account_page(
    state: &AppState,
    req: &HttpRequest,
    user: &accounts::User,
    message: Option<String>,
) -> Result<HttpResponse, PageError> {
    let id = user.id.clone();
    // One trip to the pool for everything the page shows.
    let with_attributes = !state.settings.attributes.attributes.is_empty();
    let (totp_enabled, recovery_left, sessions_rows, consents, values, admin, remembered) =
        db::run(&state.pool, move |conn| {
            let now = crate::time::now();
            Ok((
                mfa::store::totp(conn, &id)?.is_some_and(|t| t.enabled_at.is_some()),
                mfa::store::unused_recovery_codes(conn, &id)?,
                sessions::store::list_for_user(conn, &id, now)?,
                crate::grants::store::consents_of_user(conn, &id)?,
                if with_attributes {
                    accounts::attributes::all(conn, &id)?
                } else {
                    Default::default()
                },
                accounts::store::roles(conn, &id)?
                    .iter()
                    .any(|r| r == crate::admin::ADMIN_ROLE),
                sessions::store::remembered_count(conn, &id, now)?,
            ))
        })
        .await?;
    let attributes = attribute_lines(&state.settings.attributes.attributes, &values);
    let editable_attributes = attributes.iter().any(|a| a.editable);
    let current = req
        .cookie(sessions::session_cookie_name(state.secure_cookies()))
        .map(|c| crate::crypto::hash_secret(c.value()))
        .unwrap_or_default();
    let sessions_list = sessions_rows
        .into_iter()
        .map(|s| SessionLine {
            current: s.id_hash == current,
            id: s.id_hash,
            device: if s.user_agent.is_empty() {
                crate::i18n::t("account-session-unknown-browser")
            } else {
                s.user_agent.chars().take(80).collect()
            },
            ip: s.ip,
            first_seen: when(s.created_at),
            last_seen: when(s.last_seen_at),
        })
        .collect();
    let apps = consents
        .into_iter()
        .map(|(client_id, name, scopes, at)| AppLine {
            client_id,
            name,
            scopes,
            since: when(at),
        })
        .collect();
    Ok(csrf::page(
        req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| AccountPage {
            csrf: token,
            email: user.label(),
            name: user.name.clone().unwrap_or_default(),
            totp_enabled,
            recovery_left,
            remembered,
            has_password: user.password_hash.is_some(),
            phone: user.phone.clone().unwrap_or_default(),
            locale: user.locale.clone().unwrap_or_default(),
            zoneinfo: user.zoneinfo.clone().unwrap_or_default(),
            sessions: sessions_list,
            apps,
            attributes,
            editable_attributes,
            admin,
            message,
        },
    ))
}

/// `GET /account`.
async fn show_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    SignedIn { user, .. }: SignedIn,
) -> Result<HttpResponse, PageError> {
    account_page(&state, &req, &user, None).await
}

/// A new or changed way in needs a sign-in from the last few minutes: a stolen session
/// alone must not be able to plant a way back in.
fn fresh(state: &AppState, session: &Session) -> bool {
    crate::time::now() - session.auth_time <= state.settings.accounts.fresh_sign_in_window
}

/// The account page saying that `doing` needs a fresh sign-in (403).
async fn needs_fresh_sign_in(
    state: &AppState,
    req: &HttpRequest,
    user: &accounts::User,
    doing: &str,
) -> Result<HttpResponse, PageError> {
    let mut resp = account_page(
        state,
        req,
        user,
        Some(crate::i18n::t1("account-fresh-sign-in", "doing", doing)),
    )
    .await?;
    *resp.status_mut() = StatusCode::FORBIDDEN;
    Ok(resp)
}

/// Tells the owner that a way in changed: by email (to `to`, or the account's address), or
/// by SMS to the account's number when it has no address. Queued in the outbox; a failure
/// to queue is logged, the change itself stands.
async fn tell_owner(state: &AppState, user: &accounts::User, to: Option<&str>, change: &str) {
    let queued = match (to.or(user.email.as_deref()), user.phone.as_deref()) {
        (Some(to), _) if !to.is_empty() => match crate::notify::method_changed_email(change) {
            Ok(email) => state.outbox.email(to, email).await,
            Err(e) => Err(e),
        },
        (_, Some(phone)) => {
            state
                .outbox
                .sms(
                    phone,
                    &crate::i18n::t1("sms-method-changed", "change", change),
                )
                .await
        }
        _ => return,
    };
    if let Err(e) = queued {
        tracing::warn!(error = %e, "could not queue the sign-in method notice");
    }
}
