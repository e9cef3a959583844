//! The authorization-code flow end to end, for confidential and public clients, and the
//! rules that protect it broken on purpose.

use crate::common::*;
use serde_json::Value;

/// Verifies an RS256 JWT against Porta's published JWKS, as an outside party would.
async fn verify_with_jwks(app: &TestApp, jwt: &str) -> Value {
    let jwks = http()
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let set = josekit::jwk::JwkSet::from_bytes(jwks.as_bytes()).unwrap();
    let kid = header(jwt)["kid"].as_str().expect("kid").to_string();
    let jwk = set.get(&kid).into_iter().next().expect("kid published");
    let verifier = josekit::jws::RS256.verifier_from_jwk(jwk).unwrap();
    let (payload, _) = josekit::jwt::decode_with_verifier(jwt, &verifier).expect("valid signature");
    Value::Object(payload.claims_set().clone())
}

#[tokio::test]
async fn confidential_client_full_flow() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new();
    let back = browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(app.issuer.as_str()),
        "RFC 9207 iss"
    );
    let code = param(&back, "code").expect("code");

    let (status, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid profile email offline_access");
    let access = body["access_token"].as_str().unwrap().to_string();
    let id_token = body["id_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();

    // Access token: RFC 9068.
    assert_eq!(header(&access)["typ"], "at+jwt");
    assert_eq!(header(&access)["alg"], "RS256");
    let at = verify_with_jwks(&app, &access).await;
    assert_eq!(at["iss"], app.issuer.as_str());
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["client_id"], client.client_id.as_str());
    assert!(at["aud"].is_string());
    assert!(at["jti"].is_string());
    for t in ["iat", "exp", "auth_time"] {
        assert!(at[t].is_i64(), "{t} must be whole seconds: {}", at[t]);
    }

    // Id token: OIDC Core.
    let h = header(&id_token);
    assert!(h["kid"].is_string());
    let it = verify_with_jwks(&app, &id_token).await;
    assert_eq!(it["aud"], client.client_id.as_str());
    assert_eq!(it["nonce"], "n-456");
    assert_eq!(it["sub"], user.id.as_str());
    assert_eq!(it["amr"], serde_json::json!(["pwd"]));
    assert_eq!(it["at_hash"], porta::tokens::at_hash(&access).as_str());
    for t in ["iat", "exp", "auth_time"] {
        assert!(it[t].is_i64(), "{t} must be whole seconds");
    }

    // Userinfo, GET and POST.
    let resp = app.userinfo(&access).await;
    assert_eq!(resp.status(), 200);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], user.id.as_str());
    assert_eq!(info["email"], EMAIL);
    assert_eq!(info["name"], "Test Person");
    let resp = http()
        .post(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http()
        .post(app.url("/userinfo"))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Introspection.
    let i = app.introspect(&client, &access).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["sub"], user.id.as_str());
    let i = app.introspect(&client, &refresh).await;
    assert_eq!(i["active"], true);

    // Refresh rotates.
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let refresh2 = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh2, refresh);
    assert_eq!(
        app.introspect(&client, &refresh).await["active"],
        false,
        "rotated-out token is inactive"
    );
    let access2 = body["access_token"].as_str().unwrap().to_string();
    assert!(body["id_token"].is_string());

    // Revoking the refresh token ends the family, access tokens included.
    let resp = http()
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.client_secret.as_deref())
        .form(&[
            ("token", refresh2.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.introspect(&client, &refresh2).await["active"], false);
    assert_eq!(app.introspect(&client, &access2).await["active"], false);
    let resp = app.userinfo(&access2).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}

#[tokio::test]
async fn public_client_uses_pkce_and_no_secret() {
    let app = TestApp::spawn().await;
    let client = app
        .client(true, &["authorization_code", "refresh_token"], true)
        .await;
    assert!(client.client_secret.is_none());
    app.user(EMAIL, PASSWORD).await;
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").expect("code");
    let (status, body) = app
        .public_token(
            &client.client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .public_token(
            &client.client_id,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn public_client_without_pkce_or_with_plain_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.client(true, &["authorization_code"], true).await;
    let base = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let resp = http().get(authorize_url(&app, &base)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let l = location(&resp);
    assert!(l.starts_with(REDIRECT));
    assert_eq!(param(&l, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&l, "state").as_deref(), Some("s"));
    assert_eq!(param(&l, "iss").as_deref(), Some(app.issuer.as_str()));

    let mut plain = base.to_vec();
    plain.push((
        "code_challenge",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
    ));
    plain.push(("code_challenge_method", "plain"));
    let l = location(
        &http()
            .get(authorize_url(&app, &plain))
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(param(&l, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn code_is_single_use_and_reuse_revokes_its_tokens() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = app.token(&client, &form).await;
    assert_eq!(status, 200);
    let (status, second) = app.token(&client, &form).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(app.introspect(&client, access).await["active"], false);
    assert_eq!(app.introspect(&client, refresh).await["active"], false);
}

#[tokio::test]
async fn pkce_verifier_must_match() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();

    // Wrong verifier.
    let back = browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (status, body) = app.redeem(&client, &code, &other_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Missing verifier.
    let back = browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (status, body) = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A verifier without a challenge.
    let q = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let back = browser.authorize(&app, &q, EMAIL, PASSWORD).await;
    let code = param(&back, "code").unwrap();
    let (status, body) = app.redeem(&client, &code, &other_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn redirect_uri_must_match_exactly_at_both_endpoints() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    for bad in [
        "https://app.example.com/callback/",
        "https://app.example.com/callback?x=1",
        "https://evil.example.com/callback",
        "HTTPS://app.example.com/callback",
    ] {
        let q = [
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", bad),
            ("scope", "openid"),
            ("state", "s"),
        ];
        let resp = http().get(authorize_url(&app, &q)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(
            resp.headers().get("location").is_none(),
            "never redirect to an unregistered URI"
        );
        assert!(resp.text().await.unwrap().contains("not registered"));
    }
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (status, body) = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_are_refused() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let q = [
        ("response_type", "code"),
        ("client_id", "nope"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
    ];
    let resp = http().get(authorize_url(&app, &q)).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());

    let resp = http()
        .post(app.url("/token"))
        .basic_auth("nope", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let resp = http()
        .post(app.url("/token"))
        .basic_auth(&client.client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // client_secret_post works; two methods at once do not.
    let secret = client.client_secret.clone().unwrap();
    let resp = http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http()
        .post(app.url("/token"))
        .basic_auth(&client.client_id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let r1 = body["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!(status, 200);
    let r2 = body["refresh_token"].as_str().unwrap().to_string();
    // The app moves on with its successor...
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
        )
        .await;
    assert_eq!(status, 200);
    let r3 = body["refresh_token"].as_str().unwrap().to_string();
    let a3 = body["access_token"].as_str().unwrap().to_string();
    // ...then the first token comes back: no retry can explain that (its successor was
    // used), so theft is assumed and everything in the family ends.
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r3)],
        )
        .await;
    assert_eq!(status, 400, "the live token is revoked too");
    assert_eq!(app.introspect(&client, &a3).await["active"], false);
}

#[tokio::test]
async fn refresh_scope_may_narrow_but_not_widen() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let r1 = body["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r1),
                ("scope", "openid api:read"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r1),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid");
}

#[tokio::test]
async fn refresh_token_of_another_client_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let other = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let r1 = body["refresh_token"].as_str().unwrap();
    let (status, body) = app
        .token(
            &other,
            &[("grant_type", "refresh_token"), ("refresh_token", r1)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = app
        .token(
            &other,
            &[
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn openid_request_without_offline_access_gets_no_refresh_token() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let (verifier, challenge) = pkce();
    let mut q = openid_query(&client.client_id, &challenge);
    q[3] = ("scope", "openid email");
    let back = Browser::new().authorize(&app, &q, EMAIL, PASSWORD).await;
    let code = param(&back, "code").unwrap();
    let (status, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none());
    let info: Value = app
        .userinfo(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], EMAIL);
    assert!(info.get("name").is_none(), "profile was not granted");
}

#[tokio::test]
async fn each_app_may_have_its_own_token_lifetimes_and_drop_id_tokens_on_refresh() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let booking_app = app
        .client_with(
            false,
            &["authorization_code", "refresh_token"],
            true,
            porta::clients::Lifetimes {
                access_token_ttl: Some(600),
                id_token_ttl: Some(300),
                refresh_token_ttl: Some(86_400),
                refresh_id_token: false,
                ..Default::default()
            },
        )
        .await;
    let body = app.sign_in_tokens(&booking_app).await;
    assert_eq!(body["expires_in"], 600);
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        600
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        300
    );
    let refresh = body["refresh_token"].as_str().unwrap();
    let seen = app.introspect(&booking_app, refresh).await;
    assert_eq!(
        seen["exp"].as_i64().unwrap() - seen["iat"].as_i64().unwrap(),
        86_400
    );
    // OIDC Core 12.2: this app asked for refresh answers without an id token.
    let (status, refreshed) = app
        .token(
            &booking_app,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed.get("id_token").is_none(), "{refreshed}");
    assert_eq!(refreshed["expires_in"], 600);

    // Another app keeps the defaults, and its refresh answers keep the id token.
    let other = app.confidential().await;
    let body = app.sign_in_tokens(&other).await;
    assert_eq!(body["expires_in"], 3600);
    let (_, refreshed) = app
        .token(
            &other,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert!(refreshed["id_token"].is_string());
}

/// An app may ask for opaque access tokens: the same claims, sealed, so the app cannot
/// read them and an API must ask the introspection endpoint. Porta's own endpoints take
/// them as they take JWTs (introspection, userinfo, revocation); an altered one is
/// nothing; the id token's `at_hash` covers the opaque string; a refresh and client
/// credentials issue them too.
#[tokio::test]
async fn an_app_may_have_opaque_access_tokens_that_only_porta_reads() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let opaque = porta::clients::Lifetimes {
        access_token_format: porta::clients::AccessTokenFormat::Opaque,
        ..Default::default()
    };
    let sealed_app = app
        .client_with(
            false,
            &["authorization_code", "refresh_token", "client_credentials"],
            true,
            opaque,
        )
        .await;
    let body = app.sign_in_tokens(&sealed_app).await;
    let access = body["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("porta_at_"), "{access}");
    assert!(!access.contains('.'), "not a JWT: {access}");
    assert!(
        !access.contains(&user.id.to_string()),
        "the claims are not readable"
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["at_hash"], porta::tokens::at_hash(&access));

    let seen = app.introspect(&sealed_app, &access).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["sub"], user.id.to_string());
    assert_eq!(seen["client_id"], sealed_app.client_id);
    assert_eq!(seen["iss"], app.issuer);
    assert_eq!(
        seen["exp"].as_i64().unwrap() - seen["iat"].as_i64().unwrap(),
        3600
    );
    assert!(seen["scope"].as_str().unwrap().contains("openid"), "{seen}");
    let info = app.userinfo(&access).await;
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], user.id.to_string());

    // Altered anywhere, or cut short, it is nothing.
    let mut bytes = access.clone().into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    for bad in [
        altered.as_str(),
        &access[..access.len() - 4],
        "porta_at_",
        "porta_at_%%%",
    ] {
        assert_eq!(app.introspect(&sealed_app, bad).await["active"], false);
        assert_eq!(app.userinfo(bad).await.status(), 401, "{bad}");
    }
    // Another app (no audience of the token) sees nothing, as with a JWT.
    let other = app.confidential().await;
    assert_eq!(app.introspect(&other, &access).await["active"], false);

    // A refresh issues another opaque token; revoking one ends the grant.
    let (status, refreshed) = app
        .token(
            &sealed_app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let renewed = refreshed["access_token"].as_str().unwrap();
    assert!(renewed.starts_with("porta_at_") && renewed != access);
    let revoked = http()
        .post(app.url("/revoke"))
        .basic_auth(&sealed_app.client_id, sealed_app.client_secret.as_deref())
        .form(&[("token", renewed)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(app.introspect(&sealed_app, renewed).await["active"], false);
    assert_eq!(app.userinfo(renewed).await.status(), 401);
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(app.introspect(&sealed_app, refresh).await["active"], false);

    // Client credentials: opaque too, for this app.
    let (status, machine) = app
        .token(&sealed_app, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "{machine}");
    let machine = machine["access_token"].as_str().unwrap();
    assert!(machine.starts_with("porta_at_"));
    let seen = app.introspect(&sealed_app, machine).await;
    assert_eq!(seen["sub"], sealed_app.client_id, "{seen}");
}
