//! A real headless Chromium (Debian's `chromium` + `chromium-driver`) goes through the
//! hosted pages the way a person does: the demo app → sign in → consent → the app shows
//! the verified id token → sign out back to the app.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
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
    for _ in 0..50 {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(c) => return c,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("chromedriver did not answer");
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

    // Porta's sign-in page.
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#password"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(porta::demo::DEMO_EMAIL)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(porta::demo::DEMO_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
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
