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
    let unmap = state.settings.server.unmap_start_up_code;
    let server = app::server(prepared, listener).map_err(|e| e.to_string())?;
    settle_memory(unmap);
    server.await.map_err(|e| e.to_string())
}

/// Once start-up has settled (migrations run, every worker's routes built, the hash
/// engine measured), hands the memory start-up used and freed back to the system (about
/// 1.4 MiB that glibc would otherwise keep for a node's whole life) and, with
/// `unmap_start_up_code`, unmaps the code start-up ran ([`unmap_code`]).
fn settle_memory(unmap: bool) {
    actix_web::rt::spawn(async move {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(3)).await;
        let unmapped = tokio::task::spawn_blocking(move || {
            crate::crypto::give_back_free_memory();
            unmap.then(unmap_code)
        })
        .await;
        if let Ok(Some(outcome)) = unmapped {
            match outcome {
                Ok(bytes) => tracing::info!(bytes, "start-up code unmapped"),
                Err(why) => tracing::info!(why, "start-up code left mapped"),
            }
        }
    });
}

/// Unmaps this executable's code from the process: start-up (arguments, settings,
/// migrations, keys, the workers' route tables, the hash engine's measurement) maps in
/// about 12 MiB of code that an idle node does not run again, since the kernel maps the
/// 64 KiB around each page it faults in. The pages stay in the page cache while memory
/// allows: code that runs later is mapped again on first use (a minor fault). Only the
/// read-only, executable mappings of Porta's own file are touched, and only those with no
/// page of their own (`Anonymous: 0 kB` in smaps: no text relocation, breakpoint or uprobe
/// ever wrote one), since `MADV_DONTNEED` would drop such a page; nothing is touched while
/// a debugger or tracer is attached. Returns the bytes unmapped, or why nothing was.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "libc::madvise(MADV_DONTNEED) on the executable's own code mappings"
)]
pub fn unmap_code() -> Result<usize, &'static str> {
    let exe = std::env::current_exe().map_err(|_| "the executable's path is unknown")?;
    let status = std::fs::read_to_string("/proc/self/status").map_err(|_| "no /proc")?;
    if !status
        .lines()
        .any(|l| l.split_whitespace().eq(["TracerPid:", "0"]))
    {
        return Err("a tracer is attached");
    }
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|_| "no /proc")?;
    let mut code = Vec::new();
    let mut current: Option<(usize, usize, bool)> = None;
    for line in smaps.lines().chain(["0-0 ---p 0 0:0 0 end"]) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            // start-end perms offset device inode path: a mapping begins.
            [range, perms, _, _, _, rest @ ..] if range.contains('-') && perms.len() == 4 => {
                if let Some((start, end, true)) = current.take() {
                    code.push((start, end));
                }
                let ours =
                    *perms == "r-xp" && matches!(rest, [path] if std::path::Path::new(path) == exe);
                current = range
                    .split_once('-')
                    .and_then(|(a, b)| {
                        Some((
                            usize::from_str_radix(a, 16).ok()?,
                            usize::from_str_radix(b, 16).ok()?,
                        ))
                    })
                    .filter(|_| ours)
                    .map(|(a, b)| (a, b, true));
            }
            ["Anonymous:", kib, "kB"] if *kib != "0" => {
                if let Some(mapping) = current.as_mut() {
                    mapping.2 = false;
                }
            }
            _ => {}
        }
    }
    if code.is_empty() {
        return Err("no clean code mapping of the executable");
    }
    let mut unmapped = 0;
    for (start, end) in code {
        // SAFETY: [start, end) is one whole mapping of this executable's file, read-only
        // and executable, with no page of its own (Anonymous: 0 kB), so every page in it
        // is the file's; MADV_DONTNEED drops the page-table entries, and the next access
        // maps the file's pages again.
        let done = unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end.saturating_sub(start),
                libc::MADV_DONTNEED,
            )
        };
        if done == 0 {
            unmapped += end.saturating_sub(start);
        }
    }
    Ok(unmapped)
}

#[cfg(not(target_os = "linux"))]
pub fn unmap_code() -> Result<usize, &'static str> {
    Err("not on Linux")
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
    let server =
        app::api_server(apis, settings.server.workers, listener).map_err(|e| e.to_string())?;
    settle_memory(settings.server.unmap_start_up_code);
    server.await.map_err(|e| e.to_string())
}

/// `porta backup --to FILE`.
pub(super) async fn backup(settings: Settings, to: PathBuf) -> Result<(), String> {
    if settings.is_postgres() {
        return Err("porta backup copies the embedded SQLite database; back up PostgreSQL with pg_basebackup and WAL archiving or pg_dump (docs/deployment.md)".into());
    }
    if to.exists() {
        return Err(format!(
            "{} exists already; choose a new file",
            to.display()
        ));
    }
    let pool = open(&settings).await?;
    let target = to.clone();
    db::run(&pool, move |conn| db::backup_sqlite(conn, &target))
        .await
        .map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up {} to {} ({size} bytes); keep the master key apart from it: a restore needs both",
        settings.database.database_url,
        to.display()
    );
    Ok(())
}

/// `porta restore --from FILE [--force]`.
pub(super) async fn restore(settings: Settings, from: PathBuf, force: bool) -> Result<(), String> {
    if settings.is_postgres() {
        return Err("porta restore puts back an SQLite backup; restore PostgreSQL with its own tools (docs/deployment.md)".into());
    }
    let migrations = db::check_backup(&from)?;
    // The master key must open the backup's signing keys, or the restored Porta could
    // not sign (and could not open TOTP secrets).
    let master = app::master_key(&settings).map_err(|e| e.to_string())?;
    let source = db::connect(
        &from.to_string_lossy(),
        1,
        std::time::Duration::from_secs(5),
    )
    .map_err(|e| e.to_string())?;
    let keys = db::run(&source, move |conn| {
        Ok(crate::keys::open_all(conn, &master))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("the configured master key does not open this backup's signing keys ({e}); restore with the master key it was made under"))?;
    drop(source);
    let target = PathBuf::from(
        settings
            .database
            .database_url
            .strip_prefix("sqlite://")
            .unwrap_or(&settings.database.database_url),
    );
    let wal = PathBuf::from(format!("{}-wal", target.display()));
    if !force && std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(format!(
            "{} looks in use ({} is not empty): stop Porta first, or pass --force",
            target.display(),
            wal.display()
        ));
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    // Copy beside the target, then rename over it: the database is either the old one or
    // the whole backup, never half of each.
    let staging = PathBuf::from(format!("{}.restoring", target.display()));
    std::fs::copy(&from, &staging).map_err(|e| format!("copy: {e}"))?;
    std::fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("sync: {e}"))?;
    for stale in [wal, PathBuf::from(format!("{}-shm", target.display()))] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::rename(&staging, &target).map_err(|e| format!("rename: {e}"))?;
    println!(
        "restored {} from {} ({migrations} migrations, {keys} signing keys open with this master key)",
        target.display(),
        from.display()
    );
    Ok(())
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
