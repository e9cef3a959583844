//! The token endpoint (RFC 6749 3.2): `authorization_code` (with PKCE), `refresh_token`
//! (rotating, reuse revokes the family) and `client_credentials`.

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;
use serde::Serialize;

use super::client_auth;
use super::error::OAuthError;
use crate::accounts;
use crate::clients::Client;
use crate::crypto;
use crate::db::{self, DbError};
use crate::grants::store::{self, RefreshRow};
use crate::state::AppState;
use crate::tokens::{self, AccessGrant, IdTokenGrant};
use crate::web::Params;

/// A successful token response (RFC 6749 5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// `POST /token`.
#[tracing::instrument(skip_all, fields(grant_type))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let client = client_auth::authenticate(&state, &req, &params).await?;
    let origin = state.origin(&req);
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    tracing::Span::current().record("grant_type", grant_type);
    let known = matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials"
    );
    if !known {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            "this grant type is not supported",
        ));
    }
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client may not use this grant type",
        ));
    }
    let response = match grant_type {
        "authorization_code" => authorization_code(&state, &client, &params, &origin).await?,
        "refresh_token" => refresh_token(&state, &client, &params, &origin).await?,
        _ => client_credentials(&state, &client, &params)?,
    };
    crate::ops::METRICS
        .tokens_issued
        .with_label_values(&[grant_type])
        .inc();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// Reads a URL-encoded POST body; anything else is `invalid_request`.
pub fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

async fn authorization_code(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &crate::audit::Origin,
) -> Result<TokenResponse, OAuthError> {
    let code = p
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = crypto::hash_secret(code);
    let now = crate::time::now();
    let client_id = client.id.clone();
    let found = db::run(&state.pool, move |conn| {
        let Some(row) = store::find_code(conn, &hash)? else {
            return Ok(Err("the authorization code is invalid"));
        };
        // Another client's attempt must not burn the code of the rightful one.
        if row.client_id != client_id {
            return Ok(Err("the authorization code was issued to another client"));
        }
        if store::consume_code(conn, &hash, now)? == 0 {
            // A second use: revoke everything the first use issued (RFC 6749 4.1.2).
            store::revoke_family(conn, &row.family_id)?;
            tracing::warn!(client_id = %row.client_id, "authorization code reused; its tokens are revoked");
            return Ok(Err(CODE_REUSED));
        }
        let user = accounts::store::find(conn, &row.user_id)?;
        Ok(Ok((row, user)))
    })
    .await?;
    let (row, user) = match found {
        Ok(found) => found,
        Err(reason) => {
            if reason == CODE_REUSED {
                crate::audit::record(
                    &state.pool,
                    origin,
                    crate::audit::kind::CODE_REUSED,
                    None,
                    Some(client.id.clone()),
                    String::new(),
                )
                .await;
            }
            return Err(OAuthError::invalid_grant(reason));
        }
    };
    let user = user.ok_or_else(|| OAuthError::invalid_grant("the account no longer exists"))?;
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    // RFC 6749 4.1.3: redirect_uri must match when the authorization request carried one.
    if !row.redirect_uri.is_empty() && p.get("redirect_uri") != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    verify_pkce(row.pkce.as_deref(), p.get("code_verifier"))?;
    let scopes: Vec<String> = row.scope.split_whitespace().map(str::to_string).collect();
    let amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    let roles = tokens::roles_for(&state.tokens(), &user.id, &scopes).await?;
    let access = tokens::access_token(
        &state.tokens(),
        &AccessGrant {
            sub: &user.id,
            client_id: &client.id,
            scope: &row.scope,
            auth_time: Some(row.auth_time),
            family: Some(&row.family_id),
            roles: roles.as_deref(),
        },
    )
    .map_err(OAuthError::server_error)?;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(
            tokens::id_token(
                &state.tokens(),
                &IdTokenGrant {
                    user: &user,
                    client_id: &client.id,
                    scopes: &scopes,
                    nonce: row.nonce.as_deref(),
                    auth_time: row.auth_time,
                    amr: &amr,
                    access_token: Some(&access.token),
                },
            )
            .map_err(OAuthError::server_error)?,
        )
    } else {
        None
    };
    let refresh = if wants_refresh(client, &scopes) {
        Some(
            new_refresh(
                state,
                &row.family_id,
                &client.id,
                &user.id,
                &row.scope,
                row.auth_time,
                &row.amr,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: row.scope,
        refresh_token: refresh,
        id_token,
    })
}

/// A refresh token goes to clients registered for the grant; an OpenID request also needs
/// `offline_access` (OIDC Core 11).
fn wants_refresh(client: &Client, scopes: &[String]) -> bool {
    let openid = scopes.iter().any(|s| s == "openid");
    client.allows_grant("refresh_token")
        && (!openid || scopes.iter().any(|s| s == "offline_access"))
}

/// RFC 7636 4.6 through oxide-auth's PKCE: a challenge needs a matching verifier, and a
/// verifier without a challenge is refused too.
fn verify_pkce(stored: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (stored, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(method), Some(v)) => {
            let valid_syntax = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let ok = valid_syntax
                && Pkce::required()
                    .verify(
                        Some(Value::private(Some(method.to_string()))),
                        Some(Cow::Borrowed(v)),
                    )
                    .is_ok();
            if ok {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

const CODE_REUSED: &str = "the authorization code was already used";
const REFRESH_REUSED: &str = "the refresh token was already used";

/// Ends a refresh transaction: `Refuse` rolls back and answers with an OAuth error.
enum Tx {
    Db(diesel::result::Error),
    Refuse(&'static str, &'static str),
}

impl From<diesel::result::Error> for Tx {
    fn from(e: diesel::result::Error) -> Self {
        Tx::Db(e)
    }
}

async fn new_refresh(
    state: &AppState,
    family: &str,
    client_id: &str,
    user_id: &str,
    scope: &str,
    auth_time: i64,
    amr: &str,
) -> Result<String, DbError> {
    let token = crypto::random_token(32);
    let now = crate::time::now();
    let row = RefreshRow {
        token_hash: crypto::hash_secret(&token),
        family_id: family.to_string(),
        client_id: client_id.to_string(),
        user_id: user_id.to_string(),
        scope: scope.to_string(),
        auth_time,
        amr: amr.to_string(),
        created_at: now,
        expires_at: now + state.settings.tokens.refresh_token_ttl,
        rotated_at: None,
        successor_enc: None,
    };
    db::run(&state.pool, move |conn| {
        Ok(store::insert_refresh(conn, &row)?)
    })
    .await?;
    Ok(token)
}

async fn refresh_token(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &crate::audit::Origin,
) -> Result<TokenResponse, OAuthError> {
    let presented = p
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = crypto::hash_secret(presented);
    let now = crate::time::now();
    let client_id = client.id.clone();
    let successor = crypto::random_token(32);
    let successor_hash = crypto::hash_secret(&successor);
    let ttl = state.settings.tokens.refresh_token_ttl;
    let requested: Option<Vec<String>> = p.get("scope").map(|r| {
        r.split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    let wanted = requested.clone();
    let master = state.master.clone();
    let grace = state.settings.tokens.refresh_reuse_grace;
    let sealed_successor = master
        .seal(successor.as_bytes(), &successor_context(&hash))
        .map_err(OAuthError::server_error)?;
    // Rotate, check and insert the successor in one transaction. The write comes first:
    // on SQLite it takes the write lock before anything is read, so concurrent uses of one
    // token queue up instead of failing to upgrade a read snapshot; on PostgreSQL the row
    // lock does the same. A refusal rolls the rotation back; a detected reuse commits the
    // family revocation.
    let outcome = db::run(&state.pool, move |conn| {
        let result = conn.transaction::<_, Tx, _>(|conn| {
            let rotated_now = store::rotate_refresh(conn, &hash, now, &sealed_successor)? == 1;
            let Some(row) = store::find_refresh(conn, &hash)? else {
                return Err(Tx::Refuse("invalid_grant", "the refresh token is invalid"));
            };
            if row.client_id != client_id {
                return Err(Tx::Refuse("invalid_grant", "the refresh token was issued to another client"));
            }
            if let Some(wanted) = &wanted {
                // Narrowing is fine; widening is refused and nothing rotates.
                let granted: Vec<&str> = row.scope.split_whitespace().collect();
                if wanted.iter().any(|s| !granted.contains(&s.as_str())) {
                    return Err(Tx::Refuse("invalid_scope", "the requested scope exceeds the original grant"));
                }
            }
            if !rotated_now {
                // The same token again within the grace period, from the same client, while
                // its successor is still unused: a retry (two tabs, a lost response). Answer
                // with the same successor, so there is still one live token in the family.
                if let Some(same) = benign_retry(conn, &master, &row, &hash, now, grace)? {
                    let Some(user) = accounts::store::find(conn, &row.user_id)? else {
                        return Err(Tx::Refuse("invalid_grant", "the account no longer exists"));
                    };
                    return Ok(Ok((row, user, same)));
                }
                // A rotated-out token came back: treat as theft, end the family (RFC 9700 4.14.2).
                store::revoke_family(conn, &row.family_id)?;
                tracing::warn!(client_id = %row.client_id, "refresh token reused; its family is revoked");
                return Ok(Err(("invalid_grant", REFRESH_REUSED)));
            }
            if store::family_revoked(conn, &row.family_id)? {
                return Err(Tx::Refuse("invalid_grant", "the refresh token was revoked"));
            }
            if row.expires_at <= now {
                return Err(Tx::Refuse("invalid_grant", "the refresh token has expired"));
            }
            let Some(user) = accounts::store::find(conn, &row.user_id)? else {
                return Err(Tx::Refuse("invalid_grant", "the account no longer exists"));
            };
            let next = RefreshRow {
                token_hash: successor_hash,
                created_at: now,
                expires_at: now + ttl,
                rotated_at: None,
                successor_enc: None,
                ..row.clone()
            };
            store::insert_refresh(conn, &next)?;
            Ok(Ok((row, user, successor)))
        });
        match result {
            Ok(outcome) => Ok(outcome),
            Err(Tx::Refuse(error, description)) => Ok(Err((error, description))),
            Err(Tx::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    let (row, user, refresh) = match outcome {
        Ok(found) => found,
        Err((error, reason)) => {
            if reason == REFRESH_REUSED {
                crate::audit::record(
                    &state.pool,
                    origin,
                    crate::audit::kind::REFRESH_REUSED,
                    None,
                    Some(client.id.clone()),
                    String::new(),
                )
                .await;
            }
            return Err(OAuthError::new(error, reason));
        }
    };
    let scopes =
        requested.unwrap_or_else(|| row.scope.split_whitespace().map(str::to_string).collect());
    let scope = scopes.join(" ");
    let roles = tokens::roles_for(&state.tokens(), &user.id, &scopes).await?;
    let access = tokens::access_token(
        &state.tokens(),
        &AccessGrant {
            sub: &user.id,
            client_id: &client.id,
            scope: &scope,
            auth_time: Some(row.auth_time),
            family: Some(&row.family_id),
            roles: roles.as_deref(),
        },
    )
    .map_err(OAuthError::server_error)?;
    let amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(
            tokens::id_token(
                &state.tokens(),
                &IdTokenGrant {
                    user: &user,
                    client_id: &client.id,
                    scopes: &scopes,
                    nonce: None,
                    auth_time: row.auth_time,
                    amr: &amr,
                    access_token: Some(&access.token),
                },
            )
            .map_err(OAuthError::server_error)?,
        )
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope,
        refresh_token: Some(refresh),
        id_token,
    })
}

/// Associated data for a sealed successor: bound to the token it succeeds.
fn successor_context(predecessor_hash: &str) -> String {
    format!("refresh-successor:{predecessor_hash}")
}

/// The successor to hand out again when `row` (already rotated) comes back within
/// `grace` seconds and that successor is still the family's live, unused token.
fn benign_retry(
    conn: &mut crate::db::DbConn,
    master: &crate::crypto::MasterKey,
    row: &RefreshRow,
    hash: &str,
    now: i64,
    grace: i64,
) -> Result<Option<String>, diesel::result::Error> {
    let within = grace > 0 && row.rotated_at.is_some_and(|t| now - t <= grace);
    let Some(sealed) = row.successor_enc.as_deref().filter(|_| within) else {
        return Ok(None);
    };
    let Ok(plain) = master.open(sealed, &successor_context(hash)) else {
        return Ok(None);
    };
    let Ok(successor) = String::from_utf8(plain) else {
        return Ok(None);
    };
    let live = match store::find_refresh(conn, &crypto::hash_secret(&successor))? {
        Some(next) => next.rotated_at.is_none() && next.expires_at > now,
        None => false,
    };
    if !live || store::family_revoked(conn, &row.family_id)? {
        return Ok(None);
    }
    Ok(Some(successor))
}

fn client_credentials(
    state: &AppState,
    client: &Client,
    p: &Params,
) -> Result<TokenResponse, OAuthError> {
    // OpenID and offline access make no sense without a person.
    let allowed = |s: &str| client.allows_scope(s) && s != "openid" && s != "offline_access";
    let scopes: Vec<String> = match p.get("scope") {
        Some(requested) => {
            let requested: Vec<String> = requested
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if requested.iter().any(|s| !allowed(s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "a requested scope is not allowed for this client",
                ));
            }
            requested
        }
        None => client
            .scopes
            .iter()
            .filter(|s| allowed(s))
            .cloned()
            .collect(),
    };
    let scope = scopes.join(" ");
    let access = tokens::access_token(
        &state.tokens(),
        &AccessGrant {
            sub: &client.id,
            client_id: &client.id,
            scope: &scope,
            auth_time: None,
            family: None,
            roles: None,
        },
    )
    .map_err(OAuthError::server_error)?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope,
        refresh_token: None,
        id_token: None,
    })
}
