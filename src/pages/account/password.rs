//! Changing (or setting a first) password.

use super::*;

/// `POST /account/password`: needs the current password; ends every other session and
/// revokes every refresh token.
pub(super) async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session,
        user,
        form,
    }: Action<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let current_ok = match &user.password_hash {
        Some(hash) => {
            state
                .hasher
                .slot()
                .await?
                .verify(form.current_password.clone(), Some(hash.clone()))
                .await
        }
        // A first password is a new way in: it needs a fresh sign-in (a changed one needs
        // the current password, which is itself a fresh proof).
        None => {
            if !fresh(&state, &session) {
                return needs_fresh_sign_in(
                    &state,
                    &req,
                    &user,
                    &crate::i18n::t("account-doing-set-password"),
                )
                .await;
            }
            true
        }
    };
    if !current_ok {
        return account_page(
            &state,
            &req,
            &user,
            Some(crate::i18n::t("account-password-wrong")),
        )
        .await;
    }
    if let Err(message) = accounts::check_password_policy(
        &form.new_password,
        &user.label(),
        state.settings.accounts.password_min_length,
    ) {
        return account_page(&state, &req, &user, Some(message)).await;
    }
    let hash = accounts::hash_off_thread(state.hasher.slot().await?, form.new_password.clone())
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let (id, keep) = (user.id.clone(), session.id_hash.clone());
    db::run(&state.pool, move |conn| {
        db::transaction(conn, |conn| {
            accounts::store::set_password(conn, &id, &hash)?;
            accounts::end_sign_ins(conn, &id, Some(&keep))
        })?;
        Ok(())
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::PASSWORD_CHANGED,
        Some(user.id.to_string()),
        None,
        "other sessions and refresh tokens revoked".into(),
    )
    .await;
    let change = if user.password_hash.is_some() {
        crate::i18n::t("account-change-password")
    } else {
        crate::i18n::t("account-change-password-set")
    };
    tell_owner(&state, &user, None, &change).await;
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-password-changed")),
    )
    .await
}
