//! Password reset: ask for a code, then set a new password with it (every sign-in ends).

use super::*;

pub(super) async fn show_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    Ok(with_csrf(&state, &req, StatusCode::OK, |csrf| ForgotPage {
        csrf,
        email: String::new(),
        error: None,
    }))
}

/// The "forgot your password" form: an email address or a mobile number (`identifier`, or
/// `email`, the older field).
#[derive(Deserialize)]
pub struct ForgotForm {
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) identifier: String,
    #[serde(default)]
    pub(super) email: String,
}

/// `POST /password/forgot`: a code goes to the address (by email) or number (by SMS) if it
/// belongs to an account; the same answer either way.
pub(super) async fn submit_forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let typed = if form.identifier.trim().is_empty() {
        form.email.as_str()
    } else {
        form.identifier.as_str()
    };
    let region = state.settings.accounts.default_phone_region.as_deref();
    let parsed = Identifier::parse(typed, region);
    let identifier = parsed
        .as_ref()
        .map_or_else(|| typed.trim().to_lowercase(), |i| i.as_str().to_string());
    let user = match parsed.clone() {
        Some(id) => {
            db::run(&state.pool, move |conn| {
                Ok(crate::accounts::find_by_identifier(conn, &id)?)
            })
            .await?
        }
        None => None,
    };
    let (user_id, to) = match (user, parsed) {
        (Some(u), Some(Identifier::Phone(phone))) => (Some(u.id), Some(Channel::Sms(phone))),
        (Some(u), _) => (Some(u.id), u.email.map(Channel::Email)),
        (None, _) => (None, None),
    };
    let browser = crypto::hash_secret(&form.csrf);
    let origin = state.origin(&req);
    match otp::issue(
        &state.codes().from_ip(&origin.ip),
        Purpose::ResetPassword,
        &identifier,
        user_id.map(Into::into),
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
                    email: typed.chars().take(254).collect(),
                    error: Some(format!("{}.", e.message())),
                },
            ))
        }
    }
}

pub(super) async fn show_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    code_page(
        &state,
        &req,
        |_| crate::i18n::t("reset-title"),
        "/password/reset",
        true,
    )
    .await
}

/// `POST /password/reset`: a right code sets the new password and ends every session and
/// refresh token of the account.
pub(super) async fn submit_reset(
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
                title: crate::i18n::t("reset-title"),
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
    let origin = state.origin(&req);
    let refused = |user_id: Option<String>, detail: &str| {
        audit::record(
            &state.pool,
            &origin,
            kind::PASSWORD_RESET_FAILED,
            user_id,
            None,
            detail.into(),
        )
    };
    let (user_id, generation) = match otp::check_bound(
        &state.codes(),
        Purpose::ResetPassword,
        &form.challenge,
        &browser,
        &form.code,
    )
    .await
    {
        Ok(checked) => checked,
        Err(e) => {
            refused(
                None,
                match e {
                    CheckError::Wrong => "wrong code",
                    CheckError::Dead => "code no longer valid",
                },
            )
            .await;
            return Ok(again(code_error(e), StatusCode::UNAUTHORIZED));
        }
    };
    let hash = hash_off_thread(state.hasher.slot().await?, form.password.clone())
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let id = user_id.clone();
    // Set only while the sign-ins the code was sent in last: another reset (or an end of
    // sign-ins) that committed while this one hashed ends this code too.
    let set = db::run(&state.pool, move |conn| {
        crate::db::transaction(conn, |conn| {
            if store::set_password_in(conn, &id, &hash, generation)? == 0 {
                return Ok(false);
            }
            crate::accounts::end_sign_ins(conn, &id, None)?;
            Ok(true)
        })
    })
    .await?;
    if !set {
        refused(
            Some(user_id),
            "the sign-ins were ended while the new password was hashed",
        )
        .await;
        return Ok(again(
            code_error(CheckError::Dead),
            StatusCode::UNAUTHORIZED,
        ));
    }
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
