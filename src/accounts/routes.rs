//! The account pages: who you are, the authenticator app (TOTP) and recovery codes, and
//! "sign out everywhere". Every page needs a session; changes to second factors need a
//! fresh sign-in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::{self, kind};
use crate::db;
use crate::mfa;
use crate::sessions::{self, Session};
use crate::web::{self as page, csrf, AppState, PageError};

/// How recent a sign-in must be to change second factors (seconds).
const FRESH_SIGN_IN: i64 = 300;

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
        );
}

#[derive(Template)]
#[template(path = "accounts/index.html")]
struct AccountPage {
    csrf: String,
    email: String,
    name: String,
    totp_enabled: bool,
    recovery_left: i64,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/totp_setup.html")]
struct SetupPage {
    csrf: String,
    secret: String,
    qr: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/recovery_codes.html")]
struct CodesPage {
    codes: Vec<String>,
}

/// Every account form carries its CSRF token.
#[derive(Deserialize)]
pub struct AccountForm {
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(Session, crate::accounts::User)>, PageError> {
    let Some(session) = sessions::current(&state.pool, req, state.secure_cookies()).await? else {
        return Ok(None);
    };
    let id = session.user_id.clone();
    let user = db::run(&state.pool, move |conn| Ok(super::store::find(conn, &id)?)).await?;
    Ok(user.map(|u| (session, u)))
}

fn to_login() -> HttpResponse {
    page::see_other("/login")
}

async fn account_page(
    state: &AppState,
    req: &HttpRequest,
    user: &crate::accounts::User,
    message: Option<String>,
) -> Result<HttpResponse, PageError> {
    let totp_enabled = mfa::enabled(state, &user.id).await?;
    let id = user.id.clone();
    let recovery_left = db::run(&state.pool, move |conn| {
        Ok(mfa::store::unused_recovery_codes(conn, &id)?)
    })
    .await?;
    let (token, cookie) = csrf::token(req, state.secure_cookies());
    let mut resp = page::render(
        StatusCode::OK,
        &AccountPage {
            csrf: token,
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
            totp_enabled,
            recovery_left,
            message,
        },
    );
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// `GET /account`.
async fn show_account(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    account_page(&state, &req, &user, None).await
}

fn check_csrf(state: &AppState, req: &HttpRequest, form: &AccountForm) -> Result<(), PageError> {
    if csrf::verify(req, state.secure_cookies(), &form.csrf) {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "The form expired. Go back and try again.".into(),
        ))
    }
}

/// `POST /account/totp/setup`: a new secret, shown as a QR code and as text.
async fn setup_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    match mfa::begin(&state, &user).await {
        Ok(e) => Ok(page::render(
            StatusCode::OK,
            &SetupPage {
                csrf: form.csrf.clone(),
                secret: e.secret_base32,
                qr: e.qr_png_base64,
                error: None,
            },
        )),
        Err(mfa::MfaError::AlreadyEnabled) => {
            account_page(
                &state,
                &req,
                &user,
                Some("An authenticator app is already set up.".into()),
            )
            .await
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

/// `POST /account/totp/enable`: a correct code switches TOTP on; recovery codes once.
async fn enable_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    match mfa::confirm(&state, &user, &form.code).await {
        Ok(codes) => {
            let origin = page::origin(&req, &state.settings);
            audit::record(
                &state.pool,
                &origin,
                kind::TOTP_ENABLED,
                Some(user.id.clone()),
                None,
                String::new(),
            )
            .await;
            Ok(page::render(StatusCode::OK, &CodesPage { codes }))
        }
        Err(mfa::MfaError::WrongCode) => {
            // Show the same secret again: begin() would replace it.
            account_page(
                &state,
                &req,
                &user,
                Some(
                    "That code was not right. Set up the app again and enter the current code."
                        .into(),
                ),
            )
            .await
        }
        Err(mfa::MfaError::Db(e)) => Err(e.into()),
        Err(e) => account_page(&state, &req, &user, Some(format!("{e}."))).await,
    }
}

/// Second-factor changes need a sign-in from the last few minutes.
fn fresh(session: &Session) -> bool {
    crate::time::now() - session.auth_time <= FRESH_SIGN_IN
}

/// `POST /account/totp/disable` (needs a fresh sign-in).
async fn disable_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((session, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    if !fresh(&session) {
        return account_page(&state, &req, &user, Some("For your safety, sign in again (sign out, then in) before turning off two-step verification.".into())).await;
    }
    mfa::disable(&state, &user.id).await?;
    let origin = page::origin(&req, &state.settings);
    audit::record(
        &state.pool,
        &origin,
        kind::TOTP_DISABLED,
        Some(user.id.clone()),
        None,
        String::new(),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some("Two-step verification is off.".into()),
    )
    .await
}

/// `POST /account/recovery-codes` (needs a fresh sign-in): new codes, the old ones die.
async fn regenerate_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((session, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    if !fresh(&session) || !mfa::enabled(&state, &user.id).await? {
        return account_page(
            &state,
            &req,
            &user,
            Some("Sign in again (sign out, then in) to make new recovery codes.".into()),
        )
        .await;
    }
    let codes = mfa::new_recovery_codes(&state, &user.id).await?;
    Ok(page::render(StatusCode::OK, &CodesPage { codes }))
}

/// `POST /account/sign-out-everywhere`: ends every session of the account and revokes
/// every refresh token (and the access tokens of those grants).
async fn sign_out_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let id = user.id.clone();
    let ended = db::run(&state.pool, move |conn| {
        let n = sessions::store::delete_for_user(conn, &id)?;
        crate::oauth::store::revoke_families_of_user(conn, &id)?;
        Ok(n)
    })
    .await?;
    let origin = page::origin(&req, &state.settings);
    audit::record(
        &state.pool,
        &origin,
        kind::SESSION_ENDED,
        Some(user.id),
        None,
        format!("via=everywhere sessions={ended}"),
    )
    .await;
    let mut resp = page::see_other("/");
    let _ = resp.add_cookie(&sessions::clear_session_cookie(state.secure_cookies()));
    Ok(resp)
}
