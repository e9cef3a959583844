//! Snapshots of the wire formats clients code against (insta): discovery, the JWKS, the
//! token endpoint's errors and the APIs' RFC 6750 answers. Random values are redacted;
//! a change here is a change every client sees, so it must be deliberate
//! (`cargo insta review`).

use crate::common::*;
use serde_json::{json, Value};

async fn json_of(resp: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, challenge, resp.json().await.unwrap())
}

/// The issuer's port differs per run.
fn without_port(app: &TestApp, value: Value) -> Value {
    let text = value.to_string().replace(&app.issuer, "http://porta.test");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn discovery_document() {
    let app = TestApp::spawn().await;
    let (status, _, doc) = json_of(
        http()
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!(without_port(&app, doc));
}

#[tokio::test]
async fn jwks_shape() {
    let app = TestApp::spawn().await;
    let (status, _, jwks) = json_of(http().get(app.url("/jwks")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!(jwks, {
        ".keys[].kid" => "[kid]",
        ".keys[].n" => "[modulus]",
    });
}

#[tokio::test]
async fn token_endpoint_errors() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let (s1, b1) = app.token(&client, &[("grant_type", "password")]).await;
    let (s2, b2) = app
        .token(
            &client,
            &[("grant_type", "authorization_code"), ("code", "nope")],
        )
        .await;
    let wrong = http()
        .post(app.url("/token"))
        .basic_auth(&client.client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (s3, c3, b3) = json_of(wrong).await;
    insta::assert_json_snapshot!(json!({
        "unsupported_grant": { "status": s1, "body": b1 },
        "bad_code": { "status": s2, "body": b2 },
        "bad_secret": { "status": s3, "www_authenticate": c3, "body": b3 },
    }));
}

#[tokio::test]
async fn api_refusals() {
    let app = TestApp::spawn().await;
    let client = app.api_client().await;
    let probe = app.url("/api/bookings/consultants");
    let none = json_of(http().get(&probe).send().await.unwrap()).await;
    let junk = json_of(http().get(&probe).bearer_auth("junk").send().await.unwrap()).await;
    let token = app.client_token(&client, "content:read").await;
    let scope = json_of(http().get(&probe).bearer_auth(&token).send().await.unwrap()).await;
    let missing = json_of(
        http()
            .get(app.url("/api/bookings/nothing-here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let show = |(status, challenge, body): (u16, Option<String>, Value)| json!({ "status": status, "www_authenticate": challenge, "body": body });
    insta::assert_json_snapshot!(json!({
        "no_token": show(none),
        "junk_token": show(junk),
        "insufficient_scope": show(scope),
        "unknown_path": show(missing),
    }));
}
