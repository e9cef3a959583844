//! Phone-first accounts and identifier-first sign-in: one field, "Email or mobile
//! number", then the ways that kind of identifier signs in; registration, sign-in and
//! password reset by mobile number through the SMS sink, numbers parsed to E.164 with a
//! default region; unknown identifiers answered exactly like known ones.

use crate::common::sms::SmsSink;
use crate::common::*;

const NUMBER: &str = "+351912345678";

async fn app_with_sms(adjust: impl FnOnce(&mut porta::config::Settings)) -> (TestApp, SmsSink) {
    let sink = SmsSink::start(201).await;
    let url = sink.url.clone();
    let app = TestApp::spawn_with(move |s| {
        s.sms.sms_provider = "http".into();
        s.sms.sms_http_url = Some(url);
        s.sms.sms_from = "+15005550006".into();
        adjust(s);
    })
    .await;
    (app, sink)
}

/// A client that may ask for the `phone` scope.
async fn phone_client(app: &TestApp) -> porta::clients::CreatedClient {
    porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "Bookings".into(),
            redirect_uris: vec!["https://app.example.com/callback".into()],
            public: true,
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["openid profile email phone".into()],
            skip_consent: true,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Registers `typed` on `/register` (with `password`, possibly empty) and confirms it with
/// the texted code: the browser is then signed in.
async fn register_by_phone(
    app: &TestApp,
    sink: &SmsSink,
    browser: &Browser,
    typed: &str,
    password: &str,
    nth_sms: usize,
) {
    let resp = browser
        .fill(
            app,
            "/register",
            "/register",
            &[
                ("identifier", typed),
                ("name", "Inês"),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let verify = location(&resp);
    assert!(
        verify.starts_with("/register/verify?challenge="),
        "{verify}"
    );
    let page = browser.get(&app.url(&verify)).await.text().await.unwrap();
    assert!(page.contains("Confirm your mobile number"), "{page}");
    let sms = sink.message(nth_sms).await;
    assert_eq!(sms.field("To"), NUMBER);
    let code = &sms.field("Body")[..6];
    let resp = browser
        .submit(app, &page, "/register/verify", &[("code", code)])
        .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    assert_eq!(location(&resp), "/account");
}

async fn account(app: &TestApp) -> porta::accounts::User {
    porta::db::run(&app.state.pool, |conn| {
        Ok(porta::accounts::store::find_by_phone(conn, NUMBER)?)
    })
    .await
    .unwrap()
    .expect("the account")
}

#[tokio::test]
async fn a_person_registers_with_a_mobile_number_and_signs_in_to_an_app_with_it() {
    let (app, sink) = app_with_sms(|_| {}).await;
    let browser = Browser::new();
    register_by_phone(&app, &sink, &browser, "+351 912 345 678", PASSWORD, 0).await;
    let user = account(&app).await;
    assert_eq!(user.email, None);
    assert_eq!(user.name.as_deref(), Some("Inês"));
    assert_eq!(
        user.locale.as_deref(),
        Some("en"),
        "the language it registered in"
    );
    let page = browser
        .get(&app.url("/account"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(NUMBER), "{page}");

    // Through an app: the number (typed differently) and the password.
    let client = phone_client(&app).await;
    let other = Browser::new();
    let (verifier, challenge) = pkce();
    let mut query = openid_query(&client.client_id, &challenge);
    query[3] = ("scope", "openid profile email phone");
    let login = location(&other.get(&authorize_url(&app, &query)).await);
    let methods = other.methods(&app, &login, "+351 91 234 5678").await;
    assert!(
        methods.contains(&format!("value=\"{NUMBER}\"")),
        "{methods}"
    );
    assert!(methods.contains("Text me a code") && !methods.contains("Email me a code"));
    let resp = other
        .submit(&app, &methods, "/login", &[("password", PASSWORD)])
        .await;
    assert_eq!(resp.status(), 303);
    let mut next = location(&resp);
    while next.starts_with('/') {
        next = location(&other.get(&app.url(&next)).await);
    }
    let code = param(&next, "code").expect("a code for the app");
    let (status, tokens) = app.redeem(&client, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["phone_number"], NUMBER);
    assert_eq!(id["phone_number_verified"], true);
    assert!(id.get("email").is_none(), "no address to claim: {id}");
    assert_eq!(id["locale"], "en");
}

#[tokio::test]
async fn a_default_region_reads_national_numbers_and_a_passwordless_account_signs_in_by_sms() {
    let (app, sink) = app_with_sms(|s| s.accounts.default_phone_region = Some("PT".into())).await;
    let browser = Browser::new();
    register_by_phone(&app, &sink, &browser, "912 345 678", "", 0).await;
    assert!(account(&app).await.password_hash.is_none());
    let login = Browser::new()
        .get(&app.url("/login"))
        .await
        .text()
        .await
        .unwrap();
    assert!(login.contains("A mobile number may start with + and the country code."));
    // The national form signs in by SMS code.
    let other = Browser::new();
    let resp = other
        .fill(&app, "/login", "/login/code", &[("phone", "912 345 678")])
        .await;
    assert_eq!(resp.status(), 303);
    let code_page = other
        .get(&app.url(&location(&resp)))
        .await
        .text()
        .await
        .unwrap();
    let sms = sink.message(1).await;
    assert_eq!(sms.field("To"), NUMBER);
    let resp = other
        .submit(
            &app,
            &code_page,
            "/login/code/verify",
            &[("code", &sms.field("Body")[..6])],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let home = other.get(&app.url("/account")).await;
    assert_eq!(home.status(), 200);
}

#[tokio::test]
async fn a_number_with_an_account_is_answered_alike_and_its_owner_told() {
    let (app, sink) = app_with_sms(|_| {}).await;
    register_by_phone(&app, &sink, &Browser::new(), NUMBER, PASSWORD, 0).await;
    let resp = Browser::new()
        .fill(
            &app,
            "/register",
            "/register",
            &[
                ("identifier", NUMBER),
                ("password", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(location(&resp).starts_with("/register/verify?challenge="));
    let sms = sink.message(1).await;
    assert!(sms.field("Body").contains("already has one"), "{sms:?}");
    // Nothing about the account changed: the old password still signs in.
    let resp = Browser::new()
        .submit_login(&app, &app.url("/login"), NUMBER, PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn a_password_is_reset_by_a_texted_code() {
    let (app, sink) = app_with_sms(|_| {}).await;
    register_by_phone(&app, &sink, &Browser::new(), NUMBER, PASSWORD, 0).await;
    let browser = Browser::new();
    let resp = browser
        .fill(
            &app,
            "/password/forgot",
            "/password/forgot",
            &[("identifier", "+351 912-345-678")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = browser
        .get(&app.url(&location(&resp)))
        .await
        .text()
        .await
        .unwrap();
    let sms = sink.message(1).await;
    assert_eq!(sms.field("To"), NUMBER);
    assert!(sms.field("Body").contains("reset your password"));
    let new_password = "seven quiet rivers at noon";
    let resp = browser
        .submit(
            &app,
            &page,
            "/password/reset",
            &[
                ("code", &sms.field("Body")[..6]),
                ("password", new_password),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let old = Browser::new()
        .submit_login(&app, &app.url("/login"), NUMBER, PASSWORD)
        .await;
    assert_eq!(old.status(), 401);
    let new = Browser::new()
        .submit_login(&app, &app.url("/login"), NUMBER, new_password)
        .await;
    assert_eq!(new.status(), 303);
}

/// The second step depends on the kind of identifier only: a known and an unknown address
/// (or number) get the same page, byte for byte but the form token.
#[tokio::test]
async fn unknown_identifiers_get_the_same_pages() {
    let (app, _sink) = app_with_sms(|_| {}).await;
    app.user(EMAIL, PASSWORD).await;
    let browser = Browser::new();
    let strip = |page: String, who: &str| {
        let csrf = hidden(&page, "csrf");
        page.replace(&csrf, "CSRF").replace(who, "WHO")
    };
    let known = strip(browser.methods(&app, "/login", EMAIL).await, EMAIL);
    let unknown = strip(
        browser.methods(&app, "/login", "nobody@example.com").await,
        "nobody@example.com",
    );
    assert_eq!(known, unknown);
    // A wrong password reads the same for both, too.
    for who in [EMAIL, "nobody@example.com"] {
        let resp = Browser::new()
            .submit_login(&app, &app.url("/login"), who, "not the password")
            .await;
        assert_eq!(resp.status(), 401);
        assert!(resp
            .text()
            .await
            .unwrap()
            .contains("The email or password is not correct."));
    }
    // Neither an address nor a number: said so on the first step.
    let page = browser.get(&app.url("/login")).await.text().await.unwrap();
    let resp = browser
        .submit(&app, &page, "/login", &[("identifier", "just a name")])
        .await;
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(body.contains("Enter your email address, or your mobile number with its country code."));
    assert!(body.contains("aria-invalid=\"true\""));
    assert!(body.contains("value=\"just a name\""));
}

#[tokio::test]
async fn login_hint_fills_in_the_identifier() {
    let app = TestApp::spawn().await;
    let client = app.client(true, &["authorization_code"], false).await;
    let (_, challenge) = pkce();
    let mut query = openid_query(&client.client_id, &challenge);
    query.push(("login_hint", "+44 7700 900123"));
    let browser = Browser::new();
    let login = location(&browser.get(&authorize_url(&app, &query)).await);
    let page = browser.get(&app.url(&login)).await.text().await.unwrap();
    assert!(page.contains("id=\"identifier\""), "{page}");
    assert!(page.contains("value=\"+44 7700 900123\""), "{page}");
}
