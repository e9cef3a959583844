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

/// The "forgot your password" form.
#[derive(Deserialize)]
pub struct ForgotForm {
    pub(super) csrf: String,
    pub(super) email: String,
}

/// `POST /password/forgot`: a code goes to the address if it is a confirmed account.
pub(super) async fn submit_forgot(
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
                    email: form.email.chars().take(254).collect(),
                    error: Some(format!("{e}.")),
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
        "Choose a new password",
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
    let hash = hash_off_thread(state.hasher.slot().await?, form.password.clone())
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
