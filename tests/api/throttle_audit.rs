//! Brute-force defence on passwords and client secrets, and the audit log.

use std::time::Duration;

use crate::common::*;
use serde_json::Value;

fn strict(s: &mut porta::config::Settings) {
    s.throttle.login_max_failures = 3;
    s.throttle.ip_max_failures = 100;
    s.throttle.client_auth_max_failures = 2;
    // Locks long enough that a slow machine still meets them.
    s.throttle.lock_base = 3;
    s.throttle.lock_max = 6;
}

#[tokio::test]
async fn failed_passwords_lock_the_account_for_a_while_then_it_opens_again() {
    let app = TestApp::spawn_with(|s| {
        strict(s);
        s.throttle.lock_base = 3;
        s.throttle.lock_max = 3;
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let login = app.url("/login");
    for _ in 0..2 {
        assert_eq!(
            browser
                .submit_login(&app, &login, EMAIL, "wrong")
                .await
                .status(),
            401
        );
    }
    // The third failure reaches the limit: locked, with Retry-After.
    let resp = browser.submit_login(&app, &login, EMAIL, "wrong").await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // While locked even the right password is not checked.
    let resp = browser.submit_login(&app, &login, EMAIL, PASSWORD).await;
    assert_eq!(resp.status(), 429);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Too many failed attempts"));
    // Locks are temporary.
    let_time_pass(Duration::from_millis(3200), "the 3 s lock runs out").await;
    let resp = browser.submit_login(&app, &login, EMAIL, PASSWORD).await;
    assert_eq!(
        resp.status(),
        303,
        "the lock ended and the right password works"
    );
    // Success forgets the failures.
    assert_eq!(
        browser
            .submit_login(&app, &login, EMAIL, "wrong")
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn unknown_accounts_lock_exactly_like_real_ones() {
    let app = TestApp::spawn_with(strict).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let login = app.url("/login");
    let mut real = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..4 {
        real.push(
            browser
                .submit_login(&app, &login, EMAIL, "wrong")
                .await
                .status()
                .as_u16(),
        );
        unknown.push(
            browser
                .submit_login(&app, &login, "ghost@example.com", "wrong")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(real, unknown);
    assert_eq!(real, vec![401, 401, 429, 429]);
}

#[tokio::test]
async fn one_ip_spraying_many_accounts_is_locked() {
    let app = TestApp::spawn_with(|s| {
        strict(s);
        s.throttle.ip_max_failures = 4;
    })
    .await;
    let browser = Browser::new();
    let login = app.url("/login");
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(
            browser
                .submit_login(&app, &login, &format!("user{i}@example.com"), "Password1")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn failed_client_secrets_get_429_but_the_right_secret_always_works() {
    let app = TestApp::spawn_with(strict).await;
    let client = app.confidential().await;
    let wrong = || {
        http()
            .post(app.url("/token"))
            .basic_auth(&client.client_id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(wrong().await.unwrap().status(), 401);
    let resp = wrong().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = app
        .token(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "successful requests are never throttled");
}

#[tokio::test]
async fn authentication_events_land_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, "wrong")
        .await;
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
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (_, body) = app.token(&client, &form).await;
    app.token(&client, &form).await; // a reused code
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", body["id_token"].as_str().unwrap())
        .finish();
    browser.get(&app.url(&format!("/logout?{q}"))).await;

    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(conn, None, None, 0, 100)?)
    })
    .await
    .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "sign_in.failure",
        "sign_in.success",
        "consent.given",
        "token.code_reused",
        "session.ended",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let success = events.iter().find(|e| e.kind == "sign_in.success").unwrap();
    assert_eq!(success.user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(
        success.client_id.as_deref(),
        Some(client.client_id.as_str())
    );
    assert_eq!(success.ip, "127.0.0.1");
    assert!(success.detail.contains("factor=pwd"));
}

#[test]
fn porta_audit_filters_by_account_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(dir.path());
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_porta"))
            .args(args)
            .env("PORTA_DATABASE_URL", &database.url)
            .env("PORTA_DATA_DIR", dir.path())
            .env("PORTA_MASTER_KEY", "ab".repeat(32))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    assert!(run(
        &["user", "create", "--email", EMAIL, "--password-stdin"],
        Some(PASSWORD)
    )
    .status
    .success());
    // Write events the way the server does.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = porta::db::connect(&database.url, 2, std::time::Duration::from_secs(5)).unwrap();
        let user = porta::db::run(&pool, |conn| {
            Ok(porta::accounts::store::find_by_email(conn, EMAIL)?)
        })
        .await
        .unwrap()
        .unwrap();
        let origin = porta::audit::Origin {
            ip: "10.1.2.3".into(),
            user_agent: "test".into(),
        };
        porta::audit::record(
            &pool,
            &origin,
            porta::audit::kind::SIGN_IN_FAILURE,
            Some(user.id.to_string()),
            None,
            "factor=pwd".into(),
        )
        .await;
        porta::audit::record(
            &pool,
            &origin,
            porta::audit::kind::SIGN_IN_SUCCESS,
            Some(user.id.to_string()),
            None,
            "factor=pwd".into(),
        )
        .await;
        porta::audit::record(
            &pool,
            &origin,
            porta::audit::kind::SIGN_IN_FAILURE,
            None,
            None,
            "email=x".into(),
        )
        .await;
    });
    let out = run(
        &["audit", "--account", EMAIL, "--kind", "sign_in.failure"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert_eq!(events[0]["ip"], "10.1.2.3");
    let out = run(&["audit", "--since", "1h"], None);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
    let out = run(&["audit", "--since", "soon"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: --since"));
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_limit() {
    let app = TestApp::spawn_with(strict).await;
    app.user(EMAIL, PASSWORD).await;
    let mut forms = Vec::new();
    for _ in 0..10 {
        let browser = Browser::new();
        let page = browser.get(&app.url("/login")).await.text().await.unwrap();
        let form = Form::parse(&page, "/login").with(&[("email", EMAIL), ("password", "wrong")]);
        forms.push((browser, form));
    }
    let tasks: Vec<_> = forms
        .into_iter()
        .map(|(browser, form)| {
            let base = app.issuer.clone();
            tokio::spawn(async move { browser.send(&base, &form).await.status().as_u16() })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 401 || status == 429, "{status}");
        // The third counted attempt is checked too (it answers 429: the lock it set stands).
        if status == 401 {
            checked += 1;
        }
    }
    assert!(
        checked <= 2,
        "at most the free attempts were checked and answered 401: {checked}"
    );
}

#[tokio::test]
async fn successful_sign_ins_from_one_address_never_lock_it() {
    let app = TestApp::spawn_with(|s| {
        strict(s);
        s.throttle.ip_max_failures = 2;
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    for _ in 0..5 {
        let status = Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status();
        assert_eq!(status, 303, "successes are not throttled");
    }
}

/// Housekeeping's purges run on either backend: with a retention that has already passed,
/// the audit log is emptied (on SQLite a batch of 500 at a time: 2,500 events take six
/// writes), and with the settings' own it is kept.
#[actix_web::test]
async fn housekeeping_purges_what_has_passed_its_retention_and_keeps_the_rest() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    porta::db::run(&app.state.pool, |conn| {
        Ok(diesel::sql_query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
             INSERT INTO audit_events (id, at, kind, ip, user_agent, detail) \
             SELECT 'e' || i, 1000000000 + i, 'sign_in.failure', '127.0.0.1', 'test', '' FROM n",
        )
        .execute(conn)?)
    })
    .await
    .expect("events");
    let count = || async {
        porta::db::run(&app.state.pool, |conn| {
            Ok(porta::audit::store::query(conn, None, None, 0, 3000)?)
        })
        .await
        .expect("audit log")
        .len()
    };
    assert_eq!(count().await, 2500);
    let mut kept = (*app.state.settings).clone();
    kept.accounts.audit_retention = porta::time::now() - 1_000_000_000 + 3600;
    porta::app::housekeep(&app.state.pool, &kept)
        .await
        .expect("housekeeping");
    assert_eq!(
        count().await,
        2500,
        "within their retention, the events stay"
    );
    let mut passed = (*app.state.settings).clone();
    passed.accounts.audit_retention = porta::time::now() - 1_000_000_000 - 3600;
    porta::app::housekeep(&app.state.pool, &passed)
        .await
        .expect("housekeeping");
    assert_eq!(count().await, 0, "past their retention, the events go");
}
