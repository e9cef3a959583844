//! The APIs as their own process against a separate Porta process: they need nothing but
//! tokens (`porta serve --only bookings,content --issuer-url …`), and the OpenAPI document
//! describes every route they serve.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn porta(dir: &std::path::Path, database_url: &str, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porta"));
    cmd.env("PORTA_DATABASE_URL", database_url)
        .env("PORTA_DATA_DIR", dir)
        .env("PORTA_MASTER_KEY", porta::crypto::MasterKey::generate())
        .env("PORTA_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("PORTA_BIND", format!("127.0.0.1:{port}"))
        .env("PORTA_MEDIA_DIR", dir.join("media"))
        .env("PORTA_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

async fn start(mut cmd: Command, port: u16) -> Process {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let process = Process {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    eventually(
        Duration::from_secs(10),
        &format!("the process on {port} becomes ready"),
        async || match http()
            .get(format!("{}/health/ready", process.url))
            .send()
            .await
        {
            Ok(r) => (r.status() == 200).then_some(()),
            Err(_) => None,
        },
    )
    .await;
    process
}

#[tokio::test]
async fn the_apis_run_alone_against_a_remote_porta() {
    let idp_dir = tempfile::tempdir().unwrap();
    let idp_db = fresh_database(idp_dir.path());
    let idp_port = free_port();
    let mut cmd = porta(idp_dir.path(), &idp_db.url, idp_port);
    cmd.arg("serve");
    let idp = start(cmd, idp_port).await;

    // A client registered with the CLI, as an operator would.
    let out = porta(idp_dir.path(), &idp_db.url, idp_port)
        .args([
            "client",
            "create",
            "--name",
            "Booking app",
            "--grant-type",
            "client_credentials",
            "--scope",
            "bookings:read content:read",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();

    // The APIs in their own process, with their own database and no identity provider.
    let api_dir = tempfile::tempdir().unwrap();
    let api_db = fresh_database(api_dir.path());
    let api_port = free_port();
    let mut cmd = porta(api_dir.path(), &api_db.url, api_port);
    cmd.args([
        "serve",
        "--only",
        "bookings,content",
        "--issuer-url",
        &idp.url,
    ]);
    let apis = start(cmd, api_port).await;

    let token = http()
        .post(format!("{}/token", idp.url))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "bookings:read content:read"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    for path in ["/api/bookings/consultants", "/api/content/retreats"] {
        let url = format!("{}{path}", apis.url);
        let ok = http().get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(ok.status(), 200, "{path}");
        let refused = http().get(&url).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{path}");
    }
    // No identity-provider routes in the API process.
    for path in ["/.well-known/openid-configuration", "/token", "/login"] {
        let resp = http()
            .get(format!("{}{path}", apis.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    // The API process created its own tables and none of the identity provider's.
    {
        use diesel::{Connection, RunQueryDsl};
        let url = api_db.url.clone();
        let exists = |table: &str| {
            let mut conn = porta::db::DbConn::establish(&url).unwrap();
            diesel::sql_query(format!("SELECT 1 FROM {table}"))
                .execute(&mut conn)
                .is_ok()
        };
        assert!(exists("booking_appointments"));
        assert!(exists("content_tracks"));
        assert!(!exists("users"));
        assert!(!exists("signing_keys"));
    }
    // Without --issuer-url the APIs refuse to start: they would trust nobody.
    let out = porta(api_dir.path(), &api_db.url, free_port())
        .args(["serve", "--only", "bookings"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("resource_issuer"));
}

#[tokio::test]
async fn every_documented_operation_exists_and_wants_a_token() {
    let app = TestApp::spawn().await;
    let doc: Value = http()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().any(|p| p.starts_with("/api/bookings/")));
    assert!(paths.keys().any(|p| p.starts_with("/api/content/")));
    let mut checked = 0;
    for (path, ops) in paths {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ops.as_object().unwrap().keys() {
            let method = match method.as_str() {
                "get" => reqwest::Method::GET,
                "post" => reqwest::Method::POST,
                "put" => reqwest::Method::PUT,
                "patch" => reqwest::Method::PATCH,
                "delete" => reqwest::Method::DELETE,
                _ => continue,
            };
            let resp = http()
                .request(method.clone(), app.url(&concrete))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(
                status != 404 && status != 405,
                "{method} {path} is documented but not served ({status} {body})"
            );
            let public = ops[method.as_str().to_lowercase()]["security"] == serde_json::json!([]);
            if !public {
                assert_eq!(
                    status, 401,
                    "{method} {path} answers without a token: {body}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations documented");
}
