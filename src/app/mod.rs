//! Builds the application from typed settings: database, keys, state and the route table.
//! `porta serve` and the tests both start Porta through here.

mod servers;
mod tasks;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::{self, DbPool};
use crate::keys::KeyRing;
use crate::state::AppState;
use crate::web::PageError;
use crate::{bookings, content, demo, oidc, pages, resource};
use actix_web::dev::Service;
use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use secrecy::ExposeSecret;
pub use servers::*;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
pub use tasks::*;

/// Why Porta could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("invalid setting master_key (PORTA_MASTER_KEY): {0}")]
    MasterKey(String),
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    #[error("signing keys: {0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error("{0}")]
    Notify(String),
    #[error("invalid setting trusted_proxies (PORTA_TRUSTED_PROXIES): {0}")]
    Proxies(String),
    #[error("demo: {0}")]
    Demo(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Opens the database (creating the SQLite folder if needed) and runs migrations.
pub fn open_database(settings: &Settings) -> Result<DbPool, StartError> {
    if !settings.is_postgres() {
        let path = settings
            .database
            .database_url
            .trim_start_matches("sqlite://");
        if let Some(parent) = Path::new(path).parent() {
            if !parent.as_os_str().is_empty() && path != ":memory:" {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StartError::Io(std::io::Error::new(
                        e.kind(),
                        format!("cannot create {}: {e}", parent.display()),
                    ))
                })?;
            }
        }
    }
    let pool = db::connect(
        &settings.database.database_url,
        settings.database.db_pool_size,
        std::time::Duration::from_secs(settings.database.db_wait_timeout),
    )?;
    db::migrate_sets(
        &pool,
        db::MigrationSets {
            idp: settings.runs("idp"),
            apis: settings.runs("bookings") || settings.runs("content"),
        },
    )?;
    Ok(pool)
}

/// The master key from settings or, on the embedded default, from `data_dir/master.key`
/// (generated once, with a warning: back it up with the database).
pub fn master_key(settings: &Settings) -> Result<MasterKey, StartError> {
    if let Some(key) = &settings.keys.master_key {
        return MasterKey::parse(key.expose_secret()).map_err(StartError::MasterKey);
    }
    if settings.is_postgres() {
        return Err(StartError::MasterKey(
            "required with PostgreSQL (every node needs the same key)".into(),
        ));
    }
    let path = settings.server.data_dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        return MasterKey::parse(&text)
            .map_err(|e| StartError::MasterKey(format!("{}: {e}", path.display())));
    }
    std::fs::create_dir_all(&settings.server.data_dir)?;
    let key = MasterKey::generate();
    write_private(&path, &key)?;
    tracing::warn!(path = %path.display(), "generated a new master key; keep it safe and back it up with the database, or set PORTA_MASTER_KEY");
    MasterKey::parse(&key).map_err(StartError::MasterKey)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Everything a server needs: the state handlers reach, the API parts, and the demo app
/// when `serve --demo` asked for it.
#[derive(Clone)]
pub struct Prepared {
    pub state: AppState,
    pub apis: Apis,
    pub demo: Option<Arc<demo::DemoConfig>>,
}

/// Prepares everything a server needs.
pub async fn prepare(settings: Settings, with_demo: bool) -> Result<Prepared, StartError> {
    let master = master_key(&settings)?;
    let notifier = crate::notify::Notifier::from_settings(&settings).map_err(StartError::Notify)?;
    tracing::info!("{}", notifier.describe());
    let s = settings.clone();
    let pool = actix_web::rt::task::spawn_blocking(move || open_database(&s))
        .await
        .map_err(|_| StartError::Db(db::DbError::Cancelled))??;
    let keys = KeyRing::load(&pool, &master).await?;
    let apis = prepare_apis(&settings, pool.clone())?;
    let demo = if with_demo {
        Some(Arc::new(
            demo::seed(&pool, &settings.server.issuer)
                .await
                .map_err(StartError::Demo)?,
        ))
    } else {
        None
    };
    let api_scopes: Vec<(&'static str, &'static str)> = bookings::SCOPES
        .iter()
        .chain(content::SCOPES)
        .chain(crate::admin::SCOPES)
        .copied()
        .collect();
    let mut state = AppState {
        settings: Arc::new(settings.clone()),
        pool: pool.clone(),
        keys,
        master: master.clone(),
        discovery_json: String::new(),
        clients: Arc::new(crate::clients::ClientCache::new(
            std::time::Duration::from_secs(5),
        )),
        outbox: crate::notify::Outbox::new(pool.clone(), master.clone()),
        hasher: crate::crypto::Hasher::new(
            settings.accounts.hash_concurrency,
            std::time::Duration::from_secs(settings.accounts.hash_queue_timeout),
            std::time::Duration::from_secs(settings.accounts.hash_memory_keep),
            settings.accounts.hash_engine,
        ),
        api_scopes: api_scopes.into(),
        lifeline: Arc::new(()),
        client_rate: crate::web::limit::Bucket::new(
            settings.server.rate_limit_per_client,
            settings.server.rate_limit_burst,
        ),
        proxies: crate::web::ProxyTrust::new(
            settings.server.trust_proxy_headers,
            &settings.server.trusted_proxies,
        )
        .map_err(StartError::Proxies)?,
    };
    tasks::spawn_outbox_worker(
        Arc::downgrade(&state.lifeline),
        state.outbox.clone(),
        notifier,
        crate::notify::outbox::Retries::from_settings(&settings.mail),
        pool.clone(),
    );
    state.discovery_json = oidc::discovery::metadata(&state).to_string();
    Ok(Prepared { state, apis, demo })
}

/// The resource-server parts (bookings, content): their database, token validator and
/// settings. They share nothing else with the identity provider.
#[derive(Clone)]
pub struct Apis {
    pub pool: DbPool,
    pub validator: resource::Validator,
    pub bookings: Option<bookings::Config>,
    pub content: Option<content::Config>,
    /// Browser origins allowed to call the APIs (`api_cors_origins`).
    pub cors_origins: Arc<[String]>,
    /// Writes per caller (`api_write_limit` per `api_write_window`); `None`: off.
    pub write_limit: Option<resource::WriteLimit>,
    /// The OpenAPI document of the parts that run, rendered once.
    pub openapi: Arc<String>,
    /// Background work of the APIs (appointment emails) runs while a clone of this lives.
    pub lifeline: Arc<()>,
}

/// Builds the API parts that `settings.server.parts` names.
pub fn prepare_apis(settings: &Settings, pool: DbPool) -> Result<Apis, StartError> {
    let mode = match settings.resource.resource_validation.as_str() {
        "introspection" => resource::Mode::Introspection {
            client_id: settings
                .resource
                .resource_client_id
                .clone()
                .unwrap_or_default(),
            client_secret: settings
                .resource
                .resource_client_secret
                .clone()
                .unwrap_or_default(),
        },
        _ => resource::Mode::Jwks,
    };
    let issuer = settings.resource_issuer();
    if issuer.starts_with("http://") && !is_loopback(&issuer) {
        tracing::warn!(%issuer, "the APIs fetch keys (and send their client secret, in introspection mode) over plain http; use https");
    }
    let validator = resource::Validator::new(resource::ValidatorConfig {
        issuer: settings.resource_issuer(),
        audience: settings.resource_audience(),
        mode,
        leeway: settings.resource.resource_leeway,
        refetch_interval: settings.resource.resource_jwks_refetch_interval,
        introspection_cache: settings.resource.resource_introspection_cache,
    });
    let accounts = match (
        &settings.bookings.bookings_client_id,
        &settings.bookings.bookings_client_secret,
    ) {
        (Some(id), Some(secret)) => Some(Arc::new(resource::AccountsApi::new(
            resource::AccountsConfig {
                issuer: settings.resource_issuer(),
                client_id: id.clone(),
                client_secret: secret.clone(),
            },
        ))),
        _ => None,
    };
    let status_attribute =
        Some(settings.bookings.bookings_status_attribute.clone()).filter(|a| !a.is_empty());
    let lifeline = Arc::new(());
    let notices = match (settings.bookings.booking_notifications, &accounts) {
        (true, Some(accounts)) if settings.runs("bookings") => {
            Some(booking_notices(settings, accounts.clone())?)
        }
        (true, None) if settings.runs("bookings") => {
            tracing::info!("appointment emails are off: they need the bookings service account (bookings_client_id, bookings_client_secret)");
            None
        }
        _ => None,
    };
    if let Some(n) = &notices {
        bookings::spawn_worker(pool.clone(), n.clone(), Arc::downgrade(&lifeline));
    }
    let bookings = match settings.runs("bookings") {
        true => Some(bookings::Config {
            cancel_notice: settings.bookings.booking_cancel_notice,
            slot_minutes: settings.bookings.booking_slot_minutes,
            max_open_requests: settings.bookings.booking_max_open_requests,
            accounts,
            status_attribute,
            documents_dir: settings.bookings.booking_documents_dir.clone(),
            document_max_bytes: settings.bookings.booking_document_max_bytes,
            documents_key: documents_key(&media_key(settings)?),
            document_url_ttl: settings.bookings.booking_document_url_ttl,
            notices,
        }),
        false => None,
    };
    let content = match settings.runs("content") {
        true => Some(content::Config {
            media_dir: settings.content.media_dir.clone(),
            media_key: media_key(settings)?,
            media_url_ttl: settings.content.media_url_ttl,
            transcript_max_bytes: settings.content.transcript_max_bytes,
            download_ttl: settings.content.media_download_ttl,
            downloads_per_day: settings.content.media_downloads_per_day,
            upload_max_bytes: settings.content.media_upload_max_bytes,
        }),
        false => None,
    };
    let openapi = crate::openapi::document(settings, bookings.is_some(), content.is_some());
    Ok(Apis {
        pool,
        validator,
        bookings,
        content,
        cors_origins: settings
            .resource
            .api_cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into(),
        openapi: Arc::new(openapi.to_string()),
        write_limit: resource::WriteLimit::new(
            settings.resource.api_write_limit,
            settings.resource.api_write_window,
        ),
        lifeline,
    })
}

/// The bookings module's mail: its own SMTP server (`booking_smtp_url`) or Porta's.
fn booking_notices(
    settings: &Settings,
    accounts: Arc<resource::AccountsApi>,
) -> Result<bookings::Notices, StartError> {
    use secrecy::ExposeSecret;
    let b = &settings.bookings;
    let transport = match &b.booking_smtp_url {
        Some(url) => Some(
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|_| {
                    StartError::Notify(
                        "invalid setting booking_smtp_url (PORTA_BOOKING_SMTP_URL)".into(),
                    )
                })?
                .timeout(Some(std::time::Duration::from_secs(15)))
                .build(),
        ),
        None => crate::notify::smtp_transport(&settings.mail).map_err(StartError::Notify)?,
    };
    let from = match b.booking_mail_from.as_str() {
        "" => settings.mail.mail_from.as_str(),
        from => from,
    };
    let from = from.parse().map_err(|e| {
        StartError::Notify(format!(
            "invalid setting booking_mail_from (PORTA_BOOKING_MAIL_FROM): {e}"
        ))
    })?;
    let issuer = settings.resource_issuer();
    let host = url::Url::parse(&issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "porta.invalid".into());
    Ok(bookings::Notices {
        mailer: resource::mail::Mailer::new(
            transport,
            from,
            settings.server.data_dir.join("outbox").join("bookings"),
        ),
        accounts,
        reminder_before: b.booking_reminder_before,
        max_attempts: settings.mail.outbox_max_attempts,
        first_pause: settings.mail.outbox_retry_pause,
        host,
        wake: Arc::new(tokio::sync::Notify::new()),
    })
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
                || h == "[::1]"
        })
}

/// The media-URL key from settings or, by default, `data_dir/media.key` (generated once).
/// The key of bookings documents' links: derived from the media key (HMAC with a label of
/// its own), so one secret serves both and a media link can never pass for a document's.
fn documents_key(media_key: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(media_key).expect("any key length");
    mac.update(b"porta bookings documents");
    mac.finalize().into_bytes().to_vec()
}

fn media_key(settings: &Settings) -> Result<Vec<u8>, StartError> {
    let bad = |reason: String| StartError::MasterKey(format!("media_key: {reason}"));
    if let Some(key) = &settings.content.media_key {
        return crate::config::parse_key_bytes(key.expose_secret()).map_err(bad);
    }
    let path = settings.server.data_dir.join("media.key");
    if !path.exists() {
        std::fs::create_dir_all(&settings.server.data_dir)?;
        if let Err(e) = write_private(&path, &MasterKey::generate()) {
            // Another process on the same data folder may have written it first.
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e.into());
            }
        }
    }
    let text = std::fs::read_to_string(&path)?;
    crate::config::parse_key_bytes(&text).map_err(|e| bad(format!("{}: {e}", path.display())))
}
