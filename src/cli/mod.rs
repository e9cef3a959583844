//! The command line: `porta serve | migrate | client … | user … | keys …`.
//! Every failure is one clear line on stderr and a non-zero exit.

mod run_admin;
mod run_audit;
mod run_clients;
mod run_keys;
mod run_serve;

use crate::app;
use crate::clients::{self, NewClient};
use crate::config::Settings;
use crate::db;
use clap::{Args, Parser, Subcommand};
use run_admin::*;
use run_audit::*;
use run_clients::*;
use run_keys::*;
use run_serve::*;
use serde_json::json;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;

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
    /// Copy the SQLite database, consistently, while Porta serves (VACUUM INTO).
    Backup {
        /// The copy to write (must not exist yet).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Put a backup in place of the SQLite database (stop Porta first). The backup is
    /// checked first: SQLite integrity, migrations this binary knows, and that the
    /// configured master key opens its signing keys.
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Restore even though the database looks in use (a non-empty -wal file).
        #[arg(long)]
        force: bool,
    },
    /// Manage clients (applications).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles (and the permissions they carry).
    #[command(subcommand)]
    Role(RolesCommand),
    /// Manage permissions (grouped into roles; tokens carry them with the `permissions` scope).
    #[command(subcommand)]
    Permission(PermissionCommand),
    /// The custom attributes of accounts that the settings declare.
    #[command(subcommand)]
    Attribute(AttributeCommand),
    /// Inspect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The demo that `serve --demo` seeds.
    #[command(subcommand)]
    Demo(DemoCommand),
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
    Create(Box<ClientCreate>),
    /// List clients as JSON (never secrets).
    List,
    /// One client (never its secret).
    Show {
        /// The client's id (one that begins with `-` is taken as the id).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Change a client: the flags given replace what it has (lists replace whole lists).
    Update(Box<ClientUpdate>),
    /// A new secret (printed once); the previous one works for --grace seconds.
    RotateSecret {
        /// The client's id (one that begins with `-` is taken as the id).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Seconds the previous secret keeps working (default and most: client_secret_grace).
        #[arg(long, value_name = "SECONDS")]
        grace: Option<i64>,
        #[command(flatten)]
        out: Output,
    },
    /// Disable a client: it cannot authenticate or start a sign-in; its grants are revoked.
    Disable {
        /// The client's id (one that begins with `-` is taken as the id).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Enable a disabled client.
    Enable {
        /// The client's id (one that begins with `-` is taken as the id).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a client and revoke its grants.
    Delete {
        /// The client's id (one that begins with `-` is taken as the id).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Args)]
pub struct ClientUpdate {
    /// The client's id (one that begins with `-` is taken as the id).
    #[arg(allow_hyphen_values = true)]
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// The redirect URIs (repeat; replaces the list).
    #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
    pub redirect_uris: Option<Vec<String>>,
    #[arg(long = "post-logout-redirect-uri", value_name = "URI", num_args = 1..)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[arg(long = "grant-type", value_name = "T", num_args = 1..)]
    pub grant_types: Option<Vec<String>>,
    /// Allowed scopes, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// true or false.
    #[arg(long)]
    pub skip_consent: Option<bool>,
    #[arg(long = "audience", value_name = "AUD", num_args = 1..)]
    pub audiences: Option<Vec<String>>,
    #[arg(long = "web-origin", value_name = "ORIGIN", num_args = 1..)]
    pub web_origins: Option<Vec<String>>,
    /// Seconds (0: back to the setting).
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    #[arg(long, value_name = "SECONDS")]
    pub id_token_ttl: Option<i64>,
    #[arg(long, value_name = "SECONDS")]
    pub refresh_token_ttl: Option<i64>,
    /// true or false: whether refresh answers carry an id token.
    #[arg(long)]
    pub refresh_id_token: Option<bool>,
    /// jwt or opaque: how the app's access tokens look.
    #[arg(long, value_parser = access_token_format)]
    pub access_token_format: Option<crate::clients::AccessTokenFormat>,
    #[command(flatten)]
    pub out: Output,
}

/// `jwt` or `opaque`, for `--access-token-format`.
fn access_token_format(text: &str) -> Result<crate::clients::AccessTokenFormat, String> {
    crate::clients::AccessTokenFormat::parse(text)
        .ok_or_else(|| format!("{text:?}: expected jwt or opaque"))
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
    /// As a resource server, it may introspect access tokens whose `aud` includes one of
    /// these (repeat for several; e.g. the issuer, the default `aud`).
    #[arg(long = "audience", value_name = "AUD", num_args = 1..)]
    pub audiences: Vec<String>,
    /// Browser origins (scheme://host[:port]) that may call the token endpoints for it
    /// (default: the origins of its redirect URIs).
    #[arg(long = "web-origin", value_name = "ORIGIN", num_args = 1..)]
    pub web_origins: Vec<String>,
    /// This app's access-token lifetime in seconds (default: access_token_ttl).
    #[arg(long, value_name = "SECONDS")]
    pub access_token_ttl: Option<i64>,
    /// This app's id-token lifetime in seconds (default: id_token_ttl).
    #[arg(long, value_name = "SECONDS")]
    pub id_token_ttl: Option<i64>,
    /// This app's refresh-token lifetime in seconds (default: refresh_token_ttl; the
    /// absolute limit refresh_token_absolute_ttl still applies).
    #[arg(long, value_name = "SECONDS")]
    pub refresh_token_ttl: Option<i64>,
    /// Leave the id token out of refresh answers (OIDC Core 12.2; default: include it).
    #[arg(long)]
    pub no_refresh_id_token: bool,
    /// How the app's access tokens look: jwt (RS256, RFC 9068; any resource server checks
    /// them with the JWKS) or opaque (sealed; resource servers ask the introspection
    /// endpoint, and issuing one costs no RSA signature).
    #[arg(long, value_parser = access_token_format, default_value = "jwt")]
    pub access_token_format: crate::clients::AccessTokenFormat,
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
    /// Find accounts (by default the first 20, by email).
    List {
        /// Part of the email, name or phone number.
        #[arg(long)]
        search: Option<String>,
        /// Only accounts with this role.
        #[arg(long)]
        role: Option<String>,
        /// Only accounts whose custom attribute NAME has VALUE (for a list: holds it).
        #[arg(long, value_name = "NAME:VALUE")]
        attribute: Option<String>,
        /// active or disabled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: i64,
        #[arg(long, default_value_t = 20)]
        per_page: i64,
        #[command(flatten)]
        out: Output,
    },
    /// Everything about one account: profile, roles, permissions, factors, sessions, apps,
    /// recent events.
    Show {
        /// Email, phone number (+…) or id.
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Change an account's profile or roles.
    Update(Box<UserUpdate>),
    /// Invite someone: an account without a password, and an email (through the outbox,
    /// which a running Porta delivers) with a one-time link to choose one.
    Invite {
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Roles besides `user` (repeat).
        #[arg(long = "role", value_name = "ROLE", num_args = 1..)]
        roles: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Disable an account: it cannot sign in; its sessions end and its grants are revoked.
    Disable {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Enable a disabled account.
    Enable {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete an account: everything revoked, personal data erased (audit events stay
    /// under its id).
    Delete {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// End every session of an account and revoke every grant it gave to apps.
    RevokeSessions {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Remove an account's second factors (TOTP and recovery codes).
    ResetMfa {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Lift an account's sign-in locks.
    Unlock {
        account: String,
        #[command(flatten)]
        out: Output,
    },
    /// Remove an account's password and end its sign-ins; the person sets a new one
    /// through "forgot password".
    ResetPassword {
        account: String,
        #[command(flatten)]
        out: Output,
    },
}

/// How a command prints its answer.
#[derive(Debug, Args, Clone, Copy)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserUpdate {
    /// Email, phone number (+…) or id.
    pub account: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// true or false.
    #[arg(long)]
    pub email_verified: Option<bool>,
    /// A phone number with its country code ("" removes it).
    #[arg(long)]
    pub phone: Option<String>,
    /// BCP 47 language tag, like pt-PT ("" removes it).
    #[arg(long)]
    pub locale: Option<String>,
    /// IANA time zone, like Europe/Lisbon ("" removes it).
    #[arg(long)]
    pub zoneinfo: Option<String>,
    /// The account's roles, replacing the ones it has (repeat; `user` is always kept).
    #[arg(long = "role", value_name = "ROLE", num_args = 1..)]
    pub roles: Vec<String>,
    /// A custom attribute: name=value (JSON for numbers, booleans and lists; name= removes
    /// it). Repeat for several.
    #[arg(long = "attribute", value_name = "NAME=VALUE", num_args = 1..)]
    pub attributes: Vec<String>,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Create a role.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a role (not user, consultant or admin); accounts lose it.
    Delete {
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// List roles with their permissions and how many accounts hold them.
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Give ROLE the permission PERMISSION.
    Grant {
        role: String,
        permission: String,
        #[command(flatten)]
        out: Output,
    },
    /// Take the permission PERMISSION from ROLE.
    Revoke {
        role: String,
        permission: String,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum AttributeCommand {
    /// List them: name, type, values, who edits, scope and claim.
    List {
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Create a permission, like appointments:manage.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a permission (every role loses it).
    Delete {
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// List permissions and the roles that carry them.
    List {
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give ACCOUNT (email or id) the role ROLE; prints the account's roles as JSON.
    Add { account: String, role: String },
    /// Take the role ROLE from ACCOUNT (email or id); prints the account's roles as JSON.
    Remove { account: String, role: String },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Delete the demo person (whose password is published) and the demo client, ending
    /// their sessions and revoking their grants.
    Remove,
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
        /// Remove key KID at once (a new active key replaces it if it was active). Key ids
        /// are base64url and may begin with `-`, which is taken as the value here.
        #[arg(long, value_name = "KID", allow_hyphen_values = true)]
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
        &settings.server.log_format,
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
        Command::Backup { to } => backup(settings, to).await,
        Command::Restore { from, force } => restore(settings, from, force).await,
        Command::Client(ClientCommand::Create(c)) => client_create(settings, *c).await,
        Command::Client(ClientCommand::List) => client_list(settings).await,
        Command::Client(command) => client_admin(settings, command).await,
        Command::User(command) => user_admin(settings, command).await,
        Command::Role(command) => role_admin(settings, command).await,
        Command::Permission(command) => permission_admin(settings, command).await,
        Command::Attribute(AttributeCommand::List { out }) => attribute_list(settings, out).await,
        Command::Audit {
            account,
            kind,
            since,
            limit,
        } => audit(settings, account, kind, since, limit).await,
        Command::Keys(KeysCommand::List) => keys_list(settings).await,
        Command::Demo(DemoCommand::Remove) => demo_remove(settings).await,
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

/// Logs to stderr: text (colours only when stderr is a terminal, never into files or
/// journald) or, with `log_format = "json"`, one JSON object per line for collectors.
/// Every line written while a request is handled carries its request id.
fn init_tracing(filter: &str, format: &str, serving: bool) {
    use std::io::IsTerminal;
    // Commands other than serve keep stderr quiet unless something is wrong.
    let filter = if serving {
        filter.to_string()
    } else {
        "warn".to_string()
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

async fn open(settings: &Settings) -> Result<db::DbPool, String> {
    let s = settings.clone();
    actix_web::rt::task::spawn_blocking(move || app::open_database(&s))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
