//! The small interface between a waiting authorization request and the pages that sign a
//! person in for it: what a page may show (the app's name, the login hint), and marking
//! the request signed in. Control goes back to the request by URL
//! (`/authorize/resume?request=…`); the request itself stays private to `oauth`.

use actix_web::HttpRequest;

use super::authorize::AuthRequest;
use crate::crypto;
use crate::db;
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
    Ok(pending_view_and_session(state, req, id, false).await?.0)
}

/// [`pending_view`], and with `session` the browser's current session too, read in the
/// same database call.
pub(super) async fn pending_view_and_session(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    session: bool,
) -> Result<(PendingView, Option<crate::sessions::Session>), PageError> {
    let (auth, current) = load_pending_and_session(state, req, id, session).await?;
    crate::i18n::offer(
        crate::i18n::Rank::Requested,
        auth.ui_locales.iter().map(String::as_str),
    );
    let client = state
        .client(auth.client_id.clone())
        .await?
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("error-app-gone")))?;
    let view = PendingView {
        client_id: auth.client_id.clone(),
        client_name: client.name,
        login_hint: auth.login_hint.clone(),
        auth,
    };
    Ok((view, current))
}

/// Records that the person signed in (at `auth_time`) for a pending request, so that
/// `prompt=login` and `max_age` count this sign-in: made ready before the database call
/// that writes it, so the sign-in's other writes go in the same trip and transaction.
#[derive(Debug)]
pub struct SignInMark {
    id: String,
    params: String,
}

impl SignInMark {
    /// Request `id` (shown as `view`), signed in at `auth_time`.
    pub fn new(id: &str, auth_time: i64, view: &PendingView) -> SignInMark {
        let mut auth = view.auth.clone();
        auth.signed_in_at = Some(auth_time);
        SignInMark {
            id: id.to_string(),
            params: serde_json::to_string(&auth).unwrap_or_default(),
        }
    }

    /// Writes the mark on the stored request.
    pub fn write(self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<()> {
        store::set_request_params(conn, &self.id, &self.params).map(|_| ())
    }
}

/// Loads a pending request for this browser (expired or foreign ones are an error page)
/// and, with `session`, the browser's current session too, in the same database call
/// (read only once the request is known to be this browser's).
pub(super) async fn load_pending_and_session(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    session: bool,
) -> Result<(AuthRequest, Option<crate::sessions::Session>), PageError> {
    /// What the call found.
    enum Found {
        Request(Box<AuthRequest>, Option<crate::sessions::Session>),
        Gone,
        Unreadable(String),
    }
    let expired = || PageError::BadRequest(crate::i18n::t("error-request-expired"));
    if id.is_empty() || id.len() > 100 {
        return Err(expired());
    }
    let id = id.to_string();
    let browser = crypto::hash_secret(&csrf::token(req, state.secure_cookies()).0);
    let cookie = session
        .then(|| crate::sessions::SessionCookie::of(req, state.secure_cookies()))
        .flatten();
    let found = db::run(&state.pool, move |conn| {
        let Some(row) = store::find_request(conn, &id, crate::time::now())? else {
            return Ok(Found::Gone);
        };
        let auth: AuthRequest = match serde_json::from_str(&row.params) {
            Ok(auth) => auth,
            Err(e) => return Ok(Found::Unreadable(e.to_string())),
        };
        if !crypto::constant_time_eq(&browser, &auth.browser) {
            return Ok(Found::Gone);
        }
        let session = match cookie {
            Some(c) => c.read(conn)?,
            None => None,
        };
        Ok(Found::Request(Box::new(auth), session))
    })
    .await?;
    match found {
        Found::Request(auth, session) => Ok((*auth, session)),
        Found::Gone => Err(expired()),
        Found::Unreadable(e) => Err(PageError::Internal(e)),
    }
}
