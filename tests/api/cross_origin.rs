//! Who may call what from a browser page elsewhere (CORS), who may read `/metrics`, and
//! who may introspect whose tokens. Both backends.

use serde_json::Value;

use crate::common::*;

const APP_ORIGIN: &str = "https://app.example.com";
const EVIL_ORIGIN: &str = "https://evil.example.com";

fn acao(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn the_token_endpoint_answers_the_clients_own_web_origins_only() {
    let app = TestApp::spawn().await;
    // Redirect URIs https://app.example.com/callback and http://127.0.0.1:9/cb.
    let client = app.confidential().await;
    let call = |origin: Option<&'static str>| {
        let mut req = http()
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .form(&[("grant_type", "client_credentials")]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let resp = call(Some(APP_ORIGIN)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(acao(&resp).as_deref(), Some(APP_ORIGIN));
    assert_eq!(resp.headers()["vary"], "Origin");

    let resp = call(Some(EVIL_ORIGIN)).await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(acao(&resp), None);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");

    let resp = call(None).await.unwrap();
    assert_eq!(resp.status(), 200, "servers and native apps send no Origin");
    assert_eq!(acao(&resp), None);

    // A preflight names no client: answered, and the real answer decides.
    let pre = http()
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(acao(&pre).as_deref(), Some(APP_ORIGIN));
    assert!(pre.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn registered_web_origins_replace_the_redirect_uri_origins() {
    let app = TestApp::spawn().await;
    let client = porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "SPA".into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec!["client_credentials".into()],
            web_origins: vec!["https://spa.example.com".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (origin, status) in [("https://spa.example.com", 200), (APP_ORIGIN, 403)] {
        let resp = http()
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .header("origin", origin)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{origin}");
    }
    let bad = porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "Bad".into(),
            grant_types: vec!["client_credentials".into()],
            web_origins: vec!["https://spa.example.com/path".into()],
            ..Default::default()
        },
    )
    .await;
    assert!(bad.is_err(), "an origin has no path");
}

#[tokio::test]
async fn userinfo_answers_the_token_clients_origins_and_discovery_anyone() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let tokens = app.sign_in_tokens(&client).await;
    let access = tokens["access_token"].as_str().unwrap();
    for (origin, status, allowed) in [(APP_ORIGIN, 200, true), (EVIL_ORIGIN, 403, false)] {
        let resp = http()
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{origin}");
        assert_eq!(acao(&resp).is_some(), allowed, "{origin}");
    }
    for path in ["/jwks", "/.well-known/openid-configuration"] {
        let resp = http()
            .get(app.url(path))
            .header("origin", EVIL_ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(acao(&resp).is_some(), "{path} is public");
    }
}

#[tokio::test]
async fn the_apis_answer_the_configured_origins_only() {
    let app = TestApp::spawn_with(|s| {
        s.resource.api_cors_origins = "https://retreats.example.com".into();
    })
    .await;
    let resp = http()
        .get(app.url("/api/content/retreats"))
        .header("origin", "https://retreats.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&resp).as_deref(), Some("https://retreats.example.com"));
    let resp = http()
        .get(app.url("/api/content/retreats"))
        .header("origin", EVIL_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&resp), None);

    let closed = TestApp::spawn().await;
    let resp = http()
        .get(closed.url("/api/bookings/consultants"))
        .header("origin", "https://retreats.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&resp), None, "no api_cors_origins: no CORS at all");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = TestApp::spawn_with(|s| s.server.metrics_token = Some("s3cret-metrics".into())).await;
    let none = http().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = http()
        .get(app.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http()
        .get(app.url("/metrics"))
        .bearer_auth("s3cret-metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("porta_outbox_pending"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let a = http().get(app.url("/jwks")).send().await.unwrap();
    let b = http().get(app.url("/nowhere")).send().await.unwrap();
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id(&a).len(), 12);
    assert_ne!(id(&a), id(&b));
}

/// Sends `n` requests at once; the statuses and the first 429 (if any).
async fn at_once(
    n: usize,
    send: impl Fn() -> reqwest::RequestBuilder,
) -> (Vec<u16>, Option<reqwest::Response>) {
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(send().send())).collect();
    let mut statuses = Vec::new();
    let mut limited = None;
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        statuses.push(a.status().as_u16());
        if a.status() == 429 && limited.is_none() {
            limited = Some(a);
        }
    }
    (statuses, limited)
}

#[tokio::test]
async fn request_rates_are_limited_per_ip_and_per_client() {
    // A bucket of 4 that refills at 1 a second: 10 requests at once leave most waiting
    // (a slow machine may refill one or two meanwhile).
    let app = TestApp::spawn_with(|s| {
        s.server.rate_limit_per_ip = 1;
        s.server.rate_limit_burst = 4;
    })
    .await;
    let (statuses, limited) = at_once(10, || http().get(app.url("/jwks"))).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!((4..=6).contains(&ok), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let limited = limited.expect("some were limited");
    assert!(limited.headers().get("retry-after").is_some());
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    let (pages, limited) = at_once(6, || http().get(app.url("/login"))).await;
    let limited = limited.unwrap_or_else(|| panic!("pages are limited too: {pages:?}"));
    assert!(limited.text().await.unwrap().contains("Too many requests"));

    let app = TestApp::spawn_with(|s| {
        s.server.rate_limit_per_client = 1;
        s.server.rate_limit_burst = 2;
    })
    .await;
    let client = app.confidential().await;
    let other = app.confidential().await;
    let (statuses, limited) = at_once(6, || {
        http()
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .form(&[("grant_type", "client_credentials")])
    })
    .await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!((2..=4).contains(&ok), "{statuses:?}");
    let limited = limited.expect("the client was limited");
    assert!(limited.headers().get("retry-after").is_some());
    let grant = [("grant_type", "client_credentials")];
    assert_eq!(
        app.token(&other, &grant).await.0,
        200,
        "another client has its own"
    );
}
