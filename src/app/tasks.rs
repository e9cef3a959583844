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

/// Forgets idle rate-limit buckets every minute, so memory stays bounded however many
/// addresses and clients come and go.
pub fn spawn_limit_sweeper(
    ips: crate::web::limit::Bucket<std::net::IpAddr>,
    clients: Option<crate::web::limit::Bucket<String>>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            ips.forget_idle();
            if let Some(c) = &clients {
                c.forget_idle();
            }
        }
    });
}

/// Delivers the outbox: wakes when this node queues a message, and every second for
/// messages other nodes queued or whose retry is due. A message that finally fails is
/// written to the audit log.
pub fn spawn_outbox_worker(
    lifeline: std::sync::Weak<()>,
    outbox: crate::notify::Outbox,
    notifier: crate::notify::Notifier,
    retries: crate::notify::outbox::Retries,
    pool: DbPool,
) {
    use crate::notify::outbox::{self, Outcome};
    tokio::spawn(async move {
        let idle = std::time::Duration::from_secs(1);
        // Ends with the state it serves (a test's server stopping, say).
        while lifeline.strong_count() > 0 {
            match outbox::deliver_due(&outbox, &notifier, retries).await {
                Ok(outcomes) if outcomes.is_empty() => outbox::wait_for_work(&outbox, idle).await,
                Ok(outcomes) => {
                    for o in outcomes {
                        if let Outcome::Failed { channel, error } = o {
                            let origin = crate::audit::Origin {
                                ip: "-".into(),
                                user_agent: "porta outbox".into(),
                            };
                            crate::audit::record(
                                &pool,
                                &origin,
                                crate::audit::kind::DELIVERY_FAILED,
                                None,
                                None,
                                format!("channel={channel} error={error}"),
                            )
                            .await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed");
                    tokio::time::sleep(idle).await;
                }
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
            let result = db::run(&pool, move |conn| housekeep(conn, &s)).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

/// One round of housekeeping. Each purge is a write of its own at the write gate, so hot
/// writes wait for one purge at a time, never for the whole round.
fn housekeep(conn: &mut db::DbConn, s: &Settings) -> Result<(), db::DbError> {
    let now = crate::time::now();
    db::write(conn, |c| crate::grants::store::purge_expired(c, now))?;
    db::write(conn, |c| crate::sessions::store::purge_expired(c, now))?;
    db::write(conn, |c| crate::sessions::store::purge_remembered(c, now))?;
    // Counters live as long as the longest window that uses them.
    let longest = s
        .throttle
        .failure_window
        .max(s.otp.otp_window)
        .max(s.tokens.authorization_request_ttl);
    db::write(conn, |c| crate::throttle::store::purge(c, now, longest))?;
    let retention = now - s.accounts.audit_retention;
    db::write(conn, |c| crate::audit::store::purge(c, retention))?;
    db::write(conn, |c| {
        crate::otp::store::purge(c, now - s.otp.otp_window)
    })?;
    db::write(conn, |c| crate::mfa::store::purge_pending(c, now))?;
    db::write(conn, |c| crate::accounts::invitations::purge(c, now))?;
    let removed = crate::accounts::remove_due(conn, now, s.accounts.account_deletion_grace)?;
    if removed > 0 {
        tracing::info!(removed, "accounts erased after their deletion grace period");
    }
    // Delivered messages are kept a day (for the log), failed ones as long
    // as audit events.
    db::write(conn, |c| {
        crate::notify::outbox::purge(c, now - 24 * 3600, retention)
    })?;
    Ok(())
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
        let outcome = crate::db::transaction::<_, ResealError, _>(conn, |conn| {
            Ok(crate::keys::rotation::reseal_all(conn, &resealer)?
                + crate::mfa::reseal_all(conn, &resealer)?
                + crate::notify::outbox::reseal_all(conn, &resealer)?)
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

#[cfg(test)]
mod tests {
    /// A round of housekeeping while another write holds SQLite's lock waits its turn at
    /// the write gate, purge by purge: outside it (busy timeout off) the round would fail.
    #[actix_web::test]
    async fn housekeeping_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let settings = crate::config::Settings::default();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let round = crate::db::run(&pool, move |conn| super::housekeep(conn, &settings)).await;
        holder.released();
        round.expect("housekeeping in its turn");
    }
}
