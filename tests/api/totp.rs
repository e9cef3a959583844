//! TOTP: enrolment with a QR code, the second step at sign-in (no replay, ±1 step),
//! recovery codes, fresh sign-in for changes, and "sign out everywhere".

use crate::common::*;
use totp_rs::{Algorithm, Secret, TOTP};

fn totp_for(secret_b32: &str) -> TOTP {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().unwrap();
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("Porta".into()),
        "x".into(),
    )
    .unwrap()
}

pub(crate) fn code_for_step(t: &TOTP, step: i64) -> String {
    t.generate((step * 30) as u64)
}

fn text_between(page: &str, start: &str, end: &str) -> String {
    let a = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    let b = page[a..].find(end).unwrap() + a;
    page[a..b].to_string()
}

/// Signs in with the password and turns TOTP on; returns the secret and recovery codes.
/// Also returns the 30-second step whose code was used to turn it on.
pub(crate) async fn enrol(app: &TestApp, browser: &Browser) -> (TOTP, Vec<String>, i64) {
    assert_eq!(
        browser
            .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
            .await
            .status(),
        303
    );
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let setup = browser
        .submit(app, &account, "/account/totp/setup", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(setup.contains("data:image/png;base64,"), "a QR code");
    let secret = text_between(&setup, r#"<code id="secret">"#, "</code>");
    let t = totp_for(&secret);
    let step = porta::time::now() / 30;
    let page = browser
        .submit(
            app,
            &setup,
            "/account/totp/enable",
            &[("code", &code_for_step(&t, step))],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your recovery codes"), "{page}");
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (t, codes, step)
}

#[tokio::test]
async fn totp_is_a_second_step_that_an_app_sees_in_amr() {
    let app = TestApp::spawn().await;
    let client = app.client(false, &["authorization_code"], true).await;
    let user = app.user(EMAIL, PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;

    // The secret is sealed at rest.
    let row = porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::mfa::store::totp(conn, &user.id)?)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(row.secret_enc.starts_with("v1:"));

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
    let resp = browser
        .submit_login(&app, &app.url(&login), EMAIL, PASSWORD)
        .await;
    let second = location(&resp);
    assert!(second.starts_with("/login/totp?"), "{second}");

    // Half-way there is no session: prompt=none still says login_required.
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("prompt", "none"));
    let l = location(&browser.get(&authorize_url(&app, &q)).await);
    assert_eq!(param(&l, "error").as_deref(), Some("login_required"));

    // The enrolment code (this step) was used; the next step's code works (±1 skew).
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    let form = |code: String| Form::parse(&page, "/login/totp").with(&[("code", &code)]);
    let post = |f: Form| {
        let (b, app) = (&browser, &app);
        async move { b.send(app, &f).await }
    };
    assert_eq!(
        post(form(code_for_step(&t, step))).await.status(),
        401,
        "a used code is refused"
    );
    let resp = post(form(code_for_step(&t, step + 1))).await;
    assert_eq!(resp.status(), 303);
    let back = location(&browser.get(&app.url(&location(&resp))).await);
    let code = param(&back, "code").unwrap();
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["pwd", "otp", "mfa"])
    );

    // The same code again, in another sign-in: refused (no replay within its window).
    let other = Browser::new();
    let second = location(
        &other
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await,
    );
    let page = other.get(&app.url(&second)).await.text().await.unwrap();
    let resp = other
        .submit(
            &app,
            &page,
            "/login/totp",
            &[("code", &code_for_step(&t, step + 1))],
        )
        .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn recovery_codes_work_once() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let (_, codes, _) = enrol(&app, &Browser::new()).await;
    for expected in [303, 401] {
        let browser = Browser::new();
        let second = location(
            &browser
                .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
                .await,
        );
        let page = browser.get(&app.url(&second)).await.text().await.unwrap();
        let resp = browser
            .submit(&app, &page, "/login/totp", &[("code", &codes[0])])
            .await;
        assert_eq!(resp.status(), expected);
    }
}

#[tokio::test]
async fn a_parked_sign_in_allows_five_tries() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;
    let browser = Browser::new();
    let second = location(
        &browser
            .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
            .await,
    );
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    let send = |code: &str| {
        let form = Form::parse(&page, "/login/totp").with(&[("code", code)]);
        let (b, app) = (&browser, &app);
        async move { b.send(app, &form).await.status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(send("000001").await, 401);
    }
    assert_eq!(
        send(&code_for_step(&t, step + 1)).await,
        400,
        "out of tries: sign in again"
    );
}

#[tokio::test]
async fn turning_totp_off_needs_a_fresh_sign_in() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    enrol(&app, &browser).await;
    // Age the session beyond the freshness window.
    let id = user.id.clone();
    porta::db::run(&app.state.pool, move |conn| {
        use diesel::prelude::*;
        use porta::db::schema::browser_sessions as bs;
        diesel::update(bs::table.filter(bs::user_id.eq(id)))
            .set(bs::auth_time.eq(porta::time::now() - 3600))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    let page = browser
        .submit(&app, &account, "/account/totp/disable", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("sign in again"), "{page}");
    assert!(porta::mfa::enabled(&app.state.factors(), &user.id)
        .await
        .unwrap());
}

#[tokio::test]
async fn sign_out_everywhere_ends_sessions_and_refresh_tokens() {
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    let phone = Browser::new();
    let laptop = Browser::new();
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
    laptop
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let account = laptop.get(&app.url("/account")).await.text().await.unwrap();
    let resp = laptop
        .submit(&app, &account, "/account/sign-out-everywhere", &[])
        .await;
    assert_eq!(resp.status(), 303);
    for b in [&phone, &laptop] {
        assert!(b
            .get(&app.url("/"))
            .await
            .text()
            .await
            .unwrap()
            .contains("You are not signed in."));
    }
    assert_eq!(
        app.introspect(&client, tokens["refresh_token"].as_str().unwrap())
            .await["active"],
        false
    );
    assert_eq!(
        app.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn acr_reflects_the_factors_and_acr_values_can_demand_two() {
    let app = TestApp::spawn().await;
    let client = app.client(false, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;

    // Asking for two factors: password, then TOTP.
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("acr_values", "urn:porta:acr:mfa"));
    let login = location(&browser.get(&authorize_url(&app, &q)).await);
    let second = location(
        &browser
            .submit_login(&app, &app.url(&login), EMAIL, PASSWORD)
            .await,
    );
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    let resp = browser
        .submit(
            &app,
            &page,
            "/login/totp",
            &[("code", &code_for_step(&t, step + 1))],
        )
        .await;
    let back = location(&browser.get(&app.url(&location(&resp))).await);
    let code = param(&back, "code").unwrap();
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["acr"],
        "urn:porta:acr:mfa"
    );

    // The same session satisfies a second mfa request silently.
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("acr_values", "urn:porta:acr:mfa"));
    q.push(("prompt", "none"));
    assert!(param(
        &location(&browser.get(&authorize_url(&app, &q)).await),
        "code"
    )
    .is_some());
}

#[tokio::test]
async fn a_one_factor_session_must_sign_in_again_for_acr_mfa() {
    let app = TestApp::spawn().await;
    let client = app.client(false, &["authorization_code"], true).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
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
    let (_, body) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["acr"],
        "urn:porta:acr:1fa"
    );
    let mut q = openid_query(&client.client_id, &challenge);
    q.push(("acr_values", "urn:porta:acr:mfa"));
    q.push(("prompt", "none"));
    let l = location(&browser.get(&authorize_url(&app, &q)).await);
    assert_eq!(param(&l, "error").as_deref(), Some("login_required"));
    q.pop();
    assert!(location(&browser.get(&authorize_url(&app, &q)).await).starts_with("/login"));
}

#[tokio::test]
async fn failed_totp_codes_lock_the_account_for_a_while() {
    let app = TestApp::spawn_with(|s| {
        s.throttle.login_max_failures = 2;
        s.throttle.lock_base = 5;
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;
    let mut statuses = Vec::new();
    for code in ["000001", "000002", &code_for_step(&t, step + 1)] {
        let browser = Browser::new();
        let second = location(
            &browser
                .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
                .await,
        );
        let page = browser.get(&app.url(&second)).await.text().await.unwrap();
        let resp = browser
            .submit(&app, &page, "/login/totp", &[("code", code)])
            .await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(
        statuses,
        vec![401, 401, 429],
        "locked after two failures, even for the right code"
    );
}

#[tokio::test]
async fn rewrap_reseals_totp_secrets_too_and_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL, PASSWORD).await;
    enrol(&app, &Browser::new()).await;
    let old = app.state.master.clone();
    let new = porta::crypto::MasterKey::parse(&porta::crypto::MasterKey::generate()).unwrap();
    let id = user.id.clone();
    let sealed = |pool: porta::db::DbPool, id: String| async move {
        porta::db::run(&pool, move |conn| Ok(porta::mfa::store::totp(conn, &id)?))
            .await
            .unwrap()
            .unwrap()
            .secret_enc
    };
    let n = porta::app::rewrap_master_key(&app.state.pool, &old, &new)
        .await
        .unwrap();
    assert!(n >= 2, "a signing key and a TOTP secret: {n}");
    let secret = sealed(app.state.pool.clone(), id.to_string()).await;
    assert!(new.open(&secret, &format!("totp:{id}")).is_ok());
    assert!(old.open(&secret, &format!("totp:{id}")).is_err());

    // With the wrong "old" key nothing can be opened, and nothing changes.
    let wrong = porta::crypto::MasterKey::parse(&porta::crypto::MasterKey::generate()).unwrap();
    assert!(porta::app::rewrap_master_key(&app.state.pool, &wrong, &old)
        .await
        .is_err());
    assert_eq!(sealed(app.state.pool.clone(), id.to_string()).await, secret);
}

/// Signs in with the password and, on the second step, the TOTP code of `step`, ticking
/// "remember this browser" when `remember`; the final response.
async fn sign_in_with_totp(
    app: &TestApp,
    browser: &Browser,
    t: &TOTP,
    step: i64,
    remember: bool,
) -> reqwest::Response {
    let resp = browser
        .submit_login(app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let second = location(&resp);
    assert!(second.starts_with("/login/totp?"), "{second}");
    let page = browser.get(&app.url(&second)).await.text().await.unwrap();
    let code = code_for_step(t, step);
    let mut fields = vec![("code", code.as_str())];
    if remember {
        assert!(page.contains("Remember this browser for 30 days"), "{page}");
        fields.push(("remember", "yes"));
    }
    browser.submit(app, &page, "/login/totp", &fields).await
}

/// How many browsers are remembered for the person signed up as `EMAIL`.
async fn remembered(app: &TestApp) -> i64 {
    porta::db::run(&app.state.pool, |conn| {
        let user = porta::accounts::store::find_by_email(conn, EMAIL)?.unwrap();
        Ok(porta::sessions::store::remembered_count(
            conn,
            &user.id,
            porta::time::now(),
        )?)
    })
    .await
    .unwrap()
}

/// A sign-in parked for its second factor does not finish once the person's sign-ins
/// were ended meanwhile (here by a password change in another browser): the second step
/// asks to start again, makes no session, remembers no browser, and spends nothing (the
/// same TOTP code then finishes a sign-in begun after the change).
#[tokio::test]
async fn a_password_change_ends_a_sign_in_waiting_for_its_second_factor() {
    const NEW_PASSWORD: &str = "correct horse battery staple";
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let owner = Browser::new();
    let (t, _, step) = enrol(&app, &owner).await;
    let other = Browser::new();
    let parked = other
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let second = location(&parked);
    assert!(second.starts_with("/login/totp?"), "{second}");
    let page = other.get(&app.url(&second)).await.text().await.unwrap();
    let changed = owner
        .fill(
            &app,
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);

    let code = code_for_step(&t, step + 1);
    let resp = other
        .submit(
            &app,
            &page,
            "/login/totp",
            &[("code", code.as_str()), ("remember", "yes")],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("porta_remember=") || c.starts_with("porta_session=")),
        "{cookies:?}"
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains("This sign-in has expired"), "{body}");
    let account = other.get(&app.url("/account")).await;
    assert!(
        location(&account).starts_with("/login"),
        "no session: {}",
        account.status()
    );
    assert_eq!(remembered(&app).await, 0);
    // The try is on record: someone held the first factor after the sign-ins ended.
    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(conn, None, None, 0, 100)?)
    })
    .await
    .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "sign_in.failure"
            && e.user_id.as_deref() == Some(user.id.as_str())
            && e.detail.contains("the sign-ins were ended")),
        "{events:?}"
    );

    // Begun after the change, a sign-in finishes with the same code: the dead one spent
    // no TOTP step.
    let again = other
        .submit_login(&app, &app.url("/login"), EMAIL, NEW_PASSWORD)
        .await;
    let second = location(&again);
    assert!(second.starts_with("/login/totp?"), "{second}");
    let page = other.get(&app.url(&second)).await.text().await.unwrap();
    let resp = other
        .submit(&app, &page, "/login/totp", &[("code", code.as_str())])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/account");
}

#[tokio::test]
async fn a_remembered_browser_skips_the_second_step_until_forgotten() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    app.user("other@example.com", PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;
    let browser = Browser::new();
    let resp = sign_in_with_totp(&app, &browser, &t, step + 1, true).await;
    assert_eq!(resp.status(), 303);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("porta_remember="))
        .expect("the remember cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=2592000"),
        "{cookie}"
    );

    // Signed out, the password alone signs in here; the app still sees two factors.
    browser.fill(&app, "/", "/logout", &[]).await;
    let client = app.client(false, &["authorization_code"], true).await;
    let (verifier, challenge) = pkce();
    let back = browser
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            EMAIL,
            PASSWORD,
        )
        .await;
    let (_, body) = app
        .redeem(&client, &param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["pwd", "mfa"])
    );
    let events = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::audit::store::query(
            conn,
            None,
            Some("sign_in.remembered"),
            0,
            10,
        )?)
    })
    .await
    .unwrap();
    assert_eq!(
        events.len(),
        1,
        "the remembered browser is in the audit log"
    );

    // Another browser still gets the second step.
    let elsewhere = Browser::new()
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert!(location(&elsewhere).starts_with("/login/totp?"));

    // The account page says so and forgets; then the second step is back.
    let account = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    assert!(account.contains("One browser is remembered"), "{account}");
    let resp = browser
        .submit(&app, &account, "/account/browsers/forget", &[])
        .await;
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("will ask for the second step again"));
    browser.fill(&app, "/", "/logout", &[]).await;
    let again = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert!(location(&again).starts_with("/login/totp?"));
}

#[tokio::test]
async fn sign_out_everywhere_and_turning_totp_off_forget_remembered_browsers() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let (t, recovery, step) = enrol(&app, &Browser::new()).await;
    let browser = Browser::new();
    sign_in_with_totp(&app, &browser, &t, step + 1, true).await;
    assert_eq!(remembered(&app).await, 1);
    browser
        .fill(&app, "/account", "/account/sign-out-everywhere", &[])
        .await;
    assert_eq!(remembered(&app).await, 0);
    let again = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert!(location(&again).starts_with("/login/totp?"), "asks again");
    // Remembered again (a recovery code this time: the next TOTP step is not here yet),
    // then the authenticator app is turned off: forgotten with it.
    let page = browser
        .get(&app.url(&location(&again)))
        .await
        .text()
        .await
        .unwrap();
    browser
        .submit(
            &app,
            &page,
            "/login/totp",
            &[("code", &recovery[0]), ("remember", "yes")],
        )
        .await;
    assert_eq!(remembered(&app).await, 1);
    let resp = browser
        .fill(&app, "/account", "/account/totp/disable", &[])
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(remembered(&app).await, 0);
}

#[tokio::test]
async fn without_remember_browser_days_nothing_is_remembered() {
    let app = TestApp::spawn_with(|s| s.accounts.remember_browser_days = 0).await;
    app.user(EMAIL, PASSWORD).await;
    let (t, _, step) = enrol(&app, &Browser::new()).await;
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
    assert!(!page.contains("name=\"remember\""));
    let code = code_for_step(&t, step + 1);
    let resp = browser
        .submit(
            &app,
            &page,
            "/login/totp",
            &[("code", &code), ("remember", "yes")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("porta_remember=")));
}
