//! Registration with email confirmation, password reset, password change, the session
//! list and connected apps, with mail delivered to a local SMTP sink.

use crate::common::smtp::{code_in, SmtpSink};
use crate::common::*;

const NEW_PASSWORD: &str = "correct horse battery staple";

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

async fn register(
    app: &TestApp,
    browser: &Browser,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser
        .get(&app.url("/register"))
        .await
        .text()
        .await
        .unwrap();
    browser
        .submit(
            app,
            &page,
            "/register",
            &[("email", email), ("name", "Nia"), ("password", password)],
        )
        .await
}

async fn submit_code(
    app: &TestApp,
    browser: &Browser,
    page_path: &str,
    action: &str,
    code: &str,
    password: Option<&str>,
) -> reqwest::Response {
    let page = browser.get(&app.url(page_path)).await.text().await.unwrap();
    let mut fields = vec![("code", code)];
    if let Some(p) = password {
        fields.push(("password", p));
    }
    browser.submit(app, &page, action, &fields).await
}

#[tokio::test]
async fn registration_confirms_the_address_before_the_account_works() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let browser = Browser::new();
    let resp = register(&app, &browser, "nia@example.com", NEW_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let verify = location(&resp);
    assert!(verify.starts_with("/register/verify?challenge="));

    // Not usable yet.
    let other = Browser::new();
    assert_eq!(
        other
            .submit_login(&app, &app.url("/login"), "nia@example.com", NEW_PASSWORD)
            .await
            .status(),
        401
    );

    let code = code_in(&sink.message(0).await);
    let resp = submit_code(&app, &browser, &verify, "/register/verify", &code, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/account");
    assert!(browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap()
        .contains("nia@example.com"));
    assert_eq!(
        other
            .submit_login(&app, &app.url("/login"), "nia@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

/// A registration's confirmation signs the person in, once: of two codes asked for (each
/// bound to the browser that asked), the one left over confirms nothing and signs no one
/// in once the other was used (it would skip a second factor set up since).
#[tokio::test]
async fn a_confirmation_code_left_over_confirms_nothing() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let (earlier, later) = (Browser::new(), Browser::new());
    let first = location(&register(&app, &earlier, "nia@example.com", NEW_PASSWORD).await);
    let first_code = code_in(&sink.message(0).await);
    let second = location(&register(&app, &later, "nia@example.com", NEW_PASSWORD).await);
    let second_code = code_in(&sink.message(1).await);
    let resp = submit_code(
        &app,
        &later,
        &second,
        "/register/verify",
        &second_code,
        None,
    )
    .await;
    assert_eq!(location(&resp), "/account");

    let resp = submit_code(
        &app,
        &earlier,
        &first,
        "/register/verify",
        &first_code,
        None,
    )
    .await;
    assert_eq!(resp.status(), 401, "a code left over signed in");
    assert!(resp.text().await.unwrap().contains("can no longer be used"));
    assert!(location(&earlier.get(&app.url("/account")).await).starts_with("/login"));
}

#[tokio::test]
async fn registering_a_taken_address_looks_the_same_and_tells_the_owner() {
    let (app, sink) = app_with_sink(|_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    let new = register(&app, &Browser::new(), "fresh@example.com", NEW_PASSWORD).await;
    let taken = register(&app, &Browser::new(), EMAIL, NEW_PASSWORD).await;
    assert_eq!(new.status(), taken.status());
    assert!(location(&taken).starts_with("/register/verify?challenge="));
    let owner_mail = sink.message(1).await;
    assert!(owner_mail.contains(&format!("To: {EMAIL}")));
    assert!(owner_mail.contains("you already have one"));
    assert!(
        !owner_mail.contains("Your code is:"),
        "no code for a taken address"
    );
    // The owner's password is untouched.
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn guessable_and_short_passwords_are_refused_with_advice() {
    let (app, _sink) = app_with_sink(|_| {}).await;
    for (password, hint) in [
        ("short", "at least 8"),
        ("password123", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
    ] {
        let resp = register(&app, &Browser::new(), "x@example.com", password).await;
        assert_eq!(resp.status(), 400, "{password}");
        assert!(resp.text().await.unwrap().contains(hint), "{password}");
    }
    // Any Unicode, long passphrases fine.
    let resp = register(
        &app,
        &Browser::new(),
        "y@example.com",
        "ünïcödé ☃ passphrase with spaces",
    )
    .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn registration_can_be_switched_off() {
    let app = TestApp::spawn_with(|s| s.accounts.registration_enabled = false).await;
    assert_eq!(
        Browser::new().get(&app.url("/register")).await.status(),
        404
    );
}

#[tokio::test]
async fn a_password_reset_revokes_every_session_and_refresh_token() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let signed_in = Browser::new();
    let (verifier, challenge) = pkce();
    let back = signed_in
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (_, tokens) = app.redeem(&client, &code, &verifier).await;

    let browser = Browser::new();
    let page = browser
        .get(&app.url("/password/forgot"))
        .await
        .text()
        .await
        .unwrap();
    let resp = browser
        .submit(&app, &page, "/password/forgot", &[("email", EMAIL)])
        .await;
    let reset = location(&resp);
    assert!(reset.starts_with("/password/reset?challenge="));
    let code = code_in(&sink.message(0).await);
    let page = browser.get(&app.url(&reset)).await.text().await.unwrap();
    let form = Form::parse(&page, "/password/reset").with(&[("code", &code)]);
    let post = |password: &'static str| {
        let form = form.clone().with(&[("password", password)]);
        let (b, app) = (&browser, &app);
        async move { b.send(app, &form).await.status().as_u16() }
    };
    // A weak new password is refused without spending the code; a wrong code is refused.
    assert_eq!(post("password1").await, 400);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guess = form
        .clone()
        .with(&[("code", wrong), ("password", NEW_PASSWORD)]);
    assert_eq!(browser.send(&app, &guess).await.status().as_u16(), 401);
    assert_eq!(post(NEW_PASSWORD).await, 303);
    // Single use.
    assert_eq!(post(NEW_PASSWORD).await, 401);
    // The audit log has each refused code and the reset.
    let kinds = [
        porta::audit::kind::PASSWORD_RESET_FAILED,
        porta::audit::kind::PASSWORD_RESET,
    ];
    let events = porta::db::run(&app.state.pool, move |conn| {
        let mut found = vec![];
        for kind in kinds {
            found.extend(porta::audit::store::query(conn, None, Some(kind), 0, 10)?);
        }
        Ok(found)
    })
    .await
    .unwrap();
    let mut seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.detail.as_str()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("password.reset", "sessions and refresh tokens revoked"),
            ("password.reset_failed", "code no longer valid"),
            ("password.reset_failed", "wrong code"),
        ]
    );

    assert!(signed_in
        .get(&app.url("/"))
        .await
        .text()
        .await
        .unwrap()
        .contains("You are not signed in."));
    assert_eq!(
        app.introspect(&client, tokens["refresh_token"].as_str().unwrap())
            .await["active"],
        false
    );
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn unknown_addresses_can_ask_for_a_reset_and_get_the_same_answer() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let browser = Browser::new();
    let page = browser
        .get(&app.url("/password/forgot"))
        .await
        .text()
        .await
        .unwrap();
    let resp = browser
        .submit(
            &app,
            &page,
            "/password/forgot",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).starts_with("/password/reset?challenge="));
    let_time_pass(
        std::time::Duration::from_millis(200),
        "a mail to the unknown address would have arrived",
    )
    .await;
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_apps_and_can_end_them() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let phone = Browser::new();
    let (verifier, challenge) = pkce();
    let back = phone
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = param(&back, "code").unwrap();
    let (_, tokens) = app.redeem(&client, &code, &verifier).await;

    let laptop = Browser::new();
    laptop
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let page = laptop.get(&app.url("/account")).await.text().await.unwrap();
    assert_eq!(
        page.matches("name=\"session\"").count(),
        1,
        "one other session to end"
    );
    assert!(page.contains("(this browser)"));
    assert!(page.contains("Test App"), "the connected app");

    // Remove the app's access: its refresh token dies.
    laptop
        .submit(
            &app,
            &page,
            "/account/apps/revoke",
            &[("client_id", &client.client_id)],
        )
        .await;
    assert_eq!(
        app.introspect(&client, tokens["refresh_token"].as_str().unwrap())
            .await["active"],
        false
    );

    // End the phone's session (the one session with an End button).
    laptop
        .submit(&app, &page, "/account/sessions/end", &[])
        .await;
    assert!(phone
        .get(&app.url("/"))
        .await
        .text()
        .await
        .unwrap()
        .contains("You are not signed in."));
    assert!(!laptop
        .get(&app.url("/"))
        .await
        .text()
        .await
        .unwrap()
        .contains("You are not signed in."));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_elsewhere() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let other = Browser::new();
    other
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let browser = Browser::new();
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let page = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let wrong = browser
        .submit(
            &app,
            &page,
            "/account/password",
            &[("current_password", "nope"), ("new_password", NEW_PASSWORD)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(wrong.contains("current password is not right"));
    let ok = browser
        .submit(
            &app,
            &page,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(ok.contains("Your password was changed"));
    assert!(other
        .get(&app.url("/"))
        .await
        .text()
        .await
        .unwrap()
        .contains("You are not signed in."));
    assert!(!browser
        .get(&app.url("/"))
        .await
        .text()
        .await
        .unwrap()
        .contains("You are not signed in."));
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn changing_the_email_address_needs_a_code_from_the_new_address() {
    let (app, sink) = app_with_sink(|_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    app.user("taken@example.com", PASSWORD).await;
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
        .submit(&app, &account, "/account/name", &[("name", "Ada Byron")])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ada Byron"));

    // A taken address: the same next page, but no code is sent.
    let resp = browser
        .submit(
            &app,
            &account,
            "/account/email",
            &[("email", "taken@example.com")],
        )
        .await;
    assert!(location(&resp).starts_with("/account/email/verify?challenge="));
    let resp = browser
        .submit(
            &app,
            &account,
            "/account/email",
            &[("email", "ada@example.org")],
        )
        .await;
    let verify = location(&resp);
    let mail = sink.message(0).await;
    assert!(mail.contains("To: ada@example.org"));
    assert_eq!(sink.count(), 1);
    let resp = submit_code(
        &app,
        &browser,
        &verify,
        "/account/email/verify",
        &code_in(&mail),
        None,
    )
    .await;
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Your email address was changed."));
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), "ada@example.org", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn registering_an_unconfirmed_address_again_cannot_set_its_password() {
    let (app, sink) = app_with_sink(|_| {}).await;
    let victim = Browser::new();
    let verify = location(&register(&app, &victim, "vic@example.com", NEW_PASSWORD).await);
    // Someone else registers the same, still unconfirmed, address with their password.
    register(
        &app,
        &Browser::new(),
        "vic@example.com",
        "attacker chosen passphrase 42",
    )
    .await;
    // The owner confirms with their own code: their choice holds, the other one does not.
    let code = code_in(&sink.message(0).await);
    assert_eq!(
        submit_code(&app, &victim, &verify, "/register/verify", &code, None)
            .await
            .status(),
        303
    );
    assert_eq!(
        Browser::new()
            .submit_login(
                &app,
                &app.url("/login"),
                "vic@example.com",
                "attacker chosen passphrase 42"
            )
            .await
            .status(),
        401
    );
    assert_eq!(
        Browser::new()
            .submit_login(&app, &app.url("/login"), "vic@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn account_pages_check_the_form_token_first_then_send_strangers_to_sign_in() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    // No session: the page and its actions go to the sign-in page.
    let stranger = Browser::new();
    let resp = stranger.get(&app.url("/account")).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/login");
    let page = stranger.get(&app.url("/login")).await.text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let resp = stranger
        .post(&app.url("/account/name"), &[("csrf", &csrf), ("name", "X")])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/login");
    // A wrong form token is refused before anything else, with or without a session.
    let resp = stranger
        .post(
            &app.url("/account/name"),
            &[("csrf", "wrong"), ("name", "X")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let person = Browser::new();
    person
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let resp = person
        .post(
            &app.url("/account/name"),
            &[("csrf", "wrong"), ("name", "Mallory")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let page = person.get(&app.url("/account")).await.text().await.unwrap();
    assert!(!page.contains("Mallory"));
}

/// A sign-in's transaction holds the password it checked until it commits: a password
/// change that comes in meanwhile waits for it, and then ends the session it made. On
/// SQLite the transaction's write lock does this; on PostgreSQL the row lock (`FOR SHARE`).
#[tokio::test]
async fn a_password_change_waits_for_the_sign_in_that_checked_the_old_one() {
    a_change_waits_for_the_sign_in_that_relied_on_it(Change::Password).await;
}

/// The same for a sign-in that checked no password (a code): it relies on nothing but
/// still holds the person's row, so an end of their sign-ins on its own ("sign out
/// everywhere", an administrator's end) waits for it, ends the session it made, and
/// moves the sign-in generation on (a sign-in parked in the old one no longer holds).
#[tokio::test]
async fn an_end_of_sign_ins_waits_for_the_sign_in_under_way_and_ends_it() {
    a_change_waits_for_the_sign_in_that_relied_on_it(Change::EndOfSignIns).await;
}

#[derive(Clone, Copy)]
enum Change {
    /// A password change (with its end of the other sign-ins), against a password sign-in.
    Password,
    /// An end of sign-ins alone, against a sign-in that checked no password.
    EndOfSignIns,
}

async fn a_change_waits_for_the_sign_in_that_relied_on_it(change: Change) {
    use porta::accounts::store::{holds, Relied};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;
    let app = TestApp::spawn().await;
    let user = porta::accounts::create_user(
        &app.state.pool,
        "held@example.com",
        None,
        Some(PASSWORD.into()),
    )
    .await
    .expect("user");
    let id = user.id.to_string();
    let done = Arc::new(AtomicBool::new(false));
    let (held_tx, held_rx) = mpsc::channel();
    let (changing_tx, changing_rx) = mpsc::channel::<()>();
    let (pool, who, d) = (app.state.pool.clone(), id.clone(), done.clone());
    let relied_on = move |found: &porta::accounts::User| -> Option<String> {
        match change {
            Change::Password => found.password_hash.clone(),
            Change::EndOfSignIns => None,
        }
    };
    // The sign-in: checks what it relied on, starts its session, waits for the change to
    // be under way, gives it 300 ms to get through (it must not), then commits.
    let sign_in = std::thread::spawn(move || {
        let conn = &mut *pool.get().expect("connection");
        porta::db::transaction(conn, |conn| {
            let found = porta::accounts::store::find(conn, &who)?.expect("user");
            let password_hash = relied_on(&found);
            let relied = Relied {
                password_hash: password_hash.as_deref(),
                generation: None,
            };
            assert!(holds(conn, &found, relied)?);
            let origin = porta::audit::Origin {
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            };
            let (session, _) =
                porta::sessions::Start::new(who.clone(), vec!["pwd".into()], 3600, &origin, None);
            session.write(conn)?;
            held_tx.send(()).expect("signal");
            changing_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the change to start");
            std::thread::sleep(Duration::from_millis(300));
            d.store(true, Ordering::SeqCst);
            Ok::<_, porta::db::DbError>(found)
        })
        .expect("sign-in transaction")
    });
    held_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the sign-in to hold the account");
    let pool = app.state.pool.clone();
    let changed_after_commit = std::thread::spawn(move || {
        let conn = &mut *pool.get().expect("connection");
        changing_tx.send(()).expect("signal");
        porta::db::transaction(conn, |conn| {
            if let Change::Password = change {
                porta::accounts::store::set_password(conn, &id, "$argon2id$v=19$changed")?;
            }
            porta::accounts::end_sign_ins(conn, &id, None)
        })
        .expect("change");
        done.load(Ordering::SeqCst)
    })
    .join()
    .expect("change");
    let before = sign_in.join().expect("sign-in");
    assert!(
        changed_after_commit,
        "it changed while the sign-in's transaction held it"
    );
    // Once changed, the session the sign-in made is gone, and neither what it relied on
    // nor a sign-in parked in its generation holds.
    let (sessions, still) = porta::db::run(&app.state.pool, move |conn| {
        let now = porta::accounts::store::find(conn, &before.id)?.expect("user");
        let sessions = porta::sessions::store::list_for_user(conn, &before.id, porta::time::now())?;
        let password_hash = relied_on(&before);
        let relied = Relied {
            password_hash: password_hash.as_deref(),
            generation: Some(before.sign_in_generation),
        };
        Ok((sessions.len(), holds(conn, &now, relied)?))
    })
    .await
    .expect("read");
    assert_eq!(sessions, 0, "the sign-in's session was ended");
    assert!(!still, "what the sign-in relied on changed");
}
