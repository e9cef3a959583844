//! The token endpoint (RFC 6749 3.2): `authorization_code` (with PKCE), `refresh_token`
//! (rotating, reuse revokes the family) and `client_credentials`.

mod client_credentials;
mod code;
mod refresh;

use super::client_auth;
use super::error::OAuthError;
use crate::accounts;
use crate::clients::Client;
use crate::crypto;
use crate::db::{self, DbError};
use crate::grants::store::{self, RefreshRow};
use crate::scopes::Scopes;
use crate::state::AppState;
use crate::tokens::{self, AccessGrant, IdTokenGrant};
use crate::web::Params;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use client_credentials::*;
use code::*;
use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;
use refresh::*;
use serde::Serialize;
use std::borrow::Cow;

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

/// A grant from a person, as the authorization-code and refresh grants issue it.
struct PersonGrant<'a> {
    user: &'a accounts::User,
    client: &'a Client,
    /// Whether an OpenID grant gets an id token (the refresh grant asks the app).
    with_id_token: bool,
    scopes: &'a [String],
    /// The scopes as the response and the access token name them.
    scope: String,
    family: &'a str,
    auth_time: i64,
    /// The methods of the sign-in, space-separated.
    amr: &'a str,
    nonce: Option<&'a str>,
}

/// What every grant from a person issues: the person's roles and permissions (with the
/// `roles` and `permissions` scopes),
/// the access token, and an id token for OpenID requests. The caller adds the refresh
/// token.
async fn issue_tokens(state: &AppState, g: PersonGrant<'_>) -> Result<TokenResponse, OAuthError> {
    let tokens = state.tokens();
    let authority = tokens::authority_for(&tokens, &g.user.id, g.scopes).await?;
    let access = tokens::access_token(
        &tokens,
        &AccessGrant {
            sub: &g.user.id,
            client_id: &g.client.id,
            scope: &g.scope,
            auth_time: Some(g.auth_time),
            family: Some(g.family),
            roles: authority.roles.as_deref(),
            permissions: authority.permissions.as_deref(),
            attributes: Some(&authority.attributes),
            ttl: g.client.lifetimes.access_token_ttl,
            format: g.client.lifetimes.access_token_format,
        },
    )
    .map_err(OAuthError::server_error)?;
    let id_token = if g.with_id_token && g.scopes.iter().any(|s| s == "openid") {
        let amr: Vec<String> = g.amr.split_whitespace().map(str::to_string).collect();
        let id_token = tokens::id_token(
            &tokens,
            &IdTokenGrant {
                user: g.user,
                client_id: &g.client.id,
                scopes: g.scopes,
                nonce: g.nonce,
                auth_time: g.auth_time,
                amr: &amr,
                access_token: Some(&access.token),
                ttl: g.client.lifetimes.id_token_ttl,
                attributes: Some(&authority.attributes),
            },
        )
        .map_err(OAuthError::server_error)?;
        Some(id_token)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: g.scope,
        refresh_token: None,
        id_token,
    })
}

/// `POST /token`.
#[tracing::instrument(skip_all, fields(grant_type))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let client =
        client_auth::authenticate(&client_auth::ClientAuth::of(&state), &req, &params).await?;
    crate::oauth::allow_origin(&req, &client)?;
    crate::oauth::within_client_rate(&state, &client)?;
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
    if !crate::web::is_form(req) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
}
