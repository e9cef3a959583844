//! Confirming a new account's address with the code sent to it.

use super::*;

pub(super) async fn show_verify(
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
                crate::db::transaction(conn, |conn| {
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
