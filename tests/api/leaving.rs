//! The right to know and to leave: a person downloads everything Porta keeps about them,
//! and deletes their account (everything revoked at once, erased after the grace period,
//! kept by signing in again before then). Both need a fresh sign-in.

use crate::common::*;
use serde_json::Value;

/// The standard person signed in through a browser, with a grant to a first-party app;
/// the browser, the app and the refresh token.
async fn person(app: &TestApp) -> (Browser, porta::clients::CreatedClient, String) {
    app.user(EMAIL, PASSWORD).await;
    let client = app
        .client(false, &["authorization_code", "refresh_token"], false)
        .await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(
            app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let (status, tokens) = app
        .redeem(&client, &param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    (browser, client, refresh)
}

async fn refresh_status(
    app: &TestApp,
    client: &porta::clients::CreatedClient,
    refresh: &str,
) -> u16 {
    app.token(
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await
    .0
}

#[tokio::test]
async fn a_person_downloads_everything_porta_keeps_about_them() {
    let app = TestApp::spawn_with(|s| s.accounts.fresh_sign_in_window = 3).await;
    let (browser, _, _) = person(&app).await;
    let resp = browser.fill(&app, "/account", "/account/export", &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let data: Value = resp.json().await.unwrap();
    assert_eq!(data["account"]["email"], EMAIL);
    assert_eq!(data["account"]["has_password"], true);
    assert_eq!(data["roles"], serde_json::json!(["user"]));
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(data["apps"][0]["name"], "Test App");
    let kinds: Vec<&str> = data["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"sign_in.success") && kinds.contains(&"consent.given"),
        "{kinds:?}"
    );
    // Never a secret.
    let text = data.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("password_hash"),
        "{text}"
    );
    // An old sign-in must sign in again first.
    let_time_pass(std::time::Duration::from_secs(4), "the sign-in grows old").await;
    let resp = browser.fill(&app, "/account", "/account/export", &[]).await;
    assert_eq!(resp.status(), 403);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("before downloading your data"));
}

#[tokio::test]
async fn deleting_my_account_revokes_everything_now_and_erases_it_after_the_grace_period() {
    let app = TestApp::spawn().await;
    let (browser, client, refresh) = person(&app).await;
    // Asked first.
    let asked = browser.fill(&app, "/account", "/account/delete", &[]).await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(
        asked.contains("Delete your account?") && asked.contains("after 14 days"),
        "{asked}"
    );
    assert_eq!(refresh_status(&app, &client, &refresh).await, 200);
    let done = browser.submit(&app, &asked, "/account/delete", &[]).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("will be erased after"));
    // Everything revoked at once; the browser is signed out.
    assert_eq!(refresh_status(&app, &client, &refresh).await, 400);
    assert_eq!(browser.get(&app.url("/account")).await.status(), 303);

    // Signing in again during the grace period keeps the account.
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );
    let pool = app.state.pool.clone();
    let kept = porta::db::run(&pool, |conn| {
        Ok(porta::accounts::store::find_by_email(conn, EMAIL)?)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(kept.deletion_requested_at.is_none());
    // Not yet due, nothing happens; past the grace period, the account is erased.
    let removed = porta::accounts::remove_due(&pool, porta::time::now(), 14 * 86_400)
        .await
        .unwrap();
    assert_eq!(removed, 0);
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let asked = browser
        .fill(&app, "/account", "/account/delete", &[])
        .await
        .text()
        .await
        .unwrap();
    browser.submit(&app, &asked, "/account/delete", &[]).await;
    let later = porta::time::now() + 14 * 86_400 + 1;
    let removed = porta::accounts::remove_due(&pool, later, 14 * 86_400)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let gone = porta::db::run(&pool, |conn| {
        Ok(porta::accounts::store::find_by_email(conn, EMAIL)?)
    })
    .await
    .unwrap();
    assert!(gone.is_none());
    let events = porta::db::run(&pool, move |conn| {
        Ok(porta::audit::store::query(
            conn,
            Some(&kept.id),
            None,
            0,
            100,
        )?)
    })
    .await
    .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"account.deletion_requested")
            && kinds.contains(&"account.deletion_cancelled"),
        "{kinds:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.ip.is_empty() && !e.detail.contains(EMAIL)));
}

#[tokio::test]
async fn with_no_grace_period_the_account_goes_at_once() {
    let app = TestApp::spawn_with(|s| s.accounts.account_deletion_grace = 0).await;
    let (browser, client, refresh) = person(&app).await;
    let asked = browser
        .fill(&app, "/account", "/account/delete", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(asked.contains("erased now"), "{asked}");
    let done = browser.submit(&app, &asked, "/account/delete", &[]).await;
    assert!(done.text().await.unwrap().contains("was deleted"));
    assert_eq!(refresh_status(&app, &client, &refresh).await, 400);
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        401
    );
}
