//! The authorization endpoint (RFC 6749 4.1, OIDC Core 3.1.2): validates the request,
//! sends the person through sign-in and consent, and answers the client with a code.

mod decide;
mod request;

use super::registrar;
use crate::clients::Client;
use crate::crypto;
use crate::db::{self, DbError};
use crate::grants::store;
use crate::scopes::Scopes;
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};
use actix_web::{web, HttpRequest, HttpResponse};
use decide::*;
pub use decide::{decide, needs_login};
use oxide_auth::code_grant::extensions::Pkce;
pub use request::AuthRequest;
use request::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Where a request goes next.
pub enum Outcome {
    /// Back to the client (success or error), with `iss` (RFC 9207).
    ToClient(String),
    /// To one of Porta's pages (sign-in or consent).
    ToPage(String),
}

/// Errors raised before the redirect URI is trusted are pages; after, they go to the client.
enum Refusal {
    Page(PageError),
    Client(String),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Refusal::Page(e.into())
    }
}

/// Builds the client redirect: the registered URI plus our parameters, appended without
/// re-serialising the URI (it must stay exactly as registered).
pub fn client_redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", ser.finish())
}

fn error_redirect(
    state: &AppState,
    req: &AuthRequestRef,
    error: &str,
    description: &str,
) -> String {
    let description = super::error::description_charset(description);
    let mut pairs = vec![
        ("error", error),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.settings.server.issuer.as_str()));
    client_redirect(req.redirect_uri, &pairs)
}

/// `GET /authorize` and `POST /authorize` (form body).
#[tracing::instrument(skip_all)]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if req.method() == actix_web::http::Method::POST {
        return post_to_get(&req, &body);
    }
    let (params, repeated) = Params::parse_lenient(req.query_string().as_bytes()).map_err(|e| {
        PageError::BadRequest(crate::i18n::t1("error-authorize-unreadable", "why", e))
    })?;
    if repeated
        .iter()
        .any(|k| k == "client_id" || k == "redirect_uri")
    {
        return Err(PageError::BadRequest(crate::i18n::t(
            "error-authorize-repeated",
        )));
    }
    let (browser_token, new_cookie) = csrf::token(&req, state.secure_cookies());
    let auth = match validate(
        &state,
        params,
        &repeated,
        crypto::hash_secret(&browser_token),
    )
    .await
    {
        Ok(auth) => auth,
        Err(Refusal::Page(e)) => return Err(e),
        Err(Refusal::Client(location)) => return Ok(page::found(&location)),
    };
    let session = sessions::current(&state.pool, &req, state.secure_cookies()).await?;
    let outcome = proceed(&state, &req, auth, None, session).await?;
    let mut resp = match outcome {
        Outcome::ToClient(l) | Outcome::ToPage(l) => page::found(&l),
    };
    if let Some(c) = new_cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// `GET /authorize/resume?request=ID`: continues after sign-in.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-invalid-request")))?;
    let id = params.get("request").unwrap_or("").to_string();
    let (auth, session) = super::handoff::load_pending_and_session(&state, &req, &id, true).await?;
    match proceed(&state, &req, auth, Some(id), session).await? {
        Outcome::ToClient(l) | Outcome::ToPage(l) => Ok(page::found(&l)),
    }
}
