//! Who is on a page that needs a session. `SignedIn` is an extractor for pages that only
//! show; `Action<F>` for a form posted by a signed-in person: the form is read, its CSRF
//! token checked, and only then the session looked up. A browser without a live session
//! (or whose account is gone) is sent to the sign-in page with a 303.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::accounts::{self, User};
use crate::db;
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::web::{self as page, csrf, PageError};

/// A form that carries its CSRF token.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// A signed-in person and the session they came with.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

/// A form of type `F` posted by a signed-in person, its CSRF token checked.
pub struct Action<F> {
    pub session: Session,
    pub user: User,
    pub form: F,
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, actix_web::Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| PageError::Internal("no application state".into()).into())
}

/// The session and person of `req`, if any.
pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Option<SignedIn>, PageError> {
    let Some(session) = sessions::current(&state.pool, req, state.secure_cookies()).await? else {
        return Ok(None);
    };
    let id = session.user_id.clone();
    let user = db::run(&state.pool, move |conn| {
        Ok(accounts::store::find(conn, &id)?)
    })
    .await?;
    if let Some(u) = &user {
        crate::i18n::offer(crate::i18n::Rank::Saved, u.locale.as_deref());
        crate::i18n::set_zone(u.zoneinfo.as_deref());
    }
    Ok(user.map(|user| SignedIn { session, user }))
}

async fn signed_in_or_login(req: &HttpRequest) -> Result<SignedIn, actix_web::Error> {
    let state = state(req)?;
    match signed_in(&state, req).await? {
        Some(who) => Ok(who),
        None => Err(actix_web::error::InternalError::from_response(
            "not signed in",
            page::see_other("/login"),
        )
        .into()),
    }
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = Boxed<SignedIn>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { signed_in_or_login(&req).await })
    }
}

impl<F: DeserializeOwned + CsrfForm + 'static> FromRequest for Action<F> {
    type Error = actix_web::Error;
    type Future = Boxed<Action<F>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?.into_inner();
            let secure = state(&req)?.secure_cookies();
            csrf::require(&req, secure, form.csrf())?;
            let SignedIn { session, user } = signed_in_or_login(&req).await?;
            Ok(Action {
                session,
                user,
                form,
            })
        })
    }
}

/// Declares form structs whose first field is `csrf`, with `CsrfForm` implemented; every
/// other field defaults to empty when absent (as the pages always did).
macro_rules! csrf_forms {
    ($($(#[$meta:meta])* $name:ident { $($field:ident),* $(,)? })*) => {$(
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        pub struct $name {
            pub csrf: String,
            $(#[serde(default)] pub $field: String,)*
        }

        impl $crate::pages::signed_in::CsrfForm for $name {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    )*};
}
pub(crate) use csrf_forms;
