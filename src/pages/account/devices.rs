//! Sessions and apps: sign out everywhere, end one session, revoke an app.

use super::*;

/// `POST /account/sign-out-everywhere`: ends every session of the account and revokes
/// every refresh token (and the access tokens of those grants).
pub(super) async fn sign_out_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form: _,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let id = user.id.clone();
    let ended = db::run(&state.pool, move |conn| {
        Ok(accounts::end_sign_ins(conn, &id, None)?)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::SESSION_ENDED,
        Some(user.id.into()),
        None,
        format!("via=everywhere sessions={ended}"),
    )
    .await;
    let mut resp = page::see_other("/");
    let _ = resp.add_cookie(&sessions::clear_session_cookie(state.secure_cookies()));
    Ok(resp)
}

/// `POST /account/sessions/end`: ends one of your sessions (another device).
pub(super) async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<EndSessionForm>,
) -> Result<HttpResponse, PageError> {
    let (id, target) = (user.id.clone(), form.session.clone());
    let ended = db::run_write(&state.pool, move |conn| {
        Ok(sessions::store::delete_of_user(conn, &id, &target)?)
    })
    .await?;
    if ended == 1 {
        let origin = state.origin(&req);
        audit::record(
            &state.pool,
            &origin,
            kind::SESSION_ENDED,
            Some(user.id.to_string()),
            None,
            "via=account".into(),
        )
        .await;
    }
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-session-ended")),
    )
    .await
}

/// `POST /account/apps/revoke`: withdraws consent and revokes the app's tokens.
pub(super) async fn revoke_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form,
    }: Action<RevokeAppForm>,
) -> Result<HttpResponse, PageError> {
    let (id, client) = (user.id.clone(), form.client_id.clone());
    db::run(&state.pool, move |conn| {
        Ok(crate::grants::store::revoke_consent(conn, &id, &client)?)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::CONSENT_REVOKED,
        Some(user.id.to_string()),
        Some(form.client_id.clone()),
        String::new(),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-app-removed")),
    )
    .await
}

/// `POST /account/browsers/forget`: every browser remembered after a second factor asks
/// for it again at the next sign-in.
pub(super) async fn forget_browsers(
    state: web::Data<AppState>,
    req: HttpRequest,
    Action {
        session: _,
        user,
        form: _,
    }: Action<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let id = user.id.clone();
    let forgotten = db::run_write(&state.pool, move |conn| {
        Ok(sessions::store::forget_browsers(conn, &id)?)
    })
    .await?;
    let origin = state.origin(&req);
    audit::record(
        &state.pool,
        &origin,
        kind::SESSION_ENDED,
        Some(user.id.to_string()),
        None,
        format!("via=forget-browsers browsers={forgotten}"),
    )
    .await;
    account_page(
        &state,
        &req,
        &user,
        Some(crate::i18n::t("account-browsers-forgotten")),
    )
    .await
}
