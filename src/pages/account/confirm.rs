//! One confirmation flow for phone and email changes: send a code, show the code page, check it.

use super::*;

#[derive(Template)]
#[template(path = "accounts/code.html")]
pub(super) struct ConfirmPage {
    pub(super) title: String,
    pub(super) action: &'static str,
    pub(super) csrf: String,
    pub(super) challenge: String,
    pub(super) identifier: String,
    pub(super) new_password: bool,
    pub(super) error: Option<String>,
}

/// A change confirmed by a code sent to the new address or number.
pub(super) struct Confirmation {
    /// The page's title, in the language of the request.
    pub(super) title: fn() -> String,
    pub(super) action: &'static str,
    pub(super) purpose: crate::otp::Purpose,
}

pub(super) const PHONE: Confirmation = Confirmation {
    title: || crate::i18n::t("account-confirm-phone-title"),
    action: "/account/phone/verify",
    purpose: crate::otp::Purpose::VerifyPhone,
};

pub(super) const EMAIL: Confirmation = Confirmation {
    title: || crate::i18n::t("account-confirm-email-title"),
    action: "/account/email/verify",
    purpose: crate::otp::Purpose::ChangeEmail,
};

/// The code entry page of a confirmation.
pub(super) async fn show_confirmation(
    state: &AppState,
    req: &HttpRequest,
    c: &Confirmation,
) -> Result<HttpResponse, PageError> {
    let params = crate::web::Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("account-invalid-request")))?;
    let challenge = params.get("challenge").unwrap_or("").to_string();
    let identifier = crate::otp::challenge_identifier(&state.pool, &challenge)
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("account-code-expired")))?;
    Ok(csrf::page(
        req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| ConfirmPage {
            title: (c.title)(),
            action: c.action,
            csrf: token,
            challenge,
            identifier,
            new_password: false,
            error: None,
        },
    ))
}

/// Checks a confirmation code for the signed-in `user`: the confirmed address or number,
/// or the page to answer with (wrong or dead code).
pub(super) async fn check_confirmation(
    state: &AppState,
    user: &accounts::User,
    form: &ConfirmForm,
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
        Ok(owner) if user.id == owner => Ok(Ok(identifier)),
        _ => Ok(Err(page::render(
            StatusCode::UNAUTHORIZED,
            &ConfirmPage {
                title: (c.title)(),
                action: c.action,
                csrf: form.csrf.clone(),
                challenge: form.challenge.clone(),
                identifier,
                new_password: false,
                error: Some(crate::i18n::t("account-code-wrong")),
            },
        ))),
    }
}

/// Sends the code of a confirmation (when `deliver` is set) and moves on to its code page.
pub(super) async fn send_confirmation(
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
        user_id.map(Into::into),
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
                Some(crate::i18n::t1(
                    "account-code-not-sent",
                    "reason",
                    e.message(),
                )),
            )
            .await
        }
    }
}
