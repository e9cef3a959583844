//! Edge cases of the protocol: concurrency, loopback redirects, omitted redirect_uri,
//! consent that must not stand in for a sign-in, and one code per request.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn parallel_refreshes_with_one_token_yield_one_live_family_and_no_500() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (url, id, secret, token) = (
            app.url("/token"),
            client.client_id.clone(),
            client.client_secret.clone(),
            refresh.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = http()
                .post(url)
                .basic_auth(id, secret)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let mut successors = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(
            status, 200,
            "concurrent retries within the grace period succeed: {body}"
        );
        successors.insert(body["refresh_token"].as_str().unwrap().to_string());
    }
    assert_eq!(
        successors.len(),
        1,
        "every retry gets the same successor: one live family"
    );
    let successor = successors.into_iter().next().unwrap();
    assert_eq!(app.introspect(&client, &successor).await["active"], true);
    assert_eq!(app.introspect(&client, &refresh).await["active"], false);
}

#[tokio::test]
async fn a_retry_within_the_grace_period_gets_the_same_successor() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let r1 = body["refresh_token"].as_str().unwrap().to_string();
    let refresh = |token: String| {
        let app = &app;
        let client = &client;
        async move {
            app.token(
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let (status, first) = refresh(r1.clone()).await;
    assert_eq!(status, 200);
    let (status, again) = refresh(r1.clone()).await;
    assert_eq!(status, 200, "a benign retry: {again}");
    assert_eq!(again["refresh_token"], first["refresh_token"]);
    // Another client presenting it is never a retry.
    let other = app.confidential().await;
    let (status, _) = app
        .token(
            &other,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!(status, 400);
    let r2 = first["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.introspect(&client, &r2).await["active"],
        true,
        "the family lives on"
    );
}

#[tokio::test]
async fn with_no_grace_period_any_reuse_revokes_the_family() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = 0).await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let r1 = body["refresh_token"].as_str().unwrap().to_string();
    let (_, first) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    let (status, _) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    assert_eq!(status, 400);
    let r2 = first["refresh_token"].as_str().unwrap();
    assert_eq!(app.introspect(&client, r2).await["active"], false);
}

#[tokio::test]
async fn refresh_tokens_introspect_only_for_their_own_client() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let resource_server = app.resource_server().await;
    let other_app = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&client, refresh).await["active"], true);
    assert_eq!(
        app.introspect(&resource_server, refresh).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&resource_server, access).await["active"],
        true,
        "a resource server registered for the token's audience reads access tokens"
    );
    assert_eq!(
        app.introspect(&other_app, access).await["active"],
        false,
        "another app does not read them"
    );
    assert_eq!(app.introspect(&other_app, refresh).await["active"], false);
}

#[tokio::test]
async fn loopback_redirect_uris_match_on_any_port() {
    let app = TestApp::spawn().await;
    let client = app.client(true, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:53117/cb";
    let mut q = openid_query(&client.client_id, &challenge);
    q[2] = ("redirect_uri", redirect);
    let back = Browser::new().authorize(&app, &q, EMAIL, PASSWORD).await;
    assert!(back.starts_with("http://127.0.0.1:53117/cb?"), "{back}");
    let code = param(&back, "code").unwrap();
    let (status, body) = app
        .public_token(
            &client.client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Another path on the loopback host is still refused.
    q[2] = ("redirect_uri", "http://127.0.0.1:53117/other");
    let resp = http().get(authorize_url(&app, &q)).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn redirect_uri_omitted_at_authorize_need_not_be_repeated() {
    let app = TestApp::spawn().await;
    let client = porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "One URI".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            public: false,
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["api:read".into()],
            skip_consent: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.user(EMAIL, PASSWORD).await;
    let q = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("scope", "api:read"),
        ("state", "s"),
    ];
    let back = Browser::new().authorize(&app, &q, EMAIL, PASSWORD).await;
    assert!(back.starts_with(REDIRECT));
    let code = param(&back, "code").unwrap();
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn consent_cannot_skip_the_sign_in_a_request_asked_for() {
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

    // prompt=login parks the request at the sign-in page; posting consent for it must not
    // produce a code with the old session.
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "login consent"));
    let login = location(&browser.get(&authorize_url(&app, &q)).await);
    assert!(login.starts_with("/login?request="));
    let request = login.trim_start_matches("/login?request=").to_string();
    let page = browser
        .get(&app.url(&format!("/consent?request={request}")))
        .await;
    assert_eq!(page.status(), 302);
    assert!(location(&page).starts_with("/login"));
    let home = browser.get(&app.url("/")).await.text().await.unwrap();
    let csrf = hidden(&home, "csrf");
    let resp = browser
        .post(
            &app.url("/consent"),
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        location(&resp).starts_with("/login"),
        "sent to sign in, not to the client"
    );
}

#[tokio::test]
async fn a_consent_form_submitted_twice_yields_one_code() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (_, challenge) = pkce();
    let login = location(
        &browser
            .get(&authorize_url(
                &app,
                &openid_query(&client.client_id, &challenge),
            ))
            .await,
    );
    let resp = browser
        .submit_login(&app, &app.url(&login), EMAIL, PASSWORD)
        .await;
    let consent = location(&browser.get(&app.url(&location(&resp))).await);
    let page = browser.get(&app.url(&consent)).await.text().await.unwrap();
    let form = Form::parse(&page, "/consent").with(&[("decision", "allow")]);
    let first = browser.send(&app, &form).await;
    assert!(param(&location(&first), "code").is_some());
    let second = browser.send(&app, &form).await;
    assert_eq!(second.status(), 400, "the request is used up");
}

#[tokio::test]
async fn a_repeated_parameter_goes_back_to_a_proven_client() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let redirect = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    let url = app.url(&format!("/authorize?client_id={}&redirect_uri={redirect}&response_type=code&scope=openid&scope=email&state=s", client.client_id));
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let l = location(&resp);
    assert!(l.starts_with(REDIRECT));
    assert_eq!(param(&l, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn revocation_ignores_an_unknown_hint() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (_, body) = app
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    let token = body["access_token"].as_str().unwrap();
    let resp = http()
        .post(app.url("/revoke"))
        .basic_auth(&client.client_id, client.client_secret.as_deref())
        .form(&[("token", token), ("token_type_hint", "something_else")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.introspect(&client, token).await["active"], false);
}

#[tokio::test]
async fn a_grant_ends_at_its_absolute_lifetime_however_often_it_rotates() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_token_absolute_ttl = 3).await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let body = app.sign_in_tokens(&client).await;
    let first = body["refresh_token"].as_str().unwrap().to_string();
    let refresh = |token: String| {
        let app = &app;
        let client = &client;
        async move {
            app.token(
                client,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let (status, body) = refresh(first).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_string();
    let_time_pass(
        std::time::Duration::from_millis(3200),
        "the grant's absolute lifetime (3 s) must run out",
    )
    .await;
    let (status, body) = refresh(second).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}
