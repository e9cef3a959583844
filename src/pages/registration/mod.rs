//! Self-service: registration with email confirmation, and password reset by a code sent
//! to a confirmed address. Answers never tell whether an address has an account.

mod invitation;
mod register;
mod reset;
mod verify;

use crate::accounts::{check_password_policy, hash_off_thread, normalize_email, store, Identifier};
use crate::audit::{self, kind};
use crate::crypto;
use crate::db::{self, DbError};
use crate::otp::{self, Channel, CheckError, Purpose, SendError};
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use invitation::*;
use register::*;
use reset::*;
use serde::Deserialize;
use verify::*;

/// Mounts registration and password reset.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/register", web::get().to(show_register))
        .route("/register", web::post().to(submit_register))
        .route("/register/verify", web::get().to(show_verify))
        .route("/register/verify", web::post().to(submit_verify))
        .route("/password/forgot", web::get().to(show_forgot))
        .route("/password/forgot", web::post().to(submit_forgot))
        .route("/password/reset", web::get().to(show_reset))
        .route("/password/reset", web::post().to(submit_reset))
        .route("/invitation/{token}", web::get().to(show_invitation))
        .route("/invitation/{token}", web::post().to(accept_invitation));
}

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    csrf: String,
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/code.html")]
struct CodePage {
    title: String,
    action: &'static str,
    csrf: String,
    challenge: String,
    identifier: String,
    new_password: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

fn with_csrf<T: Template>(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    build: impl FnOnce(String) -> T,
) -> HttpResponse {
    csrf::page(req, state.secure_cookies(), status, build)
}

fn require_csrf(state: &AppState, req: &HttpRequest, token: &str) -> Result<(), PageError> {
    csrf::require(req, state.secure_cookies(), token)
}

fn registration_open(state: &AppState) -> Result<(), PageError> {
    if state.settings.accounts.registration_enabled {
        Ok(())
    } else {
        Err(PageError::NotFound(crate::i18n::t("register-closed")))
    }
}

async fn code_page(
    state: &AppState,
    req: &HttpRequest,
    title: impl FnOnce(&str) -> String,
    action: &'static str,
    new_password: bool,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("verify-invalid-request")))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let identifier = otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("verify-code-expired")))?;
    let title = title(&identifier);
    Ok(with_csrf(state, req, StatusCode::OK, |csrf| CodePage {
        title,
        action,
        csrf,
        challenge,
        identifier,
        new_password,
        error: None,
    }))
}

fn code_error(e: CheckError) -> String {
    match e {
        CheckError::Wrong => crate::i18n::t("verify-code-wrong"),
        CheckError::Dead => crate::i18n::t("verify-code-dead"),
    }
}
