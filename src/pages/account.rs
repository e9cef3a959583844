//! The account pages: who you are, the authenticator app (TOTP) and recovery codes, and
//! "sign out everywhere". Every page needs a session; changes to second factors need a
//! fresh sign-in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts;
use crate::audit::{self, kind};
use crate::db;
use crate::mfa;
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError};

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
        )
        .route("/account/sessions/end", web::post().to(end_session))
        .route("/account/apps/revoke", web::post().to(revoke_app))
        .route("/account/password", web::post().to(change_password))
        .route("/account/name", web::post().to(change_name))
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
    has_password: bool,
    phone: String,
    sessions: Vec<SessionLine>,
    apps: Vec<AppLine>,
    message: Option<String>,
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

/// UTC date and time for people.
fn when(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
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
    #[serde(default)]
    session: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "accounts/code.html")]
struct ConfirmPage {
    title: &'static str,
    action: &'static str,
    csrf: String,
    challenge: String,
    identifier: String,
    new_password: bool,
    error: Option<String>,
}

async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(Session, accounts::User)>, PageError> {
    let Some(session) = sessions::current(&state.pool, req, state.secure_cookies()).await? else {
        return Ok(None);
    };
    let id = session.user_id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?;
    Ok(user.map(|u| (session, u)))
}

fn to_login() -> HttpResponse {
    page::see_other("/login")
}

async fn account_page(
    state: &AppState,
    req: &HttpRequest,
    user: &accounts::User,
    message: Option<String>,
) -> Result<HttpResponse, PageError> {
    let id = user.id.clone();
    // One trip to the pool for everything the page shows.
    let (totp_enabled, recovery_left, sessions_rows, consents) =
        db::run(&state.pool, move |conn| {
            Ok((
                mfa::store::totp(conn, &id)?.is_some_and(|t| t.enabled_at.is_some()),
                mfa::store::unused_recovery_codes(conn, &id)?,
                sessions::store::list_for_user(conn, &id, crate::time::now())?,
                crate::grants::store::consents_of_user(conn, &id)?,
            ))
        })
        .await?;
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
                "Unknown browser".into()
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
    let (token, cookie) = csrf::token(req, state.secure_cookies());
    let mut resp = page::render(
        StatusCode::OK,
        &AccountPage {
            csrf: token,
            email: user.email.clone(),
            name: user.name.clone().unwrap_or_default(),
            totp_enabled,
            recovery_left,
            has_password: user.password_hash.is_some(),
            phone: user.phone.clone().unwrap_or_default(),
            sessions: sessions_list,
            apps,
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
    csrf::require(req, state.secure_cookies(), &form.csrf)
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
    match mfa::begin(&state.factors(), &user).await {
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
    match mfa::confirm(&state.factors(), &user, &form.code).await {
        Ok(codes) => {
            let origin = state.origin(&req);
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
    mfa::disable(&state.factors(), &user.id).await?;
    let origin = state.origin(&req);
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
    if !fresh(&session) || !mfa::enabled(&state.factors(), &user.id).await? {
        return account_page(
            &state,
            &req,
            &user,
            Some("Sign in again (sign out, then in) to make new recovery codes.".into()),
        )
        .await;
    }
    let codes = mfa::new_recovery_codes(&state.factors(), &user.id).await?;
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
        Ok(accounts::end_sign_ins(conn, &id, None)?)
    })
    .await?;
    let origin = state.origin(&req);
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

/// `POST /account/sessions/end`: ends one of your sessions (another device).
async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let (id, target) = (user.id.clone(), form.session.clone());
    let ended = db::run(&state.pool, move |conn| {
        Ok(sessions::store::delete_of_user(conn, &id, &target)?)
    })
    .await?;
    if ended == 1 {
        let origin = state.origin(&req);
        audit::record(
            &state.pool,
            &origin,
            kind::SESSION_ENDED,
            Some(user.id.clone()),
            None,
            "via=account".into(),
        )
        .await;
    }
    account_page(&state, &req, &user, Some("The session was ended.".into())).await
}

/// `POST /account/apps/revoke`: withdraws consent and revokes the app's tokens.
async fn revoke_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let (id, client) = (user.id.clone(), form.client_id.clone());
    db::run(&state.pool, move |conn| {
        Ok(crate::grants::store::revoke_consent(conn, &id, &client)?)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::CONSENT_REVOKED,
        Some(user.id.clone()),
        Some(form.client_id.clone()),
        String::new(),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some("The app can no longer use your account.".into()),
    )
    .await
}

/// `POST /account/password`: needs the current password; ends every other session and
/// revokes every refresh token.
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((session, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let current_ok = match &user.password_hash {
        Some(_) => accounts::authenticate(&state.pool, &user.email, form.current_password.clone())
            .await?
            .is_some(),
        // A passwordless account sets its first password with its session alone.
        None => true,
    };
    if !current_ok {
        return account_page(
            &state,
            &req,
            &user,
            Some("The current password is not right.".into()),
        )
        .await;
    }
    if let Err(message) = accounts::check_password_policy(
        &form.new_password,
        &user.email,
        state.settings.accounts.password_min_length,
    ) {
        return account_page(&state, &req, &user, Some(message)).await;
    }
    let hash = accounts::hash_off_thread(form.new_password.clone())
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let (id, keep) = (user.id.clone(), session.id_hash.clone());
    db::run(&state.pool, move |conn| {
        accounts::store::set_password(conn, &id, &hash)?;
        accounts::end_sign_ins(conn, &id, Some(&keep))?;
        Ok(())
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::PASSWORD_CHANGED,
        Some(user.id.clone()),
        None,
        "other sessions and refresh tokens revoked".into(),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some("Your password was changed. Other sessions were signed out.".into()),
    )
    .await
}

/// `POST /account/phone`: sends a code by SMS; the number is set once the code is back.
/// A number another account has gets no SMS (the page looks the same).
async fn add_phone(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let phone = match accounts::normalize_phone(&form.phone) {
        Ok(p) => p,
        Err(e) => return account_page(&state, &req, &user, Some(format!("{e}."))).await,
    };
    let p = phone.clone();
    let holder = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find_by_phone(conn, &p)?)
    })
    .await?;
    // A number another account has gets no SMS; the next page looks the same.
    let deliver = match holder {
        Some(other) if other.id != user.id => None,
        _ => Some(crate::otp::Channel::Sms(phone.clone())),
    };
    let identifier = phone;
    send_confirmation(
        &state,
        &req,
        &user,
        &PHONE,
        &identifier,
        deliver,
        &form.csrf,
    )
    .await
}

async fn show_phone_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    show_confirmation(&state, &req, &PHONE).await
}

/// `POST /account/phone/verify`: the code confirms the number for this account.
async fn verify_phone(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let phone = match check_confirmation(&state, &user, &form, &PHONE).await? {
        Ok(phone) => phone,
        Err(retry) => return Ok(retry),
    };
    let id = user.id.clone();
    let set = db::run(&state.pool, move |conn| {
        Ok(accounts::store::set_phone(conn, &id, &phone)?)
    })
    .await?;
    let message = if set == 1 {
        "Your phone number is confirmed."
    } else {
        "That number belongs to another account."
    };
    let id = user.id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?
    .unwrap_or(user);
    account_page(&state, &req, &user, Some(message.into())).await
}

/// `POST /account/name`.
async fn change_name(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((_, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let name: String = form.name.trim().chars().take(200).collect();
    let (id, n) = (user.id.clone(), name.clone());
    db::run(&state.pool, move |conn| {
        Ok(accounts::store::set_name(
            conn,
            &id,
            Some(n.as_str()).filter(|n| !n.is_empty()),
        )?)
    })
    .await?;
    let user = accounts::User {
        name: Some(name).filter(|n| !n.is_empty()),
        ..user
    };
    account_page(&state, &req, &user, Some("Your name was saved.".into())).await
}

/// `POST /account/email`: a code goes to the new address; it becomes the account's email
/// once the code comes back. An address another account has gets no code.
async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((session, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    if !fresh(&session) {
        // A stolen session alone must not be able to move the account to another address.
        return account_page(&state, &req, &user, Some("For your safety, sign in again (sign out, then in) before changing your email address.".into())).await;
    }
    let Ok(email) = accounts::normalize_email(&form.email) else {
        return account_page(
            &state,
            &req,
            &user,
            Some("Enter a valid email address.".into()),
        )
        .await;
    };
    let e = email.clone();
    let holder = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find_by_email(conn, &e)?)
    })
    .await?;
    // An address another account has gets no code; the next page looks the same.
    let deliver = match holder {
        Some(_) => None,
        None => Some(crate::otp::Channel::Email(email.clone())),
    };
    let identifier = email;
    send_confirmation(
        &state,
        &req,
        &user,
        &EMAIL,
        &identifier,
        deliver,
        &form.csrf,
    )
    .await
}

async fn show_email_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    show_confirmation(&state, &req, &EMAIL).await
}

/// `POST /account/email/verify`.
async fn verify_email_change(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    check_csrf(&state, &req, &form)?;
    let Some((session, user)) = signed_in(&state, &req).await? else {
        return Ok(to_login());
    };
    let email = match check_confirmation(&state, &user, &form, &EMAIL).await? {
        Ok(email) => email,
        Err(retry) => return Ok(retry),
    };
    let (id, e) = (user.id.clone(), email.clone());
    let keep = session.id_hash.clone();
    let set = db::run(&state.pool, move |conn| {
        let set = accounts::store::set_email(conn, &id, &e)?;
        if set == 1 {
            // Everything signed in under the old address ends, this browser aside.
            accounts::end_sign_ins(conn, &id, Some(&keep))?;
        }
        Ok(set)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::EMAIL_CHANGED,
        Some(user.id.clone()),
        None,
        format!("from={} to={email}", user.email),
    )
    .await;
    let id = user.id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?
    .unwrap_or(user);
    let message = if set == 1 {
        "Your email address was changed."
    } else {
        "That address belongs to another account."
    };
    account_page(&state, &req, &user, Some(message.into())).await
}

/// A change confirmed by a code sent to the new address or number.
struct Confirmation {
    title: &'static str,
    action: &'static str,
    purpose: crate::otp::Purpose,
}

const PHONE: Confirmation = Confirmation {
    title: "Confirm your phone number",
    action: "/account/phone/verify",
    purpose: crate::otp::Purpose::VerifyPhone,
};

const EMAIL: Confirmation = Confirmation {
    title: "Confirm your new email address",
    action: "/account/email/verify",
    purpose: crate::otp::Purpose::ChangeEmail,
};

/// The code entry page of a confirmation.
async fn show_confirmation(
    state: &AppState,
    req: &HttpRequest,
    c: &Confirmation,
) -> Result<HttpResponse, PageError> {
    let params = crate::web::Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let identifier = crate::otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest("This code has expired. Start again.".into()))?;
    let (token, cookie) = csrf::token(req, state.secure_cookies());
    let mut resp = page::render(
        StatusCode::OK,
        &ConfirmPage {
            title: c.title,
            action: c.action,
            csrf: token,
            challenge,
            identifier,
            new_password: false,
            error: None,
        },
    );
    if let Some(cookie) = cookie {
        let _ = resp.add_cookie(&cookie);
    }
    Ok(resp)
}

/// Checks a confirmation code for the signed-in `user`: the confirmed address or number,
/// or the page to answer with (wrong or dead code).
async fn check_confirmation(
    state: &AppState,
    user: &accounts::User,
    form: &AccountForm,
    c: &Confirmation,
) -> Result<Result<String, HttpResponse>, PageError> {
    let identifier = crate::otp::challenge_identifier(&state.pool, &form.challenge)
        .await?
        .unwrap_or_default();
    let browser = crate::crypto::hash_secret(&form.csrf);
    match crate::otp::check(
        &state.codes(),
        c.purpose,
        &form.challenge,
        &browser,
        &form.code,
    )
    .await
    {
        Ok(owner) if owner == user.id => Ok(Ok(identifier)),
        _ => Ok(Err(page::render(
            StatusCode::UNAUTHORIZED,
            &ConfirmPage {
                title: c.title,
                action: c.action,
                csrf: form.csrf.clone(),
                challenge: form.challenge.clone(),
                identifier,
                new_password: false,
                error: Some("That code is not right, or it can no longer be used.".into()),
            },
        ))),
    }
}

/// Sends the code of a confirmation (when `deliver` is set) and moves on to its code page.
async fn send_confirmation(
    state: &AppState,
    req: &HttpRequest,
    user: &accounts::User,
    c: &Confirmation,
    identifier: &str,
    deliver: Option<crate::otp::Channel>,
    csrf_token: &str,
) -> Result<HttpResponse, PageError> {
    let user_id = deliver.as_ref().map(|_| user.id.clone());
    let browser = crate::crypto::hash_secret(csrf_token);
    match crate::otp::issue(
        &state.codes(),
        c.purpose,
        identifier,
        user_id,
        deliver,
        browser,
    )
    .await
    {
        Ok(challenge) => Ok(page::see_other(&format!(
            "{}?challenge={challenge}",
            c.action
        ))),
        Err(crate::otp::SendError::Db(e)) => Err(e.into()),
        Err(e) => {
            account_page(
                state,
                req,
                user,
                Some(format!("We could not send a code: {e}.")),
            )
            .await
        }
    }
}
