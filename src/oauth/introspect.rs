//! Token introspection (RFC 7662) and revocation (RFC 7009), both client-authenticated.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::client_auth;
use super::error::OAuthError;
use super::token::form_params;
use crate::crypto;
use crate::db;
use crate::grants::store;
use crate::state::AppState;
use crate::tokens;

fn no_store_json(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// `POST /introspect`: only confidential clients (resource servers) may ask.
#[tracing::instrument(skip_all)]
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let client =
        client_auth::authenticate(&client_auth::ClientAuth::of(&state), &req, &params).await?;
    super::allow_origin(&req, &client)?;
    super::within_client_rate(&state, &client)?;
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "public clients cannot introspect tokens",
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let hint = params.get("token_type_hint");
    let inactive = || no_store_json(json!({ "active": false }));
    // Try the hinted kind first; a wrong hint must not hide the token (RFC 7662 2.1).
    let access_first = hint != Some("refresh_token");
    if access_first && tokens::looks_like_access(token) {
        if let Some(answer) = introspect_access(&state, token, &client).await? {
            return Ok(no_store_json(answer));
        }
    }
    if let Some(answer) = introspect_refresh(&state, token, &client.id).await? {
        return Ok(no_store_json(answer));
    }
    if !access_first && tokens::looks_like_access(token) {
        if let Some(answer) = introspect_access(&state, token, &client).await? {
            return Ok(no_store_json(answer));
        }
    }
    Ok(inactive())
}

/// An access token is shown only to the client it was issued to, or to a resource server
/// registered for one of its audiences (`porta client create --audience …`); to anyone
/// else it is inactive (RFC 7662 4: the server decides which tokens a caller may see).
async fn introspect_access(
    state: &AppState,
    token: &str,
    caller: &crate::clients::Client,
) -> Result<Option<Value>, OAuthError> {
    let Some(access) = tokens::verify_access(&state.tokens(), token).await? else {
        return Ok(None);
    };
    let claims = access.claims();
    let issued_to = claims.get("client_id").and_then(Value::as_str);
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if issued_to != Some(caller.id.as_str()) && !caller.serves_audience(&audiences) {
        return Ok(None);
    }
    // The tokens of an app an administrator disabled are dead with it.
    let issuer_app = match issued_to {
        Some(id) => state.client(id.to_string()).await?,
        None => None,
    };
    if issuer_app.is_none() {
        return Ok(None);
    }
    let mut body = json!({ "active": true, "token_type": "Bearer" });
    for claim in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "nbf",
        "iss",
        "aud",
        "jti",
        "auth_time",
        "roles",
        "permissions",
    ] {
        if let Some(v) = access.claims().get(claim) {
            body[claim] = v.clone();
        }
    }
    // Custom attributes the token carries (by their scopes).
    for spec in &state.settings.attributes.attributes {
        let claim = spec.claim_name();
        if let Some(v) = access.claims().get(claim) {
            body[claim] = v.clone();
        }
    }
    Ok(Some(body))
}

/// Refresh tokens are only shown to the client that holds them: a resource server has no
/// business reading another app's long-lived grants (RFC 7662 4).
async fn introspect_refresh(
    state: &AppState,
    token: &str,
    client_id: &str,
) -> Result<Option<Value>, OAuthError> {
    let hash = crypto::hash_secret(token);
    let now = crate::time::now();
    let owner = client_id.to_string();
    let found = db::run(&state.pool, move |conn| {
        let Some(row) = store::find_refresh(conn, &hash)? else {
            return Ok(None);
        };
        let live = row.client_id == owner
            && row.rotated_at.is_none()
            && row.expires_at > now
            && !store::family_revoked(conn, &row.family_id)?;
        Ok(live.then_some(row))
    })
    .await?;
    Ok(found.map(|row| {
        json!({
            "active": true,
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": row.user_id,
            "exp": row.expires_at,
            "iat": row.created_at,
            "iss": state.settings.server.issuer,
        })
    }))
}

/// `POST /revoke`: a client revokes its own access or refresh token. Revoking either one
/// ends its whole grant family. Unknown tokens get 200 as the RFC asks.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let client =
        client_auth::authenticate(&client_auth::ClientAuth::of(&state), &req, &params).await?;
    super::allow_origin(&req, &client)?;
    super::within_client_rate(&state, &client)?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    // token_type_hint is only a hint: an unknown value is ignored (RFC 7009 2.1) and
    // every kind of token is searched.
    let ok = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    if tokens::looks_like_access(token) {
        if let Some(access) = tokens::verify_access(&state.tokens(), token).await? {
            if access.str("client_id") != Some(client.id.as_str()) {
                return Err(not_yours());
            }
            let jti = access.str("jti").unwrap_or_default().to_string();
            let exp = access.exp();
            db::run_write(&state.pool, move |conn| {
                store::revoke_jti(conn, &jti, exp)?;
                if let Some((family, _)) = jti.split_once('.') {
                    store::revoke_family(conn, family)?;
                }
                Ok(())
            })
            .await?;
            return Ok(ok);
        }
    }
    let hash = crypto::hash_secret(token);
    let client_id = client.id.clone();
    let owned = db::run_write(&state.pool, move |conn| {
        match store::find_refresh(conn, &hash)? {
            Some(row) if row.client_id == client_id => {
                store::revoke_family(conn, &row.family_id)?;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
    })
    .await?;
    if owned {
        Ok(ok)
    } else {
        Err(not_yours())
    }
}

/// RFC 7009 2.1: a token issued to another client is refused, not silently ignored.
fn not_yours() -> OAuthError {
    OAuthError::new(
        "unauthorized_client",
        "the token was not issued to this client",
    )
}
