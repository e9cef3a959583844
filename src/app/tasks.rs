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
            let result = housekeep(&pool, &settings).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

/// On SQLite, the rows one housekeeping write deletes at most from each table it purges
/// (the outbox: 500 delivered and 500 failed), so that a large backlog holds the write
/// gate and SQLite's lock for one short write at a time: 500,000 old audit events went in
/// 1,001 writes of 4 ms (median) where one DELETE held the lock for 2.2 s
/// (`bench/purge.sh`). PostgreSQL has no such lock: a purge there is one statement per
/// table.
const PURGE_BATCH: i64 = 500;

/// One round of housekeeping. On SQLite each batch of a purge is a write of its own at the
/// write gate, with the pool's whole wait for its turn and its connection given back after
/// it, so hot writes wait for one batch at a time, never for a whole purge or round.
pub async fn housekeep(pool: &DbPool, s: &Settings) -> Result<(), db::DbError> {
    let now = crate::time::now();
    let cut = Cutoffs {
        now,
        // Counters live as long as the longest window that uses them.
        longest: s
            .throttle
            .failure_window
            .max(s.otp.otp_window)
            .max(s.tokens.authorization_request_ttl),
        retention: now - s.accounts.audit_retention,
        otp_before: now - s.otp.otp_window,
    };
    let batch = if s.is_postgres() {
        i64::MAX
    } else {
        PURGE_BATCH
    };
    for f in PURGES {
        purge(pool, batch, move |c, n| f(c, &cut, n)).await?;
    }
    // Each account is erased in a call and a transaction of its own (at the gate).
    let removed = crate::accounts::remove_due(pool, now, s.accounts.account_deletion_grace).await?;
    if removed > 0 {
        tracing::info!(removed, "accounts erased after their deletion grace period");
    }
    Ok(())
}

/// The moments before which a round's purges drop rows.
#[derive(Clone, Copy)]
struct Cutoffs {
    now: i64,
    /// The longest window a throttle counter serves.
    longest: i64,
    /// Audit events and failed messages before this go.
    retention: i64,
    otp_before: i64,
}

/// A purge: deletes at most the given number of rows of each table it purges.
type Purge = fn(&mut db::DbConn, &Cutoffs, i64) -> diesel::QueryResult<usize>;

/// Housekeeping's purges, in the order a round runs them.
const PURGES: [Purge; 9] = {
    use crate::{accounts, audit, grants, mfa, notify, otp, sessions, throttle};
    [
        |c, t, n| grants::store::purge_expired(c, t.now, n),
        |c, t, n| sessions::store::purge_expired(c, t.now, n),
        |c, t, n| sessions::store::purge_remembered(c, t.now, n),
        |c, t, n| throttle::store::purge(c, t.now, t.longest, n),
        |c, t, n| audit::store::purge(c, t.retention, n),
        |c, t, n| otp::store::purge(c, t.otp_before, n),
        |c, t, n| mfa::store::purge_pending(c, t.now, n),
        |c, t, n| accounts::invitations::purge(c, t.now, n),
        // Delivered messages are kept a day (for the log), failed ones as long as audit events.
        |c, t, n| notify::outbox::purge(c, t.now - 24 * 3600, t.retention, n),
    ]
};

/// Runs `f` (which deletes at most `batch` rows of each table it purges) as a write of its
/// own until a run deletes fewer than that: then every table is done.
async fn purge<F>(pool: &DbPool, batch: i64, f: F) -> Result<usize, db::DbError>
where
    F: Fn(&mut db::DbConn, i64) -> diesel::QueryResult<usize> + Copy + Send + 'static,
{
    let mut total = 0;
    loop {
        let n = db::run_write(pool, move |c| Ok(f(c, batch)?)).await?;
        total += n;
        if (n as u64) < batch as u64 {
            return Ok(total);
        }
    }
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
    /// the write gate: outside it (busy timeout off) the round would fail. And every purge
    /// is a gated write, and a call, of its own: each has the pool's whole wait.
    #[actix_web::test]
    async fn housekeeping_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let settings = crate::config::Settings::default();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let (turns, runs) = (crate::db::gate_turns(&pool), crate::db::runs(&pool));
        let round = super::housekeep(&pool, &settings).await;
        holder.released();
        round.expect("housekeeping in its turn");
        // Grants, sessions, remembered browsers, throttle counters, audit events, codes,
        // pending second factors, invitations and the outbox; and the read of the accounts
        // due for erasure (none is).
        assert_eq!(crate::db::gate_turns(&pool) - turns, 9);
        assert_eq!(crate::db::runs(&pool) - runs, 9 + 1);
    }

    /// A backlog larger than a batch is purged whole, a batch per write: 1,200 old audit
    /// events take three writes (500, 500, 200) where an empty table takes one.
    #[actix_web::test]
    async fn a_backlog_is_purged_a_batch_per_write() {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let (_dir, pool) = crate::db::impatient_pool();
        let count = |pool: &crate::db::DbPool| -> i64 {
            let mut conn = pool.get().expect("connection");
            let c: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events")
                .get_result(&mut *conn)
                .expect("count");
            c.n
        };
        {
            let mut conn = pool.get().expect("connection");
            diesel::sql_query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
                 INSERT INTO audit_events (id, at, kind, ip, user_agent, detail) \
                 SELECT 'old-' || i, 0, 'test', '127.0.0.1', '', '' FROM n",
            )
            .execute(&mut *conn)
            .expect("old events");
        }
        assert_eq!(count(&pool), 1200);
        let before = crate::db::gate_turns(&pool);
        super::housekeep(&pool, &crate::config::Settings::default())
            .await
            .expect("housekeeping");
        assert_eq!(count(&pool), 0);
        assert_eq!(crate::db::gate_turns(&pool) - before, 8 + 3);
    }
}
