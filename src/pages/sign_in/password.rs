//! Sign-in with an identifier (an email or a mobile number), then a password: throttled per
//! account and per IP, counted before the check.

use super::*;

/// The sign-in form: the first step sends only `identifier`; the second adds `password`.
/// `email` is the one-step form's field name, still accepted for `identifier`.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub(super) identifier: String,
    #[serde(default)]
    pub(super) email: String,
    pub(super) password: Option<String>,
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) request: String,
}

/// `POST /login`: with an identifier only, the ways it can sign in; with a password too,
/// checks it, starts a new session, and goes on with the authorization request (if any).
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
    let typed = if form.identifier.trim().is_empty() {
        form.email.as_str()
    } else {
        form.identifier.as_str()
    };
    let region = state.settings.accounts.default_phone_region.as_deref();
    let identifier = accounts::Identifier::parse(typed, region);
    let Some(password) = form.password.clone() else {
        // The first step: no account is looked up, so every identifier of a kind gets the
        // same page at the same speed.
        return Ok(match &identifier {
            Some(id) => methods(StatusCode::OK, &form.csrf, &form.request, view, id, None),
            None => identify_again(
                &state,
                &form.csrf,
                &form.request,
                view,
                typed,
                crate::i18n::t("login-identifier-invalid"),
            ),
        });
    };
    let origin = state.origin(&req);
    let client_id = view.as_ref().map(|v| v.client_id.clone());
    // What the audit log calls it: the normalised identifier, or what was typed.
    let named = match &identifier {
        Some(accounts::Identifier::Phone(p)) => format!("phone={p}"),
        Some(accounts::Identifier::Email(e)) => format!("email={e}"),
        None => format!("email={}", typed.trim()),
    };
    // Counters per account (any spelling of the identifier counts as the same) and per IP.
    // Whether the account exists plays no part, so the lock reveals nothing.
    let account_key = format!(
        "pwd:acct:{}",
        crate::crypto::hash_secret(
            &identifier
                .as_ref()
                .map_or_else(|| typed.trim().to_lowercase(), |i| i.as_str().to_string())
        )
    );
    let ip_key = format!("pwd:ip:{}", origin.ip);
    let answer =
        |status: StatusCode, error: String, view: Option<handoff::PendingView>| match &identifier {
            Some(id) => methods(status, &form.csrf, &form.request, view, id, Some(error)),
            None => {
                let mut resp =
                    identify_again(&state, &form.csrf, &form.request, view, typed, error);
                *resp.status_mut() = status;
                resp
            }
        };
    let retry_page = |wait: i64, view: Option<handoff::PendingView>| {
        let mut resp = answer(
            StatusCode::TOO_MANY_REQUESTS,
            crate::i18n::t1("error-too-many-failures", "seconds", wait),
            view,
        );
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
    // The account is looked up in the same trip as the reservation (and only once it is
    // made: nothing is read while locked).
    let lookup = identifier
        .clone()
        .filter(|_| password.len() <= accounts::PASSWORD_MAX_LENGTH);
    let (begun, found) = throttle::begin_and(&state.pool, policies, move |conn| match &lookup {
        Some(id) => accounts::find_by_identifier(conn, id),
        None => Ok(None),
    })
    .await?;
    let attempt = match begun {
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
                named.clone(),
            )
            .await;
            return Ok(retry_page(locked, view));
        }
    };
    let user = if password.len() > accounts::PASSWORD_MAX_LENGTH {
        None
    } else {
        let slot = state.hasher.slot().await?;
        accounts::check_password(slot, found.flatten(), password).await
    };
    let Some(user) = user else {
        let wait = attempt.failed().await?;
        record_failure(
            &state.pool,
            &origin,
            None,
            client_id.clone(),
            format!("factor=pwd {named}"),
        )
        .await;
        if wait > 0 {
            audit::record(
                &state.pool,
                &origin,
                kind::ACCOUNT_LOCKED,
                None,
                client_id,
                format!("{named} seconds={wait}"),
            )
            .await;
            return Ok(retry_page(wait, view));
        }
        // One message whether the account exists or not.
        return Ok(answer(
            StatusCode::UNAUTHORIZED,
            crate::i18n::t("login-wrong"),
            view,
        ));
    };
    let first = FirstFactor {
        user_id: user.id.into(),
        factor: "pwd",
        attempt,
        password_hash: user.password_hash,
        code_generation: None,
    };
    let ended = after_first_factor(
        &state,
        &req,
        &origin,
        first,
        &form.csrf,
        &form.request,
        view.as_ref(),
    )
    .await?;
    Ok(match ended {
        Ended::Page(resp) => resp,
        // Changed while it was checked: as wrong as any other old password.
        Ended::PasswordChanged => answer(
            StatusCode::UNAUTHORIZED,
            crate::i18n::t("login-wrong"),
            view,
        ),
    })
}
