//! An app signs in with Porta through the `openidconnect` crate, a strict third-party OIDC
//! client: discovery, authorization with PKCE and nonce, code exchange, id-token
//! validation (signature, iss, aud, nonce, at_hash), userinfo, refresh and revocation.

use crate::common::*;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

#[tokio::test]
async fn openidconnect_crate_signs_in_and_validates_the_id_token() {
    let app = TestApp::spawn().await;
    let registered = app.confidential().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let http_client = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.issuer.clone()).unwrap(),
        &http_client,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.client_id.clone()),
        Some(ClientSecret::new(registered.client_secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // A person signs in and allows the app in Porta's hosted pages.
    let query: Vec<(String, String)> = auth_url.query_pairs().into_owned().collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let back = Browser::new()
        .authorize(&app, &query, EMAIL, PASSWORD)
        .await;
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = param(&back, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("id token is valid");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("refresh");
    let new_id = refreshed.id_token().expect("id token on refresh");
    // After a refresh there is no nonce to check; the crate's verifier still checks the rest.
    new_id
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("refreshed id token is valid");

    // A wrong nonce is caught by the client library.
    assert!(id_token
        .claims(&verifier, &Nonce::new("other".into()))
        .is_err());
}
