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
    Ok(Metrics {
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

/// Prometheus text format.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &*METRICS;
    m.key_age
        .set(crate::time::now() - state.keys.current().active_since());
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::error!(error = %e, "metrics encoding failed");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(out)
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
