//! The settings of each area, with their defaults (the same as `config/default.toml`).

use super::*;

/// Where Porta listens and what it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Public base URL; the `iss` of every token. No trailing slash, no query.
    pub issuer: String,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Take the client IP from `X-Forwarded-For` / `Forwarded` (only behind a proxy that
    /// sets them; otherwise anyone could pick their IP and dodge the per-IP throttle).
    pub trust_proxy_headers: bool,
    /// Proxies whose `X-Forwarded-For` hops are believed: addresses and CIDR networks,
    /// comma-separated. Walking from the peer leftwards, the first hop outside them is the
    /// client. Empty with `trust_proxy_headers` on: the peer is the one proxy.
    pub trusted_proxies: String,
    /// A bearer token that `/metrics` requires. Unset: `/metrics` answers only callers on
    /// this machine (loopback).
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// `Strict-Transport-Security: max-age` in seconds, sent on every answer when the
    /// issuer is https (browsers then refuse plain http to it); 0 sends none.
    pub hsts_max_age: i64,
    /// Requests per second one client IP may make, sustained (0 = no limit).
    pub rate_limit_per_ip: u32,
    /// Requests one client IP may make at once before the sustained rate applies.
    pub rate_limit_burst: u32,
    /// Requests per second one OAuth client may make to the token, introspection and
    /// revocation endpoints, sustained, with the same burst (0 = no limit).
    pub rate_limit_per_client: u32,
    /// Seconds a client has to send a request's headers, and again its whole body, before
    /// it is answered 408 (slow or stalled clients cannot hold connections).
    pub request_read_timeout: u64,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// `text` (colours only on a terminal) or `json` (one object per line).
    pub log_format: String,
    /// What `porta serve` runs, comma-separated: `idp` (the identity provider), `bookings`,
    /// `content`. `--only` sets it.
    pub parts: String,
    /// Folder for the generated `master.key` and `media.key` and the development `outbox/`
    /// (the SQLite file is wherever `database_url` says).
    pub data_dir: PathBuf,
    /// Three seconds after `porta serve` starts, unmap the executable's code from the
    /// process (start-up's code leaves the resident set; what serving runs maps again).
    pub unmap_start_up_code: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            issuer: "http://127.0.0.1:8080".into(),
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            trust_proxy_headers: false,
            trusted_proxies: String::new(),
            metrics_token: None,
            hsts_max_age: 365 * 24 * 3600,
            request_read_timeout: 10,
            rate_limit_per_ip: 200,
            rate_limit_burst: 1000,
            rate_limit_per_client: 500,
            log: "info".into(),
            log_format: "text".into(),
            parts: "idp,bookings,content".into(),
            data_dir: PathBuf::from("data"),
            unmap_start_up_code: true,
        }
    }
}

/// The database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://…` selects PostgreSQL; anything else is a SQLite path.
    pub database_url: String,
    /// Largest number of pooled database connections.
    pub db_pool_size: u32,
    /// Seconds a request waits for a database connection and its turn to write on SQLite
    /// (together), and again for SQLite's write lock, before it is answered 503 + Retry-After.
    pub db_wait_timeout: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            database_url: "data/porta.db".into(),
            db_pool_size: 16,
            db_wait_timeout: 5,
        }
    }
}

/// Token, code and authorization-request lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenSettings {
    /// Access-token life in seconds.
    pub access_token_ttl: i64,
    /// ID-token life in seconds.
    pub id_token_ttl: i64,
    /// Refresh-token life in seconds; each rotation starts it anew (sliding).
    pub refresh_token_ttl: i64,
    /// The longest a grant's refresh tokens live, counted from the sign-in that started
    /// the grant, however often they rotate; 0 sets no such limit.
    pub refresh_token_absolute_ttl: i64,
    /// Authorization-code life in seconds.
    pub code_ttl: i64,
    /// How long a pending authorization request (sign-in and consent) may take, in seconds.
    pub authorization_request_ttl: i64,
    /// Authorization requests one IP may leave waiting for sign-in or consent per
    /// `authorization_request_ttl` (each is stored until it expires).
    pub authorize_max_pending_per_ip: i64,
    /// `aud` of access tokens when no resource is named.
    pub access_token_audience: Option<String>,
    /// Seconds a rotated-out refresh token may come back from the same client and get the
    /// same successor (a retry), instead of revoking its family. 0 turns this off.
    pub refresh_reuse_grace: i64,
    /// Seconds an app's previous secret keeps working after an administrator rotates it
    /// (time to deploy the new one); an emergency rotation can ask for 0.
    pub client_secret_grace: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl: 3600,
            id_token_ttl: 3600,
            refresh_token_ttl: 30 * 24 * 3600,
            refresh_token_absolute_ttl: 90 * 24 * 3600,
            code_ttl: 60,
            authorization_request_ttl: 1800,
            authorize_max_pending_per_ip: 1000,
            access_token_audience: None,
            refresh_reuse_grace: 5,
            client_secret_grace: 24 * 3600,
        }
    }
}

/// The master key and the signing-key schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeySettings {
    /// 32 bytes, base64 or hex; encrypts secrets at rest. Generated on the embedded default.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    /// Seconds a signing key stays active before the next one takes over.
    pub key_rotation_period: i64,
    /// Seconds a new key is published in the JWKS before it signs anything.
    pub key_prepublish: i64,
    /// `Cache-Control: max-age` of the JWKS in seconds; never more than `key_prepublish`.
    pub jwks_max_age: i64,
    /// Seconds between key-schedule checks (and key reloads) on every node.
    pub key_check_interval: i64,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            master_key: None,
            key_rotation_period: 30 * 24 * 3600,
            key_prepublish: 24 * 3600,
            jwks_max_age: 900,
            key_check_interval: 60,
        }
    }
}

/// Accounts, browser sessions and the audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountSettings {
    /// Browser-session life in seconds.
    pub session_ttl: i64,
    /// Whether people may create accounts themselves on `/register`.
    pub registration_enabled: bool,
    /// Shortest password accepted at registration, reset and change (characters).
    pub password_min_length: usize,
    /// Seconds audit events are kept.
    pub audit_retention: i64,
    /// Password hashes run at once (argon2id, ~19 MiB each); 0 = one per core.
    pub hash_concurrency: usize,
    /// Seconds a request waits for a hashing slot before it is answered 503.
    pub hash_queue_timeout: u64,
    /// Seconds a hashing thread keeps its RustCrypto argon2 memory (~19 MiB; used when
    /// RustCrypto is the engine, and for stored hashes libsodium cannot run) with nothing
    /// to hash, before giving it back.
    pub hash_memory_keep: u64,
    /// Which argon2id code hashes passwords: `auto` (the faster on this CPU, measured two
    /// seconds after start), `libsodium` or `rustcrypto`. The same bytes either way.
    pub hash_engine: crate::crypto::HashEngine,
    /// Seconds after signing in during which a person may add or change a way in
    /// (password, email, phone, authenticator, recovery codes) without signing in again.
    pub fresh_sign_in_window: i64,
    /// Seconds after signing in during which a person with the `admin` role may use the
    /// admin console; then they sign in again.
    pub admin_fresh_sign_in: i64,
    /// The admin console needs a second factor from every admin (by default only from
    /// those who have one set up).
    pub admin_require_mfa: bool,
    /// Seconds an invitation link (to choose a first password) stays good.
    pub invitation_ttl: i64,
    /// Seconds between a person's request to delete their account and its erasure; signing
    /// in before then keeps it. 0 erases at once.
    pub account_deletion_grace: i64,
    /// The country (ISO 3166 alpha-2, like `PT`) a mobile number typed without `+` and a
    /// country code belongs to; unset: numbers need their country code.
    pub default_phone_region: Option<String>,
    /// Days a browser may be remembered after a second factor (the person ticks the box;
    /// there, the next sign-ins need the first factor only); 0: never offered.
    pub remember_browser_days: i64,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            session_ttl: 14 * 24 * 3600,
            registration_enabled: true,
            password_min_length: 8,
            audit_retention: 90 * 24 * 3600,
            hash_concurrency: 0,
            hash_queue_timeout: 5,
            hash_memory_keep: 30,
            hash_engine: crate::crypto::HashEngine::Auto,
            fresh_sign_in_window: 300,
            admin_fresh_sign_in: 900,
            admin_require_mfa: false,
            invitation_ttl: 7 * 24 * 3600,
            account_deletion_grace: 14 * 24 * 3600,
            default_phone_region: None,
            remember_browser_days: 30,
        }
    }
}

/// One-time codes by email and SMS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtpSettings {
    /// Life of a one-time sign-in code, in seconds.
    pub otp_ttl: i64,
    /// Wrong tries a one-time code allows before it is dead.
    pub otp_max_tries: i64,
    /// Codes one identifier may be sent per `otp_window`.
    pub otp_max_sends: i64,
    /// Seconds over which `otp_max_sends` and `otp_max_sends_per_ip` count.
    pub otp_window: i64,
    /// Codes sent (sign-in, registration, reset, verification) per client IP per
    /// `otp_window`, whatever the addresses.
    pub otp_max_sends_per_ip: i64,
    /// Codes sent per minute in all, from everyone: a ceiling on mail and SMS cost.
    pub otp_max_sends_per_minute: i64,
}

impl Default for OtpSettings {
    fn default() -> Self {
        OtpSettings {
            otp_ttl: 600,
            otp_max_tries: 5,
            otp_max_sends: 3,
            otp_window: 900,
            otp_max_sends_per_ip: 30,
            otp_max_sends_per_minute: 600,
        }
    }
}

/// Failed-attempt counters and temporary locks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThrottleSettings {
    /// Failed sign-ins per account (within `failure_window`) before it is locked.
    pub login_max_failures: i64,
    /// Failed sign-ins per client IP (any accounts, within `failure_window`) before the IP
    /// is locked: stops password spraying across accounts.
    pub ip_max_failures: i64,
    /// Failed client authentications per client id before it is locked.
    pub client_auth_max_failures: i64,
    /// Seconds without failures after which counting starts over.
    pub failure_window: i64,
    /// First lock in seconds; doubles with every further failure.
    pub lock_base: i64,
    /// Longest lock in seconds (locks are always temporary).
    pub lock_max: i64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            login_max_failures: 5,
            ip_max_failures: 50,
            client_auth_max_failures: 10,
            failure_window: 900,
            lock_base: 2,
            lock_max: 900,
        }
    }
}

/// Email delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailSettings {
    /// SMTP server; unset = development outbox (files under `data_dir/outbox` + the log).
    pub smtp_host: Option<String>,
    /// SMTP port (587 for STARTTLS, 465 for TLS).
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: String,
    pub smtp_username: Option<String>,
    #[serde(skip_serializing)]
    pub smtp_password: Option<SecretString>,
    /// The From address of Porta's email.
    pub mail_from: String,
    /// Allow the development outbox (codes written to files and the log) with an https
    /// issuer. Off: an https issuer without `smtp_host` does not start.
    pub allow_development_outbox: bool,
    /// Deliveries of one email or SMS tried before it is marked failed.
    pub outbox_max_attempts: i64,
    /// Seconds before the first retry of a failed delivery; doubles after each (≤ 1 h).
    pub outbox_retry_pause: i64,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            mail_from: "Porta <no-reply@localhost>".into(),
            allow_development_outbox: false,
            outbox_max_attempts: 8,
            outbox_retry_pause: 10,
        }
    }
}

/// SMS delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsSettings {
    /// `outbox` (development: files + log) or `http` (a Twilio-style HTTP API).
    pub sms_provider: String,
    /// The URL Porta POSTs messages to (form fields `To`, `From`, `Body`), for `http`.
    pub sms_http_url: Option<String>,
    /// Basic-auth user for the SMS API (e.g. the account SID).
    pub sms_http_username: Option<String>,
    /// Basic-auth password for the SMS API (e.g. the auth token).
    #[serde(skip_serializing)]
    pub sms_http_password: Option<SecretString>,
    /// The sender number or name.
    pub sms_from: String,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            sms_provider: "outbox".into(),
            sms_http_url: None,
            sms_http_username: None,
            sms_http_password: None,
            sms_from: "Porta".into(),
        }
    }
}

/// How the bundled APIs check tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceSettings {
    /// The issuer whose tokens the APIs accept (its discovery document and JWKS are fetched
    /// over HTTP). Default: this Porta's `issuer`. Required when `idp` is not run.
    pub resource_issuer: Option<String>,
    /// The `aud` the APIs require. Default: `access_token_audience`, else the resource issuer.
    pub resource_audience: Option<String>,
    /// `jwks` (verify tokens locally) or `introspection` (ask the issuer, RFC 7662).
    pub resource_validation: String,
    /// The APIs' own client, for introspection.
    pub resource_client_id: Option<String>,
    #[serde(skip_serializing)]
    pub resource_client_secret: Option<SecretString>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub resource_leeway: i64,
    /// Shortest time between two JWKS fetches caused by an unknown `kid`, in seconds.
    pub resource_jwks_refetch_interval: i64,
    /// Seconds an introspection answer is reused; 0 asks every time, so a revoked token
    /// fails on its next use.
    pub resource_introspection_cache: i64,
    /// Browser origins (`scheme://host[:port]`, comma-separated) that may call the
    /// bookings and content APIs; empty: none (no CORS headers at all).
    pub api_cors_origins: String,
    /// Writes (POST, PUT, PATCH, DELETE) one token subject may make to the APIs per
    /// `api_write_window`; 0 turns the limit off.
    pub api_write_limit: u32,
    /// The window of `api_write_limit`, in seconds.
    pub api_write_window: u64,
}

impl Default for ResourceSettings {
    fn default() -> Self {
        ResourceSettings {
            resource_issuer: None,
            resource_audience: None,
            resource_validation: "jwks".into(),
            resource_client_id: None,
            resource_client_secret: None,
            resource_leeway: 60,
            resource_jwks_refetch_interval: 10,
            resource_introspection_cache: 0,
            api_cors_origins: String::new(),
            api_write_limit: 100,
            api_write_window: 900,
        }
    }
}

/// The bookings API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookingSettings {
    /// A person may cancel an appointment up to this many seconds before it starts.
    pub booking_cancel_notice: i64,
    /// Booking grid in minutes (5, 10, 15, 20, 30 or 60).
    pub booking_slot_minutes: i64,
    /// Most appointment requests one person may have waiting for an answer at once.
    pub booking_max_open_requests: i64,
    /// The bookings module's service account at Porta (a client-credentials client with
    /// `admin:users:write`): approving a consultant gives the person the `consultant` role
    /// and sets the status attribute through the admin API. Unset: the module only
    /// records its own review.
    pub bookings_client_id: Option<String>,
    #[serde(skip_serializing)]
    pub bookings_client_secret: Option<SecretString>,
    /// The custom attribute that carries a consultant's review status (`pending`,
    /// `approved`, `rejected`); empty: none is set.
    pub bookings_status_attribute: String,
    /// Folder for consultants' documents (private: served only by signed link to admins).
    pub booking_documents_dir: PathBuf,
    /// Largest document a consultant may upload, in bytes.
    pub booking_document_max_bytes: u64,
    /// Life of a document's signed link, in seconds.
    pub booking_document_url_ttl: i64,
    /// Email the parties of an appointment on every event (needs the service account:
    /// addresses and languages come from the admin API).
    pub booking_notifications: bool,
    /// A reminder goes to both parties this many seconds before a confirmed appointment
    /// starts; 0: no reminders.
    pub booking_reminder_before: i64,
    /// Sender of the module's emails; empty: `mail_from`.
    pub booking_mail_from: String,
    /// The module's own SMTP server (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`, `smtp://host:25`); unset: Porta's `smtp_*` settings.
    #[serde(skip_serializing)]
    pub booking_smtp_url: Option<SecretString>,
}

impl Default for BookingSettings {
    fn default() -> Self {
        BookingSettings {
            booking_cancel_notice: 24 * 3600,
            booking_slot_minutes: 15,
            booking_max_open_requests: 5,
            bookings_client_id: None,
            bookings_client_secret: None,
            bookings_status_attribute: "profile_status".into(),
            booking_documents_dir: PathBuf::from("data/bookings-documents"),
            booking_document_max_bytes: 10 * 1024 * 1024,
            booking_document_url_ttl: 300,
            booking_notifications: true,
            booking_reminder_before: 24 * 3600,
            booking_mail_from: String::new(),
            booking_smtp_url: None,
        }
    }
}

/// The content API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContentSettings {
    /// Folder the content API serves audio and transcripts from.
    pub media_dir: PathBuf,
    /// Life of a signed media URL, in seconds.
    pub media_url_ttl: i64,
    /// HMAC key of signed media URLs (32+ bytes, base64 or hex). Unset: generated once into
    /// `data_dir/media.key`; set it when several nodes serve media.
    #[serde(skip_serializing)]
    pub media_key: Option<SecretString>,
    /// Largest transcript PDF whose text is extracted for search, in bytes.
    pub transcript_max_bytes: u64,
    /// Life of a signed download link (offline listening), in seconds.
    pub media_download_ttl: i64,
    /// Download links one person may get per UTC day; 0 turns downloads off.
    pub media_downloads_per_day: i64,
    /// Largest audio or transcript file an admin may upload, in bytes.
    pub media_upload_max_bytes: u64,
}

impl Default for ContentSettings {
    fn default() -> Self {
        ContentSettings {
            media_dir: PathBuf::from("data/media"),
            media_url_ttl: 300,
            media_key: None,
            transcript_max_bytes: 50 * 1024 * 1024,
            media_download_ttl: 24 * 3600,
            media_downloads_per_day: 20,
            media_upload_max_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Custom attributes of accounts, declared by the operator (`[[attributes]]` in TOML).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttributeSettings {
    /// Each attribute: its name, type, allowed values, who edits it, and which scope
    /// releases it under which claim.
    pub attributes: Vec<AttributeSpec>,
}

/// The type of a custom attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeKind {
    String,
    Number,
    Boolean,
    /// One of `values`.
    Enum,
    /// A list of strings (of `values`, when given).
    List,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// Who may change a custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeEditor {
    /// Administrators only (the person sees it, if its scope is released, but cannot change it).
    #[default]
    Admin,
    /// The person, on the account page, and administrators.
    Person,
}

/// One custom attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    /// `a-z`, digits and `_`, up to 64 characters.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeKind,
    /// Allowed values (required for `enum`; optional for `string` and `list`).
    #[serde(default)]
    pub values: Vec<String>,
    /// Longest text, in characters (a string, or each item of a list).
    #[serde(default = "default_attribute_length")]
    pub max_length: usize,
    /// `admin` (the default) or `person`.
    #[serde(default)]
    pub editable_by: AttributeEditor,
    /// The scope that releases it in id tokens, userinfo and access tokens.
    #[serde(default = "default_attribute_scope")]
    pub scope: String,
    /// The claim name (default: the attribute's name).
    #[serde(default)]
    pub claim: Option<String>,
    /// What the account page calls it (default: the name).
    #[serde(default)]
    pub label: Option<String>,
}

fn default_attribute_length() -> usize {
    256
}

fn default_attribute_scope() -> String {
    "profile".into()
}

impl AttributeSpec {
    /// The claim this attribute travels under.
    pub fn claim_name(&self) -> &str {
        self.claim.as_deref().unwrap_or(&self.name)
    }

    /// What a page calls it.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}
