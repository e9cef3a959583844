//! The command line: `porta serve | migrate | client … | user … | keys …`.
//! Every failure is one clear line on stderr and a non-zero exit.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app;
use crate::clients::{self, NewClient};
use crate::config::Settings;
use crate::db;

/// Porta, an OAuth 2.0 / OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(name = "porta", version, about)]
pub struct Cli {
    /// TOML settings file; PORTA_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Seed a demo person and client and serve a demo app at /demo.
        #[arg(long)]
        demo: bool,
        /// Run only these parts, comma-separated: idp, bookings, content (default: all).
        /// Without idp, the APIs check tokens of the Porta at --issuer-url.
        #[arg(long, value_name = "PARTS", value_delimiter = ',')]
        only: Vec<String>,
        /// The Porta whose tokens the APIs accept (sets resource_issuer).
        #[arg(long, value_name = "URL")]
        issuer_url: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage clients (applications).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Query the audit log (newest first, as JSON).
    Audit {
        /// Account email or id.
        #[arg(long)]
        account: Option<String>,
        /// Event kind, e.g. sign_in.failure.
        #[arg(long)]
        kind: Option<String>,
        /// How far back: 30m, 24h, 7d (default 24h), or a unix timestamp.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Most events to print.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints JSON with client_id and the client_secret (shown once).
    Create(ClientCreate),
    /// List clients as JSON (never secrets).
    List,
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    #[arg(long)]
    pub name: String,
    /// Exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI", num_args = 1..)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    pub public: bool,
    /// Allowed grant types (default: authorization_code refresh_token).
    #[arg(long = "grant-type", value_name = "T", num_args = 1..)]
    pub grant_types: Vec<String>,
    /// Allowed scopes, space-separated (default: "openid profile email offline_access").
    #[arg(long)]
    pub scope: Option<String>,
    /// Skip the consent page for this (first-party) client.
    #[arg(long)]
    pub skip_consent: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints JSON with its id.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        name: Option<String>,
    },
    /// Give or take roles (they reach APIs in the `roles` claim).
    #[command(subcommand)]
    Role(RoleCommand),
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give ACCOUNT (email or id) the role ROLE; prints the account's roles as JSON.
    Add { account: String, role: String },
    /// Take the role ROLE from ACCOUNT (email or id); prints the account's roles as JSON.
    Remove { account: String, role: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: kid, state, created, activates, retires.
    List,
    /// Publish a new `next` key (it signs after the pre-publication window).
    Rotate {
        /// Emergency: a new key signs at once; the old one is retired.
        #[arg(long, conflicts_with = "revoke")]
        now: bool,
        /// Remove key KID at once (a new active key replaces it if it was active).
        #[arg(long, value_name = "KID")]
        revoke: Option<String>,
    },
    /// Re-encrypt every secret at rest under a new master key (then set PORTA_MASTER_KEY
    /// to it before the next start).
    Rewrap {
        /// The new master key (32 bytes, base64 or hex); `-` reads it from stdin.
        #[arg(long, value_name = "KEY")]
        new_master_key: String,
    },
}

impl Cli {
    /// True for `porta serve` (which runs on actix's system runtime).
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve { .. })
    }
}

/// Runs a command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    init_tracing(
        &settings.server.log,
        matches!(cli.command, Command::Serve { .. }),
    );
    let result = match cli.command {
        Command::Serve {
            demo,
            only,
            issuer_url,
        } => match settings.for_serve(&only, issuer_url) {
            Ok(settings) => serve(settings, demo).await,
            Err(e) => Err(e.to_string()),
        },
        Command::Migrate => migrate(settings).await,
        Command::Client(ClientCommand::Create(c)) => client_create(settings, c).await,
        Command::Client(ClientCommand::List) => client_list(settings).await,
        Command::User(UserCommand::Create {
            email,
            password_stdin,
            name,
        }) => user_create(settings, email, password_stdin, name).await,
        Command::User(UserCommand::Role(RoleCommand::Add { account, role })) => {
            user_role(settings, account, role, true).await
        }
        Command::User(UserCommand::Role(RoleCommand::Remove { account, role })) => {
            user_role(settings, account, role, false).await
        }
        Command::Audit {
            account,
            kind,
            since,
            limit,
        } => audit(settings, account, kind, since, limit).await,
        Command::Keys(KeysCommand::List) => keys_list(settings).await,
        Command::Keys(KeysCommand::Rotate { now, revoke }) => {
            keys_rotate(settings, now, revoke).await
        }
        Command::Keys(KeysCommand::Rewrap { new_master_key }) => {
            keys_rewrap(settings, new_master_key).await
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("error: {e}");
    1
}

fn init_tracing(filter: &str, serving: bool) {
    // Commands other than serve keep stderr quiet unless something is wrong.
    let filter = if serving {
        filter.to_string()
    } else {
        "warn".to_string()
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

async fn open(settings: &Settings) -> Result<db::DbPool, String> {
    let s = settings.clone();
    actix_web::rt::task::spawn_blocking(move || app::open_database(&s))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

async fn serve(settings: Settings, demo: bool) -> Result<(), String> {
    let listener = TcpListener::bind(&settings.server.bind).map_err(|e| {
        format!(
            "cannot listen on {} (PORTA_BIND): {e}",
            settings.server.bind
        )
    })?;
    if !settings.runs("idp") {
        return serve_apis(settings, listener).await;
    }
    let prepared = app::prepare(settings, demo)
        .await
        .map_err(|e| e.to_string())?;
    let state = prepared.state.clone();
    let issuer = state.settings.server.issuer.clone();
    tracing::info!(%issuer, bind = %state.settings.server.bind, "Porta is listening");
    if prepared.demo.is_some() {
        println!(
            "Porta demo: open {issuer}/demo and sign in as {} / {}",
            crate::demo::DEMO_EMAIL,
            crate::demo::DEMO_PASSWORD
        );
    }
    app::spawn_housekeeping(state.pool.clone(), state.settings.clone());
    app::spawn_key_schedule(state.clone());
    app::server(prepared, listener)
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())
}

/// `porta serve --only bookings,content --issuer-url …`: the APIs alone.
async fn serve_apis(settings: Settings, listener: TcpListener) -> Result<(), String> {
    let pool = open(&settings).await?;
    let apis = app::prepare_apis(&settings, pool).map_err(|e| e.to_string())?;
    tracing::info!(
        parts = %settings.server.parts,
        issuer = %settings.resource_issuer(),
        bind = %settings.server.bind,
        "Porta APIs are listening"
    );
    app::api_server(apis, settings.server.workers, listener)
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())
}

async fn migrate(settings: Settings) -> Result<(), String> {
    open(&settings).await?;
    println!("migrations are up to date");
    Ok(())
}

async fn client_create(settings: Settings, c: ClientCreate) -> Result<(), String> {
    let pool = open(&settings).await?;
    let created = clients::create(
        &pool,
        NewClient {
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            public: c.public,
            grant_types: c.grant_types,
            scopes: c.scope.into_iter().collect(),
            skip_consent: c.skip_consent,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&created).map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn client_list(settings: Settings) -> Result<(), String> {
    let pool = open(&settings).await?;
    let rows = db::run(&pool, |conn| Ok(clients::store::list(conn)?))
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<_> = rows
        .into_iter()
        .map(clients::Client::from)
        .map(|c| {
            json!({
                "client_id": c.id,
                "name": c.name,
                "public": c.is_public(),
                "redirect_uris": c.redirect_uris,
                "post_logout_redirect_uris": c.post_logout_redirect_uris,
                "grant_types": c.grant_types,
                "scope": c.scopes.join(" "),
                "skip_consent": c.skip_consent,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn user_create(
    settings: Settings,
    email: String,
    password_stdin: bool,
    name: Option<String>,
) -> Result<(), String> {
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let line = text.lines().next().unwrap_or("").to_string();
        if line.is_empty() {
            return Err("no password on stdin".into());
        }
        Some(line)
    } else {
        None
    };
    let pool = open(&settings).await?;
    let user = crate::accounts::create_user(&pool, &email, name, password)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "id": user.id, "email": user.email, "name": user.name })
        )
        .map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn user_role(
    settings: Settings,
    account: String,
    role: String,
    add: bool,
) -> Result<(), String> {
    let pool = open(&settings).await?;
    let (user, roles) = crate::accounts::change_role(&pool, &account, &role, add)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "id": user.id, "email": user.email, "roles": roles })
        )
        .map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn keys_list(settings: Settings) -> Result<(), String> {
    let pool = open(&settings).await?;
    if !crate::keys::store::active_exists(&pool)
        .await
        .map_err(|e| e.to_string())?
    {
        // First use: make the first key so the list is never empty.
        let master = app::master_key(&settings).map_err(|e| e.to_string())?;
        crate::keys::KeyRing::load(&pool, &master)
            .await
            .map_err(|e| e.to_string())?;
    }
    print_keys(&settings, &pool).await
}

async fn print_keys(settings: &Settings, pool: &db::DbPool) -> Result<(), String> {
    let rows = db::run(pool, |conn| Ok(crate::keys::store::list(conn)?))
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<_> = rows
        .iter()
        .map(|k| crate::keys::describe(k, settings))
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
    );
    Ok(())
}

async fn keys_rotate(settings: Settings, now: bool, revoke: Option<String>) -> Result<(), String> {
    use crate::keys::rotation;
    let pool = open(&settings).await?;
    let master = app::master_key(&settings).map_err(|e| e.to_string())?;
    crate::keys::KeyRing::load(&pool, &master)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(kid) = revoke {
        if !rotation::revoke(&pool, &master, &kid)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("no signing key with kid {kid}"));
        }
        eprintln!(
            "revoked {kid}; running nodes drop it within key_check_interval ({} s)",
            settings.keys.key_check_interval
        );
    } else if now {
        let kid = rotation::rotate_now(&pool, &master)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "{kid} signs now; running nodes switch within key_check_interval ({} s)",
            settings.keys.key_check_interval
        );
    } else {
        let schedule = rotation::Schedule::from_settings(&settings);
        let (key, created) = rotation::publish_next(&pool, &master, schedule)
            .await
            .map_err(|e| e.to_string())?;
        if created {
            eprintln!(
                "published {} as next; it signs from {}",
                key.kid, key.activates_at
            );
        } else {
            eprintln!(
                "{} is already waiting as next; it signs from {}",
                key.kid, key.activates_at
            );
        }
    }
    print_keys(&settings, &pool).await
}

async fn keys_rewrap(settings: Settings, new_master_key: String) -> Result<(), String> {
    let new_text = if new_master_key == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the new key from stdin: {e}"))?;
        text.trim().to_string()
    } else {
        new_master_key
    };
    let new = crate::crypto::MasterKey::parse(&new_text)
        .map_err(|e| format!("invalid --new-master-key: {e}"))?;
    let pool = open(&settings).await?;
    let old = app::master_key(&settings).map_err(|e| e.to_string())?;
    let n = app::rewrap_master_key(&pool, &old, &new)
        .await
        .map_err(|e| e.to_string())?;
    if settings.keys.master_key.is_none() && !settings.is_postgres() {
        // The embedded default keeps the key in a file: replace it too.
        let path = settings.server.data_dir.join("master.key");
        std::fs::write(&path, &new_text).map_err(|e| {
            format!(
                "re-encrypted {n} keys but could not write {}: {e}",
                path.display()
            )
        })?;
        eprintln!(
            "re-encrypted {n} secrets; {} now holds the new master key",
            path.display()
        );
    } else {
        eprintln!("re-encrypted {n} secrets; set PORTA_MASTER_KEY to the new key on every node before restarting");
    }
    Ok(())
}

/// `30m`, `24h`, `7d`, `90s` ago, or a unix timestamp.
fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let bad = || format!("--since {text:?}: use 30m, 24h, 7d or a unix timestamp");
    let (digits, unit) = text.split_at(
        text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" => return Ok(n),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(bad()),
    };
    Ok(now - seconds)
}

async fn audit(
    settings: Settings,
    account: Option<String>,
    kind: Option<String>,
    since: String,
    limit: i64,
) -> Result<(), String> {
    let since = parse_since(&since, crate::time::now())?;
    if !(1..=10_000).contains(&limit) {
        return Err("--limit must be between 1 and 10000".into());
    }
    let pool = open(&settings).await?;
    let events = db::run(&pool, move |conn| {
        let user_id = match account {
            Some(a) if a.contains('@') => {
                match crate::accounts::store::find_by_email(conn, &a.trim().to_lowercase())? {
                    Some(u) => Some(u.id),
                    None => return Ok(Vec::new()),
                }
            }
            other => other,
        };
        Ok(crate::audit::store::query(
            conn,
            user_id.as_deref(),
            kind.as_deref(),
            since,
            limit,
        )?)
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&events).map_err(|e| e.to_string())?
    );
    Ok(())
}
