//! The `authorization_code` grant: one redemption per code (a second revokes what the first issued), PKCE, id token.

use super::*;

pub(super) async fn authorization_code(
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
    let found = db::run_write(&state.pool, move |conn| {
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
                    Some(client.id.to_string()),
                    String::new(),
                )
                .await;
            }
            return Err(OAuthError::invalid_grant(reason));
        }
    };
    let user = user.ok_or_else(|| OAuthError::invalid_grant("the account no longer exists"))?;
    if !user.is_active() {
        return Err(OAuthError::invalid_grant("the account is disabled"));
    }
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
    let scopes = Scopes::parse(&row.scope);
    let mut response = issue_tokens(
        state,
        PersonGrant {
            user: &user,
            client,
            with_id_token: true,
            scopes: scopes.as_slice(),
            scope: row.scope.clone(),
            family: &row.family_id,
            auth_time: row.auth_time,
            amr: &row.amr,
            nonce: row.nonce.as_deref(),
        },
    )
    .await?;
    let refresh = if wants_refresh(client, scopes.as_slice()) {
        Some(
            new_refresh(
                state,
                &row.family_id,
                client,
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
    response.refresh_token = refresh;
    Ok(response)
}

/// A refresh token goes to clients registered for the grant; an OpenID request also needs
/// `offline_access` (OIDC Core 11).
pub(super) fn wants_refresh(client: &Client, scopes: &[String]) -> bool {
    let openid = scopes.iter().any(|s| s == "openid");
    client.allows_grant("refresh_token")
        && (!openid || scopes.iter().any(|s| s == "offline_access"))
}

/// RFC 7636 4.6 through oxide-auth's PKCE: a challenge needs a matching verifier, and a
/// verifier without a challenge is refused too.
pub(super) fn verify_pkce(stored: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
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

pub(super) const CODE_REUSED: &str = "the authorization code was already used";

#[cfg(test)]
mod properties {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;

    fn s256(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    proptest! {
        #[test]
        fn the_right_verifier_passes_and_any_other_fails(
            verifier in "[A-Za-z0-9._~-]{43,128}",
            other in "[A-Za-z0-9._~-]{43,128}",
        ) {
            // oxide-auth stores the method with the challenge; go through its encoding, as
            // the authorization endpoint does.
            let challenge = Pkce::required()
                .challenge(
                    Some(Cow::Borrowed("S256")),
                    Some(Cow::Owned(s256(&verifier))),
                )
                .unwrap()
                .and_then(|v| v.into_private_value().ok().flatten());
            let challenge = challenge.expect("an S256 challenge is kept");
            prop_assert!(verify_pkce(Some(&challenge), Some(&verifier)).is_ok());
            if other != verifier {
                prop_assert!(verify_pkce(Some(&challenge), Some(&other)).is_err());
            }
        }

        #[test]
        fn malformed_verifiers_never_pass_or_panic(verifier in ".{0,200}", challenge in ".{0,100}") {
            let shaped = (43..=128).contains(&verifier.len())
                && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let result = verify_pkce(Some(&challenge), Some(&verifier));
            if !shaped {
                prop_assert!(result.is_err());
            }
        }
    }
}
