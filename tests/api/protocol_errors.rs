//! Malformed and hostile requests get clear protocol errors, never a 500; client
//! credentials, introspection and revocation rules.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn token_endpoint_answers_malformed_requests_with_rfc6749_errors() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let secret = client.client_secret.clone().unwrap();
    let post = |body: &'static str, ctype: &'static str| {
        http()
            .post(app.url("/token"))
            .basic_auth(&client.client_id, Some(&secret))
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        (
            r#"{"grant_type":"client_credentials"}"#,
            "application/json",
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            form,
            400,
            "invalid_request",
        ),
        ("", form, 400, "invalid_request"),
        (
            "grant_type=password&username=a&password=b",
            form,
            400,
            "unsupported_grant_type",
        ),
        ("grant_type=implicit", form, 400, "unsupported_grant_type"),
        (
            "grant_type=authorization_code",
            form,
            400,
            "invalid_request",
        ),
        (
            "grant_type=authorization_code&code=nope&redirect_uri=x",
            form,
            400,
            "invalid_grant",
        ),
        ("grant_type=refresh_token", form, 400, "invalid_request"),
        (
            "grant_type=refresh_token&refresh_token=nope",
            form,
            400,
            "invalid_grant",
        ),
        (
            "grant_type=client_credentials&scope=openid",
            form,
            400,
            "invalid_scope",
        ),
        ("%%%%=&&&==", form, 400, "invalid_request"),
    ];
    for (body, ctype, status, error) in cases {
        let resp = post(body, ctype).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{body}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{body}");
        let json: Value = resp.json().await.unwrap();
        assert_eq!(json["error"], error, "{body}");
    }
    let resp = http()
        .post(app.url("/token"))
        .header("content-type", form)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "no client authentication at all");
    let resp = http()
        .post(app.url("/token"))
        .header("authorization", "Basic !!!")
        .header("content-type", form)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let big = "a=".to_string() + &"x".repeat(200_000);
    let resp = http()
        .post(app.url("/token"))
        .header("content-type", form)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn authorize_answers_bad_requests_without_500_or_unsafe_redirects() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let id = client.client_id.as_str();
    // Before the redirect URI is trusted: an error page.
    for query in [
        String::new(),
        "client_id=".into(),
        format!("client_id={id}&client_id={id}"),
        "%ZZ".into(),
        format!("client_id={id}&redirect_uri=javascript:alert(1)&response_type=code&scope=openid"),
        format!("client_id={id}&response_type=code&scope=openid"),
    ] {
        let resp = http()
            .get(app.url(&format!("/authorize?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{query}");
        assert!(resp.headers().get("location").is_none(), "{query}");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // After: errors go back to the client.
    let redirect = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    for (extra, error) in [
        (
            "response_type=token&scope=openid",
            "unsupported_response_type",
        ),
        ("scope=openid", "invalid_request"),
        ("response_type=code&scope=unknown", "invalid_scope"),
        (
            "response_type=code&scope=openid&prompt=none%20login",
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&max_age=-1",
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&request=eyJ",
            "request_not_supported",
        ),
        (
            "response_type=code&scope=openid&response_mode=fragment",
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&id_token_hint=garbage",
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256",
            "invalid_request",
        ),
    ] {
        let url = app.url(&format!(
            "/authorize?client_id={id}&redirect_uri={redirect}&state=s1&{extra}"
        ));
        let resp = http().get(url).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{extra}");
        let l = location(&resp);
        assert!(l.starts_with(REDIRECT), "{l}");
        assert_eq!(param(&l, "error").as_deref(), Some(error), "{extra}");
        assert_eq!(param(&l, "state").as_deref(), Some("s1"));
        assert_eq!(param(&l, "iss").as_deref(), Some(app.issuer.as_str()));
    }
    // POST with the wrong body type.
    let resp = http()
        .post(app.url("/authorize"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn authorize_by_post_works_like_get() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (_, challenge) = pkce();
    let q = openid_query(&client.client_id, &challenge);
    let browser = Browser::new();
    let resp = browser
        .http
        .post(app.url("/authorize"))
        .form(&q)
        .send()
        .await
        .unwrap();
    // Re-issued as a GET so a cross-site POST still brings the SameSite=Lax session cookie.
    assert_eq!(resp.status(), 303);
    let get = location(&resp);
    assert!(get.starts_with("/authorize?"));
    let resp = browser.get(&app.url(&get)).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with("/login?request="));
}

#[tokio::test]
async fn client_credentials_issue_rfc9068_tokens() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(header(token)["typ"], "at+jwt");
    let c = claims(token);
    assert_eq!(c["sub"], client.client_id.as_str());
    assert_eq!(c["scope"], "api:read");
    let i = app.introspect(&client, token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], client.client_id.as_str());
    // Userinfo needs the openid scope.
    let resp = app.userinfo(token).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    // A client not registered for the grant.
    let limited = app.client(false, &["authorization_code"], false).await;
    let (status, body) = app
        .token(&limited, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn introspection_and_revocation_need_client_authentication() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let public = app.client(true, &["authorization_code"], false).await;
    let (_, body) = app
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    let token = body["access_token"].as_str().unwrap();
    let resp = http()
        .post(app.url("/introspect"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(app.url("/introspect"))
        .form(&[("token", token), ("client_id", public.client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "public clients cannot introspect");
    let resp = http()
        .post(app.url("/revoke"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Garbage and unknown tokens are simply inactive / ignored.
    assert_eq!(
        app.introspect(&client, "garbage").await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        app.introspect(&client, "a.b.c").await,
        serde_json::json!({"active": false})
    );
    let resp = http()
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.client_secret.as_deref())
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Revoking an access token makes it inactive everywhere.
    let resp = http()
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.client_secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.introspect(&client, token).await["active"], false);
}

#[tokio::test]
async fn another_clients_token_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let a = app.confidential().await;
    let b = app.confidential().await;
    let (_, body) = app.token(&a, &[("grant_type", "client_credentials")]).await;
    let token = body["access_token"].as_str().unwrap();
    let resp = http()
        .post(app.url("/revoke"))
        .basic_auth(&b.client_id, b.client_secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "RFC 7009 2.1: refused");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(app.introspect(&a, token).await["active"], true);
}

#[tokio::test]
async fn userinfo_refuses_missing_forged_and_foreign_tokens() {
    let app = TestApp::spawn().await;
    let resp = http().get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"porta\"");
    let resp = app.userinfo("not-a-jwt").await;
    assert_eq!(resp.status(), 401);
    // A token signed by someone else's key with Porta's issuer.
    let key = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let signer = josekit::jws::RS256
        .signer_from_der(key.to_der_private_key())
        .unwrap();
    let mut h = josekit::jws::JwsHeader::new();
    h.set_token_type("at+jwt");
    h.set_key_id("forged");
    let mut p = josekit::jwt::JwtPayload::new();
    p.set_issuer(&app.issuer);
    p.set_subject("someone");
    p.set_claim("scope", Some("openid".into())).unwrap();
    p.set_claim("exp", Some((porta::time::now() + 60).into()))
        .unwrap();
    p.set_claim("jti", Some("x".into())).unwrap();
    let forged = josekit::jwt::encode_with_signer(&p, &h, &signer).unwrap();
    let resp = app.userinfo(&forged).await;
    assert_eq!(resp.status(), 401);
    // alg=none is never accepted.
    let unsigned = format!(
        "{}.{}.",
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0",
        forged.split('.').nth(1).unwrap()
    );
    assert_eq!(app.userinfo(&unsigned).await.status(), 401);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_not_500() {
    let app = TestApp::spawn().await;
    let resp = http().get(app.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = http().delete(app.url("/token")).send().await.unwrap();
    assert!(resp.status().is_client_error());
    let resp = http().get(app.url("/token")).send().await.unwrap();
    assert!(resp.status().is_client_error());
    let resp = http()
        .get(app.url("/authorize/resume?request=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http()
        .get(app.url("/consent?request=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http()
        .post(app.url("/consent"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn browser_apps_may_call_the_token_endpoint_cross_origin_but_not_authorize() {
    let app = TestApp::spawn().await;
    let resp = http()
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert!(resp.headers().contains_key("access-control-allow-origin"));
    let resp = http()
        .get(app.url("/jwks"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("access-control-allow-origin"));
    let resp = http()
        .get(app.url("/authorize"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        !resp.headers().contains_key("access-control-allow-origin"),
        "RFC 9700 2.6"
    );
}

#[tokio::test]
async fn the_token_endpoint_takes_post_only() {
    let app = TestApp::spawn().await;
    for path in ["/token", "/introspect", "/revoke"] {
        let resp = http().get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 405, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn userinfo_and_admin_refuse_bad_bearer_headers_as_invalid_tokens() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(9000);
    let get = |path: &'static str, auth: String| {
        http()
            .get(app.url(path))
            .header("authorization", auth)
            .send()
    };
    // An over-long token is checked (and refused) like any other bad token.
    let resp = get("/userinfo", format!("Bearer {long}")).await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("the access token is invalid, expired or revoked"),
        "{challenge}"
    );
    // `Bearer` with nothing after it is not a Bearer header.
    let resp = get("/userinfo", "Bearer ".into()).await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("must be Bearer"), "{challenge}");
    // The admin API takes the scheme in any case and refuses a bad token as invalid.
    let resp = get("/admin/keys", "BEARER not-a-token".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let resp = get("/admin/keys", "Basic abc".into()).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"porta\"");
}

#[tokio::test]
async fn demo_routes_answer_get_only_and_say_when_the_demo_is_off() {
    let app = TestApp::spawn().await;
    let resp = http().get(app.url("/demo")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("The demo is not enabled"));
    // Other methods find no page, as anywhere else.
    let resp = http().post(app.url("/demo/start")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("There is no page at this address"));
}

#[tokio::test]
async fn nul_bytes_are_refused_before_the_database_on_both_backends() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    // In the token request body.
    let resp = http()
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=a%00b&client_secret=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    // In Basic credentials.
    let resp = http()
        .post(app.url("/token"))
        .basic_auth("a%00b", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // In the query of the authorization request and of the pages that carry one.
    for path in [
        format!(
            "/authorize?response_type=code&client_id={}%00",
            client.client_id
        ),
        "/login?request=%00".to_string(),
        "/consent?request=%00".to_string(),
        "/login/totp?pending=%00".to_string(),
    ] {
        let resp = http().get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{path}");
    }
}

#[tokio::test]
async fn an_over_long_state_is_neither_stored_nor_sent_back() {
    let app = TestApp::spawn().await;
    let client = app.client(false, &["authorization_code"], false).await;
    let (_, challenge) = pkce();
    let long_state = "s".repeat(1025);
    let mut query = openid_query(&client.client_id, &challenge);
    query.retain(|(k, _)| *k != "state");
    query.push(("state", &long_state));
    let resp = http()
        .get(authorize_url(&app, &query))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let fine = "s".repeat(1024);
    let mut query = openid_query(&client.client_id, &challenge);
    query.retain(|(k, _)| *k != "state");
    query.push(("state", &fine));
    let resp = http()
        .get(authorize_url(&app, &query))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
}
