//! Signing keys on a short schedule: published before they sign, retired keys verify
//! until their tokens expire, an API caching the JWKS never meets an unknown kid; the
//! admin API, health and metrics.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// Rotation every 6 s, pre-publication 3 s, JWKS cached 1 s, checks every second.
fn fast_keys(s: &mut porta::config::Settings) {
    s.keys.key_rotation_period = 6;
    s.keys.key_prepublish = 3;
    s.keys.jwks_max_age = 1;
    s.keys.key_check_interval = 1;
    s.tokens.access_token_ttl = 3;
    s.tokens.id_token_ttl = 3;
}

async fn jwks_kids(app: &TestApp) -> (HashSet<String>, u64) {
    let resp = http().get(app.url("/jwks")).send().await.unwrap();
    let max_age: u64 = resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .split("max-age=")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("max-age");
    let body: Value = resp.json().await.unwrap();
    let kids = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    (kids, max_age)
}

async fn signing_kid(app: &TestApp, client: &porta::clients::CreatedClient) -> (String, String) {
    let (status, body) = app
        .token(client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap().to_string();
    (header(&token)["kid"].as_str().unwrap().to_string(), token)
}

#[tokio::test]
async fn keys_are_published_before_they_sign_and_cached_jwks_never_miss() {
    let app = TestApp::spawn_with(fast_keys).await;
    let client = app.confidential().await;
    let (first_kid, first_token) = signing_kid(&app, &client).await;

    // An API that caches the JWKS for exactly its max-age.
    let (mut cached, mut max_age) = jwks_kids(&app).await;
    let mut cached_at = Instant::now();
    let mut seen_signing = vec![first_kid.clone()];
    let mut published_before_signing = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(16);
    while Instant::now() < deadline && seen_signing.len() < 3 {
        if cached_at.elapsed() >= Duration::from_secs(max_age) {
            let (kids, age) = jwks_kids(&app).await;
            for k in &kids {
                if !seen_signing.contains(k) {
                    published_before_signing.insert(k.clone());
                }
            }
            cached = kids;
            max_age = age;
            cached_at = Instant::now();
        }
        let (kid, _) = signing_kid(&app, &client).await;
        assert!(
            cached.contains(&kid),
            "a fresh token's kid {kid} is missing from a JWKS cached by its max-age"
        );
        if seen_signing.last() != Some(&kid) {
            assert!(
                published_before_signing.contains(&kid),
                "{kid} signed before it was published"
            );
            seen_signing.push(kid);
        }
        let_time_pass(Duration::from_millis(150), "the API's next request").await;
    }
    assert!(
        seen_signing.len() >= 2,
        "a rotation happened: {seen_signing:?}"
    );

    // The first key is retired but still verifies its (unexpired) tokens... or the token has
    // expired by now; either way the JWKS keeps the key while tokens from it may be alive.
    let (kids, _) = jwks_kids(&app).await;
    let i = app.introspect(&client, &first_token).await;
    if i["active"] == true {
        assert!(kids.contains(&first_kid));
    }
}

#[tokio::test]
async fn retired_keys_verify_until_their_tokens_expire_then_leave_the_jwks() {
    let app = TestApp::spawn_with(|s| {
        fast_keys(s);
        s.keys.key_rotation_period = 3600;
        s.keys.key_prepublish = 10;
    })
    .await;
    let client = app.confidential().await;
    let (old_kid, old_token) = signing_kid(&app, &client).await;
    porta::keys::rotation::rotate_now(&app.state.pool, &app.state.master)
        .await
        .unwrap();
    app.state
        .keys
        .reload(&app.state.pool, &app.state.master)
        .await
        .unwrap();
    let (new_kid, _) = signing_kid(&app, &client).await;
    assert_ne!(old_kid, new_kid);
    assert_eq!(
        app.introspect(&client, &old_token).await["active"],
        true,
        "retired key still verifies"
    );
    assert!(jwks_kids(&app).await.0.contains(&old_kid));
    // Retention = token life (3 s) + 2 × check interval (1 s).
    eventually(
        Duration::from_secs(12),
        "the retired key is removed from the JWKS",
        async || (!jwks_kids(&app).await.0.contains(&old_kid)).then_some(()),
    )
    .await;
    assert_eq!(app.introspect(&client, &old_token).await["active"], false);
}

#[tokio::test]
async fn a_revoked_key_stops_verifying_at_once() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (kid, token) = signing_kid(&app, &client).await;
    assert!(
        porta::keys::rotation::revoke(&app.state.pool, &app.state.master, &kid)
            .await
            .unwrap()
    );
    app.state
        .keys
        .reload(&app.state.pool, &app.state.master)
        .await
        .unwrap();
    assert!(!jwks_kids(&app).await.0.contains(&kid));
    assert_eq!(app.introspect(&client, &token).await["active"], false);
    let (new_kid, _) = signing_kid(&app, &client).await;
    assert_ne!(new_kid, kid);
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_scope() {
    let app = TestApp::spawn().await;
    let plain = app.confidential().await;
    let admin = porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "ops".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            public: false,
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["porta:admin".into()],
            skip_consent: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let resp = http().get(app.url("/admin/keys")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let (_, body) = app
        .token(&plain, &[("grant_type", "client_credentials")])
        .await;
    let resp = http()
        .get(app.url("/admin/keys"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    let (status, body) = app
        .token(
            &admin,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "porta:admin"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let old_kid = header(&token)["kid"].as_str().unwrap().to_string();
    let list: Value = http()
        .get(app.url("/admin/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["keys"][0]["state"], "active");

    // Publish a next key, then rotate at once: this node signs with the new key right away.
    let list: Value = http()
        .post(app.url("/admin/keys/rotate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["state"] == "next"));
    let resp = http()
        .post(app.url("/admin/keys/rotate"))
        .bearer_auth(&token)
        .form(&[("now", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, body) = app
        .token(
            &admin,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "porta:admin"),
            ],
        )
        .await;
    assert_ne!(
        header(body["access_token"].as_str().unwrap())["kid"]
            .as_str()
            .unwrap(),
        old_kid
    );
    let resp = http()
        .post(app.url("/admin/keys/rotate"))
        .bearer_auth(&token)
        .form(&[("revoke", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn health_and_metrics() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    assert_eq!(
        http()
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = http().get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["signing_key"], "ok");
    app.token(&client, &[("grant_type", "client_credentials")])
        .await;
    let text = http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("porta_http_requests_total{method=\"POST\",route=\"/token\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("porta_tokens_issued_total{grant_type=\"client_credentials\"}"));
    assert!(text.contains("porta_http_request_duration_seconds_bucket"));
    assert!(text.contains("porta_signing_key_age_seconds"));
    assert!(text.contains("porta_hash_memory_bytes "), "{text}");
    // The scrape itself reads the outbox backlog through db::run, so the count is never 0.
    let runs: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("porta_db_runs_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("porta_db_runs_total");
    assert!(runs >= 1.0, "{text}");
}

#[tokio::test]
async fn the_schedule_refuses_a_prepublication_window_shorter_than_the_jwks_cache() {
    let mut settings = porta::config::Settings::default();
    settings.keys.key_prepublish = 60;
    settings.keys.jwks_max_age = 600;
    let err = settings.validate().unwrap_err();
    assert!(err.to_string().contains("PORTA_KEY_PREPUBLISH"), "{err}");
}
