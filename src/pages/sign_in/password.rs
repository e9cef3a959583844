//! Sign-in with a password: throttled per account and per IP, counted before the check.

use super::*;

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    pub(super) email: String,
    pub(super) password: String,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
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
    // Reserved before the password is checked, so parallel guesses cannot all get through;
    // only a failure is counted.
    let attempt = match throttle::begin(&state.pool, policies).await? {
        throttle::Begin::Go(attempt) => attempt,
        throttle::Begin::Refused(locked) => {
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
    };
    let user = if form.password.len() > accounts::PASSWORD_MAX_LENGTH {
        None
    } else {
        let slot = state.hasher.slot().await?;
        accounts::authenticate(&state.pool, slot, &form.email, form.password.clone()).await?
    };
    let Some(user) = user else {
        crate::ops::METRICS
            .sign_ins
            .with_label_values(&["failure"])
            .inc();
        let wait = attempt.failed().await?;
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
    attempt.succeeded().await?;
    after_first_factor(
        &state,
        &req,
        &origin,
        user.id.into(),
        "pwd",
        &form.csrf,
        &form.request,
        view,
    )
    .await
}
