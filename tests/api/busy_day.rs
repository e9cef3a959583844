//! A busy day, a hostile day and a bad day: concurrency on the sign-in counters, bounded
//! work for anonymous callers, the durable outbox, fresh sign-in for new ways in, and the
//! database going away. Both backends unless a test says otherwise.

use std::time::Duration;

use serde_json::Value;

use crate::common::smtp::{code_in, send_mail_to, SmtpSink};
use crate::common::*;

/// Signs in with a password in a fresh browser; returns the status of the POST.
async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> u16 {
    let browser = Browser::new();
    browser
        .submit_login(app, &app.url("/login"), email, password)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn right_passwords_are_never_refused_while_other_attempts_are_in_flight() {
    // A budget of 3 failures, and 12 right-password sign-ins of one account at once: the
    // attempts in flight hold the budget only while they are checked, and none fails.
    let app = TestApp::spawn_with(|s| s.throttle.login_max_failures = 3).await;
    app.user(EMAIL, PASSWORD).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            sign_in_status(&app, EMAIL, PASSWORD).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 303),
        "every right password signs in: {statuses:?}"
    );
    // Failures are still counted: the third wrong password locks the account (its answer
    // says so), and the lock holds for the right password too.
    let mut wrong = Vec::new();
    for _ in 0..3 {
        wrong.push(sign_in_status(&app, EMAIL, "wrong password").await);
    }
    assert_eq!(wrong, vec![401, 401, 429]);
    assert_eq!(sign_in_status(&app, EMAIL, PASSWORD).await, 429);
}

#[tokio::test]
async fn a_burst_of_code_requests_for_one_address_sends_no_more_than_the_limit() {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = TestApp::spawn_with(move |s| {
        send_mail_to(s, port);
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        // Built before any connection opens: see the flood of password checks below.
        let browser = Browser::new();
        tasks.push(tokio::spawn(async move {
            browser
                .fill(&app, "/login", "/login/code", &[("email", EMAIL)])
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let sent = statuses.iter().filter(|s| **s == 303).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((sent, refused), (3, 17), "{statuses:?}");
    sink.message(2).await;
    let_time_pass(Duration::from_secs(2), "any extra message would arrive").await;
    assert_eq!(
        sink.count(),
        3,
        "three codes per window, however fast they are asked for"
    );
}

#[tokio::test]
async fn codes_per_ip_are_capped_whatever_the_addresses() {
    let app = TestApp::spawn_with(|s| s.otp.otp_max_sends_per_ip = 2).await;
    let browser = Browser::new();
    let mut statuses = Vec::new();
    for n in 0..3 {
        let email = format!("made-up-{n}@example.com");
        let resp = browser
            .fill(&app, "/login", "/login/code", &[("email", &email)])
            .await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![303, 303, 429]);
}

async fn app_with_mail_at(
    port: u16,
    adjust: impl FnOnce(&mut porta::config::Settings) + Send + 'static,
) -> TestApp {
    TestApp::spawn_with(move |s| {
        send_mail_to(s, port);
        s.mail.outbox_retry_pause = 1;
        adjust(s);
    })
    .await
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

#[tokio::test]
async fn mail_waits_in_the_outbox_while_smtp_is_down_and_goes_when_it_is_back() {
    let port = free_port();
    let app = app_with_mail_at(port, |_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let resp = browser
        .fill(
            &app,
            "/password/forgot",
            "/password/forgot",
            &[("email", EMAIL)],
        )
        .await;
    assert_eq!(resp.status(), 303, "the person is answered at once");
    eventually(
        Duration::from_secs(10),
        "a failed delivery to retry",
        async || (metric(&app, "porta_outbox_retries_total").await >= 1.0).then_some(()),
    )
    .await;
    assert_eq!(metric(&app, "porta_outbox_pending").await, 1.0);
    // The mail server comes back: the message goes out on the next retry.
    let sink = SmtpSink::start_on(port).await;
    let message = eventually(
        Duration::from_secs(15),
        "the queued reset code",
        async || sink.messages.lock().unwrap().first().cloned(),
    )
    .await;
    assert_eq!(code_in(&message).len(), 6);
    eventually(Duration::from_secs(5), "the outbox to empty", async || {
        (metric(&app, "porta_outbox_pending").await == 0.0).then_some(())
    })
    .await;
    assert!(metric(&app, "porta_outbox_delivered_total").await >= 1.0);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_recorded_not_lost() {
    let port = free_port();
    let app = app_with_mail_at(port, |s| s.mail.outbox_max_attempts = 2).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser
        .fill(
            &app,
            "/password/forgot",
            "/password/forgot",
            &[("email", EMAIL)],
        )
        .await;
    eventually(
        Duration::from_secs(15),
        "the delivery to be given up",
        async || (metric(&app, "porta_outbox_failed").await == 1.0).then_some(()),
    )
    .await;
    let events = eventually(Duration::from_secs(5), "the audit event", async || {
        let events = porta::db::run(&app.state.pool, |conn| {
            Ok(porta::audit::store::query(
                conn,
                None,
                Some("delivery.failed"),
                0,
                10,
            )?)
        })
        .await
        .unwrap();
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(events.len(), 1, "the failure is in the audit log once");
    assert!(events[0].detail.contains("channel=email"));
}

#[tokio::test]
async fn known_and_unknown_addresses_are_answered_alike_even_with_smtp_down() {
    let app = app_with_mail_at(free_port(), |_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    let mut answers = Vec::new();
    for email in [EMAIL, "nobody@example.com"] {
        for (path, action) in [
            ("/password/forgot", "/password/forgot"),
            ("/login", "/login/code"),
        ] {
            let browser = Browser::new();
            let resp = browser.fill(&app, path, action, &[("email", email)]).await;
            let status = resp.status().as_u16();
            let to = location(&resp);
            let path_only = to.split('?').next().unwrap_or("").to_string();
            answers.push((email, action, status, path_only));
        }
    }
    for (known, unknown) in answers[..2].iter().zip(&answers[2..]) {
        assert_eq!(
            (known.2, &known.3),
            (unknown.2, &unknown.3),
            "{known:?} vs {unknown:?}"
        );
        assert_eq!(known.2, 303);
    }
}

/// Signs in (password) and returns the browser with its session.
async fn signed_in(app: &TestApp, email: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let resp = browser
        .submit_login(app, &app.url("/login"), email, password)
        .await;
    assert_eq!(resp.status(), 303);
    browser
}

async fn account_post(
    app: &TestApp,
    browser: &Browser,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let resp = browser.fill(app, "/account", action, fields).await;
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_stale_session_cannot_add_a_way_in() {
    let app = TestApp::spawn_with(|s| s.accounts.fresh_sign_in_window = 1).await;
    app.user(EMAIL, PASSWORD).await;
    porta::accounts::create_user(&app.state.pool, "passwordless@example.com", None, None)
        .await
        .unwrap();
    let browser = signed_in(&app, EMAIL, PASSWORD).await;
    let page = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let_time_pass(Duration::from_secs(2), "the sign-in to go stale").await;
    for (action, fields) in [
        ("/account/phone", vec![("phone", "+351912345678")]),
        ("/account/totp/setup", vec![]),
        ("/account/email", vec![("email", "new@example.com")]),
    ] {
        let resp = browser.submit(&app, &page, action, &fields).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 403, "{action}");
        assert!(body.contains("sign in again"), "{action}: {body}");
    }
    // A first password is a new way in too: a passwordless account's session, signed in
    // an hour ago (planted as a stolen cookie would be used), cannot set one.
    let token = "planted-session-token";
    let now = porta::time::now();
    let user = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::accounts::store::find_by_email(
            conn,
            "passwordless@example.com",
        )?)
    })
    .await
    .unwrap()
    .unwrap();
    let session = porta::sessions::store::Session {
        id_hash: porta::crypto::hash_secret(token),
        user_id: user.id.to_string(),
        auth_time: now - 3600,
        amr: "otp".into(),
        created_at: now - 3600,
        last_seen_at: now,
        expires_at: now + 3600,
        user_agent: String::new(),
        ip: "127.0.0.1".into(),
    };
    porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::sessions::store::insert(conn, &session)?)
    })
    .await
    .unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = app.url("/").parse().unwrap();
    jar.add_cookie_str(
        &format!(
            "{}={token}; Path=/",
            porta::sessions::session_cookie_name(false)
        ),
        &url,
    );
    let stolen = Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .build()
            .unwrap(),
    };
    let (status, body) = account_post(
        &app,
        &stolen,
        "/account/password",
        &[("new_password", "another quite long passphrase")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let has_password = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::accounts::store::find_by_email(
            conn,
            "passwordless@example.com",
        )?)
    })
    .await
    .unwrap()
    .unwrap()
    .password_hash
    .is_some();
    assert!(!has_password, "no password was set");
    // Signed in again just now: the same change goes through.
    let fresh = signed_in(&app, EMAIL, PASSWORD).await;
    let (status, body) = account_post(&app, &fresh, "/account/totp/setup", &[]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_changed_way_in_is_told_to_the_owner() {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = TestApp::spawn_with(move |s| {
        send_mail_to(s, port);
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let browser = signed_in(&app, EMAIL, PASSWORD).await;
    let (status, body) = account_post(
        &app,
        &browser,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another quite long passphrase"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let notice = sink.message(0).await;
    assert!(notice.contains("To: <person@example.com>") || notice.contains("person@example.com"));
    assert!(notice.contains("the password was changed"), "{notice}");
}

/// Every probe with a NUL byte: 400, protocol JSON or an error page, never a 500.
#[tokio::test]
async fn nul_bytes_are_refused_at_the_boundary() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    let h = http();
    let json_probes = [
        h.post(app.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=a%00b&client_secret=x"),
        h.post(app.url("/token"))
            .basic_auth(&client.client_id, client.client_secret.as_ref())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=%00"),
        h.get(app.url("/api/content/search?q=%00")),
        h.get(app.url("/api/bookings/consultants/%00")),
        h.post(app.url("/api/bookings/services"))
            .header("content-type", "application/json")
            .body(r#"{"name":"a\u0000b"}"#),
    ];
    for probe in json_probes {
        let resp = probe.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request");
    }
    let browser = Browser::new();
    for path in [
        "/authorize?client_id=%00&response_type=code",
        "/login?request=%00",
        "/consent?request=%00",
        "/login%00",
    ] {
        let resp = browser.get(&app.url(path)).await;
        assert_eq!(resp.status(), 400, "{path}");
        assert!(resp.text().await.unwrap().contains("NUL"), "{path}");
    }
    let resp = browser
        .fill(
            &app,
            "/login",
            "/login",
            &[("email", "a\0b@example.com"), ("password", "x")],
        )
        .await;
    assert_eq!(resp.status(), 400);
    // Still up, and a clean request is served.
    assert_eq!(
        h.get(app.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn an_audit_event_carrying_a_nul_is_kept() {
    let app = TestApp::spawn().await;
    let origin = porta::audit::Origin {
        ip: "127.0.0.1".into(),
        user_agent: "agent\0with nul".into(),
    };
    porta::audit::record(
        &app.state.pool,
        &origin,
        porta::audit::kind::SIGN_IN_FAILURE,
        None,
        None,
        "email=a\0b@example.com".into(),
    )
    .await;
    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(
            conn,
            None,
            Some(porta::audit::kind::SIGN_IN_FAILURE),
            0,
            10,
        )?)
    })
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail, "email=a\u{FFFD}b@example.com");
    assert_eq!(events[0].user_agent, "agent\u{FFFD}with nul");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|s| s.server.request_read_timeout = 1).await;
    let addr = app.issuer.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered within the read timeout, not held open")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

#[tokio::test]
async fn a_flood_of_password_checks_waits_its_turn_then_gets_503_never_500() {
    // One hashing slot, a 1 s queue: 300 guesses at once for made-up accounts. A check at
    // Porta's parameters takes ≈ 12 ms on the test machine (libsodium), so 300 of them are
    // ≈ 3.6 s of hashing against the 1 s wait: the queue overflows unless hashing gets
    // three times faster (60 guesses no longer did once it got faster). Any 503 must come
    // with Retry-After; a busy database would answer the same, which is also right here.
    let app = TestApp::spawn_with(|s| {
        s.accounts.hash_concurrency = 1;
        s.accounts.hash_queue_timeout = 1;
        s.throttle.ip_max_failures = 10_000;
        // The per-IP request rate would answer 429 before the hashing queue is reached.
        s.server.rate_limit_per_ip = 0;
    })
    .await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for n in 0..300 {
        let app = app.clone();
        // Each client is built here, before any connection opens. Built inside the tasks,
        // the 300 builds (each loads the TLS roots) ran on the test's one thread between
        // one task's connecting and its sending, and a connection could sit silent past
        // the server's read timeout and be answered 408 before its request was written.
        let browser = Browser::new();
        tasks.push(tokio::spawn(async move {
            let email = format!("nobody-{n}@example.com");
            let resp = browser
                .fill(
                    &app,
                    "/login",
                    "/login",
                    &[("email", &email), ("password", "guess")],
                )
                .await;
            let retry = resp.headers().get("retry-after").is_some();
            (resp.status().as_u16(), retry)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers
            .iter()
            .all(|(s, retry)| *s == 401 || (*s == 503 && *retry)),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|(s, _)| *s == 503),
        "the queue overflowed: {answers:?}"
    );
    assert!(
        answers.iter().any(|(s, _)| *s == 401),
        "some were checked: {answers:?}"
    );
}

#[tokio::test]
async fn a_sqlite_write_lock_held_too_long_answers_503_then_serves_again() {
    if std::env::var("PORTA_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return; // SQLite's single writer only; PostgreSQL's outage is the next test.
    }
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = TestApp::spawn_with(|s| s.database.db_wait_timeout = 1).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let page = browser.get(&app.url("/login")).await.text().await.unwrap();
    let mut locker = diesel::sqlite::SqliteConnection::establish(&app.database.url).unwrap();
    locker.batch_execute("BEGIN EXCLUSIVE").unwrap();
    let resp = browser
        .submit(
            &app,
            &page,
            "/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    locker.batch_execute("ROLLBACK").unwrap();
    assert_eq!(sign_in_status(&app, EMAIL, PASSWORD).await, 303);
}

#[tokio::test]
async fn a_postgres_outage_answers_503_never_500_and_serves_again_when_it_is_back() {
    let Some(base) = std::env::var("PORTA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return; // PostgreSQL only (SQLite's lock is the test above).
    };
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(dir.path());
    let target = {
        let u = url::Url::parse(&base).unwrap();
        format!(
            "{}:{}",
            u.host_str().unwrap_or("127.0.0.1"),
            u.port().unwrap_or(5432)
        )
    };
    let proxy = crate::common::proxy::CutProxy::start(target).await;
    let mut via_proxy = url::Url::parse(&database.url).unwrap();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    let via_proxy = via_proxy.to_string();
    let app = TestApp::start(
        dir,
        database,
        porta::crypto::MasterKey::generate(),
        move |s| {
            s.database.database_url = via_proxy;
            s.database.db_wait_timeout = 2;
        },
    )
    .await;
    let client = app.client(false, &["client_credentials"], true).await;
    let grant = [("grant_type", "client_credentials")];
    let (status, _) = app.token(&client, &grant).await;
    assert_eq!(status, 200);
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let login = browser.get(&app.url("/login")).await.text().await.unwrap();

    proxy.cut();
    let resp = browser
        .submit(
            &app,
            &login,
            "/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        resp.status(),
        503,
        "a sign-in needs the database: 503, not 500"
    );
    assert!(resp.headers().get("retry-after").is_some());
    for _ in 0..6 {
        let (status, body) = app.token(&client, &grant).await;
        assert!(
            status == 503 || status == 200,
            "down: 503 (or a cached answer), never 500: {status} {body}"
        );
        if status == 503 {
            assert_eq!(body["error"], "temporarily_unavailable");
        }
        let ready = http().get(app.url("/health/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 503, "ready says the database is gone");
    }

    proxy.restore();
    let started = std::time::Instant::now();
    eventually(Duration::from_secs(10), "serving again", async || {
        (app.token(&client, &grant).await.0 == 200).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "back within seconds of the database: {:?}",
        started.elapsed()
    );
    // And every request after that succeeds (no stale pooled connections left).
    for _ in 0..10 {
        assert_eq!(app.token(&client, &grant).await.0, 200);
    }
    assert_eq!(sign_in_status(&app, EMAIL, PASSWORD).await, 303);
}

#[tokio::test]
async fn a_refused_registration_costs_no_hash_and_stores_nothing() {
    let app = TestApp::spawn_with(|s| s.otp.otp_max_sends_per_ip = 2).await;
    let browser = Browser::new();
    let mut statuses = Vec::new();
    for n in 0..3 {
        let email = format!("new-{n}@example.com");
        let resp = browser
            .fill(
                &app,
                "/register",
                "/register",
                &[("email", &email), ("password", "a long enough passphrase")],
            )
            .await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![303, 303, 429]);
    let third = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::accounts::store::find_by_email(
            conn,
            "new-2@example.com",
        )?)
    })
    .await
    .unwrap();
    assert!(
        third.is_none(),
        "the refused registration stored no account"
    );
}

#[tokio::test]
async fn a_message_waiting_in_the_outbox_survives_a_master_key_rewrap() {
    let port = free_port();
    let app = app_with_mail_at(port, |s| s.mail.outbox_retry_pause = 3600).await;
    app.user(EMAIL, PASSWORD).await;
    Browser::new()
        .fill(
            &app,
            "/password/forgot",
            "/password/forgot",
            &[("email", EMAIL)],
        )
        .await;
    // The first delivery fails (nothing listens); the retry is an hour away.
    eventually(
        Duration::from_secs(10),
        "a failed first delivery",
        async || (metric(&app, "porta_outbox_retries_total").await >= 1.0).then_some(()),
    )
    .await;
    let old = porta::crypto::MasterKey::parse(&app.master_key).unwrap();
    let new_text = porta::crypto::MasterKey::generate();
    let new = porta::crypto::MasterKey::parse(&new_text).unwrap();
    let resealed = porta::app::rewrap_master_key(&app.state.pool, &old, &new)
        .await
        .unwrap();
    assert_eq!(resealed, 2, "the signing key and the waiting message");

    // Porta again under the new key, with the mail server back and the retry due now.
    let (dir, database, _old_key) = app.stop();
    // The old node's worker notices at its next wake-up (within a second) and ends.
    let_time_pass(
        Duration::from_millis(1500),
        "the old node's outbox worker to end",
    )
    .await;
    let sink = SmtpSink::start_on(port).await;
    let app = TestApp::start(dir, database, new_text, move |s| {
        send_mail_to(s, port);
        s.mail.outbox_retry_pause = 1;
    })
    .await;
    porta::db::run(&app.state.pool, |conn| {
        use diesel::prelude::*;
        use porta::db::schema::outbox;
        Ok(diesel::update(outbox::table)
            .set(outbox::next_attempt_at.eq(0))
            .execute(conn)?)
    })
    .await
    .unwrap();
    let message = sink.message(0).await;
    assert_eq!(
        code_in(&message).len(),
        6,
        "opened with the new key and delivered"
    );
}
