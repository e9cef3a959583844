//! Sign-in and the home page: thin handlers over accounts and sessions.

mod code;
mod complete;
mod password;
mod totp;

use crate::accounts;
use crate::audit::{self, kind};
use crate::oauth::handoff;
use crate::sessions;
use crate::state::AppState;
use crate::throttle;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use code::*;
use complete::*;
use password::*;
use serde::Deserialize;
use totp::*;

/// Mounts the sign-in routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(show_login))
        .route("/login", web::post().to(submit_login))
        .route("/login/code", web::post().to(send_code))
        .route("/login/code", web::get().to(show_code))
        .route("/login/code/verify", web::post().to(verify_code))
        .route("/login/totp", web::get().to(show_totp))
        .route("/login/totp", web::post().to(verify_totp))
        .route("/login/second/send", web::post().to(send_second_code));
}

/// The first step: "Email or mobile number".
#[derive(Template)]
#[template(path = "sessions/login.html")]
struct LoginPage {
    csrf: String,
    request: String,
    client_name: Option<String>,
    identifier: String,
    /// `default_phone_region` is set: numbers may be typed without their country code.
    national_numbers: bool,
    error: Option<String>,
}

/// The second step: the ways this kind of identifier can sign in (a password; a code by
/// email for an address, by SMS for a number). It depends on the identifier's kind only,
/// never on whether an account has it, so unknown identifiers get the same page.
#[derive(Template)]
#[template(path = "sessions/methods.html")]
struct MethodsPage {
    csrf: String,
    request: String,
    client_name: Option<String>,
    identifier: String,
    by_phone: bool,
    error: Option<String>,
}

/// The first step again (400), with `error`.
fn identify_again(
    state: &AppState,
    csrf: &str,
    request: &str,
    view: Option<handoff::PendingView>,
    typed: &str,
    error: String,
) -> HttpResponse {
    page::render(
        StatusCode::BAD_REQUEST,
        &LoginPage {
            csrf: csrf.to_string(),
            request: request.to_string(),
            client_name: view.map(|v| v.client_name),
            identifier: typed.chars().take(254).collect(),
            national_numbers: state.settings.accounts.default_phone_region.is_some(),
            error: Some(error),
        },
    )
}

/// The second step for `identifier`, with `status` and `error`.
fn methods(
    status: StatusCode,
    csrf: &str,
    request: &str,
    view: Option<handoff::PendingView>,
    identifier: &accounts::Identifier,
    error: Option<String>,
) -> HttpResponse {
    page::render(
        status,
        &MethodsPage {
            csrf: csrf.to_string(),
            request: request.to_string(),
            client_name: view.map(|v| v.client_name),
            identifier: identifier.as_str().to_string(),
            by_phone: identifier.is_phone(),
            error,
        },
    )
}

#[derive(Template)]
#[template(path = "sessions/home.html")]
struct HomePage {
    email: Option<String>,
    csrf: String,
}

/// `GET /`: who is signed in, with a sign-out button.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let session = sessions::current(&state.pool, &req, state.secure_cookies()).await?;
    let email = match session {
        Some(s) => {
            let id = s.user_id.clone();
            crate::db::run(&state.pool, move |conn| {
                Ok(accounts::store::find(conn, &id)?)
            })
            .await?
            .map(|u| {
                crate::i18n::offer(crate::i18n::Rank::Saved, u.locale.as_deref());
                u.email.or(u.phone).unwrap_or_default()
            })
        }
        None => None,
    };
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| HomePage { email, csrf: token },
    ))
}

/// `GET /login[?request=ID]`.
pub async fn show_login(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-invalid-request")))?;
    let request = params.get("request").unwrap_or("").to_string();
    let (client_name, identifier) = if request.is_empty() {
        (None, String::new())
    } else {
        let view = handoff::pending_view(&state, &req, &request).await?;
        (Some(view.client_name), view.login_hint.unwrap_or_default())
    };
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| LoginPage {
            csrf: token,
            request,
            client_name,
            identifier,
            national_numbers: state.settings.accounts.default_phone_region.is_some(),
            error: None,
        },
    ))
}
