//! The small interface between a waiting authorization request and the pages that sign a
//! person in for it: what a page may show (the app's name, the login hint), and marking
//! the request signed in. Control goes back to the request by URL
//! (`/authorize/resume?request=…`); the request itself stays private to `oauth`.

use actix_web::HttpRequest;

use super::authorize::AuthRequest;
use crate::crypto;
use crate::db::{self, DbError};
use crate::grants::store;
use crate::state::AppState;
use crate::web::{csrf, PageError};

/// Facts the sign-in and consent pages show about a pending request.
pub struct PendingView {
    /// The app that asked.
    pub client_id: String,
    /// Its name, for the page.
    pub client_name: String,
    /// `login_hint`, to pre-fill the sign-in form.
    pub login_hint: Option<String>,
    pub(super) auth: AuthRequest,
}

/// `pending_view` for a form whose `request` field may be empty (a sign-in that no app
/// asked for).
pub async fn optional_pending_view(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<Option<PendingView>, PageError> {
    if id.is_empty() {
        return Ok(None);
    }
    pending_view(state, req, id).await.map(Some)
}

/// Loads a pending request with its client's name for a page.
pub async fn pending_view(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<PendingView, PageError> {
    let (auth, _) = load_pending(state, req, id).await?;
    crate::i18n::offer(
        crate::i18n::Rank::Requested,
        auth.ui_locales.iter().map(String::as_str),
    );
    let client = state
        .client(auth.client_id.clone())
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("error-app-gone")))?;
    Ok(PendingView {
        client_id: auth.client_id.clone(),
        client_name: client.name,
        login_hint: auth.login_hint.clone(),
        auth,
    })
}

/// Records that the person signed in (at `auth_time`) for pending request `id`, so that
/// `prompt=login` and `max_age` count this sign-in.
pub async fn mark_signed_in(
    state: &AppState,
    id: &str,
    auth_time: i64,
    view: &PendingView,
) -> Result<(), DbError> {
    let mut auth = view.auth.clone();
    auth.signed_in_at = Some(auth_time);
    let json = serde_json::to_string(&auth).unwrap_or_default();
    let id = id.to_string();
    db::run(&state.pool, move |conn| {
        store::set_request_params(conn, &id, &json)?;
        Ok(())
    })
    .await
}

/// Loads a pending request for this browser; expired or foreign ones are an error page.
pub(super) async fn load_pending(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<(AuthRequest, i64), PageError> {
    let expired = || PageError::BadRequest(crate::i18n::t("error-request-expired"));
    if id.is_empty() || id.len() > 100 {
        return Err(expired());
    }
    let id = id.to_string();
    let row = db::run(&state.pool, move |conn| {
        Ok(store::find_request(conn, &id, crate::time::now())?)
    })
    .await?
    .ok_or_else(expired)?;
    let auth: AuthRequest =
        serde_json::from_str(&row.params).map_err(|e| PageError::Internal(e.to_string()))?;
    let (token, _) = csrf::token(req, state.secure_cookies());
    if !crypto::constant_time_eq(&crypto::hash_secret(&token), &auth.browser) {
        return Err(expired());
    }
    Ok((auth, row.created_at))
}
