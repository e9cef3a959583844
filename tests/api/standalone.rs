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

/// The consultant flow across two processes: the bookings module, on its own, approves
/// and rejects applicants, and Porta's accounts follow through the admin API called with
/// the module's own service account.
#[tokio::test]
async fn approving_a_consultant_gives_the_role_and_status_through_the_admin_api() {
    use reqwest::Method;
    use serde_json::json;
    let app =
        TestApp::spawn_with(|s| s.attributes.attributes = crate::admin::booking_attributes()).await;
    let service = app.bookings_service_account().await;
    let booking_app = app.api_client().await;
    let applicant = app
        .person_token(&booking_app, "cora@example.com", &[])
        .await;
    let other = app
        .person_token(&booking_app, "otto@example.com", &[])
        .await;
    let third = app.person_token(&booking_app, "pia@example.com", &[]).await;
    let admin = app
        .person_token(&booking_app, "ada@example.com", &["admin"])
        .await;

    let api_dir = tempfile::tempdir().unwrap();
    let api_db = fresh_database(api_dir.path());
    let api_port = free_port();
    let mut cmd = porta(api_dir.path(), &api_db.url, api_port);
    cmd.env("PORTA_BOOKINGS_CLIENT_ID", &service.client_id)
        .env(
            "PORTA_BOOKINGS_CLIENT_SECRET",
            service.client_secret.as_deref().unwrap(),
        )
        .args(["serve", "--only", "bookings", "--issuer-url", &app.issuer]);
    let apis = start(cmd, api_port).await;
    let bookings = |method: Method, path: &str, token: &str, body: Value| {
        http()
            .request(method, format!("{}/api/bookings{path}", apis.url))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let profile = json!({"name": "Cora", "bio": "Tax adviser", "specialities": ["Tax law"], "languages": ["pt"], "price": 5000, "currency": "EUR", "time_zone": "Europe/Lisbon"});

    // Anyone may apply; the consultant's tools wait for approval.
    let mut ids = Vec::new();
    for token in [&applicant, &other, &third] {
        let resp = bookings(Method::PUT, "/consultants/me", token, profile.clone())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let resp = bookings(
        Method::GET,
        "/consultants/me/services",
        &applicant,
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);

    let resp = bookings(
        Method::POST,
        &format!("/admin/consultants/{}/approve", ids[0]),
        &admin,
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = bookings(
        Method::POST,
        &format!("/admin/consultants/{}/reject", ids[1]),
        &admin,
        json!({"reason": "Incomplete documents"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // Porta's accounts followed, as the module's service account.
    let reader = porta::clients::create(
        &app.state.pool,
        porta::clients::NewClient {
            name: "Reader".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["admin:users:read admin:audit".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let read = app
        .client_token(&reader, "admin:users:read admin:audit")
        .await;
    let user = |email: &'static str| {
        let read = read.clone();
        let url = app.url(&format!("/admin/api/users/{email}"));
        async move {
            http()
                .get(url)
                .bearer_auth(read)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let cora = user("cora@example.com").await;
    assert_eq!(cora["roles"], json!(["consultant", "user"]));
    assert_eq!(cora["attributes"]["profile_status"], "approved");
    let otto = user("otto@example.com").await;
    assert_eq!(otto["roles"], json!(["user"]));
    assert_eq!(otto["attributes"]["profile_status"], "rejected");
    let audit: Value = http()
        .get(app.url("/admin/api/audit?kind=admin.user_updated&user=cora@example.com"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let details: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        details
            .iter()
            .all(|d| d.starts_with(&format!("actor=service:{}", service.client_id)))
            && details.len() == 2,
        "{details:?}"
    );

    // The approved consultant's next token carries the role: the tools open.
    let again = app
        .person_token(&booking_app, "cora@example.com", &[])
        .await;
    let resp = bookings(Method::GET, "/consultants/me/services", &again, Value::Null)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Porta out of reach: the approval is refused (503), and nothing changes here either.
    drop(app.stop());
    let resp = bookings(
        Method::POST,
        &format!("/admin/consultants/{}/approve", ids[2]),
        &admin,
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 503, "{}", resp.text().await.unwrap());
    let resp = bookings(
        Method::GET,
        "/admin/consultants?status=pending",
        &admin,
        Value::Null,
    )
    .await
    .unwrap();
    let pending: Value = resp.json().await.unwrap();
    assert_eq!(pending["items"][0]["id"], ids[2].as_str(), "{pending}");
}
