//! A real headless Chromium (Debian's `chromium` + `chromium-driver`) goes through the
//! hosted pages the way a person does: the demo app → sign in → consent → the app shows
//! the verified id token → sign out back to the app.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use fantoccini::{ClientBuilder, Locator};

/// A chromedriver process on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {path} (install Debian's chromium-driver; .ci/run does): {e}")
        });
    Driver { child, port }
}

async fn browser(driver: &Driver) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": binary,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=420,900"]
        }),
    );
    // Each try may start a Chromium session: five a second at most.
    eventually_every(
        Duration::from_secs(10),
        Duration::from_millis(200),
        "chromedriver answers",
        async || {
            ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", driver.port))
                .await
                .ok()
        },
    )
    .await
}

#[tokio::test]
async fn a_person_signs_in_to_the_demo_app_in_chromium() {
    let app = TestApp::spawn_demo().await;
    let driver = start_chromedriver();
    let c = browser(&driver).await;

    c.goto(&app.url("/demo")).await.unwrap();
    c.find(Locator::LinkText("Sign in with Porta"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Porta's sign-in page: the identifier first, then the password.
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#identifier"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Css("#identifier"))
        .await
        .unwrap()
        .send_keys(porta::demo::DEMO_EMAIL)
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(porta::demo::DEMO_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Consent.
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .unwrap();
    let source = c.source().await.unwrap();
    assert!(source.contains("Allow Porta demo app?"), "{source}");
    c.find(Locator::Css("button[value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Back in the app with a verified id token and userinfo.
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText("Sign out"))
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/demo/callback");
    let source = c.source().await.unwrap();
    assert!(source.contains("Verified id token claims"), "{source}");
    assert!(source.contains(porta::demo::DEMO_EMAIL));
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(
            concat!(env!("CARGO_TARGET_TMPDIR"), "/demo-signed-in.png"),
            png,
        );
    }

    // Sign out: the id_token_hint names the signed-in person, so no question is asked.
    c.find(Locator::LinkText("Sign out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText("Sign in with Porta"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/demo");
    c.goto(&app.url("/")).await.unwrap();
    assert!(c.source().await.unwrap().contains("You are not signed in."));
    c.close().await.unwrap();
}

async fn wait_for(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

/// Waits (bounded) until the page contains `text`.
async fn wait_text(c: &fantoccini::Client, text: &str) {
    eventually(
        Duration::from_secs(10),
        &format!("the page shows {text:?}"),
        async || {
            c.source()
                .await
                .is_ok_and(|s| s.contains(text))
                .then_some(())
        },
    )
    .await
}

async fn fill(c: &fantoccini::Client, css: &str, text: &str) {
    wait_for(c, css).await.send_keys(text).await.unwrap();
}

async fn click(c: &fantoccini::Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

/// Register → confirm the email → turn on TOTP → sign out → sign in to an app with the
/// password and TOTP through the authorization-code flow → sign out everywhere.
#[tokio::test]
async fn a_person_registers_adds_totp_and_signs_in_with_two_factors_in_chromium() {
    use crate::common::smtp::{code_in, SmtpSink};
    use totp_rs::{Algorithm, Secret, TOTP};

    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = TestApp::spawn_demo_with(move |s| {
        s.mail.smtp_host = Some("127.0.0.1".into());
        s.mail.smtp_port = port;
        s.mail.smtp_tls = "none".into();
    })
    .await;
    let driver = start_chromedriver();
    let c = browser(&driver).await;
    let email = "rae@example.com";
    let password = "a quiet lake at dawn";

    // Register and confirm the address with the emailed code.
    c.goto(&app.url("/register")).await.unwrap();
    fill(&c, "#identifier", email).await;
    fill(&c, "#password", password).await;
    click(&c, "button[type=submit]").await;
    wait_text(&c, "Confirm your email address").await;
    let code = code_in(&sink.message(0).await);
    fill(&c, "#code", &code).await;
    click(&c, "button[type=submit]").await;
    wait_for(&c, "form[action='/account/totp/setup'] button").await;

    // Turn on TOTP with the key shown next to the QR code.
    click(&c, "form[action='/account/totp/setup'] button").await;
    let secret = wait_for(&c, "#secret").await.text().await.unwrap();
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret).to_bytes().unwrap(),
        None,
        String::new(),
    )
    .unwrap();
    let step = porta::time::now() / 30;
    fill(&c, "#code", &totp.generate((step * 30) as u64)).await;
    click(&c, "button[type=submit]").await;
    wait_text(&c, "Your recovery codes").await;
    assert_eq!(
        c.find_all(Locator::Css(".codes li")).await.unwrap().len(),
        10,
        "recovery codes shown once"
    );
    click(&c, "a.button").await;

    // Sign out.
    click(&c, "form[action='/logout'] button").await;
    wait_text(&c, "You are signed out").await;

    // Sign in to the demo app: password, then TOTP, then consent.
    c.goto(&app.url("/demo")).await.unwrap();
    c.find(Locator::LinkText("Sign in with Porta"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&c, "#identifier", email).await;
    click(&c, "form[action='/login'] button[type=submit]").await;
    fill(&c, "#password", password).await;
    click(&c, "form[action='/login'] button[type=submit]").await;
    wait_text(&c, "Two-step verification").await;
    fill(&c, "#code", &totp.generate(((step + 1) * 30) as u64)).await;
    click(&c, "button[type=submit]").await;
    click(&c, "button[value=allow]").await;
    wait_text(&c, "Verified id token claims").await;
    let source = c.source().await.unwrap();
    assert!(source.contains("Verified id token claims"), "{source}");
    assert!(
        source.contains("&#34;mfa&#34;") || source.contains("\"mfa\""),
        "amr shows two factors: {source}"
    );

    // Sign out everywhere from the account page.
    c.goto(&app.url("/account")).await.unwrap();
    click(&c, "form[action='/account/sign-out-everywhere'] button").await;
    wait_text(&c, "You are not signed in.").await;
    c.goto(&app.url("/")).await.unwrap();
    assert!(c.source().await.unwrap().contains("You are not signed in."));
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/signed-out.png"), png);
    }
    c.close().await.unwrap();
}

/// In Portuguese, phone first: register by mobile number → confirm by SMS → add TOTP →
/// sign out → sign in to an app with the number, the password and a code by SMS → download
/// my data → delete the account.
#[tokio::test]
async fn a_person_does_everything_in_portuguese_with_a_mobile_number_in_chromium() {
    use crate::common::sms::SmsSink;
    use totp_rs::{Algorithm, Secret, TOTP};

    let sink = SmsSink::start(201).await;
    let url = sink.url.clone();
    let app = TestApp::spawn_demo_with(move |s| {
        s.sms.sms_provider = "http".into();
        s.sms.sms_http_url = Some(url);
        s.sms.sms_from = "+15005550006".into();
        s.accounts.default_phone_region = Some("PT".into());
    })
    .await;
    let driver = start_chromedriver();
    let c = browser(&driver).await;
    let number = "+351912345678";
    let password = "um lago calmo ao amanhecer";

    // The language switch, then registration by a national number.
    c.goto(&app.url("/register")).await.unwrap();
    click(&c, "nav.languages a[hreflang='pt-PT']").await;
    wait_text(&c, "Criar uma conta").await;
    assert!(c.source().await.unwrap().contains("<html lang=\"pt-PT\">"));
    fill(&c, "#identifier", "912 345 678").await;
    fill(&c, "#password", password).await;
    click(&c, "form[action='/register'] button[type=submit]").await;
    wait_text(&c, "Confirme o seu número de telemóvel").await;
    let sms = sink.message(0).await;
    assert_eq!(sms.field("To"), number);
    assert!(
        sms.field("Body").contains("é o seu código Porta"),
        "{sms:?}"
    );
    fill(&c, "#code", &sms.field("Body")[..6]).await;
    click(&c, "button[type=submit]").await;
    wait_text(&c, "A sua conta").await;

    // An authenticator app.
    click(&c, "form[action='/account/totp/setup'] button").await;
    let secret = wait_for(&c, "#secret").await.text().await.unwrap();
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret).to_bytes().unwrap(),
        None,
        String::new(),
    )
    .unwrap();
    let step = porta::time::now() / 30;
    fill(&c, "#code", &totp.generate((step * 30) as u64)).await;
    click(&c, "button[type=submit]").await;
    wait_text(&c, "Os seus códigos de recuperação").await;
    click(&c, "a.button").await;
    click(&c, "form[action='/logout'] button").await;
    wait_text(&c, "A sua sessão foi terminada").await;

    // Through the demo app: the number, the password, then a code by SMS.
    c.goto(&app.url("/demo")).await.unwrap();
    c.find(Locator::LinkText("Iniciar sessão com o Porta"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&c, "#identifier", number).await;
    click(&c, "form[action='/login'] button[type=submit]").await;
    fill(&c, "#password", password).await;
    click(&c, "form[action='/login'] button[type=submit]").await;
    wait_text(&c, "Verificação em dois passos").await;
    click(&c, "form[action='/login/second/send'] button").await;
    wait_text(&c, "Enviámos um código de 6 dígitos por SMS").await;
    assert!(c
        .source()
        .await
        .unwrap()
        .contains("SMS para um número terminado em 678"));
    // The account has no email: the new authenticator app was told by SMS, in Portuguese.
    let notice = sink.message(1).await;
    assert!(notice.field("Body").contains("foi alterada"), "{notice:?}");
    let sms = sink.message(2).await;
    fill(&c, "#code", &sms.field("Body")[..6]).await;
    click(&c, "form[action='/login/totp'] button[type=submit]").await;
    click(&c, "button[value=allow]").await;
    wait_text(&c, "Afirmações verificadas do id token").await;
    let source = c.source().await.unwrap();
    assert!(source.contains(number), "the phone_number claim: {source}");
    assert!(
        source.contains("&#34;mfa&#34;") || source.contains("\"mfa\""),
        "two factors: {source}"
    );

    // Download my data, as the page's form would.
    c.goto(&app.url("/account")).await.unwrap();
    wait_for(&c, "form[action='/account/export'] button").await;
    let data = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const form = document.querySelector(\"form[action='/account/export']\");
             fetch('/account/export', { method: 'POST', body: new URLSearchParams(new FormData(form)) })
               .then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(data.as_str().unwrap()).unwrap();
    assert_eq!(data["account"]["phone_number"], number, "{data}");
    assert_eq!(data["account"]["locale"], "pt-PT", "{data}");

    // Delete the account.
    click(&c, "form[action='/account/delete'] button").await;
    wait_text(&c, "Eliminar a sua conta?").await;
    click(&c, "form[action='/account/delete'] button.danger").await;
    wait_text(&c, "A sua conta está a ser eliminada").await;
    let user = porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::accounts::store::find_by_phone(conn, number)?)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(user.deletion_requested_at.is_some());
    c.close().await.unwrap();
}

/// The console in a real browser: an admin signs in with TOTP, finds a person, disables
/// them and ends their sessions (confirming each), and that person's refresh token dies.
#[tokio::test]
async fn an_admin_with_totp_disables_a_person_in_chromium() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    porta::accounts::change_role(&app.state.pool, EMAIL, "admin", true)
        .await
        .unwrap();
    let (t, _, step) = crate::totp::enrol(&app, &Browser::new()).await;
    // The person, with a live grant.
    app.user("tim@example.com", PASSWORD).await;
    let client = app
        .client(false, &["authorization_code", "refresh_token"], true)
        .await;
    let (verifier, challenge) = pkce();
    let back = Browser::new()
        .authorize(
            &app,
            &openid_query(&client.client_id, &challenge),
            "tim@example.com",
            PASSWORD,
        )
        .await;
    let (_, tokens) = app
        .redeem(&client, &param(&back, "code").unwrap(), &verifier)
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let driver = start_chromedriver();
    let c = browser(&driver).await;
    let wait = Duration::from_secs(10);
    let click = async |css: &str| {
        c.wait()
            .at_most(wait)
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    };
    let fill = async |css: &str, text: &str| {
        c.wait()
            .at_most(wait)
            .for_element(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    };
    c.goto(&app.url("/login")).await.unwrap();
    fill("#identifier", EMAIL).await;
    click("button[type=submit]").await;
    fill("#password", PASSWORD).await;
    click("form[action='/login'] button[type=submit]").await;
    // The second step: the next code (the enrolment spent this one's).
    fill("#code", &crate::totp::code_for_step(&t, step + 1)).await;
    click("button[type=submit]").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::LinkText("Administration"))
        .await
        .unwrap();
    click("a[href='/admin']").await;
    click("nav a[href='/admin/people']").await;
    let shows = async |text: &str| {
        eventually(wait, text, async || {
            c.source()
                .await
                .ok()
                .filter(|s| s.contains(text))
                .map(|_| ())
        })
        .await
    };
    fill("#q", "tim").await;
    click("form.filters button[type=submit]").await;
    shows("1 found").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::LinkText("tim@example.com"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Disable, confirmed.
    click("form[action$='/disable'] button").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("input[name=confirm]"))
        .await
        .unwrap();
    let source = c.source().await.unwrap();
    assert!(source.contains("Disable this account?"), "{source}");
    click("button.danger").await;
    shows("The account is disabled").await;
    // End every session, confirmed.
    click("form[action$='/end-sessions'] button").await;
    c.wait()
        .at_most(wait)
        .for_element(Locator::Css("input[name=confirm]"))
        .await
        .unwrap();
    click("button.danger").await;
    shows("Every session ended").await;
    c.close().await.unwrap();

    let (status, body) = app
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}
