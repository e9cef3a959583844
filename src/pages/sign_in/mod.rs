//! Sign-in and the home page: thin handlers over accounts and sessions.

mod code;
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

/// After a first factor: straight to a session, or (with TOTP on) to the second-factor
/// page. A parked sign-in has no session, so it can never obtain a code or a token.
#[expect(
    clippy::too_many_arguments,
    reason = "a sign-in step carries the request, its origin and the factor"
)]
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
        // A browser the person asked to remember after a second factor: the first is enough.
        if state.settings.accounts.remember_browser_days > 0
            && sessions::is_remembered(&state.pool, req, state.secure_cookies(), &user_id).await?
        {
            let amr = vec![
                crate::mfa::first_factor_amr(factor).to_string(),
                "mfa".to_string(),
            ];
            audit::record(
                &state.pool,
                origin,
                kind::SIGN_IN_REMEMBERED,
                Some(user_id.clone()),
                view.as_ref().map(|v| v.client_id.clone()),
                format!("factor={factor}"),
            )
            .await;
            return complete_sign_in(state, req, origin, user_id, amr, request, view).await;
        }
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
        vec![crate::mfa::first_factor_amr(factor).to_string()],
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
    let id = user_id.clone();
    // Active, and (signing in during the grace period of a deletion asked for) kept.
    let (active, kept) = crate::db::run(&state.pool, move |conn| {
        let Some(user) = accounts::store::find(conn, &id)?.filter(|u| u.is_active()) else {
            return Ok((false, false));
        };
        let kept = user.deletion_requested_at.is_some();
        if kept {
            accounts::store::set_deletion_requested(conn, &id, None)?;
        }
        Ok((true, kept))
    })
    .await?;
    if kept {
        audit::record(
            &state.pool,
            origin,
            kind::DELETION_CANCELLED,
            Some(user_id.clone()),
            None,
            "signed in during the grace period".into(),
        )
        .await;
    }
    if !active {
        return Err(PageError::Forbidden(crate::i18n::t("login-disabled")));
    }
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
