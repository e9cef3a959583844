//! The userinfo endpoint (OIDC Core 5.3): the person's claims allowed by the token's scope.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::accounts;
use crate::db;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::tokens;
use crate::web::bearer::{self, Bearer};
use crate::web::Params;

/// The bearer token from the header or, for POST, a form body (RFC 6750 2.1, 2.2); never
/// both, never the query string.
fn bearer(req: &HttpRequest, body: &[u8]) -> Result<String, OAuthError> {
    let from_header = match bearer::bearer(req) {
        Bearer::Missing => None,
        // An over-long token is refused by the signature check, as any bad token is.
        Bearer::Token(token) | Bearer::TooLong(token) => Some(token.to_string()),
        Bearer::NotText => return Err(OAuthError::invalid_token("malformed Authorization header")),
        Bearer::OtherScheme | Bearer::Empty => {
            return Err(OAuthError::invalid_token(
                "the Authorization header must be Bearer",
            ))
        }
    };
    let from_body = if req.method() == actix_web::http::Method::POST && crate::web::is_form(req) {
        Params::parse(body)
            .ok()
            .and_then(|p| p.get("access_token").map(str::to_string))
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => {
            let mut e =
                OAuthError::invalid_request("send the token once, not in both header and body");
            e.challenge = Some(bearer::challenge(
                Some("porta"),
                &[("error", "invalid_request")],
            ));
            Err(e)
        }
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(OAuthError::missing_token()),
    }
}

/// `GET /userinfo` and `POST /userinfo`.
#[tracing::instrument(skip_all)]
pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let token = bearer(&req, &body)?;
    let invalid = || OAuthError::invalid_token("the access token is invalid, expired or revoked");
    let access = tokens::verify_access_signature_fresh(&state.tokens(), &token)
        .await
        .ok_or_else(invalid)?;
    let scopes = access.scopes();
    if !scopes.contains("openid") {
        return Err(OAuthError::insufficient_scope("openid"));
    }
    // A browser page may read userinfo only from the web origins of the token's client.
    if crate::web::request_origin(&req).is_some() {
        let client_id = access.str("client_id").unwrap_or_default().to_string();
        let client = state.client(client_id).await?.ok_or_else(invalid)?;
        crate::oauth::allow_origin(&req, &client)?;
    }
    // One trip to the database: revocation check, the account and its roles together.
    let wanted = scopes.as_slice().to_vec();
    let specs = state.settings.attributes.attributes.clone();
    let (user, authority) = db::run(&state.pool, move |conn| {
        if tokens::is_revoked(conn, &access)? {
            return Ok(None);
        }
        let sub = access.str("sub").unwrap_or_default();
        let Some(user) = accounts::store::find(conn, sub)?.filter(|u| u.is_active()) else {
            return Ok(None);
        };
        let authority = tokens::Authority::read(conn, &user.id, &wanted, &specs)?;
        Ok(Some((user, authority)))
    })
    .await?
    .ok_or_else(invalid)?;
    let mut claims = tokens::user_claims(&user, scopes.as_slice());
    authority.add_claims(&mut claims);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims))
}
