//! Sign-in and the home page: thin handlers over accounts and sessions.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::accounts;
use crate::audit::{self, kind};
use crate::oauth::handoff;
use crate::sessions;
use crate::state::AppState;
use crate::throttle;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};

/// Mounts the sign-in routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(show_login))
        .route("/login", web::post().to(submit_login))
        .route("/login/code", web::post().to(send_code))
        .route("/login/code", web::get().to(show_code))
        .route("/login/code/verify", web::post().to(verify_code))
        .route("/login/totp", web::get().to(show_totp))
        .route("/login/totp", web::post().to(verify_totp));
}

#[derive(Template)]
#[template(path = "sessions/login.html")]
struct LoginPage {
    csrf: String,
    request: String,
    client_name: Option<String>,
    email: String,
    error: Option<String>,
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
            .map(|u| u.email)
        }
        None => None,
    };
    let (token, cookie) = csrf::token(&req, state.secure_cookies());
    let mut resp = page::render(StatusCode::OK, &HomePage { email, csrf: token });
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// `GET /login[?request=ID]`.
pub async fn show_login(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let request = params.get("request").unwrap_or("").to_string();
    let (client_name, email) = if request.is_empty() {
        (None, String::new())
    } else {
        let view = handoff::pending_view(&state, &req, &request).await?;
        (Some(view.client_name), view.login_hint.unwrap_or_default())
    };
    let (token, cookie) = csrf::token(&req, state.secure_cookies());
    let page = LoginPage {
        csrf: token,
        request,
        client_name,
        email,
        error: None,
    };
    let mut resp = page::render(StatusCode::OK, &page);
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    #[serde(default)]
    request: String,
}

/// `POST /login`: checks the password, starts a new session, and goes on with the
/// authorization request (if any).
#[tracing::instrument(skip_all)]
pub async fn submit_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    csrf::require(&req, secure, &form.csrf)?;
    let form = form.into_inner();
    let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    // Counters per account (any spelling of the address counts as the same) and per IP.
    // Whether the account exists plays no part, so the lock reveals nothing.
    let account_key = format!(
        "pwd:acct:{}",
        crate::crypto::hash_secret(&form.email.trim().to_lowercase())
    );
    let ip_key = format!("pwd:ip:{}", origin.ip);
    let retry_page = |wait: i64, form: &LoginForm, view: Option<handoff::PendingView>| {
        let page = LoginPage {
            csrf: form.csrf.clone(),
            request: form.request.clone(),
            client_name: view.map(|v| v.client_name),
            email: form.email.chars().take(254).collect(),
            error: Some(format!(
                "Too many failed attempts. Wait {wait} seconds and try again."
            )),
        };
        let mut resp = page::render(StatusCode::TOO_MANY_REQUESTS, &page);
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        resp
    };
    let policies = vec![
        (
            account_key,
            crate::throttle::Policy::account(&state.settings.throttle),
        ),
        (
            ip_key,
            crate::throttle::Policy::ip(&state.settings.throttle),
        ),
    ];
    // Counted before the password is checked, so parallel guesses cannot all get through.
    let attempt = throttle::attempt(&state.pool, policies.clone()).await?;
    let locked = attempt.refused_for;
    if locked > 0 {
        // No password check at all while locked: guesses cost the attacker nothing to send
        // but cannot succeed, and they cost Porta no argon2 time either.
        audit::record(
            &state.pool,
            &origin,
            kind::SIGN_IN_THROTTLED,
            None,
            client_id,
            format!("email={}", form.email.trim()),
        )
        .await;
        return Ok(retry_page(locked, &form, view));
    }
    let user = if form.password.len() > 1024 {
        None
    } else {
        accounts::authenticate(&state.pool, &form.email, form.password.clone()).await?
    };
    let Some(user) = user else {
        crate::ops::METRICS
            .sign_ins
            .with_label_values(&["failure"])
            .inc();
        let wait = attempt.lock_if_failed;
        audit::record(
            &state.pool,
            &origin,
            kind::SIGN_IN_FAILURE,
            None,
            client_id.clone(),
            format!("factor=pwd email={}", form.email.trim()),
        )
        .await;
        if wait > 0 {
            audit::record(
                &state.pool,
                &origin,
                kind::ACCOUNT_LOCKED,
                None,
                client_id,
                format!("email={} seconds={wait}", form.email.trim()),
            )
            .await;
            return Ok(retry_page(wait, &form, view));
        }
        let page = LoginPage {
            csrf: form.csrf,
            request: form.request,
            client_name: view.map(|v| v.client_name),
            email: form.email.chars().take(254).collect(),
            // One message whether the account exists or not.
            error: Some("The email or password is not correct.".into()),
        };
        return Ok(page::render(StatusCode::UNAUTHORIZED, &page));
    };
    throttle::succeeded(&state.pool, policies).await?;
    after_first_factor(
        &state,
        &req,
        &origin,
        user.id,
        "pwd",
        &form.csrf,
        &form.request,
        view,
    )
    .await
}

/// After a first factor: straight to a session, or (with TOTP on) to the second-factor
/// page. A parked sign-in has no session, so it can never obtain a code or a token.
#[allow(clippy::too_many_arguments)]
async fn after_first_factor(
    state: &AppState,
    req: &HttpRequest,
    origin: &crate::audit::Origin,
    user_id: String,
    factor: &'static str,
    csrf_token: &str,
    request: &str,
    view: Option<handoff::PendingView>,
) -> Result<HttpResponse, PageError> {
    if crate::mfa::enabled(&state.factors(), &user_id).await? {
        let browser = crate::crypto::hash_secret(csrf_token);
        let pending = crate::mfa::park(&state.factors(), &user_id, factor, browser).await?;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("pending", &pending)
            .append_pair("request", request)
            .finish();
        return Ok(page::see_other(&format!("/login/totp?{query}")));
    }
    complete_sign_in(
        state,
        req,
        origin,
        user_id,
        vec![factor.to_string()],
        request,
        view,
    )
    .await
}

/// Starts the session (a fresh id), records the event and goes on with the request.
async fn complete_sign_in(
    state: &AppState,
    req: &HttpRequest,
    origin: &crate::audit::Origin,
    user_id: String,
    amr: Vec<String>,
    request: &str,
    view: Option<handoff::PendingView>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    let previous = req
        .cookie(sessions::session_cookie_name(secure))
        .map(|c| c.value().to_string());
    let detail = format!("factor={}", amr.join("+"));
    let (token, auth_time) = sessions::start(
        &state.pool,
        user_id.clone(),
        amr,
        state.settings.accounts.session_ttl,
        origin,
        previous,
    )
    .await?;
    crate::ops::METRICS
        .sign_ins
        .with_label_values(&["success"])
        .inc();
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    audit::record(
        &state.pool,
        origin,
        kind::SIGN_IN_SUCCESS,
        Some(user_id),
        client_id,
        detail,
    )
    .await;
    let location = match view {
        Some(v) => {
            handoff::mark_signed_in(state, request, auth_time, &v).await?;
            format!("/authorize/resume?request={request}")
        }
        None => "/account".to_string(),
    };
    let mut resp = page::see_other(&location);
    let _ = resp.add_cookie(&sessions::session_cookie(token, secure));
    Ok(resp)
}

#[derive(Template)]
#[template(path = "sessions/code.html")]
struct CodePage {
    csrf: String,
    request: String,
    challenge: String,
    identifier: String,
    error: Option<String>,
}

/// "Email me a code".
#[derive(Deserialize)]
pub struct SendCodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    csrf: String,
    #[serde(default)]
    request: String,
}

/// `POST /login/code`: sends a code (if the address has an account) and shows where to
/// enter it; the same answer either way.
pub async fn send_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SendCodeForm>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    csrf::require(&req, secure, &form.csrf)?;
    if !form.request.is_empty() {
        handoff::pending_view(&state, &req, &form.request).await?;
    }
    let origin = state.origin(&req);
    let browser = crate::crypto::hash_secret(&form.csrf);
    let (channel, sent) = if form.phone.trim().is_empty() {
        (
            "email",
            crate::otp::send_sign_in_code(&state.codes(), &form.email, browser).await,
        )
    } else {
        (
            "sms",
            crate::otp::send_sign_in_sms(&state.codes(), &form.phone, browser).await,
        )
    };
    let to = if channel == "sms" {
        form.phone.trim()
    } else {
        form.email.trim()
    };
    match sent {
        Ok(challenge) => {
            audit::record(
                &state.pool,
                &origin,
                kind::CODE_SENT,
                None,
                None,
                format!("channel={channel} to={to}"),
            )
            .await;
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("challenge", &challenge)
                .append_pair("request", &form.request)
                .finish();
            Ok(page::see_other(&format!("/login/code?{query}")))
        }
        Err(crate::otp::SendError::Db(e)) => Err(e.into()),
        Err(e) => {
            // Too many codes, or the mail server failed: say so, never pretend it was sent.
            tracing::warn!(error = %e, "sign-in code not sent");
            let status = match e {
                crate::otp::SendError::TooMany => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            let page = LoginPage {
                csrf: form.csrf.clone(),
                request: form.request.clone(),
                client_name: None,
                email: form.email.chars().take(254).collect(),
                error: Some(format!("We could not send a code: {e}.")),
            };
            Ok(page::render(status, &page))
        }
    }
}

/// `GET /login/code?challenge=ID[&request=ID]`.
pub async fn show_code(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let request = params.get("request").unwrap_or("").to_string();
    let identifier = crate::otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest("This code has expired. Ask for a new one.".into()))?;
    let (token, cookie) = csrf::token(&req, state.secure_cookies());
    let mut resp = page::render(
        StatusCode::OK,
        &CodePage {
            csrf: token,
            request,
            challenge,
            identifier,
            error: None,
        },
    );
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// The code entry form.
#[derive(Deserialize)]
pub struct VerifyCodeForm {
    challenge: String,
    code: String,
    csrf: String,
    #[serde(default)]
    request: String,
}

/// `POST /login/code/verify`: a right code starts a session (`amr` = `otp`).
pub async fn verify_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<VerifyCodeForm>,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    csrf::require(&req, secure, &form.csrf)?;
    let form = form.into_inner();
    let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    let browser = crate::crypto::hash_secret(&form.csrf);
    let identifier = crate::otp::challenge_identifier(&state.pool, &form.challenge)
        .await?
        .unwrap_or_default();
    let policies = vec![
        (
            format!("otp:acct:{}", crate::crypto::hash_secret(&identifier)),
            crate::throttle::Policy::account(&state.settings.throttle),
        ),
        (
            format!("pwd:ip:{}", origin.ip),
            crate::throttle::Policy::ip(&state.settings.throttle),
        ),
    ];
    let attempt = throttle::attempt(&state.pool, policies.clone()).await?;
    if attempt.refused_for > 0 {
        return Err(PageError::TooMany(attempt.refused_for));
    }
    let user_id =
        match crate::otp::check_sign_in_code(&state.codes(), &form.challenge, &browser, &form.code)
            .await
        {
            Ok(user_id) => user_id,
            Err(e) => {
                crate::ops::METRICS
                    .sign_ins
                    .with_label_values(&["failure"])
                    .inc();
                audit::record(
                    &state.pool,
                    &origin,
                    kind::SIGN_IN_FAILURE,
                    None,
                    client_id,
                    "factor=otp".into(),
                )
                .await;
                let message = match e {
                    crate::otp::CheckError::Wrong => {
                        "That code is not right. Check it and try again."
                    }
                    crate::otp::CheckError::Dead => {
                        "This code can no longer be used. Ask for a new one."
                    }
                };
                let identifier = crate::otp::challenge_identifier(&state.pool, &form.challenge)
                    .await?
                    .unwrap_or_default();
                let page = CodePage {
                    csrf: form.csrf,
                    request: form.request,
                    challenge: form.challenge,
                    identifier,
                    error: Some(message.into()),
                };
                return Ok(page::render(StatusCode::UNAUTHORIZED, &page));
            }
        };
    throttle::succeeded(&state.pool, policies).await?;
    after_first_factor(
        &state,
        &req,
        &origin,
        user_id,
        "otp",
        &form.csrf,
        &form.request,
        view,
    )
    .await
}

#[derive(Template)]
#[template(path = "sessions/totp.html")]
struct TotpPage {
    csrf: String,
    request: String,
    pending: String,
    error: Option<String>,
}

/// `GET /login/totp?pending=ID[&request=ID]`: the second-factor page.
pub async fn show_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let (token, cookie) = csrf::token(&req, state.secure_cookies());
    let page = TotpPage {
        csrf: token,
        request: params.get("request").unwrap_or("").to_string(),
        pending: params.get("pending").unwrap_or("").to_string(),
        error: None,
    };
    let mut resp = page::render(StatusCode::OK, &page);
    if let Some(c) = cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct TotpForm {
    pending: String,
    code: String,
    csrf: String,
    #[serde(default)]
    request: String,
}

/// `POST /login/totp`: a TOTP or recovery code finishes a parked sign-in.
pub async fn verify_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TotpForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&req, state.secure_cookies(), &form.csrf)?;
    let form = form.into_inner();
    let view = handoff::optional_pending_view(&state, &req, &form.request).await?;
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    let browser = crate::crypto::hash_secret(&form.csrf);
    let restart = || {
        PageError::BadRequest(
            "This sign-in has expired or used up its tries. Sign in again.".into(),
        )
    };
    let parked = crate::mfa::take_try(&state.factors(), &form.pending, &browser)
        .await?
        .ok_or_else(restart)?;
    let user_id = parked.user_id.clone();
    let user = crate::db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &user_id)?)
    })
    .await?
    .ok_or_else(restart)?;
    let policies = vec![
        (
            format!("totp:acct:{}", user.id),
            crate::throttle::Policy::account(&state.settings.throttle),
        ),
        (
            format!("pwd:ip:{}", origin.ip),
            crate::throttle::Policy::ip(&state.settings.throttle),
        ),
    ];
    let attempt = throttle::attempt(&state.pool, policies.clone()).await?;
    if attempt.refused_for > 0 {
        return Err(PageError::TooMany(attempt.refused_for));
    }
    match crate::mfa::verify(&state.factors(), &user, &form.code).await {
        Ok(second) => {
            throttle::succeeded(&state.pool, policies).await?;
            if !crate::mfa::finish(&state.factors(), &form.pending).await? {
                return Err(restart());
            }
            let mut amr = vec![parked.first_factor.clone()];
            if second == "totp" && !amr.iter().any(|a| a == "otp") {
                amr.push("otp".into());
            }
            amr.push("mfa".into());
            complete_sign_in(&state, &req, &origin, user.id, amr, &form.request, view).await
        }
        Err(crate::mfa::MfaError::Db(e)) => Err(e.into()),
        Err(_) => {
            crate::ops::METRICS
                .sign_ins
                .with_label_values(&["failure"])
                .inc();
            audit::record(
                &state.pool,
                &origin,
                kind::SIGN_IN_FAILURE,
                Some(user.id),
                client_id,
                "factor=totp".into(),
            )
            .await;
            let page = TotpPage {
                csrf: form.csrf,
                request: form.request,
                pending: form.pending,
                error: Some(
                    "That code is not right, or it was already used. Try the next one.".into(),
                ),
            };
            Ok(page::render(StatusCode::UNAUTHORIZED, &page))
        }
    }
}
