//! Phone numbers and sign-in codes by SMS through a Twilio-style HTTP API.

use crate::common::sms::SmsSink;
use crate::common::*;

async fn app_with_sms(status: u16) -> (TestApp, SmsSink) {
    app_with_sms_and(status, |_| {}).await
}

/// Porta sending SMS to a sink that answers `status`, with adjusted settings.
async fn app_with_sms_and(
    status: u16,
    adjust: impl FnOnce(&mut porta::config::Settings),
) -> (TestApp, SmsSink) {
    let sink = SmsSink::start(status).await;
    let url = sink.url.clone();
    let app = TestApp::spawn_with(move |s| {
        s.sms.sms_provider = "http".into();
        s.sms.sms_http_url = Some(url);
        s.sms.sms_http_username = Some("AC1".into());
        s.sms.sms_http_password = Some("token".into());
        s.sms.sms_from = "+15005550006".into();
        adjust(s);
    })
    .await;
    (app, sink)
}

fn code_in(body: &str) -> String {
    body[..6].to_string()
}

#[tokio::test]
async fn a_confirmed_phone_number_signs_in_with_a_texted_code() {
    let (app, sink) = app_with_sms(201).await;
    let client = app.client(false, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;

    // Add and confirm a phone number on the account page.
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let resp = browser
        .submit(
            &app,
            &account,
            "/account/phone",
            &[("phone", "+44 20 7946 0958")],
        )
        .await;
    let verify = location(&resp);
    assert!(
        verify.starts_with("/account/phone/verify?challenge="),
        "{verify}"
    );
    let sms = sink.message(0).await;
    assert_eq!(sms.field("To"), "+442079460958");
    assert_eq!(sms.field("From"), "+15005550006");
    assert!(
        sms.authorization.starts_with("Basic "),
        "provider credentials sent"
    );
    let page = browser.get(&app.url(&verify)).await.text().await.unwrap();
    let page = browser
        .submit(
            &app,
            &page,
            "/account/phone/verify",
            &[("code", &code_in(&sms.field("Body")))],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your phone number is confirmed."), "{page}");

    // "Text me a code" in an app's sign-in.
    let other = Browser::new();
    let (verifier, challenge) = pkce();
    let login = location(
        &other
            .get(&authorize_url(
                &app,
                &openid_query(&client.client_id, &challenge),
            ))
            .await,
    );
    let resp = other
        .fill(&app, &login, "/login/code", &[("phone", "+442079460958")])
        .await;
    let code_page = location(&resp);
    let sms = sink.message(1).await;
    let page = other.get(&app.url(&code_page)).await.text().await.unwrap();
    let resp = other
        .submit(
            &app,
            &page,
            "/login/code/verify",
            &[("code", &code_in(&sms.field("Body")))],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let back = location(&other.get(&app.url(&location(&resp))).await);
    let code = param(&back, "code").unwrap();
    let (status, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(status, 200);
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["otp"])
    );
}

#[tokio::test]
async fn unknown_numbers_get_no_text_but_the_same_page() {
    let (app, sink) = app_with_sms(201).await;
    let browser = Browser::new();
    let resp = browser
        .fill(&app, "/login", "/login/code", &[("phone", "+15551234567")])
        .await;
    assert_eq!(resp.status(), 303);
    let_time_pass(
        std::time::Duration::from_millis(200),
        "a text to the unknown number would have arrived",
    )
    .await;
    assert!(sink.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_sms_provider_is_tried_again_and_the_person_is_not_kept_waiting() {
    let (app, sink) = app_with_sms_and(500, |s| s.mail.outbox_retry_pause = 1).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let resp = browser
        .submit(
            &app,
            &account,
            "/account/phone",
            &[("phone", "+442079460958")],
        )
        .await;
    // Queued: the person goes on to the code page at once; delivery is the outbox's job.
    assert_eq!(resp.status(), 303);
    // The provider answers 500: the same message is tried again (after 1 s, then 2 s).
    let second = sink.message(1).await;
    let first = sink.message(0).await;
    assert_eq!(first.field("Body"), second.field("Body"));
    assert_eq!(first.field("To"), "+442079460958");
}

#[tokio::test]
async fn phone_numbers_must_be_e164() {
    let (app, _sink) = app_with_sms(201).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let page = browser
        .submit(
            &app,
            &account,
            "/account/phone",
            &[("phone", "0207 946 0958")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("country code"), "{page}");
}

/// The second step by a code on another channel than the first: after a password, a code
/// by SMS or by email finishes the sign-in instead of the authenticator app; after a code
/// by SMS, only email is offered.
#[tokio::test]
async fn a_code_by_sms_or_email_can_be_the_second_step() {
    use crate::common::smtp::{code_in as mail_code, send_mail_to, SmtpSink};
    let mail = SmtpSink::start().await;
    let mail_port = mail.port;
    let (app, sink) = app_with_sms_and(201, move |s| send_mail_to(s, mail_port)).await;
    let user = app.user(EMAIL, PASSWORD).await;
    let id = user.id.to_string();
    porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::accounts::store::set_phone(
            conn,
            &id,
            "+447700900123",
        )?)
    })
    .await
    .unwrap();
    crate::totp::enrol(&app, &Browser::new()).await;

    // Password, then a code by SMS.
    let browser = Browser::new();
    let resp = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let second = location(&resp);
    assert!(second.starts_with("/login/totp?"), "{second}");
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    assert!(
        page.contains("by text message to a number ending in 123"),
        "{page}"
    );
    assert!(page.contains("by email to p…@example.com"), "{page}");
    let sent = browser
        .submit(&app, &page, "/login/second/send", &[("channel", "sms")])
        .await;
    assert_eq!(sent.status(), 303);
    let page = browser
        .get(&app.url(&location(&sent)))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("We sent a 6-digit code by text message"),
        "{page}"
    );
    let code = code_in(&sink.message(0).await.field("Body"));
    let wrong = browser
        .submit(&app, &page, "/login/totp", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), 401);
    let page = wrong.text().await.unwrap();
    let done = browser
        .submit(&app, &page, "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(
        (done.status().as_u16(), location(&done)),
        (303, "/account".to_string())
    );
    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(
            conn,
            None,
            Some("sign_in.success"),
            0,
            10,
        )?)
    })
    .await
    .unwrap();
    assert!(
        events.iter().any(|e| e.detail == "factor=pwd+sms+mfa"),
        "{events:?}"
    );

    // Password, then a code by email.
    let browser = Browser::new();
    let resp = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let page = browser
        .get(&app.url(&location(&resp)))
        .await
        .text()
        .await
        .unwrap();
    let sent = browser
        .submit(&app, &page, "/login/second/send", &[("channel", "email")])
        .await;
    let page = browser
        .get(&app.url(&location(&sent)))
        .await
        .text()
        .await
        .unwrap();
    // The only code email of this test (the others tell of the new authenticator app).
    let message = eventually(
        std::time::Duration::from_secs(5),
        "the emailed second-step code",
        async || {
            mail.messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.contains("Your code is: "))
                .cloned()
        },
    )
    .await;
    let code = mail_code(&message);
    let done = browser
        .submit(&app, &page, "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(location(&done), "/account");
    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(
            conn,
            None,
            Some("sign_in.success"),
            0,
            10,
        )?)
    })
    .await
    .unwrap();
    assert!(
        events.iter().any(|e| e.detail == "factor=pwd+otp+mfa"),
        "{events:?}"
    );

    // A code by SMS as the first step: the second may not be another SMS.
    let browser = Browser::new();
    let resp = browser
        .fill(&app, "/login", "/login/code", &[("phone", "+447700900123")])
        .await;
    let page = browser
        .get(&app.url(&location(&resp)))
        .await
        .text()
        .await
        .unwrap();
    // The second text of this test (the first was the second-step code above).
    let code = code_in(&sink.message(1).await.field("Body"));
    let resp = browser
        .submit(&app, &page, "/login/code/verify", &[("code", &code)])
        .await;
    let second = location(&resp);
    assert!(second.starts_with("/login/totp?"), "{second}");
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    assert!(
        !page.contains("by text message to") && page.contains("by email to"),
        "{page}"
    );
    let refused = browser
        .submit(&app, &page, "/login/second/send", &[("channel", "sms")])
        .await;
    assert_eq!(refused.status(), 400);
}
