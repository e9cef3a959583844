//! The route table and the HTTP servers: the identity provider with the APIs beside it, or the APIs alone.

use super::*;

/// The API routes of `apis`, with the shared data they need.
pub fn api_routes(cfg: &mut web::ServiceConfig, apis: &Apis) {
    cfg.app_data(web::Data::new(apis.pool.clone()))
        .app_data(web::Data::new(apis.validator.clone()));
    if let Some(limit) = &apis.write_limit {
        cfg.app_data(web::Data::new(limit.clone()));
    }
    let cors = || {
        // Only the configured origins; none configured, no CORS headers at all.
        let mut cors = actix_cors::Cors::default()
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE])
            .max_age(3600);
        for origin in apis.cors_origins.iter() {
            cors = cors.allowed_origin(origin);
        }
        actix_web::middleware::Condition::new(!apis.cors_origins.is_empty(), cors)
    };
    if let Some(config) = &apis.bookings {
        cfg.service(bookings::scope(config.clone()).wrap(cors()));
    }
    if let Some(config) = &apis.content {
        cfg.service(content::scope(config.clone()).wrap(cors()));
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

pub(super) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/porta.css"))
}

pub(super) async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound(crate::i18n::t("error-no-page")))
}

/// Starts the HTTP server on `listener`.
pub fn server(
    prepared: Prepared,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let Prepared { state, apis, demo } = prepared;
    let workers = state.settings.server.workers;
    // HSTS only means something over https.
    let hsts = state
        .secure_cookies()
        .then_some(state.settings.server.hsts_max_age);
    let read_timeout = std::time::Duration::from_secs(state.settings.server.request_read_timeout);
    let blocking_threads = state.settings.database.db_pool_size as usize + 4;
    let ip_limit = crate::web::limit::Bucket::new(
        state.settings.server.rate_limit_per_ip,
        state.settings.server.rate_limit_burst,
    )
    .map(|bucket| {
        web::Data::new(crate::web::limit::IpLimit {
            bucket,
            proxies: state.proxies.clone(),
        })
    });
    if let Some(limit) = &ip_limit {
        crate::app::tasks::spawn_limit_sweeper(limit.bucket.clone(), state.client_rate.clone());
    }
    let boundary = web::Data::new(crate::web::clean::Boundary {
        body_timeout: read_timeout,
    });
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
                        PageError::BadRequest(crate::i18n::t1("error-form-unreadable", "why", err))
                            .into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                PageError::BadRequest(crate::i18n::t1("error-query-unreadable", "why", err)).into()
            }))
            .wrap(actix_web::middleware::ErrorHandlers::new().handler(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                resource::json_method_not_allowed,
            ))
            .wrap(crate::web::security_headers(hsts))
            .wrap_fn(|req, srv| {
                let timer = crate::ops::RequestTimer::start(&req);
                let call = srv.call(req);
                async move {
                    let res = call.await?;
                    timer.finish(&res);
                    Ok(res)
                }
            })
            .wrap(actix_web::middleware::from_fn(
                crate::web::clean::refuse_bad_input,
            ))
            .wrap(actix_web::middleware::from_fn(crate::web::limit::per_ip))
            .wrap(actix_web::middleware::from_fn(crate::i18n::scope))
            .wrap_fn(crate::ops::log_request)
            .app_data(boundary.clone())
            .configure(|cfg| {
                if let Some(limit) = &ip_limit {
                    cfg.app_data(limit.clone());
                }
            })
            .configure(|cfg| routes(cfg, demo.clone()))
            .default_service(web::to(not_found))
    })
    // Headers must arrive within the read timeout too (slowloris).
    .client_request_timeout(read_timeout)
    // Blocking work is database work (bounded by the pool) and little else: more threads
    // than connections only wait, and every thread that ran keeps allocator memory.
    .worker_max_blocking_threads(blocking_threads)
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
            .wrap(crate::web::security_headers(None))
            .wrap(actix_web::middleware::from_fn(
                crate::web::clean::refuse_bad_input,
            ))
            .wrap_fn(crate::ops::log_request)
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
pub(super) async fn api_ready(pool: web::Data<DbPool>) -> HttpResponse {
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
