//! Nothing accepted is lost across a restart: keys, clients, sessions and refresh tokens
//! live in the database.

use crate::common::*;

#[tokio::test]
async fn tokens_keys_and_sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
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
    let code = param(&back, "code").unwrap();
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let access = body["access_token"].as_str().unwrap().to_string();
    let kid = header(&access)["kid"].clone();
    let old_issuer = app.issuer.clone();

    // A second process on the same database and master key.
    let TestApp {
        dir,
        database,
        master_key,
        ..
    } = app;
    let app = TestApp::start(dir, database, master_key, |s| {
        s.server.issuer = old_issuer.clone()
    })
    .await;
    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        header(body["access_token"].as_str().unwrap())["kid"],
        kid,
        "the same signing key"
    );
    assert_eq!(
        app.userinfo(&access).await.status(),
        200,
        "old access tokens still verify"
    );
}

#[tokio::test]
async fn a_wrong_master_key_stops_the_start() {
    let app = TestApp::spawn().await;
    let TestApp { dir, database, .. } = app;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = test_settings(
        port,
        &database.url,
        &porta::crypto::MasterKey::generate(),
        dir.path(),
    );
    let err = porta::app::prepare(settings, false)
        .await
        .err()
        .expect("must not start");
    assert!(err.to_string().contains("decrypt"), "{err}");
}
