//! Clients: the registered applications, their redirect URIs, grants, scopes and secrets.

pub mod store;

use serde::Serialize;

use crate::crypto;
use crate::db::{self, DbError, DbPool};

pub use store::ClientRow;

/// Grant types a client may be registered for.
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

/// Scopes Porta understands; anything else is refused at registration.
pub const KNOWN_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// A registered client as the rest of Porta sees it (lists parsed).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: crate::ids::ClientId,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    /// As a resource server: the token audiences it may introspect.
    pub audiences: Vec<String>,
    /// Browser origins allowed at the token endpoints (empty: from the redirect URIs).
    pub web_origins: Vec<String>,
    /// This app's token lifetimes (`None`: the settings').
    pub lifetimes: Lifetimes,
    /// The secret before the last rotation, and until when it still works.
    pub previous_secret: Option<(String, i64)>,
    /// When an administrator disabled the app.
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// How an app's access tokens look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    /// An RS256 JWT after RFC 9068: any resource server checks it with the JWKS.
    #[default]
    Jwt,
    /// The same claims sealed (XChaCha20-Poly1305 under a key derived from the master
    /// key) behind `tokens::OPAQUE_PREFIX`: nobody but Porta reads them, so a resource server
    /// asks the introspection endpoint, and issuing one costs no RSA signature.
    Opaque,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTokenFormat::Jwt => "jwt",
            AccessTokenFormat::Opaque => "opaque",
        }
    }

    /// `jwt` or `opaque`.
    pub fn parse(text: &str) -> Option<AccessTokenFormat> {
        match text {
            "jwt" => Some(AccessTokenFormat::Jwt),
            "opaque" => Some(AccessTokenFormat::Opaque),
            _ => None,
        }
    }
}

/// Token lifetimes of one app, in seconds; `None` keeps the setting's default. And whether
/// refresh answers carry a new id token (OIDC Core 12.2 lets a server leave it out), and
/// how its access tokens look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lifetimes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<i64>,
    pub refresh_id_token: bool,
    pub access_token_format: AccessTokenFormat,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            access_token_ttl: None,
            id_token_ttl: None,
            refresh_token_ttl: None,
            refresh_id_token: true,
            access_token_format: AccessTokenFormat::Jwt,
        }
    }
}

impl Lifetimes {
    /// Each lifetime, if set, between a minute and a year.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("access-token-ttl", self.access_token_ttl),
            ("id-token-ttl", self.id_token_ttl),
            ("refresh-token-ttl", self.refresh_token_ttl),
        ] {
            if let Some(v) = v {
                if !(60..=366 * 24 * 3600).contains(&v) {
                    return Err(format!("--{name} must be 60 to 31622400 seconds"));
                }
            }
        }
        Ok(())
    }
}

impl Client {
    /// Public clients have no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Exact, character-for-character match (RFC 9700 2.1), except that a loopback IP
    /// redirect URI matches on any port (RFC 8252 7.3: native apps listen on a free port).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        let loopback = without_loopback_port(uri);
        self.redirect_uris
            .iter()
            .any(|r| r == uri || (loopback.is_some() && without_loopback_port(r) == loopback))
    }

    /// May a browser page at `origin` call the token endpoints for this client? The
    /// registered web origins, or without any, the origins of the redirect URIs.
    pub fn allows_origin(&self, origin: &str) -> bool {
        if self.web_origins.is_empty() {
            self.redirect_uris
                .iter()
                .filter_map(|u| web_origin(u))
                .any(|o| o == origin)
        } else {
            self.web_origins.iter().any(|o| o == origin)
        }
    }

    /// May this client, as a resource server, read a token meant for `audiences`?
    pub fn serves_audience(&self, audiences: &[&str]) -> bool {
        self.audiences
            .iter()
            .any(|a| audiences.contains(&a.as_str()))
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// Checks a presented secret against the stored SHA-256 (secrets are 256-bit random,
    /// so a fast hash is enough and keeps the token endpoint fast); after a rotation the
    /// previous secret matches too, until its grace period ends.
    pub fn secret_matches(&self, secret: &str) -> bool {
        let Some(hash) = &self.secret_hash else {
            return false;
        };
        let presented = crypto::hash_secret(secret);
        let current = crypto::constant_time_eq(&presented, hash);
        let previous = self.previous_secret.as_ref().is_some_and(|(old, until)| {
            *until > crate::time::now() && crypto::constant_time_eq(&presented, old)
        });
        current | previous
    }

    /// False once an administrator disabled the app.
    pub fn is_enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    /// The app as administrators see it: everything but secrets.
    pub fn view(&self) -> ClientView {
        ClientView {
            client_id: self.id.to_string(),
            name: self.name.clone(),
            public: self.is_public(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            scope: self.scopes.join(" "),
            skip_consent: self.skip_consent,
            audiences: self.audiences.clone(),
            web_origins: self.web_origins.clone(),
            access_token_ttl: self.lifetimes.access_token_ttl,
            id_token_ttl: self.lifetimes.id_token_ttl,
            refresh_token_ttl: self.lifetimes.refresh_token_ttl,
            refresh_id_token: self.lifetimes.refresh_id_token,
            access_token_format: self.lifetimes.access_token_format,
            state: if self.is_enabled() {
                "active"
            } else {
                "disabled"
            },
            previous_secret_valid_until: self
                .previous_secret
                .as_ref()
                .map(|(_, until)| *until)
                .filter(|until| *until > crate::time::now()),
            created_at: self.created_at,
        }
    }
}

/// An app as administrators see it (never a secret or its hash).
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub skip_consent: bool,
    pub audiences: Vec<String>,
    pub web_origins: Vec<String>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_id_token: bool,
    pub access_token_format: AccessTokenFormat,
    /// `active` or `disabled`.
    pub state: &'static str,
    /// Until when the secret before the last rotation still works (none: it does not).
    pub previous_secret_valid_until: Option<i64>,
    pub created_at: i64,
}

impl From<ClientRow> for Client {
    fn from(row: ClientRow) -> Self {
        let split = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_string).collect() };
        // A value this build does not know (written by a newer one) reads as the default,
        // and says so.
        let access_token_format = AccessTokenFormat::parse(&row.access_token_format)
            .unwrap_or_else(|| {
                tracing::warn!(
                    client = %row.id,
                    value = %row.access_token_format,
                    "unknown access_token_format: this app gets JWT access tokens"
                );
                AccessTokenFormat::Jwt
            });
        Client {
            redirect_uris: serde_json::from_str(&row.redirect_uris).unwrap_or_default(),
            post_logout_redirect_uris: serde_json::from_str(&row.post_logout_redirect_uris)
                .unwrap_or_default(),
            grant_types: split(&row.grant_types),
            scopes: split(&row.scopes),
            id: row.id.into(),
            name: row.name,
            secret_hash: row.secret_hash,
            skip_consent: row.skip_consent,
            audiences: split(&row.audiences),
            web_origins: split(&row.web_origins),
            lifetimes: Lifetimes {
                access_token_ttl: row.access_token_ttl,
                id_token_ttl: row.id_token_ttl,
                refresh_token_ttl: row.refresh_token_ttl,
                refresh_id_token: row.refresh_id_token,
                access_token_format,
            },
            previous_secret: row.previous_secret_hash.zip(row.previous_secret_expires_at),
            disabled_at: row.disabled_at,
            created_at: row.created_at,
        }
    }
}

/// What an operator asks for when registering a client.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    /// As a resource server: the token audiences it may introspect (empty: none but its
    /// own tokens).
    pub audiences: Vec<String>,
    /// Browser origins (`https://app.example.com`) that may call the token endpoints for
    /// it; empty: the origins of its redirect URIs.
    pub web_origins: Vec<String>,
    /// Its token lifetimes (default: the settings').
    pub lifetimes: Lifetimes,
}

/// The answer to a registration: the secret is shown here once and never again.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_method: &'static str,
    pub skip_consent: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web_origins: Vec<String>,
    #[serde(flatten)]
    pub lifetimes: Lifetimes,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid client: {0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The web origin (`scheme://host[:port]`, default ports left out) of an http(s) URL;
/// `None` for other schemes.
pub fn web_origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// A redirect URI must be absolute, without a fragment, and https unless it points at
/// this machine (RFC 9700 2.1, RFC 8252 for native apps' custom schemes).
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("redirect URI {uri:?}: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let local = matches!(
                parsed.host_str(),
                Some("localhost") | Some("127.0.0.1") | Some("[::1]")
            );
            if local {
                Ok(())
            } else {
                Err(format!(
                    "redirect URI {uri:?} must use https (http only for localhost)"
                ))
            }
        }
        "javascript" | "data" | "file" | "vbscript" => {
            Err(format!("redirect URI {uri:?} has a forbidden scheme"))
        }
        _ => Ok(()),
    }
}

/// `http://127.0.0.1:PORT/rest` or `http://[::1]:PORT/rest` without the port; `None` for
/// any other URI. Plain string surgery, so nothing else about the URI is normalised.
fn without_loopback_port(uri: &str) -> Option<String> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        if let Some(rest) = uri.strip_prefix(host) {
            let rest = match rest.strip_prefix(':') {
                Some(port_and_rest) => {
                    let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
                    if digits == 0 {
                        return None;
                    }
                    &port_and_rest[digits..]
                }
                None => rest,
            };
            if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') {
                return Some(format!("{host}{rest}"));
            }
            return None;
        }
    }
    None
}

/// A registration's lists after the rules: what `create` and `update` store.
struct Checked {
    name: String,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    web_origins: Vec<String>,
}

/// Applies the registration rules to `new` (shared by `create` and `update`).
fn check(new: &NewClient) -> Result<Checked, ClientError> {
    let name = new.name.trim().to_string();
    if name.is_empty() {
        return Err(ClientError::Invalid("the name must not be empty".into()));
    }
    let mut grant_types = if new.grant_types.is_empty() {
        vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ]
    } else {
        new.grant_types.clone()
    };
    grant_types.dedup();
    for g in &grant_types {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(ClientError::Invalid(format!(
                "unknown grant type {g:?} (allowed: {})",
                GRANT_TYPES.join(", ")
            )));
        }
    }
    if new.public && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(ClientError::Invalid(
            "a public client cannot use client_credentials".into(),
        ));
    }
    let uses_redirects = grant_types.iter().any(|g| g == "authorization_code");
    if uses_redirects && new.redirect_uris.is_empty() {
        return Err(ClientError::Invalid(
            "at least one --redirect-uri is needed for authorization_code".into(),
        ));
    }
    for uri in new
        .redirect_uris
        .iter()
        .chain(new.post_logout_redirect_uris.iter())
    {
        validate_redirect_uri(uri).map_err(ClientError::Invalid)?;
    }
    let mut scopes: Vec<String> = new
        .scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes = KNOWN_SCOPES.iter().map(|s| s.to_string()).collect();
    }
    scopes.dedup();
    for s in &scopes {
        let valid = !s.is_empty()
            && s.chars()
                .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c));
        if !valid {
            return Err(ClientError::Invalid(format!("invalid scope {s:?}")));
        }
    }

    new.lifetimes.check().map_err(ClientError::Invalid)?;
    for aud in &new.audiences {
        if aud.is_empty()
            || aud.len() > 512
            || aud.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ClientError::Invalid(format!("invalid audience {aud:?}")));
        }
    }
    let web_origins = new
        .web_origins
        .iter()
        .map(|o| {
            let bare = url::Url::parse(o)
                .is_ok_and(|u| u.path() == "/" && u.query().is_none() && u.username().is_empty());
            bare.then(|| web_origin(o)).flatten().ok_or_else(|| {
                ClientError::Invalid(format!(
                    "invalid web origin {o:?} (scheme://host[:port], no path)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Checked {
        name,
        grant_types,
        scopes,
        web_origins,
    })
}

/// A new client id: 128 random bits in base64url, never beginning with `-`, so that a
/// command line (`porta client show ID`) or a shell does not take it for a flag. A leading
/// `-` becomes `_`; client ids are public, so the bias costs nothing.
fn new_client_id() -> String {
    let id = crypto::random_token(16);
    match id.strip_prefix('-') {
        Some(rest) => format!("_{rest}"),
        None => id,
    }
}

/// Registers a client; returns its id and (for confidential clients) its one-time secret.
pub async fn create(pool: &DbPool, new: NewClient) -> Result<CreatedClient, ClientError> {
    let Checked {
        name,
        grant_types,
        scopes,
        web_origins,
    } = check(&new)?;
    let id = new_client_id();
    let secret = (!new.public).then(|| crypto::random_token(32));
    let row = ClientRow {
        id: id.clone(),
        name: name.clone(),
        secret_hash: secret.as_deref().map(crypto::hash_secret),
        redirect_uris: serde_json::to_string(&new.redirect_uris).unwrap_or_default(),
        post_logout_redirect_uris: serde_json::to_string(&new.post_logout_redirect_uris)
            .unwrap_or_default(),
        grant_types: grant_types.join(" "),
        scopes: scopes.join(" "),
        skip_consent: new.skip_consent,
        created_at: crate::time::now(),
        audiences: new.audiences.join(" "),
        web_origins: web_origins.join(" "),
        access_token_ttl: new.lifetimes.access_token_ttl,
        id_token_ttl: new.lifetimes.id_token_ttl,
        refresh_token_ttl: new.lifetimes.refresh_token_ttl,
        refresh_id_token: new.lifetimes.refresh_id_token,
        access_token_format: new.lifetimes.access_token_format.as_str().into(),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        disabled_at: None,
    };
    db::run_write(pool, move |conn| Ok(store::insert(conn, &row)?)).await?;
    Ok(CreatedClient {
        client_id: id,
        client_secret: secret,
        name,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types,
        scope: scopes.join(" "),
        token_endpoint_auth_method: if new.public {
            "none"
        } else {
            "client_secret_basic"
        },
        skip_consent: new.skip_consent,
        audiences: new.audiences,
        web_origins,
        lifetimes: new.lifetimes,
    })
}

/// What an administrator may change on an app; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub skip_consent: Option<bool>,
    pub audiences: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    /// Each lifetime: `Some(None)` goes back to the setting.
    pub access_token_ttl: Option<Option<i64>>,
    pub id_token_ttl: Option<Option<i64>>,
    pub refresh_token_ttl: Option<Option<i64>>,
    pub refresh_id_token: Option<bool>,
    pub access_token_format: Option<AccessTokenFormat>,
}

/// Changes an app under the registration rules; `Ok(None)` when there is no such app.
/// Returns the app before and after.
pub async fn update(
    pool: &DbPool,
    id: &str,
    changes: ClientChanges,
) -> Result<Option<(Client, Client)>, ClientError> {
    let Some(before) = find(pool, id.to_string()).await? else {
        return Ok(None);
    };
    let c = changes;
    let merged = NewClient {
        name: c.name.unwrap_or_else(|| before.name.clone()),
        redirect_uris: c
            .redirect_uris
            .unwrap_or_else(|| before.redirect_uris.clone()),
        post_logout_redirect_uris: c
            .post_logout_redirect_uris
            .unwrap_or_else(|| before.post_logout_redirect_uris.clone()),
        public: before.is_public(),
        grant_types: c.grant_types.unwrap_or_else(|| before.grant_types.clone()),
        scopes: c.scopes.unwrap_or_else(|| before.scopes.clone()),
        skip_consent: c.skip_consent.unwrap_or(before.skip_consent),
        audiences: c.audiences.unwrap_or_else(|| before.audiences.clone()),
        web_origins: c.web_origins.unwrap_or_else(|| before.web_origins.clone()),
        lifetimes: Lifetimes {
            access_token_ttl: c
                .access_token_ttl
                .unwrap_or(before.lifetimes.access_token_ttl),
            id_token_ttl: c.id_token_ttl.unwrap_or(before.lifetimes.id_token_ttl),
            refresh_token_ttl: c
                .refresh_token_ttl
                .unwrap_or(before.lifetimes.refresh_token_ttl),
            refresh_id_token: c
                .refresh_id_token
                .unwrap_or(before.lifetimes.refresh_id_token),
            access_token_format: c
                .access_token_format
                .unwrap_or(before.lifetimes.access_token_format),
        },
    };
    let checked = check(&merged)?;
    let row = ClientRow {
        id: before.id.to_string(),
        name: checked.name,
        secret_hash: before.secret_hash.clone(),
        redirect_uris: serde_json::to_string(&merged.redirect_uris).unwrap_or_default(),
        post_logout_redirect_uris: serde_json::to_string(&merged.post_logout_redirect_uris)
            .unwrap_or_default(),
        grant_types: checked.grant_types.join(" "),
        scopes: checked.scopes.join(" "),
        skip_consent: merged.skip_consent,
        created_at: before.created_at,
        audiences: merged.audiences.join(" "),
        web_origins: checked.web_origins.join(" "),
        access_token_ttl: merged.lifetimes.access_token_ttl,
        id_token_ttl: merged.lifetimes.id_token_ttl,
        refresh_token_ttl: merged.lifetimes.refresh_token_ttl,
        refresh_id_token: merged.lifetimes.refresh_id_token,
        access_token_format: merged.lifetimes.access_token_format.as_str().into(),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        disabled_at: before.disabled_at,
    };
    let after = Client::from(ClientRow {
        previous_secret_hash: before.previous_secret.as_ref().map(|p| p.0.clone()),
        previous_secret_expires_at: before.previous_secret.as_ref().map(|p| p.1),
        ..row.clone()
    });
    db::run_write(pool, move |conn| Ok(store::update(conn, &row)?)).await?;
    Ok(Some((before, after)))
}

/// Gives a confidential app a new secret (returned here, once); the old one keeps working
/// for `grace` seconds. `Ok(None)`: no such app; a public app has no secret to rotate.
pub async fn rotate_secret(
    pool: &DbPool,
    id: &str,
    grace: i64,
) -> Result<Option<String>, ClientError> {
    let Some(client) = find(pool, id.to_string()).await? else {
        return Ok(None);
    };
    if client.is_public() {
        return Err(ClientError::Invalid(
            "a public client has no secret to rotate".into(),
        ));
    }
    let secret = crypto::random_token(32);
    let hash = crypto::hash_secret(&secret);
    let id = id.to_string();
    let until = crate::time::now() + grace.max(0);
    db::run(pool, move |conn| {
        Ok(store::rotate_secret(conn, &id, &hash, until)?)
    })
    .await?;
    Ok(Some(secret))
}

/// Loads one client.
pub async fn find(pool: &DbPool, id: String) -> Result<Option<Client>, DbError> {
    db::run(pool, move |conn| {
        Ok(store::find(conn, &id)?.map(Client::from))
    })
    .await
}

/// A short-lived in-memory copy of client rows: the token, introspection and revocation
/// endpoints authenticate a client on every call, and clients change rarely. A change
/// (secret, redirect URIs) reaches every node within `ttl`.
pub struct ClientCache {
    ttl: std::time::Duration,
    entries: std::sync::RwLock<std::collections::HashMap<String, (Client, std::time::Instant)>>,
}

impl ClientCache {
    /// Most entries kept before the cache starts over (bounds memory under junk client ids
    /// only if they exist, since unknown ids are never cached).
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: std::time::Duration) -> ClientCache {
        ClientCache {
            ttl,
            entries: Default::default(),
        }
    }

    /// Drops this node's copy of a client an administrator just changed (other nodes see
    /// the change within the cache's lifetime).
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }

    /// The client with this id, from memory when fresh, else from the database.
    pub async fn get(&self, pool: &DbPool, id: String) -> Result<Option<Client>, DbError> {
        if let Ok(entries) = self.entries.read() {
            if let Some((client, at)) = entries.get(&id) {
                if at.elapsed() < self.ttl {
                    return Ok(Some(client.clone()));
                }
            }
        }
        let found = find(pool, id.clone()).await?;
        if let (Some(client), Ok(mut entries)) = (&found, self.entries.write()) {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id, (client.clone(), std::time::Instant::now()));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
