//! Two real `porta serve` processes on one database behave as one provider: a session
//! made on node A counts on node B, a code from B is redeemed at A, tokens refresh and
//! introspect across nodes, and a rotation survives a node killed in the middle of it.
//! Runs on PostgreSQL when PORTA_TEST_POSTGRES_URL is set, else both nodes share one
//! SQLite file.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    database: TestDb,
    dir: tempfile::TempDir,
    master_key: String,
    issuer_port: u16,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let database = fresh_database(dir.path());
        let issuer_port = free_port();
        Cluster {
            database,
            dir,
            master_key: porta::crypto::MasterKey::generate(),
            issuer_port,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_porta"));
        cmd.args(args)
            .env("PORTA_DATABASE_URL", &self.database.url)
            .env("PORTA_DATA_DIR", self.dir.path())
            .env("PORTA_MASTER_KEY", &self.master_key)
            // Every node has the issuer of the load balancer in front of them.
            .env(
                "PORTA_ISSUER",
                format!("http://127.0.0.1:{}", self.issuer_port),
            )
            .env("PORTA_KEY_ROTATION_PERIOD", "4")
            .env("PORTA_KEY_PREPUBLISH", "2")
            .env("PORTA_JWKS_MAX_AGE", "1")
            .env("PORTA_KEY_CHECK_INTERVAL", "1")
            .env("PORTA_LOG", "warn");
        cmd
    }

    fn cli(&self, args: &[&str]) -> Value {
        let out = self.command(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    async fn node(&self, port: u16) -> Node {
        let child = self
            .command(&["serve"])
            .env("PORTA_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned by `Node` at once, so its Drop kills and waits for it on every path.
        let node = Node {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        eventually(
            Duration::from_secs(10),
            &format!("the node on {port} becomes ready"),
            async || ready(&node.url).await.then_some(()),
        )
        .await;
        node
    }
}

async fn ready(url: &str) -> bool {
    match http().get(format!("{url}/health/ready")).send().await {
        Ok(r) => r.status() == 200,
        Err(_) => false,
    }
}

async fn token(node: &Node, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/token", node.url))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn two_nodes_act_as_one_provider_and_survive_a_death_during_rotation() {
    let cluster = Cluster::new();
    let migrated = cluster
        .command(&["migrate"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let client = cluster.cli(&[
        "client",
        "create",
        "--name",
        "App",
        "--redirect-uri",
        REDIRECT,
        "--skip-consent",
        "--grant-type",
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]);
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_string(),
        client["client_secret"].as_str().unwrap().to_string(),
    );
    let mut user = cluster
        .command(&["user", "create", "--email", EMAIL, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    user.stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(user.wait().unwrap().success());

    let a = cluster.node(free_port()).await;
    let b = cluster.node(free_port()).await;

    // Sign in on A.
    let browser = Browser::new();
    let (_, challenge) = pkce();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(openid_query(&id, &challenge))
        .finish();
    let login = location(&browser.get(&format!("{}/authorize?{q}", a.url)).await);
    assert!(login.starts_with("/login"));
    let resp = browser
        .submit_login_at(&a.url, &login, EMAIL, PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);

    // B knows the session: prompt=none gives a code at once.
    let (verifier, challenge) = pkce();
    let mut query = openid_query(&id, &challenge);
    query.push(("prompt", "none"));
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let back = location(&browser.get(&format!("{}/authorize?{q}", b.url)).await);
    let code = param(&back, "code").unwrap_or_else(|| panic!("B did not see A's session: {back}"));

    // The code from B is redeemed at A; the tokens refresh at B and introspect at A.
    let (status, tokens) = token(
        &a,
        &id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, refreshed) = token(
        &b,
        &id,
        &secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let introspection: Value = http()
        .post(format!("{}/introspect", a.url))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", refreshed["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true);

    // Rotations run every 4 s on both nodes. Kill A while they run; B carries on alone.
    let_time_pass(
        Duration::from_millis(4500),
        "rotations (every 4 s) are under way on both nodes",
    )
    .await;
    let mut a = a;
    let _ = a.child.kill();
    let _ = a.child.wait();

    // Within a couple of schedule periods B signs with the key the database says is active,
    // and there is exactly one active key.
    let mut kids_seen = std::collections::HashSet::new();
    // Each round runs the CLI: twice a second is enough.
    eventually_every(
        Duration::from_secs(15),
        Duration::from_millis(500),
        "B keeps rotating after A died (three kids seen, the newest one active)",
        async || {
            let keys = cluster.cli(&["keys", "list"]);
            let active: Vec<&Value> = keys
                .as_array()
                .unwrap()
                .iter()
                .filter(|k| k["state"] == "active")
                .collect();
            assert_eq!(active.len(), 1, "exactly one active key: {keys}");
            let (status, body) =
                token(&b, &id, &secret, &[("grant_type", "client_credentials")]).await;
            assert_eq!(status, 200);
            let kid = header(body["access_token"].as_str().unwrap())["kid"]
                .as_str()
                .unwrap()
                .to_string();
            kids_seen.insert(kid.clone());
            (kids_seen.len() >= 3 && kid == active[0]["kid"]).then_some(())
        },
    )
    .await;
}
