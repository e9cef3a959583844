//! Confirming a new account's address with the code sent to it.

use super::*;

pub(super) async fn show_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    code_page(&state, &req, verify_title, "/register/verify", false).await
}

/// "Confirm your email address", or "… mobile number" for a number (E.164 starts with +).
fn verify_title(identifier: &str) -> String {
    if identifier.starts_with('+') {
        crate::i18n::t("verify-phone-title")
    } else {
        crate::i18n::t("verify-title")
    }
}

/// A code form (with a new password for resets).
#[derive(Deserialize)]
pub struct CodeForm {
    pub(super) csrf: String,
    pub(super) challenge: String,
    pub(super) code: String,
    #[serde(default)]
    pub(super) password: String,
}

/// `POST /register/verify`: the code confirms the address; the account is usable now and
/// the person is signed in.
pub(super) async fn submit_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    require_csrf(&state, &req, &form.csrf)?;
    let browser = crypto::hash_secret(&form.csrf);
    let identifier = otp::challenge_identifier(&state.pool, &form.challenge)
        .await?
        .unwrap_or_default();
    if identifier.starts_with('+') {
        return verify_phone_registration(&state, &req, form.into_inner(), identifier, browser)
            .await;
    }
    let checked = otp::check_with_payload(
        &state.codes(),
        Purpose::VerifyEmail,
        &form.challenge,
        &browser,
        &form.code,
    )
    .await;
    let confirmed = match checked {
        Ok((user_id, payload)) => {
            if confirm(&state.pool, &user_id, payload).await? {
                Ok(user_id)
            } else {
                Err(CheckError::Dead)
            }
        }
        Err(e) => Err(e),
    };
    match confirmed {
        Ok(user_id) => {
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
            signed_in_to_account(&state, &req, &origin, user_id).await
        }
        Err(e) => {
            let form = form.into_inner();
            Ok(page::render(
                StatusCode::UNAUTHORIZED,
                &CodePage {
                    title: crate::i18n::t("verify-title"),
                    action: "/register/verify",
                    csrf: form.csrf,
                    challenge: form.challenge,
                    identifier,
                    new_password: false,
                    error: Some(code_error(e)),
                },
            ))
        }
    }
}

/// Applies what the registration chose (its code's `payload`) and confirms account
/// `user_id`'s address, in one transaction; only while the address is still unconfirmed
/// and the account not disabled, so a code left over from the same registration confirms
/// nothing (and signs no one in, past a second factor set up since) once one was used.
async fn confirm(
    pool: &db::DbPool,
    user_id: &str,
    payload: Option<String>,
) -> Result<bool, DbError> {
    let choices: serde_json::Value = payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let hash = choices["password_hash"].as_str().map(str::to_string);
    let name = choices["name"].as_str().map(str::to_string);
    let locale = choices["locale"].as_str().map(str::to_string);
    let id = user_id.to_string();
    db::run(pool, move |conn| {
        crate::db::transaction(conn, |conn| {
            if !store::claim_unconfirmed(conn, &id)? {
                return Ok(false);
            }
            store::refresh_unverified(conn, &id, name.as_deref(), hash.as_deref())?;
            if locale.is_some() {
                let changes = store::Changes {
                    locale: Some(locale.clone()),
                    ..Default::default()
                };
                store::update(conn, &id, &changes)?;
            }
            store::mark_verified(conn, &id)?;
            Ok(true)
        })
    })
    .await
}

/// `POST /register/verify` for a number: the code proves it, and only now is the account
/// made (with what the registration chose); the person is signed in.
async fn verify_phone_registration(
    state: &AppState,
    req: &HttpRequest,
    form: CodeForm,
    identifier: String,
    browser: String,
) -> Result<HttpResponse, PageError> {
    let again = |error: String, status: StatusCode| {
        page::render(
            status,
            &CodePage {
                title: verify_title(&identifier),
                action: "/register/verify",
                csrf: form.csrf.clone(),
                challenge: form.challenge.clone(),
                identifier: identifier.clone(),
                new_password: false,
                error: Some(error),
            },
        )
    };
    let payload = match otp::check_registration(
        &state.codes(),
        &form.challenge,
        &browser,
        &form.code,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return Ok(again(code_error(e), StatusCode::UNAUTHORIZED)),
    };
    let choices: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
    let Some(phone) = choices["phone"].as_str().map(str::to_string) else {
        return Ok(again(
            code_error(CheckError::Dead),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let hash = choices["password_hash"].as_str().map(str::to_string);
    let name = choices["name"].as_str().map(str::to_string);
    let locale = choices["locale"].as_str().map(str::to_string);
    let made = db::run(&state.pool, move |conn| {
        let made = crate::db::transaction(conn, |conn| {
            let user = store::insert_phone(conn, &phone, name.as_deref(), hash.as_deref())?;
            let changes = store::Changes {
                locale: Some(locale.clone()),
                ..Default::default()
            };
            store::update(conn, &user.id, &changes)?;
            Ok(user)
        });
        match made {
            Ok(user) => Ok(Some(user)),
            // Someone else confirmed the number first.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    let Some(user) = made else {
        return Ok(again(
            crate::i18n::t("register-number-taken"),
            StatusCode::CONFLICT,
        ));
    };
    let origin = state.origin(req);
    audit::record(
        &state.pool,
        &origin,
        kind::PHONE_CHANGED,
        Some(user.id.to_string()),
        None,
        "registered by mobile number".into(),
    )
    .await;
    signed_in_to_account(state, req, &origin, user.id.to_string()).await
}

/// A registration the code confirmed: a new session (the code was its factor, `otp`), and
/// the account page.
async fn signed_in_to_account(
    state: &AppState,
    req: &HttpRequest,
    origin: &crate::audit::Origin,
    user_id: String,
) -> Result<HttpResponse, PageError> {
    let secure = state.secure_cookies();
    let previous = req
        .cookie(crate::sessions::session_cookie_name(secure))
        .map(|c| c.value().to_string());
    let (token, _) = crate::sessions::start(
        &state.pool,
        user_id,
        vec!["otp".into()],
        state.settings.accounts.session_ttl,
        origin,
        previous,
    )
    .await?;
    let mut resp = page::see_other("/account");
    let _ = resp.add_cookie(&crate::sessions::session_cookie(token, secure));
    Ok(resp)
}
