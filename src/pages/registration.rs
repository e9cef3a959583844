//! Self-service: registration with email confirmation, and password reset by a code sent
//! to a confirmed address. Answers never tell whether an address has an account.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts::{check_password_policy, hash_off_thread, normalize_email, store};
use crate::audit::{self, kind};
use crate::crypto;
use crate::db::{self, DbError};
use crate::otp::{self, Channel, CheckError, Purpose, SendError};
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};

/// Mounts registration and password reset.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/register", web::get().to(show_register))
        .route("/register", web::post().to(submit_register))
        .route("/register/verify", web::get().to(show_verify))
        .route("/register/verify", web::post().to(submit_verify))
        .route("/password/forgot", web::get().to(show_forgot))
        .route("/password/forgot", web::post().to(submit_forgot))
        .route("/password/reset", web::get().to(show_reset))
        .route("/password/reset", web::post().to(submit_reset));
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
    title: &'static str,
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
    let (token, cookie) = csrf::token(req, state.secure_cookies());
    let mut resp = page::render(status, &build(token));
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    resp
}

fn require_csrf(state: &AppState, req: &HttpRequest, token: &str) -> Result<(), PageError> {
    csrf::require(req, state.secure_cookies(), token)
}

fn registration_open(state: &AppState) -> Result<(), PageError> {
    if state.settings.accounts.registration_enabled {
        Ok(())
    } else {
        Err(PageError::NotFound(
            "Registration is switched off here. Ask an administrator for an account.".into(),
        ))
    }
}

async fn show_register(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    registration_open(&state)?;
    Ok(with_csrf(&state, &req, StatusCode::OK, |csrf| {
        RegisterPage {
            csrf,
            email: String::new(),
            name: String::new(),
            error: None,
        }
    }))
}

/// The registration form; an empty password makes a passwordless account (codes only).
#[derive(Deserialize)]
pub struct RegisterForm {
    csrf: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /register`: the same answer for a new or a taken address; the owner of a taken
/// one gets an email instead of a code.
async fn submit_register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    registration_open(&state)?;
    require_csrf(&state, &req, &form.csrf)?;
    let form = form.into_inner();
    let again = |error: String, status: StatusCode| {
        let (email, name) = (
            form.email.chars().take(254).collect(),
            form.name.chars().take(200).collect(),
        );
        page::render(
            status,
            &RegisterPage {
                csrf: form.csrf.clone(),
                email,
                name,
                error: Some(error),
            },
        )
    };
    let Ok(email) = normalize_email(&form.email) else {
        return Ok(again(
            "Enter a valid email address.".into(),
            StatusCode::BAD_REQUEST,
        ));
    };
    let password = (!form.password.is_empty()).then(|| form.password.clone());
    if let Some(p) = &password {
        if let Err(message) =
            check_password_policy(p, &email, state.settings.accounts.password_min_length)
        {
            return Ok(again(message, StatusCode::BAD_REQUEST));
        }
    }
    let name =
        Some(form.name.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    let hash = match password {
        Some(p) => Some(
            hash_off_thread(p)
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    // The choices travel with the code and are applied only when that code comes back, so
    // registering someone else's unconfirmed address again changes nothing of theirs.
    let payload = serde_json::json!({ "password_hash": hash, "name": name }).to_string();
    let e = email.clone();
    // New address: an unconfirmed account with nothing set yet. Taken: nothing changes.
    let (user_id, taken) = db::run(&state.pool, move |conn| {
        let existing = match store::find_by_email(conn, &e)? {
            Some(u) => Some(u),
            None => match store::insert_unverified(conn, &e, None, None) {
                Ok(u) => return Ok((Some(u.id), false)),
                // A parallel registration of the same address won: use its row.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => store::find_by_email(conn, &e)?,
                Err(err) => return Err(err.into()),
            },
        };
        Ok(match existing {
            Some(u) if !u.email_verified => (Some(u.id), false),
            _ => (None, true),
        })
    })
    .await?;
    let browser = crypto::hash_secret(&form.csrf);
    let origin = state.origin(&req);
    let sent = if taken {
        let result = otp::issue(
            &state.codes(),
            Purpose::VerifyEmail,
            &email,
            None,
            None,
            browser,
        )
        .await;
        if result.is_ok() {
            if let Ok(notice) = crate::notify::account_exists_email() {
                if let Err(e) = state.notifier.send_email(&email, notice).await {
                    tracing::warn!(error = %e, "could not tell an address owner about a registration attempt");
                }
            }
        }
        result
    } else {
        otp::issue_with(
            &state.codes(),
            Purpose::VerifyEmail,
            &email,
            user_id.clone(),
            Some(Channel::Email(email.clone())),
            browser,
            Some(payload),
        )
        .await
    };
    match sent {
        Ok(challenge) => {
            audit::record(
                &state.pool,
                &origin,
                kind::REGISTERED,
                user_id,
                None,
                format!("email={email} taken={taken}"),
            )
            .await;
            Ok(page::see_other(&format!(
                "/register/verify?challenge={challenge}"
            )))
        }
        Err(SendError::Db(e)) => Err(e.into()),
        Err(e @ SendError::TooMany) => Ok(again(format!("{e}."), StatusCode::TOO_MANY_REQUESTS)),
        Err(e) => Ok(again(format!("{e}."), StatusCode::SERVICE_UNAVAILABLE)),
    }
}

async fn code_page(
    state: &AppState,
    req: &HttpRequest,
    title: &'static str,
    action: &'static str,
    new_password: bool,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let identifier = otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest("This code has expired. Start again.".into()))?;
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

async fn show_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    code_page(
        &state,
        &req,
        "Confirm your email address",
        "/register/verify",
        false,
    )
    .await
}

/// A code form (with a new password for resets).
#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    challenge: String,
    code: String,
    #[serde(default)]
    password: String,
}

fn code_error(e: CheckError) -> &'static str {
    match e {
        CheckError::Wrong => "That code is not right. Check it and try again.",
        CheckError::Dead => "This code can no longer be used. Start again for a new one.",
    }
}

/// `POST /register/verify`: the code confirms the address; the account is usable now and
/// the person is signed in.
async fn submit_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let browser = crypto::hash_secret(&form.csrf);
    match otp::check_with_payload(
        &state.codes(),
        Purpose::VerifyEmail,
        &form.challenge,
        &browser,
        &form.code,
    )
    .await
    {
        Ok((user_id, payload)) => {
            // Apply what this registration chose, then confirm, in one transaction.
            let choices: serde_json::Value = payload
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            let hash = choices["password_hash"].as_str().map(str::to_string);
            let name = choices["name"].as_str().map(str::to_string);
            let id = user_id.clone();
            db::run(&state.pool, move |conn| {
                use diesel::Connection;
                conn.transaction(|conn| {
                    store::refresh_unverified(conn, &id, name.as_deref(), hash.as_deref())?;
                    store::mark_verified(conn, &id)
                })?;
                Ok(())
            })
            .await?;
            let origin = state.origin(&req);
            audit::record(
                &state.pool,
                &origin,
                kind::EMAIL_VERIFIED,
                Some(user_id.clone()),
                None,
                String::new(),
            )
            .await;
            let secure = state.secure_cookies();
            let previous = req
                .cookie(crate::sessions::session_cookie_name(secure))
                .map(|c| c.value().to_string());
            let (token, _) = crate::sessions::start(
                &state.pool,
                user_id,
                vec!["otp".into()],
                state.settings.accounts.session_ttl,
                &origin,
                previous,
            )
            .await?;
            let mut resp = page::see_other("/account");
            let _ = resp.add_cookie(&crate::sessions::session_cookie(token, secure));
            Ok(resp)
        }
        Err(e) => {
            let identifier = otp::challenge_identifier(&state.pool, &form.challenge)
                .await?
                .unwrap_or_default();
            let form = form.into_inner();
            Ok(page::render(
                StatusCode::UNAUTHORIZED,
                &CodePage {
                    title: "Confirm your email address",
                    action: "/register/verify",
                    csrf: form.csrf,
                    challenge: form.challenge,
                    identifier,
                    new_password: false,
                    error: Some(code_error(e).into()),
                },
            ))
        }
    }
}

async fn show_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    Ok(with_csrf(&state, &req, StatusCode::OK, |csrf| ForgotPage {
        csrf,
        email: String::new(),
        error: None,
    }))
}

/// The "forgot your password" form.
#[derive(Deserialize)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// `POST /password/forgot`: a code goes to the address if it is a confirmed account.
async fn submit_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let identifier =
        normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
    let ident = identifier.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(store::find_by_email(conn, &ident)?)
    })
    .await?
    .filter(|u| u.email_verified);
    let (user_id, to) = match user {
        Some(u) => (Some(u.id), Some(Channel::Email(u.email))),
        None => (None, None),
    };
    let browser = crypto::hash_secret(&form.csrf);
    match otp::issue(
        &state.codes(),
        Purpose::ResetPassword,
        &identifier,
        user_id,
        to,
        browser,
    )
    .await
    {
        Ok(challenge) => Ok(page::see_other(&format!(
            "/password/reset?challenge={challenge}"
        ))),
        Err(SendError::Db(e)) => Err(e.into()),
        Err(e) => {
            let status = if matches!(e, SendError::TooMany) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Ok(page::render(
                status,
                &ForgotPage {
                    csrf: form.csrf.clone(),
                    email: form.email.chars().take(254).collect(),
                    error: Some(format!("{e}.")),
                },
            ))
        }
    }
}

async fn show_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    code_page(
        &state,
        &req,
        "Choose a new password",
        "/password/reset",
        true,
    )
    .await
}

/// `POST /password/reset`: a right code sets the new password and ends every session and
/// refresh token of the account.
async fn submit_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let form = form.into_inner();
    let identifier = otp::challenge_identifier(&state.pool, &form.challenge)
        .await?
        .unwrap_or_default();
    let again = |error: String, status: StatusCode| {
        page::render(
            status,
            &CodePage {
                title: "Choose a new password",
                action: "/password/reset",
                csrf: form.csrf.clone(),
                challenge: form.challenge.clone(),
                identifier: identifier.clone(),
                new_password: true,
                error: Some(error),
            },
        )
    };
    // The policy first, so a weak choice does not burn the code.
    if let Err(message) = check_password_policy(
        &form.password,
        &identifier,
        state.settings.accounts.password_min_length,
    ) {
        return Ok(again(message, StatusCode::BAD_REQUEST));
    }
    let browser = crypto::hash_secret(&form.csrf);
    let user_id = match otp::check(
        &state.codes(),
        Purpose::ResetPassword,
        &form.challenge,
        &browser,
        &form.code,
    )
    .await
    {
        Ok(id) => id,
        Err(e) => return Ok(again(code_error(e).into(), StatusCode::UNAUTHORIZED)),
    };
    let hash = hash_off_thread(form.password.clone())
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let id = user_id.clone();
    db::run(&state.pool, move |conn| {
        store::set_password(conn, &id, &hash)?;
        crate::accounts::end_sign_ins(conn, &id, None)?;
        Ok::<_, DbError>(())
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::PASSWORD_RESET,
        Some(user_id),
        None,
        "sessions and refresh tokens revoked".into(),
    )
    .await;
    let mut resp = page::see_other("/login?reset=done");
    let _ = resp.add_cookie(&crate::sessions::clear_session_cookie(
        state.secure_cookies(),
    ));
    Ok(resp)
}
