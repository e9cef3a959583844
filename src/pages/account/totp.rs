//! The authenticator app: set-up with a QR code, enabling with a first code, switching off, new recovery codes.

use super::*;

#[derive(Template)]
#[template(path = "accounts/totp_setup.html")]
pub(super) struct SetupPage {
    pub(super) csrf: String,
    pub(super) secret: String,
    pub(super) qr: String,
    pub(super) error: Option<String>,
}

#[derive(Template)]
#[template(path = "accounts/recovery_codes.html")]
pub(super) struct CodesPage {
    pub(super) codes: Vec<String>,
}

/// `POST /account/totp/setup`: a new secret, shown as a QR code and as text.
pub(super) async fn setup_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        return needs_fresh_sign_in(
            &state,
            &req,
            &user,
            &crate::i18n::t("account-doing-totp-setup"),
        )
        .await;
    }
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
                Some(crate::i18n::t("account-totp-already")),
            )
            .await
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

/// `POST /account/totp/enable`: a correct code switches TOTP on; recovery codes once.
pub(super) async fn enable_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<CodeForm>,
) -> Result<HttpResponse, PageError> {
    match mfa::confirm(&state.factors(), &user, &form.code).await {
        Ok(codes) => {
            let origin = state.origin(&req);
            audit::record(
                &state.pool,
                &origin,
                kind::TOTP_ENABLED,
                Some(user.id.to_string()),
                None,
                String::new(),
            )
            .await;
            tell_owner(
                &state,
                &user,
                None,
                &crate::i18n::t("account-change-totp-added"),
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
                Some(crate::i18n::t("account-totp-wrong-code")),
            )
            .await
        }
        Err(mfa::MfaError::Db(e)) => Err(e.into()),
        Err(e) => account_page(&state, &req, &user, Some(format!("{}.", e.message()))).await,
    }
}

/// `POST /account/totp/disable` (needs a fresh sign-in).
pub(super) async fn disable_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form: _,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        return needs_fresh_sign_in(
            &state,
            &req,
            &user,
            &crate::i18n::t("account-doing-totp-off"),
        )
        .await;
    }
    mfa::disable(&state.factors(), &user.id).await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::TOTP_DISABLED,
        Some(user.id.to_string()),
        None,
        String::new(),
    )
    .await;
    tell_owner(
        &state,
        &user,
        None,
        &crate::i18n::t("account-change-totp-off"),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-totp-is-off")),
    )
    .await
}

/// `POST /account/recovery-codes` (needs a fresh sign-in): new codes, the old ones die.
pub(super) async fn regenerate_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form: _,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    if !fresh(&state, &session) {
        return needs_fresh_sign_in(
            &state,
            &req,
            &user,
            &crate::i18n::t("account-doing-recovery"),
        )
        .await;
    }
    if !mfa::enabled(&state.factors(), &user.id).await? {
        return account_page(
            &state,
            &req,
            &user,
            Some(crate::i18n::t("account-recovery-needs-totp")),
        )
        .await;
    }
    let codes = mfa::new_recovery_codes(&state.factors(), &user.id).await?;
    audit::record(
        &state.pool,
        &state.origin(&req),
        kind::RECOVERY_CODES_RENEWED,
        Some(user.id.to_string()),
        None,
        String::new(),
    )
    .await;
    tell_owner(
        &state,
        &user,
        None,
        &crate::i18n::t("account-change-recovery"),
    )
    .await;
    Ok(page::render(StatusCode::OK, &CodesPage { codes }))
}
