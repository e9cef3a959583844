//! Pages in the person's language: English and Portuguese (pt-PT), chosen by the language
//! switch, then `ui_locales`, then the language saved on the account, then the browser's
//! `Accept-Language`; protocol JSON stays English (RFC 6749 wants it ASCII).

use crate::common::*;

/// A browser whose every request says `Accept-Language: accept`.
fn browser_in(accept: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_str(accept).unwrap(),
    );
    Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap(),
    }
}

async fn page(browser: &Browser, url: &str) -> (u16, String) {
    let resp = browser.get(url).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn is_portuguese(page: &str) -> bool {
    page.contains("<html lang=\"pt-PT\">")
}

fn is_english(page: &str) -> bool {
    page.contains("<html lang=\"en\">")
}

#[tokio::test]
async fn discovery_lists_the_languages() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = http()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["ui_locales_supported"],
        serde_json::json!(["en", "pt-PT"])
    );
}

#[tokio::test]
async fn the_browser_language_chooses_when_nothing_else_does() {
    let app = TestApp::spawn().await;
    let (status, pt) = page(&browser_in("pt-PT,pt;q=0.9,en;q=0.5"), &app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(is_portuguese(&pt), "{pt}");
    assert!(pt.contains("Iniciar sessão") && pt.contains("Email ou número de telemóvel"));
    assert!(!pt.contains("Email or mobile number"));
    // A Brazilian browser gets the Portuguese we have; a German one, English.
    let (_, br) = page(&browser_in("pt-BR"), &app.url("/login")).await;
    assert!(is_portuguese(&br));
    let (_, de) = page(&browser_in("de-DE,de;q=0.9"), &app.url("/login")).await;
    assert!(is_english(&de) && de.contains(">Sign in<"), "{de}");
    // q=0 means "not this one".
    let (_, no) = page(&browser_in("pt;q=0, en;q=0.1"), &app.url("/login")).await;
    assert!(is_english(&no));
    // Garbage in the header is ignored, never an error.
    let (status, junk) = page(&browser_in(";;;q=x,,**,-;q=-1"), &app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(is_english(&junk));
}

#[tokio::test]
async fn ui_locales_beats_the_browser() {
    let app = TestApp::spawn().await;
    let client = app.client(true, &["authorization_code"], false).await;
    let (_, challenge) = pkce();
    let browser = browser_in("en");
    let mut query = openid_query(&client.client_id, &challenge);
    query.push(("ui_locales", "de pt"));
    let resp = browser.get(&authorize_url(&app, &query)).await;
    let login = location(&resp);
    assert!(login.starts_with("/login?request="), "{login}");
    let (_, pt) = page(&browser, &app.url(&login)).await;
    assert!(is_portuguese(&pt), "{pt}");
    assert!(pt.contains("para continuar para"));
    // The same browser without ui_locales: its own English.
    let resp = browser
        .get(&authorize_url(
            &app,
            &openid_query(&client.client_id, &challenge),
        ))
        .await;
    let (_, en) = page(&browser, &app.url(&location(&resp))).await;
    assert!(is_english(&en));
}

#[tokio::test]
async fn the_switch_wins_and_only_goes_back_to_this_site() {
    let app = TestApp::spawn().await;
    let client = app.client(true, &["authorization_code"], false).await;
    let (_, challenge) = pkce();
    let browser = browser_in("en");
    let (_, en) = page(&browser, &app.url("/login")).await;
    // Every page carries the switch, pointing back at itself.
    assert!(
        en.contains("href=\"/language?to=pt-PT&amp;back=%2Flogin\""),
        "{en}"
    );
    let resp = browser
        .get(&app.url("/language?to=pt-PT&back=%2Flogin"))
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/login");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("porta_lang=pt-PT"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let (_, pt) = page(&browser, &app.url("/login")).await;
    assert!(is_portuguese(&pt));
    // The person's choice beats what the app asked for.
    let mut query = openid_query(&client.client_id, &challenge);
    query.push(("ui_locales", "en"));
    let resp = browser.get(&authorize_url(&app, &query)).await;
    let (_, still) = page(&browser, &app.url(&location(&resp))).await;
    assert!(is_portuguese(&still));
    // Never an open redirect; an unknown language changes nothing.
    for back in [
        "//evil.example/",
        "https://evil.example/",
        "/%5Cevil.example",
        "%2F%0Aevil",
    ] {
        let resp = browser
            .get(&app.url(&format!("/language?to=en&back={back}")))
            .await;
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/", "{back}");
    }
    let resp = browser.get(&app.url("/language?to=xx&back=/login")).await;
    assert!(resp.headers().get("set-cookie").is_none());
    let (_, back_to_english) = page(&browser, &app.url("/login")).await;
    assert!(is_english(&back_to_english), "to=en above switched back");
}

#[tokio::test]
async fn the_saved_language_and_time_zone_follow_the_person() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL, PASSWORD).await;
    let id = user.id.clone();
    porta::db::run(&app.state.pool, move |conn| {
        Ok(porta::accounts::store::update(
            conn,
            &id,
            &porta::accounts::store::Changes {
                locale: Some(Some("pt-PT".into())),
                zoneinfo: Some(Some("America/Sao_Paulo".into())),
                ..Default::default()
            },
        )?)
    })
    .await
    .unwrap();
    let browser = browser_in("en");
    let resp = browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
    let (_, account) = page(&browser, &app.url("/account")).await;
    assert!(is_portuguese(&account), "{account}");
    // Sessions are listed in the person's zone (São Paulo is UTC-3 all year).
    assert!(account.contains(" -03"), "{account}");
    assert!(!account.contains(" UTC ·"), "{account}");
}

#[tokio::test]
async fn error_pages_speak_the_language_and_protocol_json_stays_english() {
    let app = TestApp::spawn().await;
    let browser = browser_in("pt-PT");
    let (status, body) = page(&browser, &app.url("/consent?request=%00")).await;
    assert_eq!(status, 400);
    assert!(is_portuguese(&body));
    assert!(body.contains("carácter NUL"), "{body}");
    let (status, body) = page(&browser, &app.url("/nowhere")).await;
    assert_eq!(status, 404);
    assert!(
        body.contains("Não existe nenhuma página neste endereço."),
        "{body}"
    );
    let resp = browser
        .post(&app.url("/token"), &[("client_id", "a\0b")])
        .await;
    assert_eq!(resp.status(), 400);
    let json: serde_json::Value = resp.json().await.unwrap();
    let description = json["error_description"].as_str().unwrap();
    assert!(description.is_ascii(), "{description}");
    assert!(description.contains("NUL character"), "{description}");
}

#[tokio::test]
async fn a_person_saves_a_language_and_time_zone_on_the_account_page() {
    let app = TestApp::spawn().await;
    app.user(EMAIL, PASSWORD).await;
    let browser = browser_in("en");
    browser
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    // A zone that does not exist is refused, nothing saved.
    let resp = browser
        .fill(
            &app,
            "/account",
            "/account/preferences",
            &[("locale", "pt-PT"), ("zoneinfo", "Mars/Olympus")],
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("not a time zone we know"));
    let resp = browser
        .fill(
            &app,
            "/account",
            "/account/preferences",
            &[("locale", "pt"), ("zoneinfo", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("porta_lang=pt-PT"), "{cookie}");
    let saved = resp.text().await.unwrap();
    assert!(is_portuguese(&saved));
    assert!(
        saved.contains("Idioma e fuso horário guardados."),
        "{saved}"
    );
    assert!(saved.contains(" JST"), "times in Tokyo time: {saved}");
    // Stored as the tag Porta speaks, and it is what a new browser gets after signing in.
    let user = porta::db::run(&app.state.pool, |conn| {
        Ok(porta::accounts::store::find_by_email(conn, EMAIL)?)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(user.locale.as_deref(), Some("pt-PT"));
    assert_eq!(user.zoneinfo.as_deref(), Some("Asia/Tokyo"));
    let other = browser_in("en-US");
    other
        .submit_login(&app, &app.url("/login"), EMAIL, PASSWORD)
        .await;
    let (_, theirs) = page(&other, &app.url("/account")).await;
    assert!(is_portuguese(&theirs));
    // "As my browser asks" clears the saved language and this browser's choice.
    let resp = browser
        .fill(
            &app,
            "/account",
            "/account/preferences",
            &[("locale", ""), ("zoneinfo", "")],
        )
        .await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("porta_lang=;") || cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let (_, cleared) = page(&browser, &app.url("/account")).await;
    assert!(is_english(&cleared), "{cleared}");
}

#[tokio::test]
async fn a_code_asked_for_on_a_portuguese_page_arrives_in_portuguese() {
    let sink = crate::common::smtp::SmtpSink::start().await;
    let port = sink.port;
    let app = TestApp::spawn_with(move |s| {
        s.mail.smtp_host = Some("127.0.0.1".into());
        s.mail.smtp_port = port;
        s.mail.smtp_tls = "none".into();
    })
    .await;
    app.user(EMAIL, PASSWORD).await;
    let browser = browser_in("pt-PT");
    let resp = browser
        .fill(&app, "/login", "/login/code", &[("email", EMAIL)])
        .await;
    assert_eq!(resp.status(), 303);
    let code_page = browser
        .get(&app.url(&location(&resp)))
        .await
        .text()
        .await
        .unwrap();
    assert!(code_page.contains("Introduza o seu código"), "{code_page}");
    let mail = sink
        .message(0)
        .await
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(mail.contains("Use-o para iniciar sess"), "{mail}");
    assert!(!mail.contains("Use it to"), "{mail}");
}
