//! `porta serve` (the identity provider and the APIs, or the APIs alone) and `porta migrate`.

use super::*;

pub(super) async fn serve(settings: Settings, demo: bool) -> Result<(), String> {
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
    if prepared.demo.is_none() && crate::demo::present(&state.pool).await.unwrap_or(false) {
        tracing::warn!(
            "the demo person {} (published password) or the demo client is in the database; remove them with `porta demo remove`",
            crate::demo::DEMO_EMAIL
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
pub(super) async fn serve_apis(settings: Settings, listener: TcpListener) -> Result<(), String> {
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

/// `porta demo remove`.
pub(super) async fn demo_remove(settings: Settings) -> Result<(), String> {
    let pool = open(&settings).await?;
    let removed = crate::demo::remove(&pool)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "removed the demo: {} account, {} client",
        removed.accounts, removed.clients
    );
    Ok(())
}

pub(super) async fn migrate(settings: Settings) -> Result<(), String> {
    open(&settings).await?;
    println!("migrations are up to date");
    Ok(())
}
