//! Signing in with a one-time code sent by email over real SMTP (a local sink): the whole
//! OpenID flow, and the abuse cases.

use std::time::Duration;

use crate::common::smtp::{code_in, SmtpSink};
use crate::common::*;

async fn app_with_sink(adjust: impl FnOnce(&mut porta::config::Settings)) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = TestApp::spawn_with(move |s| {
        s.mail.smtp_host = Some("127.0.0.1".into());
        s.mail.smtp_port = port;
        s.mail.smtp_tls = "none".into();
        adjust(s);
    })
    .await;
    (app, sink)
}

/// Asks for a code on the sign-in page at `login` (a path); returns the code page path.
async fn ask_for_code(
    app: &TestApp,
    browser: &Browser,
    login: &str,
    email: &str,
) -> reqwest::Response {
    browser
        .fill(app, login, "/login/code", &[("email", email)])
        .await
}

async fn enter_code(
    app: &TestApp,
    browser: &Browser,
    code_page: &str,
    code: &str,
) -> reqwest::Response {
    let page = browser.get(&app.url(code_page)).await.text().await.unwrap();
    browser
        .submit(app, &page, "/login/code/verify", &[("code", code)])
        .await
}

#[tokio::test]
async fn an_app_signs_a_person_in_with_an_emailed_code() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let client = app.client(false, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let login = location(
        &browser
            .get(&authorize_url(
                &app,
                &openid_query(&client.client_id, &challenge),
            ))
            .await,
    );
    let resp = ask_for_code(&app, &browser, &login, EMAIL).await;
    assert_eq!(resp.status(), 303);
    let code_page = location(&resp);
    let page = browser
        .get(&app.url(&code_page))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"autocomplete="one-time-code""#));

    let mail = sink.message(0).await;
    assert!(mail.contains(&format!("To: {EMAIL}")));
    assert!(
        mail.contains("Content-Type: text/html"),
        "text and HTML bodies"
    );
    let code = code_in(&mail);
    let resp = enter_code(&app, &browser, &code_page, &code).await;
    assert_eq!(resp.status(), 303);
    let resume = location(&resp);
    let back = location(&browser.get(&app.url(&resume)).await);
    let code = param(&back, "code").expect("authorization code");
    let (status, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["otp"])
    );
}

#[tokio::test]
async fn a_code_works_once_in_its_own_browser_and_only_a_few_tries() {
    // The per-account throttle is tested with TOTP; here only the per-code limit counts.
    let (app, sink) = app_with_sink(|s| s.throttle.login_max_failures = 50).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let code_page = location(&ask_for_code(&app, &browser, "/login", EMAIL).await);
    let code = code_in(&sink.message(0).await);

    // Another browser cannot use it.
    let other = Browser::new();
    let page = other.get(&app.url("/login")).await.text().await.unwrap();
    let resp = other
        .post(
            &app.url("/login/code/verify"),
            &[
                ("csrf", &hidden(&page, "csrf")),
                (
                    "challenge",
                    &param(&app.url(&code_page), "challenge").unwrap(),
                ),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(resp.status(), 401);

    // Its own browser can, once.
    assert_eq!(
        enter_code(&app, &browser, &code_page, &code).await.status(),
        303
    );
    let resp = browser
        .post(
            &app.url("/login/code/verify"),
            &[
                (
                    "csrf",
                    &hidden(
                        &browser.get(&app.url("/login")).await.text().await.unwrap(),
                        "csrf",
                    ),
                ),
                (
                    "challenge",
                    &param(&app.url(&code_page), "challenge").unwrap(),
                ),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(resp.status(), 401, "a used code is dead");

    // A new code, five wrong tries, then even the right code is refused.
    let browser = Browser::new();
    let code_page = location(&ask_for_code(&app, &browser, "/login", EMAIL).await);
    let code = code_in(&sink.message(1).await);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            enter_code(&app, &browser, &code_page, wrong).await.status(),
            401
        );
    }
    let resp = browser
        .post(
            &app.url("/login/code/verify"),
            &[
                (
                    "csrf",
                    &hidden(
                        &browser.get(&app.url("/login")).await.text().await.unwrap(),
                        "csrf",
                    ),
                ),
                (
                    "challenge",
                    &param(&app.url(&code_page), "challenge").unwrap(),
                ),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains("can no longer be used"));
}

#[tokio::test]
async fn codes_expire() {
    let (app, sink) = app_with_sink(|s| s.otp.otp_ttl = 3).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let code_page = location(&ask_for_code(&app, &browser, "/login", EMAIL).await);
    let page = browser
        .get(&app.url(&code_page))
        .await
        .text()
        .await
        .unwrap();
    let code = code_in(&sink.message(0).await);
    let_time_pass(Duration::from_millis(3500), "the 3 s code expires").await;
    let resp = browser
        .submit(&app, &page, "/login/code/verify", &[("code", &code)])
        .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answers_and_the_same_limits() {
    let (app, sink) = app_with_sink(|_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..4 {
        known.push(
            ask_for_code(&app, &browser, "/login", EMAIL)
                .await
                .status()
                .as_u16(),
        );
        unknown.push(
            ask_for_code(&app, &browser, "/login", "nobody@example.com")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(known, unknown);
    assert_eq!(
        known,
        vec![303, 303, 303, 429],
        "three codes per address per window"
    );
    let_time_pass(
        Duration::from_millis(300),
        "a mail to the unknown address would have arrived",
    )
    .await;
    assert_eq!(sink.count(), 3, "mail went only to the real account");
}

#[tokio::test]
async fn without_smtp_codes_go_to_the_development_outbox() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let resp = ask_for_code(&app, &Browser::new(), "/login", EMAIL).await;
    assert_eq!(resp.status(), 303);
    let outbox = app.dir.path().join("outbox");
    let files = eventually(
        Duration::from_secs(5),
        "the code in the outbox folder",
        async || {
            let files: Vec<_> = std::fs::read_dir(&outbox).ok()?.collect();
            (!files.is_empty()).then_some(files)
        },
    )
    .await;
    assert_eq!(files.len(), 1);
    let mail = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(code_in(&mail).len(), 6);
}

#[tokio::test]
async fn wrong_codes_count_against_the_account_across_codes() {
    let (app, sink) = app_with_sink(|s| {
        s.throttle.login_max_failures = 3;
        s.otp.otp_max_sends = 10;
        s.throttle.lock_base = 10;
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        // A new code each time, so the per-code limit never applies.
        let browser = Browser::new();
        let code_page = location(&ask_for_code(&app, &browser, "/login", EMAIL).await);
        let code = code_in(&sink.message(n).await);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        statuses.push(
            enter_code(&app, &browser, &code_page, wrong)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 429]);
}

/// Asks for a password reset code for `EMAIL` in `browser`; the reset page (path and text).
async fn ask_for_reset(app: &TestApp, browser: &Browser) -> String {
    let resp = browser
        .fill(
            app,
            "/password/forgot",
            "/password/forgot",
            &[("email", EMAIL)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let reset = location(&resp);
    assert!(reset.starts_with("/password/reset?challenge="), "{reset}");
    browser.get(&app.url(&reset)).await.text().await.unwrap()
}

/// Ending a person's sign-ins ends the codes sent before it: a password reset (itself an
/// end of sign-ins) leaves a sign-in code and another reset code asked for earlier unable
/// to sign in or reset; a code asked for after it signs in.
#[tokio::test]
async fn an_end_of_sign_ins_ends_the_codes_sent_before_it() {
    const NEW_PASSWORD: &str = "correct horse battery staple";
    // Four codes to one address: past the default cap of three per window.
    let (app, sink) = app_with_sink(|s| s.otp.otp_max_sends = 10).await;
    app.user(EMAIL, PASSWORD).await;
    let signing_in = Browser::new();
    let code_page = location(&ask_for_code(&app, &signing_in, "/login", EMAIL).await);
    let sign_in_code = code_in(&sink.message(0).await);
    let (resetting, late) = (Browser::new(), Browser::new());
    let reset_page = ask_for_reset(&app, &resetting).await;
    let reset_code = code_in(&sink.message(1).await);
    let late_page = ask_for_reset(&app, &late).await;
    let late_code = code_in(&sink.message(2).await);

    let reset = resetting
        .submit(
            &app,
            &reset_page,
            "/password/reset",
            &[("code", &reset_code), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(reset.status(), 303);

    let resp = enter_code(&app, &signing_in, &code_page, &sign_in_code).await;
    assert_eq!(resp.status(), 401, "a code sent before the reset signed in");
    assert!(resp.text().await.unwrap().contains("can no longer be used"));
    let resp = late
        .submit(
            &app,
            &late_page,
            "/password/reset",
            &[
                ("code", &late_code),
                ("password", "a different long passphrase"),
            ],
        )
        .await;
    assert_eq!(
        resp.status(),
        401,
        "a code sent before the reset reset again"
    );
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, NEW_PASSWORD)
            .await
            .status(),
        303,
        "the reset's password stands"
    );

    // A code asked for now signs in.
    let code_page = location(&ask_for_code(&app, &signing_in, "/login", EMAIL).await);
    let code = code_in(&sink.message(3).await);
    let resp = enter_code(&app, &signing_in, &code_page, &code).await;
    assert_eq!(resp.status(), 303);
}
