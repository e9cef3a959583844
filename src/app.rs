//! Builds the application from typed settings: database, keys, state and the route table.
//! `porta serve` and the tests both start Porta through here.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Service;
use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::{self, DbPool};
use crate::keys::KeyRing;
use crate::state::AppState;
use crate::web::PageError;
use crate::{bookings, content, demo, oidc, pages, resource};

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
        .copied()
        .collect();
    let mut state = AppState {
        settings: Arc::new(settings),
        pool,
        keys,
        master,
        discovery_json: String::new(),
        clients: Arc::new(crate::clients::ClientCache::new(
            std::time::Duration::from_secs(5),
        )),
        notifier: Arc::new(notifier),
        api_scopes: api_scopes.into(),
    };
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
    /// The OpenAPI document of the parts that run, rendered once.
    pub openapi: Arc<String>,
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
    let bookings = settings.runs("bookings").then_some(bookings::Config {
        cancel_notice: settings.bookings.booking_cancel_notice,
        slot_minutes: settings.bookings.booking_slot_minutes,
        max_open_requests: settings.bookings.booking_max_open_requests,
    });
    let content = match settings.runs("content") {
        true => Some(content::Config {
            media_dir: settings.content.media_dir.clone(),
            media_key: media_key(settings)?,
            media_url_ttl: settings.content.media_url_ttl,
        }),
        false => None,
    };
    let openapi = crate::openapi::document(settings, bookings.is_some(), content.is_some());
    Ok(Apis {
        pool,
        validator,
        bookings,
        content,
        openapi: Arc::new(openapi.to_string()),
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

/// The API routes of `apis`, with the shared data they need.
pub fn api_routes(cfg: &mut web::ServiceConfig, apis: &Apis) {
    cfg.app_data(web::Data::new(apis.pool.clone()))
        .app_data(web::Data::new(apis.validator.clone()));
    if let Some(config) = &apis.bookings {
        cfg.service(bookings::scope(config.clone()));
    }
    if let Some(config) = &apis.content {
        cfg.service(content::scope(config.clone()));
    }
    let document = apis.openapi.clone();
    cfg.route(
        "/api/openapi.json",
        web::get().to(move || {
            let document = document.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                    .body(document.to_string())
            }
        }),
    );
}

/// The identity provider's HTTP surface, top to bottom.
pub fn routes(cfg: &mut web::ServiceConfig, demo: Option<Arc<demo::DemoConfig>>) {
    oidc::configure(cfg);
    crate::oauth::configure(cfg);
    pages::configure(cfg);
    demo::configure(cfg, demo);
    crate::ops::configure(cfg);
    crate::admin::configure(cfg);
    cfg.route("/static/porta.css", web::get().to(stylesheet));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../static/porta.css"))
}

async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound(
        "There is no page at this address.".into(),
    ))
}

/// Starts the HTTP server on `listener`.
pub fn server(
    prepared: Prepared,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let Prepared { state, apis, demo } = prepared;
    let workers = state.settings.server.workers;
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(|cfg| api_routes(cfg, &apis))
            .app_data(web::PayloadConfig::new(64 * 1024))
            .app_data(
                web::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|err, _| {
                        PageError::BadRequest(format!("The form could not be read: {err}.")).into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                PageError::BadRequest(format!("The address could not be read: {err}.")).into()
            }))
            .wrap(actix_web::middleware::ErrorHandlers::new().handler(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                resource::json_method_not_allowed,
            ))
            .wrap(crate::web::security_headers())
            .wrap_fn(|req, srv| {
                let timer = crate::ops::RequestTimer::start(&req);
                let call = srv.call(req);
                async move {
                    let res = call.await?;
                    timer.finish(&res);
                    Ok(res)
                }
            })
            .wrap(actix_web::middleware::Logger::new("%a %U %s %Dms").exclude("/health"))
            .configure(|cfg| routes(cfg, demo.clone()))
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Starts the APIs alone (`porta serve --only bookings,content`): no identity provider,
/// no keys, no pages; tokens are checked against the remote issuer.
pub fn api_server(
    apis: Apis,
    workers: usize,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(web::PayloadConfig::new(64 * 1024))
            .configure(|cfg| api_routes(cfg, &apis))
            .route(
                "/health/live",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
            )
            .route("/health/ready", web::get().to(api_ready))
            .wrap(crate::web::security_headers())
            .wrap(actix_web::middleware::Logger::new("%a %U %s %Dms").exclude("/health"))
            .default_service(web::to(resource::not_found))
            .wrap(actix_web::middleware::ErrorHandlers::new().handler(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                resource::json_method_not_allowed,
            ))
    })
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Ready when the database answers.
async fn api_ready(pool: web::Data<DbPool>) -> HttpResponse {
    let ok = db::run(&pool, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await
    .is_ok();
    let status = if ok { "ok" } else { "unavailable" };
    let mut resp = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    resp.json(serde_json::json!({ "status": status }))
}

/// Keeps the signing keys on schedule and every node's key set fresh: each tick runs the
/// schedule (any node may perform a due transition; the database lets exactly one win)
/// and reloads the keys, so a node signs with a newly active key at most
/// `key_check_interval` seconds after the transition.
pub fn spawn_key_schedule(state: AppState) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(state.settings.keys.key_check_interval as u64);
        let schedule = crate::keys::rotation::Schedule::from_settings(&state.settings);
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let now = crate::time::now();
            if let Err(e) =
                crate::keys::rotation::tick(&state.pool, &state.master, schedule, now).await
            {
                tracing::warn!(error = %e, "key schedule check failed");
            }
            if let Err(e) = state.keys.reload(&state.pool, &state.master).await {
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
        }
    });
}

/// Deletes expired rows now and then: grants, sessions, idle throttle counters and audit
/// events past their retention.
pub fn spawn_housekeeping(pool: DbPool, settings: Arc<Settings>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let s = settings.clone();
            let result = db::run(&pool, move |conn| {
                let now = crate::time::now();
                crate::grants::store::purge_expired(conn, now)?;
                crate::sessions::store::purge_expired(conn, now)?;
                crate::throttle::store::purge(conn, now, s.throttle.failure_window)?;
                crate::audit::store::purge(conn, now - s.accounts.audit_retention)?;
                crate::otp::store::purge(conn, now - s.otp.otp_window)?;
                crate::mfa::store::purge_pending(conn, now)?;
                Ok(())
            })
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

/// `porta keys rewrap`: re-seals every secret at rest (signing keys and TOTP secrets)
/// under `new`, in one transaction: all or nothing. Returns how many were re-sealed.
pub async fn rewrap_master_key(
    pool: &DbPool,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, crate::keys::KeyError> {
    use crate::crypto::{ResealError, Resealer};
    let resealer = Resealer {
        old: old.clone(),
        new: new.clone(),
    };
    let result = db::run(pool, move |conn| {
        use diesel::Connection;
        let outcome = conn.transaction::<_, ResealError, _>(|conn| {
            Ok(crate::keys::rotation::reseal_all(conn, &resealer)?
                + crate::mfa::reseal_all(conn, &resealer)?)
        });
        match outcome {
            Ok(n) => Ok(Ok(n)),
            Err(ResealError::Crypto(m)) => Ok(Err(m)),
            Err(ResealError::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    result.map_err(crate::keys::KeyError::Decrypt)
}
