//! The `client_credentials` grant: an access token for the client itself.

use super::*;

pub(super) fn client_credentials(
    state: &AppState,
    client: &Client,
    p: &Params,
) -> Result<TokenResponse, OAuthError> {
    // OpenID and offline access make no sense without a person.
    let allowed = |s: &str| client.allows_scope(s) && s != "openid" && s != "offline_access";
    let scopes: Vec<String> = match p.get("scope") {
        Some(requested) => {
            let requested = Scopes::parse(requested).into_vec();
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
            permissions: None,
            attributes: None,
            ttl: client.lifetimes.access_token_ttl,
            format: client.lifetimes.access_token_format,
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
