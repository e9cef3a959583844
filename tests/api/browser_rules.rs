//! Sign-in, consent, prompt handling, logout and the headers and cookies of the hosted
//! pages.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn prompt_none_without_a_session_answers_login_required() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (_, challenge) = pkce();
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "none"));
    let resp = Browser::new().get(&authorize_url(&app, &q)).await;
    assert_eq!(resp.status(), 302);
    let l = location(&resp);
    assert!(l.starts_with(REDIRECT));
    assert_eq!(param(&l, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&l, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&l, "iss").as_deref(), Some(app.issuer.as_str()));
}

#[tokio::test]
async fn prompt_none_with_a_session_but_no_consent_answers_consent_required() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let other = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;

    // Signed in and consented: prompt=none gives a code at once.
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "none"));
    let l = location(&browser.get(&authorize_url(&app, &q)).await);
    assert!(param(&l, "code").is_some(), "{l}");

    // Another client the person never allowed.
    let mut q = openid_query(&other.client_id, &challenge);
    q.push(("prompt", "none"));
    let l = location(&browser.get(&authorize_url(&app, &q)).await);
    assert_eq!(param(&l, "error").as_deref(), Some("consent_required"));
}

#[tokio::test]
async fn consent_is_remembered_and_deny_answers_access_denied() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    // Second time: straight back to the client, no consent page.
    let resp = browser
        .get(&authorize_url(
            &app,
            &openid_query(&client.client_id, &challenge),
        ))
        .await;
    assert!(param(&location(&resp), "code").is_some());

    // prompt=consent asks again; Deny goes back with access_denied.
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "consent"));
    let resp = browser.get(&authorize_url(&app, &q)).await;
    let consent = location(&resp);
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = browser.get(&app.url(&consent)).await.text().await.unwrap();
    assert!(page.contains("Test App"));
    assert!(page.contains("See your email address"));
    let resp = browser
        .submit(&app, &page, "/consent", &[("decision", "deny")])
        .await;
    let l = location(&resp);
    assert!(l.starts_with(REDIRECT));
    assert_eq!(param(&l, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&l, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_fresh_sign_in() {
    let app = TestApp::spawn().await;
    let client = app.client(false, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;

    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "login"));
    let resp = browser.get(&authorize_url(&app, &q)).await;
    assert!(
        location(&resp).starts_with("/login"),
        "prompt=login shows the sign-in page"
    );
    let back = browser.authorize(&app, &q, EMAIL, PASSWORD).await;
    assert!(param(&back, "code").is_some());

    let_time_pass(
        std::time::Duration::from_millis(1100),
        "the sign-in becomes more than 0 s old",
    )
    .await;
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("max_age", "0"));
    let resp = browser.get(&authorize_url(&app, &q)).await;
    assert!(
        location(&resp).starts_with("/login"),
        "max_age=0 after a second needs a new sign-in"
    );
    let back = browser.authorize(&app, &q, EMAIL, PASSWORD).await;
    let code = param(&back, "code").unwrap();
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    let id = claims(body["id_token"].as_str().unwrap());
    assert!(id["auth_time"].as_i64().unwrap() >= porta::time::now() - 2);
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let wrong = browser
        .submit_login(&app, &app.url("/login"), EMAIL, "not the password")
        .await;
    assert_eq!(wrong.status(), 401);
    let wrong = wrong.text().await.unwrap();
    let unknown = browser
        .submit_login(
            &app,
            &app.url("/login"),
            "nobody@example.com",
            "not the password",
        )
        .await;
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("The email or password is not correct."));
    assert!(unknown.contains("The email or password is not correct."));
    // Same page apart from the echoed email and the CSRF token.
    assert_eq!(
        wrong.replace(EMAIL, "x").len(),
        unknown.replace("nobody@example.com", "x").len()
    );
}

#[tokio::test]
async fn forms_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser.get(&app.url("/login")).await;
    let resp = browser
        .post(
            &app.url("/login"),
            &[("csrf", "forged"), ("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let resp = browser
        .post(
            &app.url("/login"),
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        resp.status(),
        400,
        "a form without the field is a clear error"
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_safe_cookies() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let resp = browser.get(&app.url("/login")).await;
    let h = resp.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("referrer-policy"));
    assert_eq!(h["cache-control"], "no-store");
    let page = resp.text().await.unwrap();
    assert!(page.contains(r#"autocomplete="username""#));
    assert!(page.contains(r#"<label for="identifier">"#));
    // The second step names the account for password managers and asks for the password.
    let methods = browser.methods(&app, "/login", EMAIL).await;
    assert!(methods.contains(r#"autocomplete="username" value="person@example.com" readonly"#));
    assert!(methods.contains(r#"autocomplete="current-password""#));

    let first = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("porta_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let second = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let cookie2 = second
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("porta_session="))
        .expect("session cookie");
    assert_ne!(cookie, cookie2, "a new session id at every sign-in");
}

#[tokio::test]
async fn https_issuer_uses_host_prefixed_secure_cookies() {
    let app = TestApp::spawn_with(|s| {
        s.server.issuer = "https://id.example.com".into();
        s.mail.allow_development_outbox = true;
    })
    .await;
    let resp = Browser::new().get(&app.url("/login")).await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-porta_csrf="), "{cookie}");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("Path=/"));
}

#[tokio::test]
async fn an_https_issuer_sends_hsts_and_a_plain_one_does_not() {
    let https = TestApp::spawn_with(|s| {
        s.server.issuer = "https://id.example.com".into();
        s.mail.allow_development_outbox = true;
    })
    .await;
    let resp = Browser::new().get(&https.url("/login")).await;
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let resp = Browser::new()
        .get(&https.url("/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let off = TestApp::spawn_with(|s| {
        s.server.issuer = "https://id.example.com".into();
        s.mail.allow_development_outbox = true;
        s.server.hsts_max_age = 0;
    })
    .await;
    let resp = Browser::new().get(&off.url("/login")).await;
    assert!(resp.headers().get("strict-transport-security").is_none());
    let plain = TestApp::spawn().await;
    let resp = Browser::new().get(&plain.url("/login")).await;
    assert!(resp.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_to_a_registered_uri() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    let id_token = body["id_token"].as_str().unwrap();

    // Unregistered destination: an error page, no redirect.
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", "https://evil.example.com/")
        .finish();
    let resp = browser.get(&app.url(&format!("/logout?{q}"))).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());

    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", "https://app.example.com/bye")
        .append_pair("state", "bye-state")
        .finish();
    let resp = browser.get(&app.url(&format!("/logout?{q}"))).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(
        location(&resp),
        "https://app.example.com/bye?state=bye-state"
    );

    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "none"));
    let l = location(&browser.get(&authorize_url(&app, &q)).await);
    assert_eq!(
        param(&l, "error").as_deref(),
        Some("login_required"),
        "the session is gone"
    );
}

#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let resp = browser.get(&app.url("/logout")).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Sign out?"));
    let resp = browser
        .submit(&app, &page, "/logout", &[("confirm", "yes")])
        .await;
    assert_eq!(resp.status(), 200);
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    assert!(home.contains("You are not signed in."));
}

#[tokio::test]
async fn a_pending_request_only_continues_in_its_own_browser() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let (_, challenge) = pkce();
    let victim = Browser::new();
    let login = location(
        &victim
            .get(&authorize_url(
                &app,
                &openid_query(&client.client_id, &challenge),
            ))
            .await,
    );
    assert!(login.starts_with("/login?request="));
    let attacker = Browser::new();
    let resp = attacker.get(&app.url(&login)).await;
    assert_eq!(resp.status(), 400);
    let body: String = resp.text().await.unwrap();
    assert!(body.contains("expired or is unknown"));
}

#[tokio::test]
async fn discovery_is_true_to_the_implementation() {
    let app = TestApp::spawn().await;
    let d: Value = http()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], app.issuer.as_str());
    assert_eq!(d["authorization_endpoint"], app.url("/authorize").as_str());
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    let o: Value = http()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o["issuer"], d["issuer"]);

    let resp = http().get(app.url("/jwks")).send().await.unwrap();
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let jwks: Value = resp.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].is_string());
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(
            key.get(private).is_none(),
            "private parameter {private} must not be published"
        );
    }
}
