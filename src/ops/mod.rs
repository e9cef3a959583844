//! Operations: health checks and Prometheus metrics.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::db;
use crate::state::AppState;

/// Porta's metrics, registered once per process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub tokens_issued: IntCounterVec,
    pub sign_ins: IntCounterVec,
    key_age: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGauge,
    hash_memory: IntGauge,
    outbox_delivered_total: prometheus::IntCounter,
    outbox_retries_total: prometheus::IntCounter,
    outbox_failures_total: prometheus::IntCounter,
    db_runs_total: prometheus::IntCounter,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("porta".into()), None)?;
    let requests = IntCounterVec::new(
        Opts::new("http_requests_total", "HTTP requests by route and status"),
        &["route", "method", "status"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "HTTP latency by route").buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]),
        &["route"],
    )?;
    let tokens_issued = IntCounterVec::new(
        Opts::new("tokens_issued_total", "Token responses by grant type"),
        &["grant_type"],
    )?;
    let sign_ins = IntCounterVec::new(
        Opts::new("sign_ins_total", "Sign-in attempts by result"),
        &["result"],
    )?;
    let key_age = IntGauge::new(
        "signing_key_age_seconds",
        "Seconds since the active key started signing",
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(tokens_issued.clone()))?;
    registry.register(Box::new(sign_ins.clone()))?;
    registry.register(Box::new(key_age.clone()))?;
    let outbox_pending = IntGauge::new(
        "outbox_pending",
        "Emails and SMS waiting to be delivered (all nodes)",
    )?;
    let outbox_failed = IntGauge::new(
        "outbox_failed",
        "Emails and SMS given up after the last retry, still on record (all nodes)",
    )?;
    let outbox_delivered_total = prometheus::IntCounter::new(
        "outbox_delivered_total",
        "Emails and SMS this node delivered",
    )?;
    let outbox_retries_total = prometheus::IntCounter::new(
        "outbox_retries_total",
        "Failed deliveries this node will try again",
    )?;
    let outbox_failures_total =
        prometheus::IntCounter::new("outbox_failures_total", "Deliveries this node gave up on")?;
    let db_runs_total = prometheus::IntCounter::new(
        "db_runs_total",
        "Database calls this node handed to its blocking threads (each a hand-off and back)",
    )?;
    let hash_memory = IntGauge::new(
        "hash_memory_bytes",
        "argon2 memory the password-hashing threads keep between hashes: when RustCrypto is the hash engine, and for stored hashes libsodium cannot run (given back after hash_memory_keep idle seconds)",
    )?;
    for gauge in [&outbox_pending, &outbox_failed, &hash_memory] {
        registry.register(Box::new(gauge.clone()))?;
    }
    for counter in [
        &outbox_delivered_total,
        &outbox_retries_total,
        &outbox_failures_total,
        &db_runs_total,
    ] {
        registry.register(Box::new(counter.clone()))?;
    }
    Ok(Metrics {
        outbox_pending,
        outbox_failed,
        hash_memory,
        outbox_delivered_total,
        outbox_retries_total,
        outbox_failures_total,
        db_runs_total,
        registry,
        requests,
        latency,
        tokens_issued,
        sign_ins,
        key_age,
    })
}

/// The process-wide metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    // The names above are constant and valid, so this cannot fail at run time.
    build().expect("metric definitions are valid")
});

/// Mounts `/health/live`, `/health/ready` and `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics));
}

/// The process is up.
async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "status": "ok" }))
}

/// Ready for traffic: the database answers and an active signing key exists there.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let check = db::run(&state.pool, |conn| {
        Ok(crate::keys::store::active(conn)?.is_some())
    })
    .await;
    let (ok, database, key) = match check {
        Ok(true) => (true, "ok", "ok"),
        Ok(false) => (false, "ok", "no active signing key"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (false, "unreachable", "unknown")
        }
    };
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": database,
        "signing_key": key,
    });
    let mut resp = if ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    resp.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Who may read `/metrics`: with `metrics_token` set, a caller presenting it as a bearer
/// token (from anywhere); without it, only a caller on this machine (the loopback peer;
/// proxy headers are not read), so a fresh install does not publish its figures.
fn may_read_metrics(state: &AppState, req: &actix_web::HttpRequest) -> bool {
    use secrecy::ExposeSecret;
    match &state.settings.server.metrics_token {
        Some(token) => match crate::web::bearer::bearer(req) {
            crate::web::bearer::Bearer::Token(given) => {
                crate::crypto::constant_time_eq(given, token.expose_secret())
            }
            _ => false,
        },
        None => req.peer_addr().is_some_and(|a| a.ip().is_loopback()),
    }
}

/// Prometheus text format.
async fn metrics(state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if !may_read_metrics(&state, &req) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    }
    let m = &*METRICS;
    m.key_age
        .set(crate::time::now() - state.keys.current().active_since());
    m.hash_memory
        .set(crate::crypto::ARGON_MEMORY_HELD.load(std::sync::atomic::Ordering::Relaxed) as i64);
    if let Ok((pending, failed)) = db::run(&state.pool, |conn| {
        Ok(crate::notify::outbox::backlog(conn)?)
    })
    .await
    {
        m.outbox_pending.set(pending);
        m.outbox_failed.set(failed);
    }
    for (counter, total) in [
        (&m.outbox_delivered_total, &crate::notify::outbox::DELIVERED),
        (&m.outbox_retries_total, &crate::notify::outbox::RETRIED),
        (&m.outbox_failures_total, &crate::notify::outbox::FAILED),
        (&m.db_runs_total, &crate::db::RUNS),
    ] {
        let total = total.load(std::sync::atomic::Ordering::Relaxed);
        counter.inc_by(total.saturating_sub(counter.get()));
    }
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::error!(error = %e, "metrics encoding failed");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(out)
}

/// Gives every request an id (the `X-Request-Id` answer header) and a tracing span that
/// carries it, so every log line written while the request is handled names it; then
/// logs one line per request (method, path without the query, status, milliseconds).
/// Health checks are not logged.
pub fn log_request<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: actix_web::dev::Service<
        ServiceRequest,
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    use tracing::Instrument;
    let id = crate::crypto::random_token(9);
    let span = tracing::info_span!("request", id = %id);
    let method = req.method().clone();
    let path: String = req.path().chars().take(200).collect();
    let start = Instant::now();
    let call = {
        let _entered = span.enter();
        srv.call(req)
    };
    async move {
        let mut res = call.await?;
        if let Ok(v) = header::HeaderValue::from_str(&id) {
            res.headers_mut()
                .insert(header::HeaderName::from_static("x-request-id"), v);
        }
        if !path.starts_with("/health") {
            tracing::info!(
                target: "porta::http",
                %method,
                %path,
                status = res.status().as_u16(),
                ms = start.elapsed().as_millis() as u64,
                "request"
            );
        }
        Ok(res)
    }
    .instrument(span)
}

/// Times one request; `finish` records it by route pattern (never the raw path, so the
/// number of series stays bounded).
pub struct RequestTimer {
    start: Instant,
    method: String,
}

impl RequestTimer {
    pub fn start(req: &ServiceRequest) -> RequestTimer {
        RequestTimer {
            start: Instant::now(),
            method: req.method().as_str().to_string(),
        }
    }

    pub fn finish<B>(self, res: &ServiceResponse<B>) {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let m = &*METRICS;
        m.requests
            .with_label_values(&[route.as_str(), self.method.as_str(), res.status().as_str()])
            .inc();
        m.latency
            .with_label_values(&[route.as_str()])
            .observe(self.start.elapsed().as_secs_f64());
    }
}
