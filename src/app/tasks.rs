//! Work beside the requests: the key schedule, housekeeping, and the master-key rewrap.

use super::*;

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
