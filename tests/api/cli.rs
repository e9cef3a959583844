//! The `porta` binary as operators script it: JSON out, one-line errors, non-zero exits.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Cli {
    database: crate::common::TestDb,
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let database = crate::common::fresh_database(dir.path());
        Cli { database, dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_porta"));
        cmd.args(args)
            .env("PORTA_DATABASE_URL", &self.database.url)
            .env("PORTA_DATA_DIR", self.dir.path())
            .env("PORTA_MASTER_KEY", "ab".repeat(32))
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

#[test]
fn client_create_prints_credentials_once_and_list_never_shows_secrets() {
    let cli = Cli::new();
    let out = cli.run(&[
        "client",
        "create",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example.com/cb",
        "https://shop.example.com/cb2",
        "--post-logout-redirect-uri",
        "https://shop.example.com/",
        "--scope",
        "openid email",
        "--skip-consent",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(created["client_id"].as_str().unwrap().len() >= 16);
    assert!(created["client_secret"].as_str().unwrap().len() >= 40);
    assert_eq!(created["redirect_uris"].as_array().unwrap().len(), 2);
    assert_eq!(created["scope"], "openid email");

    let out = cli.run(&[
        "client",
        "create",
        "--name",
        "Spa",
        "--redirect-uri",
        "http://localhost:3000/cb",
        "--public",
    ]);
    let public: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["token_endpoint_auth_method"], "none");

    let out = cli.run(&["client", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(created["client_secret"].as_str().unwrap()));
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn bad_input_is_one_line_and_a_non_zero_exit() {
    let cli = Cli::new();
    for args in [
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "not a url",
        ],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "https://a.example/cb",
            "--grant-type",
            "password",
        ],
        vec![
            "client",
            "create",
            "--name",
            "X",
            "--public",
            "--grant-type",
            "client_credentials",
        ],
        vec!["user", "create", "--email", "not-an-email"],
    ] {
        let out = cli.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let out = cli
        .command(&["serve"])
        .env("PORTA_ISSUER", "ftp://x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTA_ISSUER"));
    let out = cli
        .command(&["serve"])
        .env("PORTA_MASTER_KEY", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTA_MASTER_KEY"));
    let out = cli
        .command(&["migrate"])
        .env("PORTA_CODE_TTL", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("code_ttl"));
}

#[test]
fn user_create_reads_the_password_from_stdin_and_refuses_duplicates() {
    let cli = Cli::new();
    let mut child = cli
        .command(&[
            "user",
            "create",
            "--email",
            "Ann@Example.com",
            "--password-stdin",
            "--name",
            "Ann",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["email"], "ann@example.com");
    let out = cli.run(&["user", "create", "--email", "ann@example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn migrate_and_keys_list() {
    let cli = Cli::new();
    let out = cli.run(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli.run(&["keys", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys[0]["state"], "active");
    assert!(keys[0]["kid"].is_string());
    // The private key is stored sealed, never as PEM.
    let out = cli.run(&["keys", "list"]);
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again[0]["kid"], keys[0]["kid"], "the key persists");
}

#[test]
fn keys_rotate_publishes_next_promotes_now_and_revokes() {
    let cli = Cli::new();
    let keys = |out: Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let state_of = |list: &Value, state: &str| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["state"] == state)
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let first = keys(cli.run(&["keys", "list"]));
    let active = state_of(&first, "active");
    assert_eq!(active.len(), 1);

    let list = keys(cli.run(&["keys", "rotate"]));
    let next = state_of(&list, "next");
    assert_eq!(next.len(), 1, "{list}");
    assert_eq!(
        state_of(&keys(cli.run(&["keys", "rotate"])), "next"),
        next,
        "one next key at a time"
    );

    let list = keys(cli.run(&["keys", "rotate", "--now"]));
    assert_eq!(state_of(&list, "retired"), active);
    let new_active = state_of(&list, "active");
    assert_ne!(new_active, active);

    let list = keys(cli.run(&["keys", "rotate", "--revoke", &active[0]]));
    assert!(!list.to_string().contains(&active[0]));
    // A key id may begin with `-` (base64url): still a value, not an option.
    let out = cli.run(&["keys", "rotate", "--revoke", "-Gno-such-kid"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: no signing key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli.run(&["keys", "rotate", "--revoke", "no-such-kid"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: no signing key"));
}

#[test]
fn rewrap_moves_every_key_to_the_new_master_key() {
    let cli = Cli::new();
    assert!(cli.run(&["keys", "list"]).status.success());
    let new_key = "cd".repeat(32);
    let out = cli.run(&["keys", "rewrap", "--new-master-key", &new_key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The old key no longer opens the private keys; the new one does.
    let out = cli.run(&["keys", "rotate", "--now"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be decrypted"));
    let out = cli
        .command(&["keys", "rotate", "--now"])
        .env("PORTA_MASTER_KEY", &new_key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The database URL as an operator writes it (for PostgreSQL: libpq's defaults, TLS
/// preferred), not the test suite's plain-TCP one.
fn operator_database_url(database: &crate::common::TestDb) -> String {
    let url = database.url.clone();
    match url.split_once('?') {
        Some((base, _)) if url.starts_with("postgres") => base.to_string(),
        _ => url,
    }
}

#[test]
fn one_shot_commands_exit_cleanly_every_time() {
    // libpq's TLS teardown at exit used to crash the process now and then (a non-zero exit
    // after a successful command); scripts depend on the exit code.
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::fresh_database(dir.path());
    let url = operator_database_url(&database);
    for _ in 0..15 {
        let out = Command::new(env!("CARGO_BIN_EXE_porta"))
            .args(["keys", "list"])
            .env("PORTA_DATABASE_URL", &url)
            .env("PORTA_DATA_DIR", dir.path())
            .env("PORTA_MASTER_KEY", "ab".repeat(32))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(keys[0]["state"], "active");
    }
}

#[test]
fn user_role_add_and_remove_print_the_roles() {
    let cli = Cli::new();
    let out = cli.run(&["user", "create", "--email", "cora@example.com"]);
    assert!(out.status.success());
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();

    let out = cli.run(&["user", "role", "add", "cora@example.com", "consultant"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let roles: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(roles["roles"], serde_json::json!(["consultant", "user"]));

    // By id works too; adding twice is harmless.
    let id = user["id"].as_str().unwrap();
    let out = cli.run(&["user", "role", "add", id, "consultant"]);
    assert!(out.status.success());
    let out = cli.run(&["user", "role", "remove", "Cora@Example.com", "user"]);
    let roles: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(roles["roles"], serde_json::json!(["consultant"]));

    for (args, says) in [
        (
            vec!["user", "role", "add", "nobody@example.com", "admin"],
            "no account",
        ),
        (
            vec!["user", "role", "add", "cora@example.com", "Not A Role"],
            "a role is",
        ),
    ] {
        let out = cli.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn demo_remove_deletes_the_seeded_person_and_client() {
    let cli = Cli::new();
    assert!(cli.run(&["migrate"]).status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = porta::db::connect(&cli.database.url, 1, std::time::Duration::from_secs(5)).unwrap();
    rt.block_on(porta::demo::seed(&pool, "http://127.0.0.1:8080"))
        .unwrap();
    assert!(rt.block_on(porta::demo::present(&pool)).unwrap());
    let out = cli.run(&["demo", "remove"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "removed the demo: 1 account, 1 client"
    );
    assert!(!rt.block_on(porta::demo::present(&pool)).unwrap());
    let again = cli.run(&["demo", "remove"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "removed the demo: 0 account, 0 client"
    );
}

/// Runs `porta serve` with `env`, asks it for `/jwks`, stops it and returns its stderr.
fn serve_and_log(cli: &Cli, env: &[(&str, &str)]) -> String {
    use std::io::Read;
    let port = free_port();
    let mut cmd = cli.command(&["serve"]);
    cmd.env("PORTA_BIND", format!("127.0.0.1:{port}"))
        .env("PORTA_ISSUER", format!("http://127.0.0.1:{port}"))
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let get = |path: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let started = std::time::Instant::now();
    while get("/health/ready").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "serve started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let answer = get("/jwks?secret=do-not-log").unwrap();
    assert!(answer.to_ascii_lowercase().contains("x-request-id:"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    child.kill().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    err
}

#[test]
fn logs_are_plain_off_a_terminal_and_json_when_asked_with_request_ids() {
    let cli = Cli::new();
    let text = serve_and_log(&cli, &[]);
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI escapes into a pipe: {text}"
    );
    assert!(text.contains("/jwks"), "{text}");
    assert!(
        !text.contains("do-not-log"),
        "query strings are never logged"
    );

    let json = serve_and_log(&cli, &[("PORTA_LOG_FORMAT", "json")]);
    let line = json
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["target"] == "porta::http" && v["fields"]["path"] == "/jwks")
        .unwrap_or_else(|| panic!("a JSON request line: {json}"));
    assert_eq!(line["fields"]["status"], 200);
    assert_eq!(line["span"]["id"].as_str().unwrap().len(), 12);
    assert!(!json.contains('\u{1b}'));
}

/// A port nothing listens on just now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `porta serve` on a free port; returns the child and its base URL once ready.
async fn start_serving(cli: &Cli) -> (std::process::Child, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = cli
        .command(&["serve"])
        .env("PORTA_BIND", format!("127.0.0.1:{port}"))
        .env("PORTA_ISSUER", &base)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = crate::common::eventually(
        std::time::Duration::from_secs(30),
        "porta serve to be ready",
        async || {
            let r = crate::common::http()
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .ok()?;
            (r.status() == 200).then_some(())
        },
    );
    ready.await;
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_sign_ins_leaves_sqlite_intact_and_sessions_alive() {
    if std::env::var("PORTA_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return; // the embedded database's crash safety; PostgreSQL has its own.
    }
    let cli = Cli::new();
    let mut child = cli
        .command(&[
            "user",
            "create",
            "--email",
            "kill@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(child.wait().unwrap().success());

    let (mut server, base) = start_serving(&cli).await;
    let kept = crate::common::Browser::new();
    let resp = kept
        .submit_login_at(
            &base,
            "/login",
            "kill@example.com",
            "a long enough password",
        )
        .await;
    assert_eq!(resp.status(), 303);
    // Sign-ins (each writes a session, counters, an audit event) in flight when the
    // process is killed with SIGKILL.
    let mut load = Vec::new();
    for _ in 0..8 {
        let base = base.clone();
        load.push(tokio::spawn(async move {
            for _ in 0..50 {
                let b = crate::common::Browser::new();
                let page = match b.http.get(format!("{base}/login")).send().await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(_) => return,
                };
                let form = crate::common::Form::parse(&page, "/login").with(&[
                    ("email", "kill@example.com"),
                    ("password", "a long enough password"),
                ]);
                if b.http
                    .post(format!("{base}/login"))
                    .form(&form.pairs())
                    .send()
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    let _ = server.wait();
    for t in load {
        let _ = t.await;
    }

    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = diesel::sqlite::SqliteConnection::establish(&cli.database.url).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].integrity_check, "ok");
    drop(conn);

    let (mut server, base) = start_serving(&cli).await;
    let account = kept
        .http
        .get(format!("{base}/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        account.status(),
        200,
        "the session from before the kill still works"
    );
    assert!(account.text().await.unwrap().contains("kill@example.com"));
    server.kill().unwrap();
    let _ = server.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_and_restore_with_checks() {
    if std::env::var("PORTA_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        // PostgreSQL is backed up with its own tools; the command says so.
        let cli = Cli::new();
        let out = cli.run(&["backup", "--to", "/tmp/never-written.db"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
        return;
    }
    let cli = Cli::new();
    let mut child = cli
        .command(&[
            "user",
            "create",
            "--email",
            "kept@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (mut server, _base) = start_serving(&cli).await;
    let backup = cli.dir.path().join("backup.db");
    let backup_arg = backup.to_str().unwrap();
    let out = cli.run(&["backup", "--to", backup_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("master key"));
    let again = cli.run(&["backup", "--to", backup_arg]);
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    // Restoring over the database of a running Porta is refused.
    let busy = cli.run(&["restore", "--from", backup_arg]);
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("stop Porta first"));
    server.kill().unwrap();
    let _ = server.wait();

    // A fresh place with the same master key: the backup goes in, the person is there.
    let other = Cli::new();
    let out = other.run(&["restore", "--from", backup_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool =
        porta::db::connect(&other.database.url, 1, std::time::Duration::from_secs(5)).unwrap();
    let kept = porta::db::run(&pool, |conn| {
        Ok(porta::accounts::store::find_by_email(
            conn,
            "kept@example.com",
        )?)
    })
    .await
    .unwrap();
    assert!(kept.is_some(), "the account came back");
    drop(pool);
    let keys = other.run(&["keys", "list"]);
    assert!(keys.status.success(), "the restored keys open");

    // Another master key cannot open the backup's signing keys: refused, nothing changed.
    let third = Cli::new();
    let out = third
        .command(&["restore", "--from", backup_arg])
        .env("PORTA_MASTER_KEY", "cd".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("master key"));
    assert!(!std::path::Path::new(&third.database.url).exists());

    // Not a database at all.
    let junk = cli.dir.path().join("junk.db");
    std::fs::write(&junk, b"not sqlite").unwrap();
    let out = third.run(&["restore", "--from", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().count() == 1 && err.starts_with("error:"),
        "{err}"
    );
}

#[test]
fn client_create_takes_lifetimes_audiences_and_web_origins() {
    let cli = Cli::new();
    let out = cli.run(&[
        "client",
        "create",
        "--name",
        "Bookings",
        "--redirect-uri",
        "https://book.example.com/cb",
        "--access-token-ttl",
        "3600",
        "--refresh-token-ttl",
        "2592000",
        "--no-refresh-id-token",
        "--web-origin",
        "https://book.example.com",
        "--access-token-format",
        "opaque",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["access_token_ttl"], 3600);
    assert_eq!(created["refresh_token_ttl"], 2592000);
    assert_eq!(created["refresh_id_token"], false);
    assert_eq!(created["access_token_format"], "opaque");
    assert_eq!(created["web_origins"][0], "https://book.example.com");
    let out = cli.run(&[
        "client",
        "create",
        "--name",
        "Resource server",
        "--grant-type",
        "client_credentials",
        "--audience",
        "https://id.example.com",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["audiences"][0], "https://id.example.com");
    assert_eq!(created["access_token_format"], "jwt");
    for bad in [
        vec!["--access-token-ttl", "5"],
        vec!["--web-origin", "https://book.example.com/path"],
    ] {
        let mut args = vec![
            "client",
            "create",
            "--name",
            "Bad",
            "--redirect-uri",
            "https://book.example.com/cb",
        ];
        args.extend(bad.iter().copied());
        let out = cli.run(&args);
        assert!(!out.status.success(), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A format the argument parser does not know: refused with what it takes.
    let out = cli.run(&[
        "client",
        "create",
        "--name",
        "Bad",
        "--access-token-format",
        "paseto",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected jwt or opaque"), "{err}");
}

#[test]
fn role_permission_and_user_admin_commands_print_text_or_json_and_fail_in_one_line() {
    let cli = Cli::new();
    let json_of = |out: &Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    json_of(&cli.run(&[
        "user",
        "create",
        "--email",
        "dan@example.com",
        "--name",
        "Dan",
    ]));
    json_of(&cli.run(&["user", "create", "--email", "eva@example.com"]));

    let perm = json_of(&cli.run(&[
        "permission",
        "create",
        "appointments:manage",
        "--description",
        "Book for others",
        "--json",
    ]));
    assert_eq!(perm["name"], "appointments:manage");
    json_of(&cli.run(&["role", "create", "receptionist", "--json"]));
    let role = json_of(&cli.run(&[
        "role",
        "grant",
        "receptionist",
        "appointments:manage",
        "--json",
    ]));
    assert_eq!(
        role["permissions"],
        serde_json::json!(["appointments:manage"])
    );
    let out = cli.run(&["user", "role", "add", "dan@example.com", "receptionist"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Text by default: one line per role, with its permissions and members.
    let out = cli.run(&["role", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("name=receptionist"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("permissions=appointments:manage") && line.contains("members=1"),
        "{line}"
    );
    let perms = json_of(&cli.run(&["permission", "list", "--json"]));
    assert_eq!(
        perms["permissions"][0]["roles"],
        serde_json::json!(["receptionist"])
    );

    let list = json_of(&cli.run(&["user", "list", "--role", "receptionist", "--json"]));
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["email"], "dan@example.com");
    let out = cli.run(&[
        "user",
        "update",
        "dan@example.com",
        "--name",
        "Daniel",
        "--phone",
        "+351 912 000 111",
        "--role",
        "admin",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("name: Daniel") && text.contains("roles: admin, user"),
        "{text}"
    );
    let shown = json_of(&cli.run(&["user", "show", "+351912000111", "--json"]));
    assert_eq!(
        (shown["email"].as_str(), shown["phone_number"].as_str()),
        (Some("dan@example.com"), Some("+351912000111"))
    );
    let disabled = json_of(&cli.run(&["user", "disable", "dan@example.com", "--json"]));
    assert_eq!(disabled["state"], "disabled");
    let list = json_of(&cli.run(&["user", "list", "--state", "disabled", "--json"]));
    assert_eq!(list["total"], 1);
    json_of(&cli.run(&["user", "enable", "dan@example.com", "--json"]));
    json_of(&cli.run(&["user", "revoke-sessions", "dan@example.com", "--json"]));
    json_of(&cli.run(&["user", "reset-mfa", "dan@example.com", "--json"]));
    json_of(&cli.run(&["user", "unlock", "dan@example.com", "--json"]));
    json_of(&cli.run(&["user", "reset-password", "dan@example.com", "--json"]));
    json_of(&cli.run(&[
        "role",
        "revoke",
        "receptionist",
        "appointments:manage",
        "--json",
    ]));
    json_of(&cli.run(&["role", "delete", "receptionist", "--json"]));
    json_of(&cli.run(&["permission", "delete", "appointments:manage", "--json"]));
    json_of(&cli.run(&["user", "delete", "eva@example.com", "--json"]));
    // An invitation: an account without a password; its link waits in the outbox.
    let invited = json_of(&cli.run(&[
        "user",
        "invite",
        "ida@example.com",
        "--name",
        "Ida",
        "--json",
    ]));
    assert_eq!(
        (
            invited["email_verified"].as_bool(),
            invited["factors"]["password"].as_bool()
        ),
        (Some(false), Some(false))
    );
    assert!(invited["invitation_expires_at"].is_i64());

    // Every admin action is in the audit log as the command line's.
    let audit = json_of(&cli.run(&["audit", "--kind", "admin.user_disabled"]));
    assert_eq!(
        audit[0]["detail"],
        "actor=cli state:active→disabled sessions_ended=0"
    );

    for (args, says) in [
        (
            vec!["user", "show", "nobody@example.com"],
            "no account nobody@example.com",
        ),
        (
            vec!["user", "role", "add", "dan@example.com", "wizard"],
            "there is no role wizard",
        ),
        (vec!["role", "delete", "admin"], "admin is a system role"),
        (
            vec!["role", "create", "Front Desk"],
            "a name is 1 to 64 characters",
        ),
        (
            vec!["role", "grant", "user", "nope"],
            "there is no permission nope",
        ),
        (
            vec!["user", "update", "dan@example.com", "--locale", "pt_PT!"],
            "locale is a BCP 47",
        ),
        (
            vec!["user", "list", "--state", "sleeping"],
            "use active or disabled",
        ),
    ] {
        let out = cli.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn client_show_update_rotate_disable_and_delete() {
    let cli = Cli::new();
    let json_of = |out: &Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let created = json_of(&cli.run(&[
        "client",
        "create",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example.com/cb",
        "--access-token-ttl",
        "600",
    ]));
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();

    let shown = json_of(&cli.run(&["client", "show", id, "--json"]));
    assert_eq!(
        (shown["name"].as_str(), shown["access_token_ttl"].as_i64()),
        (Some("Shop"), Some(600))
    );
    assert!(!shown.to_string().contains(secret));
    // Lists replace lists; 0 puts a lifetime back to the setting.
    let updated = json_of(&cli.run(&[
        "client",
        "update",
        id,
        "--name",
        "Shop 2",
        "--redirect-uri",
        "https://shop2.example.com/cb",
        "--access-token-ttl",
        "0",
        "--json",
    ]));
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://shop2.example.com/cb"])
    );
    assert!(updated["access_token_ttl"].is_null());
    // A new secret, printed once; no grace asked: the old one stops at once.
    let rotated = json_of(&cli.run(&["client", "rotate-secret", id, "--grace", "0", "--json"]));
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    let disabled = json_of(&cli.run(&["client", "disable", id, "--json"]));
    assert_eq!(disabled["state"], "disabled");
    let enabled = json_of(&cli.run(&["client", "enable", id, "--json"]));
    assert_eq!(enabled["state"], "active");
    // Text by default.
    let out = cli.run(&["client", "show", id]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("name: Shop 2"));
    json_of(&cli.run(&["client", "delete", id, "--json"]));

    for (args, says) in [
        (vec!["client", "show", id], "no app"),
        (
            vec!["client", "update", "nope", "--name", "x"],
            "no app nope",
        ),
        (
            vec!["client", "rotate-secret", "nope", "--grace", "999999999"],
            "--grace must be 0 to",
        ),
    ] {
        let out = cli.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let audit = json_of(&cli.run(&["audit", "--kind", "admin.client_secret_rotated"]));
    assert_eq!(audit[0]["detail"], "actor=cli previous_secret_grace=0");
}

/// build.rs links the binary with packed relative relocations (`DT_RELR`) where the C
/// library can load them (glibc 2.36 and later): the loader then reads, and keeps
/// resident, a table of a few kilobytes instead of about 2.8 MiB of 24-byte entries. On an
/// older C library, or when the build said `PORTA_PACK_RELOCATIONS=0`, the binary must keep
/// the classic table, or it would not start there.
#[test]
fn the_binary_packs_its_relative_relocations_where_the_c_library_can() {
    // The same decision as build.rs: the build machine's glibc, unless opted out.
    let glibc = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut version = glibc
        .trim_start_matches("glibc ")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let new_enough = (version.next().unwrap_or(0), version.next().unwrap_or(0)) >= (2, 36);
    let wanted = option_env!("PORTA_PACK_RELOCATIONS") != Some("0");
    let dynamic = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_porta")])
        .output()
        .expect("readelf (binutils) runs");
    assert!(dynamic.status.success());
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    let relative_rela = dynamic
        .lines()
        .find(|l| l.contains("(RELACOUNT)"))
        .and_then(|l| l.split_whitespace().last())
        .map_or(0, |n| n.parse::<u64>().unwrap());
    if new_enough && wanted {
        assert!(
            dynamic.contains("(RELR)"),
            "{glibc}: no packed relocations:\n{dynamic}"
        );
        assert!(
            relative_rela < 1000,
            "{relative_rela} relative relocations left unpacked"
        );
    } else {
        assert!(
            !dynamic.contains("(RELR)"),
            "{glibc:?}: packed relocations it cannot load"
        );
    }
}

#[cfg(target_os = "linux")]
/// Resident bytes of `pid`'s mappings of the `porta` executable that are read-only and
/// executable (its code).
fn code_resident(pid: u32) -> usize {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_porta")).unwrap();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, perms, _, _, _, path] = fields.as_slice() {
            ours = *perms == "r-xp" && std::path::Path::new(path) == exe;
        } else if let (true, ["Rss:", n, "kB"]) = (ours, fields.as_slice()) {
            kib += n.parse::<usize>().unwrap();
        }
    }
    kib * 1024
}

/// A `porta serve` child that is killed when the test ends, however it ends.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `porta serve` (with `env`) and follows its resident code from the moment it
/// exists: returns the node, its base URL and the most code it held before `settled`
/// says it is done (polled every 50 ms for up to 30 s).
async fn serve_watching_code(
    cli: &Cli,
    env: &[(&str, &str)],
    settled: impl Fn(usize, usize) -> bool,
) -> (Serving, String, usize, usize) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = cli.command(&["serve"]);
    cmd.env("PORTA_BIND", format!("127.0.0.1:{port}"))
        .env("PORTA_ISSUER", &base)
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let node = Serving(cmd.spawn().unwrap());
    let pid = node.0.id();
    let (mut peak, mut now) = (0, 0);
    for _ in 0..600 {
        now = code_resident(pid);
        peak = peak.max(now);
        if settled(peak, now) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (node, base, peak, now)
}

/// Once start-up has settled, `porta serve` unmaps the code it ran to start (its idle
/// resident memory is then what serving needs), and code a request needs comes back;
/// with `unmap_start_up_code = false` the code stays.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_unmaps_its_start_up_code_once_settled_unless_told_not_to() {
    let cli = Cli::new();
    let (node, base, peak, settled) =
        serve_watching_code(&cli, &[], |peak, now| peak > 1 << 20 && now < peak / 2).await;
    assert!(
        peak > 1 << 20 && settled < peak / 2,
        "{peak} bytes of code resident at most, {settled} at the end"
    );
    let answer = crate::common::http()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        code_resident(node.0.id()) > settled,
        "the request's code is mapped again"
    );
    drop(node);
    // Told not to: six seconds in (twice the settling time), the code is all still there.
    let started = std::time::Instant::now();
    let (_node, _, peak, kept) =
        serve_watching_code(&cli, &[("PORTA_UNMAP_START_UP_CODE", "false")], |_, _| {
            started.elapsed() > std::time::Duration::from_secs(6)
        })
        .await;
    assert!(
        peak > 1 << 20 && kept >= peak * 9 / 10,
        "{peak} bytes of code resident at most, {kept} at the end"
    );
}
