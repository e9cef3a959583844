//! Test harness: starts the real application on port 0 with a fresh database (SQLite, or
//! PostgreSQL when PORTA_TEST_POSTGRES_URL is set) and speaks HTTP to it.
#![allow(dead_code)]

pub mod proxy;
pub mod sms;
pub mod smtp;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::Connection;
use porta::clients::{CreatedClient, NewClient};
use porta::config::Settings;
use porta::crypto::MasterKey;
use porta::state::AppState;
use reqwest::redirect::Policy;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A running Porta. Dropping it stops its server (workers, sockets, pool connections) and
/// then removes its database, so a long test process holds only what running tests use.
pub struct TestApp {
    // Fields drop in declaration order: the server stops before the database goes.
    server: RunningServer,
    pub issuer: String,
    pub state: AppState,
    pub master_key: String,
    pub database: TestDb,
    pub dir: tempfile::TempDir,
}

/// An actix server on a thread of its own. Dropping it stops the server (not gracefully)
/// and waits until it stopped accepting, so no server outlives its test. (On the test's
/// own runtime the stop could not run: a test's runtime ends with the test, and a server
/// future dropped unfinished leaves its accept thread and workers running.)
pub struct RunningServer {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn start(server: actix_web::dev::Server) -> RunningServer {
        let handle = server.handle();
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                let _ = rt.block_on(server);
            })
            .expect("server thread");
        RunningServer {
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // `stop` queues the command at once; the server's thread carries it out and ends.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A test's own database: an SQLite file in the test's folder, or a PostgreSQL database
/// (with PORTA_TEST_POSTGRES_URL) that is dropped when this is.
pub struct TestDb {
    pub url: String,
    /// PostgreSQL: the server to drop it on, and its name.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A second handle on the same database for another node; only the first drops it.
    pub fn share(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            postgres: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.postgres else {
            return;
        };
        // FORCE ends connections a stopped server or a killed process may have left.
        let dropped = diesel::pg::PgConnection::establish(admin)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                    &mut conn,
                )
                .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {name}: {e}");
        }
    }
}

/// `url` with TLS and GSSAPI off: plain TCP to the local test server. libpq's
/// OpenSSL/Kerberos teardown at exit races the server threads a test binary leaves
/// running, and crashes it.
fn plain_tcp(mut url: url::Url) -> String {
    for (k, v) in [("sslmode", "disable"), ("gssencmode", "disable")] {
        if !url.query_pairs().any(|(key, _)| key == k) {
            url.query_pairs_mut().append_pair(k, v);
        }
    }
    url.to_string()
}

/// The database a test gets: its own SQLite file, or its own PostgreSQL database (dropped
/// when the returned guard is).
pub fn fresh_database(dir: &std::path::Path) -> TestDb {
    match std::env::var("PORTA_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("porta_t_{}", uuid::Uuid::new_v4().simple());
            let base = url::Url::parse(&base).expect("PORTA_TEST_POSTGRES_URL is a URL");
            let admin = plain_tcp(base.clone());
            let mut conn = diesel::pg::PgConnection::establish(&admin)
                .expect("connect to PORTA_TEST_POSTGRES_URL");
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("CREATE DATABASE {name}")),
                &mut conn,
            )
            .expect("create test database");
            let mut url = base;
            url.set_path(&format!("/{name}"));
            TestDb {
                url: plain_tcp(url),
                postgres: Some((admin, name)),
            }
        }
        _ => TestDb {
            url: dir.join("porta.db").display().to_string(),
            postgres: None,
        },
    }
}

/// A port with nothing listening on it (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Settings for a test server on `port`.
pub fn test_settings(
    port: u16,
    database_url: &str,
    master_key: &str,
    dir: &std::path::Path,
) -> Settings {
    let mut s = Settings::default();
    s.server.issuer = format!("http://127.0.0.1:{port}");
    s.server.bind = format!("127.0.0.1:{port}");
    s.server.data_dir = dir.to_path_buf();
    s.server.workers = 2;
    s.database.database_url = database_url.to_string();
    s.database.db_pool_size = 4;
    s.keys.master_key = Some(master_key.into());
    s.content.media_dir = dir.join("media");
    s.bookings.booking_documents_dir = dir.join("bookings-documents");
    s.validate().expect("valid test settings")
}

impl TestApp {
    /// Starts a fresh Porta.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a fresh Porta with adjusted settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = fresh_database(dir.path());
        let master_key = MasterKey::generate();
        Self::start(dir, database, master_key, adjust).await
    }

    /// Starts a fresh Porta with the demo app (`serve --demo`).
    pub async fn spawn_demo() -> TestApp {
        Self::spawn_demo_with(|_| {}).await
    }

    /// Starts a fresh Porta with the demo app and adjusted settings.
    pub async fn spawn_demo_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = fresh_database(dir.path());
        Self::launch(dir, database, MasterKey::generate(), adjust, true).await
    }

    /// Starts Porta on an existing database (a restart).
    pub async fn start(
        dir: tempfile::TempDir,
        database: TestDb,
        master_key: String,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestApp {
        Self::launch(dir, database, master_key, adjust, false).await
    }

    async fn launch(
        dir: tempfile::TempDir,
        database: TestDb,
        master_key: String,
        adjust: impl FnOnce(&mut Settings),
        demo: bool,
    ) -> TestApp {
        // Server logs go to the test's captured output (shown when a test fails).
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,porta=info")
            .with_test_writer()
            .try_init();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut settings = test_settings(port, &database.url, &master_key, dir.path());
        adjust(&mut settings);
        let prepared = porta::app::prepare(settings, demo).await.expect("prepare");
        let state = prepared.state.clone();
        let server = porta::app::server(prepared, listener).expect("server");
        porta::app::spawn_key_schedule(state.clone());
        TestApp {
            server: RunningServer::start(server),
            issuer: format!("http://127.0.0.1:{port}"),
            state,
            master_key,
            database,
            dir,
        }
    }

    /// Stops this Porta now (its server, and with its last state handle its background
    /// work) and hands back what a restart needs: its folder, database and master key.
    /// (Destructuring with `..` would keep the server running until the test ends.)
    pub fn stop(self) -> (tempfile::TempDir, TestDb, String) {
        let TestApp {
            server,
            state,
            dir,
            database,
            master_key,
            ..
        } = self;
        drop(server);
        drop(state);
        (dir, database, master_key)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Registers a client.
    pub async fn client(&self, public: bool, grants: &[&str], skip_consent: bool) -> CreatedClient {
        self.client_with(public, grants, skip_consent, Default::default())
            .await
    }

    /// Registers a client with its own token lifetimes.
    pub async fn client_with(
        &self,
        public: bool,
        grants: &[&str],
        skip_consent: bool,
        lifetimes: porta::clients::Lifetimes,
    ) -> CreatedClient {
        porta::clients::create(
            &self.state.pool,
            NewClient {
                name: "Test App".into(),
                redirect_uris: vec![
                    "https://app.example.com/callback".into(),
                    "http://127.0.0.1:9/cb".into(),
                ],
                post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
                public,
                grant_types: grants.iter().map(|s| s.to_string()).collect(),
                scopes: vec!["openid profile email offline_access api:read".into()],
                skip_consent,
                lifetimes,
                ..Default::default()
            },
        )
        .await
        .expect("create client")
    }

    /// A resource server: a confidential client registered for the default audience (the
    /// issuer), so it may introspect any client's access tokens.
    pub async fn resource_server(&self) -> CreatedClient {
        porta::clients::create(
            &self.state.pool,
            NewClient {
                name: "Resource server".into(),
                grant_types: vec!["client_credentials".into()],
                audiences: vec![self.issuer.clone()],
                ..Default::default()
            },
        )
        .await
        .expect("create resource server")
    }

    /// A confidential client with the usual grants.
    pub async fn confidential(&self) -> CreatedClient {
        self.client(
            false,
            &["authorization_code", "refresh_token", "client_credentials"],
            false,
        )
        .await
    }

    /// Creates a person.
    pub async fn user(&self, email: &str, password: &str) -> porta::accounts::User {
        porta::accounts::create_user(
            &self.state.pool,
            email,
            Some("Test Person".into()),
            Some(password.into()),
        )
        .await
        .expect("create user")
    }

    /// POST /token with Basic authentication.
    pub async fn token(&self, client: &CreatedClient, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = http()
            .post(self.url("/token"))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Redeems an authorization code sent to `REDIRECT` with its PKCE verifier.
    pub async fn redeem(&self, client: &CreatedClient, code: &str, verifier: &str) -> (u16, Value) {
        self.token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// Signs the standard person in through a new browser (OpenID request with PKCE) and
    /// returns the token response.
    pub async fn sign_in_tokens(&self, client: &CreatedClient) -> Value {
        let (verifier, challenge) = pkce();
        let back = Browser::new()
            .authorize(
                self,
                &openid_query(&client.client_id, &challenge),
                EMAIL,
                PASSWORD,
            )
            .await;
        let code = param(&back, "code").expect("code");
        let (status, body) = self.redeem(client, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// POST /token as a public client (client_id in the body).
    pub async fn public_token(&self, client_id: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("client_id", client_id));
        let resp = http()
            .post(self.url("/token"))
            .form(&form)
            .send()
            .await
            .expect("token request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// POST /introspect as `client`.
    pub async fn introspect(&self, client: &CreatedClient, token: &str) -> Value {
        http()
            .post(self.url("/introspect"))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("introspection JSON")
    }

    /// A confidential first-party client allowed every API scope (no consent page).
    pub async fn api_client(&self) -> CreatedClient {
        porta::clients::create(
            &self.state.pool,
            NewClient {
                name: "API App".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                public: false,
                grant_types: vec![
                    "authorization_code".into(),
                    "refresh_token".into(),
                    "client_credentials".into(),
                ],
                scopes: vec![format!("profile email offline_access {API_SCOPES}")],
                skip_consent: true,
                ..Default::default()
            },
        )
        .await
        .expect("create API client")
    }

    /// The bookings module's service account: client credentials with `admin:users:write`.
    pub async fn bookings_service_account(&self) -> CreatedClient {
        porta::clients::create(
            &self.state.pool,
            NewClient {
                name: "Bookings module".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec!["admin:users:write".into()],
                ..Default::default()
            },
        )
        .await
        .expect("create the bookings service account")
    }

    /// An access token for the person `email` (created with `PASSWORD` if new) holding
    /// `roles` (besides `user`), from a real sign-in asking for every API scope.
    pub async fn person_token(
        &self,
        client: &CreatedClient,
        email: &str,
        roles: &[&str],
    ) -> String {
        self.person_token_with_scope(client, email, roles, API_SCOPES)
            .await
    }

    /// Like `person_token`, asking for `scope` only.
    pub async fn person_token_with_scope(
        &self,
        client: &CreatedClient,
        email: &str,
        roles: &[&str],
        scope: &str,
    ) -> String {
        let _ = porta::accounts::create_user(
            &self.state.pool,
            email,
            Some("API Person".into()),
            Some(PASSWORD.into()),
        )
        .await;
        for role in roles {
            let name = role.to_string();
            // Roles are things of their own now: create the ones a test names.
            porta::db::run(&self.state.pool, move |conn| {
                Ok(porta::accounts::roles::create(conn, &name, "")?)
            })
            .await
            .expect("create role")
            .ok();
            porta::accounts::change_role(&self.state.pool, email, role, true)
                .await
                .expect("grant role");
        }
        let (verifier, challenge) = pkce();
        let back = Browser::new()
            .authorize(
                self,
                &[
                    ("response_type", "code"),
                    ("client_id", &client.client_id),
                    ("redirect_uri", REDIRECT),
                    ("scope", scope),
                    ("state", "s1"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
                email,
                PASSWORD,
            )
            .await;
        let code = param(&back, "code").expect("code");
        let (status, body) = self.redeem(client, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    /// A client-credentials access token for `scope`.
    pub async fn client_token(&self, client: &CreatedClient, scope: &str) -> String {
        let (status, body) = self
            .token(
                client,
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    /// GET /userinfo with a bearer token.
    pub async fn userinfo(&self, token: &str) -> reqwest::Response {
        http()
            .get(self.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .expect("userinfo")
    }
}

/// A plain HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = porta::crypto::random_token(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A browser: keeps cookies, does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .cookie_store(true)
                .build()
                .expect("client"),
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.expect("GET")
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(url).form(form).send().await.expect("POST")
    }

    /// Submits the `<form>` of `page` whose action is `action` the way a browser does: its
    /// hidden inputs, with `fields` filled in (replacing a hidden input of the same name).
    pub async fn submit(
        &self,
        base: &(impl Origin + ?Sized),
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.send(base, &Form::parse(page, action).with(fields))
            .await
    }

    /// Opens the page at `app` + `page_path` and submits its form whose action is `action`.
    /// On the sign-in page, a form of the second step (a code) is reached the way a person
    /// reaches it: by giving the identifier (the `email` or `phone` of `fields`) first.
    pub async fn fill(
        &self,
        app: &TestApp,
        page_path: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut page = self
            .get(&app.url(page_path))
            .await
            .text()
            .await
            .expect("page");
        if Form::all(&page, action).is_empty() && page.contains("name=\"identifier\"") {
            let identifier = fields
                .iter()
                .find(|(k, _)| *k == "email" || *k == "phone")
                .map(|(_, v)| *v)
                .expect("an email or phone to sign in with");
            page = self
                .submit(app, &page, "/login", &[("identifier", identifier)])
                .await
                .text()
                .await
                .expect("the ways to sign in");
        }
        self.submit(app, &page, action, fields).await
    }

    /// The second step of the sign-in page at `app` + `login_path` for `identifier`: the
    /// page with the password field and the code button.
    pub async fn methods(&self, app: &TestApp, login_path: &str, identifier: &str) -> String {
        let page = self
            .get(&app.url(login_path))
            .await
            .text()
            .await
            .expect("sign-in page");
        let resp = self
            .submit(app, &page, "/login", &[("identifier", identifier)])
            .await;
        assert_eq!(resp.status(), 200, "the identifier {identifier} is taken");
        resp.text().await.expect("the ways to sign in")
    }

    /// POSTs `form` to its action on `base`.
    pub async fn send(&self, base: &(impl Origin + ?Sized), form: &Form) -> reqwest::Response {
        self.post(&format!("{}{}", base.origin(), form.action), &form.pairs())
            .await
    }

    /// Signs in on the login page at `login_url` (absolute); returns the response.
    pub async fn submit_login(
        &self,
        app: &TestApp,
        login_url: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.get(login_url).await.text().await.expect("login page");
        self.submit(
            app,
            &page,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in on the login page at `base` + `login_path`.
    pub async fn submit_login_at(
        &self,
        base: &str,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self
            .get(&format!("{base}{login_path}"))
            .await
            .text()
            .await
            .expect("login page");
        self.submit(
            base,
            &page,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Runs an authorization request through sign-in and consent (allowing) and returns
    /// the final redirect to the client.
    pub async fn authorize(
        &self,
        app: &TestApp,
        query: &[(&str, &str)],
        email: &str,
        password: &str,
    ) -> String {
        let mut resp = self.get(&authorize_url(app, query)).await;
        loop {
            let status = resp.status().as_u16();
            assert!(
                status == 302 || status == 303,
                "expected a redirect, got {status}: {}",
                resp.text().await.unwrap_or_default()
            );
            let location = location(&resp);
            if !location.starts_with('/') {
                return location;
            }
            let url = app.url(&location);
            resp = if location.starts_with("/login") {
                self.submit_login(app, &url, email, password).await
            } else if location.starts_with("/consent") {
                let page = self.get(&url).await.text().await.expect("consent page");
                self.submit(app, &page, "/consent", &[("decision", "allow")])
                    .await
            } else {
                self.get(&url).await
            };
        }
    }
}

/// Where a form's action (a path) is posted to: a `TestApp` or a base URL.
pub trait Origin {
    fn origin(&self) -> &str;
}

impl Origin for TestApp {
    fn origin(&self) -> &str {
        &self.issuer
    }
}

impl Origin for str {
    fn origin(&self) -> &str {
        self
    }
}

impl Origin for String {
    fn origin(&self) -> &str {
        self
    }
}

/// A `<form>` of a page: its action and the name/value pairs it will post, starting with
/// its hidden inputs (`type="hidden"`, in page order).
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The first form on `page` whose action is `action`; panics if there is none.
    pub fn parse(page: &str, action: &str) -> Form {
        Form::all(page, action)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no <form action=\"{action}\"> in page:\n{page}"))
    }

    /// Every form on `page` whose action is `action`, in page order.
    pub fn all(page: &str, action: &str) -> Vec<Form> {
        let mut forms = Vec::new();
        let mut rest = page;
        while let Some(start) = rest.find("<form") {
            let tail = &rest[start..];
            let open_end = tail.find('>').expect("a closed <form> tag");
            let body_end = tail.find("</form>").unwrap_or(tail.len());
            if attribute(&tail[..open_end], "action").as_deref() == Some(action) {
                let fields = tail[open_end..body_end]
                    .split("<input")
                    .skip(1)
                    .filter_map(|input| {
                        let tag = &input[..input.find('>').unwrap_or(input.len())];
                        if attribute(tag, "type").as_deref() != Some("hidden") {
                            return None;
                        }
                        Some((
                            attribute(tag, "name")?,
                            attribute(tag, "value").unwrap_or_default(),
                        ))
                    })
                    .collect();
                forms.push(Form {
                    action: action.to_string(),
                    fields,
                });
            }
            rest = &tail[body_end.max(open_end)..];
        }
        forms
    }

    /// Sets `fields`: a field of the same name takes the new value, others are added.
    pub fn with(mut self, fields: &[(&str, &str)]) -> Form {
        for (name, value) in fields {
            match self.fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = value.to_string(),
                None => self.fields.push((name.to_string(), value.to_string())),
            }
        }
        self
    }

    /// The value of field `name`; panics if the form has none.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no field {name} in the form for {}", self.action))
    }

    /// The fields as a form body.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

/// The value of attribute `name` in the tag text `tag` (double-quoted, HTML-unescaped).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Undoes the HTML escaping askama applies to attribute values.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// The authorization URL for `query`.
pub fn authorize_url(app: &TestApp, query: &[(&str, &str)]) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    app.url(&format!("/authorize?{q}"))
}

/// The Location header.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().expect("ascii location").to_string())
        .unwrap_or_default()
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).expect("absolute URL");
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of the first hidden field `name` anywhere on `page`: for a value taken from
/// one page and posted with another on purpose (to submit a page's own form, use
/// `Browser::submit`).
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in page"))
        + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].to_string()
}

/// Polls `probe` every 25 ms until it yields a value and returns that; panics saying what
/// was awaited (`what`) if it has not after `within`.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    eventually_every(within, Duration::from_millis(25), what, probe).await
}

/// `eventually`, polling every `every` (for probes that cost something, like a process).
pub async fn eventually_every<T>(
    within: Duration,
    every: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting for: {what}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Lets wall-clock time pass on purpose: a TTL, a lock or a rate limit must run out, or a
/// message that must not come would have come by then. `why` says which, where it is
/// called.
pub async fn let_time_pass(duration: Duration, why: &str) {
    println!("letting {duration:?} pass: {why}");
    tokio::time::sleep(duration).await;
}

/// Decodes a JWT's claims without checking (tests check signatures separately).
pub fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON claims")
}

/// Decodes a JWT's header.
pub fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().expect("JWT header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON header")
}

pub const EMAIL: &str = "person@example.com";
pub const PASSWORD: &str = "a long enough password";
/// Every scope the bookings and content APIs know, plus `openid` and `roles`.
pub const API_SCOPES: &str = "openid roles bookings:read bookings:write content:read content:write";
pub const REDIRECT: &str = "https://app.example.com/callback";

/// A standard OpenID request for `client_id` with PKCE.
pub fn openid_query<'a>(client_id: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}
