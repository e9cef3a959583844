//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, and `none` for public clients.

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::OAuthError;
use super::registrar;
use crate::audit;
use crate::audit::Origin;
use crate::clients::Client;
use crate::clients::ClientCache;
use crate::config::ThrottleSettings;
use crate::db::DbPool;
use crate::state::AppState;
use crate::throttle;
use crate::web::Params;

/// What client authentication needs: the pool, the client cache, the throttle settings
/// and whether a proxy's forwarded client IP counts (for the audit log of failures).
pub struct ClientAuth<'a> {
    pub pool: &'a DbPool,
    pub clients: &'a ClientCache,
    pub throttle: &'a ThrottleSettings,
    pub proxies: &'a crate::web::ProxyTrust,
}

impl<'a> ClientAuth<'a> {
    /// The handles of `state` for a request.
    pub fn of(state: &'a AppState) -> ClientAuth<'a> {
        ClientAuth {
            pool: &state.pool,
            clients: &state.clients,
            throttle: &state.settings.throttle,
            proxies: &state.proxies,
        }
    }
}

/// Finds who is calling and checks their credentials. A client uses one method only.
pub async fn authenticate(
    auth: &ClientAuth<'_>,
    req: &HttpRequest,
    params: &Params,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(req)?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not several",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            (id, Some(secret))
        }
        None => match body_id {
            Some(id) => (id.to_string(), body_secret.map(str::to_string)),
            None => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ))
            }
        },
    };
    let secret = secret.filter(|s| !s.is_empty());
    let client = auth
        .clients
        .get(auth.pool, client_id)
        .await?
        // A disabled app authenticates as badly as an unknown one.
        .filter(Client::is_enabled)
        .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
    if client.is_public() {
        // Nothing to guess: a public client has no secret.
        return if registrar::check_secret(&client, secret.as_deref()) {
            Ok(client)
        } else {
            Err(OAuthError::invalid_client("client authentication failed"))
        };
    }
    // The right secret always works, lock or not: secrets are 256-bit random, so a lock
    // cannot be about guessing them right; it answers failures with 429 so a misbehaving
    // or hostile caller backs off, and the success path stays free of database work.
    if registrar::check_secret(&client, secret.as_deref()) {
        return Ok(client);
    }
    let key = format!("client:{}", client.id);
    let locked = throttle::locked_for(auth.pool, key.clone()).await?;
    if locked > 0 {
        return Err(too_many(locked));
    }
    let lock =
        throttle::record_failure(auth.pool, key, throttle::Policy::client(auth.throttle)).await?;
    let origin = Origin::of(req, auth.proxies);
    audit::record(
        auth.pool,
        &origin,
        audit::kind::CLIENT_AUTH_FAILED,
        None,
        Some(client.id.to_string()),
        String::new(),
    )
    .await;
    if lock > 0 {
        return Err(too_many(lock));
    }
    Err(OAuthError::invalid_client("client authentication failed"))
}

/// 429 with `Retry-After` after too many failed client authentications.
fn too_many(seconds: i64) -> OAuthError {
    let mut e = OAuthError::invalid_client(format!(
        "too many failed client authentications; retry in {seconds} seconds"
    ));
    e.status = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
    e.retry_after = Some(seconds);
    e
}

/// Reads `Authorization: Basic`; the id and secret are form-encoded (RFC 6749 2.3.1).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let value = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err(OAuthError::invalid_client(
            "unsupported Authorization scheme; use Basic",
        ));
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> Result<String, OAuthError> {
        let form = format!("v={s}");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&form).map_err(|_| bad())?;
        Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
    };
    let (id, secret) = (decode(id)?, decode(secret)?);
    // Neither may be empty of meaning or hold a NUL byte (it never reaches the database).
    if id.is_empty() || id.contains('\0') || secret.contains('\0') {
        return Err(bad());
    }
    Ok(Some((id, secret)))
}
