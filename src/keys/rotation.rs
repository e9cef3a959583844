//! The signing-key schedule: `next` (published, not signing) → `active` (signing, exactly
//! one) → `retired` (published until every token it signed has expired) → removed.
//!
//! Every node runs `tick` on its own timer. Each transition is a single guarded statement
//! or transaction (`UPDATE … WHERE state = 'next'`, partial unique indexes on `active` and
//! `next`), so when several nodes race, exactly one wins and the others find nothing to
//! do; a node that dies midway leaves a rolled-back transaction and the next tick (on any
//! node) finishes the job.

use super::{new_key_row, store, KeyError, KeyRow};
use crate::config::Settings;
use crate::crypto::{MasterKey, ResealError, Resealer};
use crate::db::{self, DbConn, DbError, DbPool};

/// The schedule, from settings.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub period: i64,
    pub prepublish: i64,
    pub retention: i64,
}

impl Schedule {
    pub fn from_settings(s: &Settings) -> Schedule {
        Schedule {
            period: s.keys.key_rotation_period,
            prepublish: s.keys.key_prepublish,
            retention: s.key_retention(),
        }
    }
}

/// Makes a key off the async workers (RSA generation takes ~100 ms).
async fn generate(master: &MasterKey, state: &str, activates_at: i64) -> Result<KeyRow, KeyError> {
    let (master, state) = (master.clone(), state.to_string());
    let mut row = actix_web::rt::task::spawn_blocking(move || new_key_row(&master, &state))
        .await
        .map_err(|_| KeyError::Db(DbError::Cancelled))??;
    row.activates_at = activates_at;
    Ok(row)
}

/// Brings the keys in line with the schedule at time `now`; true when anything changed.
pub async fn tick(
    pool: &DbPool,
    master: &MasterKey,
    schedule: Schedule,
    now: i64,
) -> Result<bool, KeyError> {
    let (active, next) =
        db::run(pool, |conn| Ok((store::active(conn)?, store::next(conn)?))).await?;
    let mut changed = false;

    // Promote a due `next` key (or the only one there is, if nothing is active).
    if let Some(n) = &next {
        if n.activates_at <= now || active.is_none() {
            let kid = n.kid.clone();
            let promoted = db::run(pool, move |conn| {
                Ok(store::promote(conn, &kid, "next", now)?)
            })
            .await?;
            if promoted == 1 {
                tracing::info!(kid = %n.kid, "signing key promoted to active");
            }
            changed |= promoted == 1;
            // The schedule moves on from the new active key next time.
            return Ok(changed | remove_expired(pool, schedule, now).await?);
        }
    }

    match &active {
        None => {
            let row = generate(master, "active", now).await?;
            let kid = row.kid.clone();
            let inserted = db::run_write(pool, move |conn| {
                Ok(store::insert_unless_taken(conn, &row)?)
            })
            .await?;
            if inserted == 1 {
                tracing::info!(%kid, "created an active signing key");
            }
            changed |= inserted == 1;
        }
        Some(a)
            if next.is_none() && now >= a.activates_at + schedule.period - schedule.prepublish =>
        {
            // Publish the successor at least `prepublish` before it signs.
            let activates = (a.activates_at + schedule.period).max(now + schedule.prepublish);
            let row = generate(master, "next", activates).await?;
            let kid = row.kid.clone();
            let inserted = db::run_write(pool, move |conn| {
                Ok(store::insert_unless_taken(conn, &row)?)
            })
            .await?;
            if inserted == 1 {
                tracing::info!(%kid, activates, "published the next signing key");
            }
            changed |= inserted == 1;
        }
        Some(_) => {}
    }
    Ok(changed | remove_expired(pool, schedule, now).await?)
}

async fn remove_expired(pool: &DbPool, schedule: Schedule, now: i64) -> Result<bool, KeyError> {
    let removed = db::run_write(pool, move |conn| {
        Ok(store::remove_expired(conn, now, schedule.retention)?)
    })
    .await?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed retired signing keys whose tokens have expired"
        );
    }
    Ok(removed > 0)
}

/// `porta keys rotate`: publishes a `next` key that takes over after `prepublish`.
/// Returns the pending `next` key (the existing one if there already is one).
pub async fn publish_next(
    pool: &DbPool,
    master: &MasterKey,
    schedule: Schedule,
) -> Result<(KeyRow, bool), KeyError> {
    if let Some(existing) = db::run(pool, |conn| Ok(store::next(conn)?)).await? {
        return Ok((existing, false));
    }
    let row = generate(master, "next", crate::time::now() + schedule.prepublish).await?;
    let insert = row.clone();
    let inserted = db::run_write(pool, move |conn| {
        Ok(store::insert_unless_taken(conn, &insert)?)
    })
    .await?;
    if inserted == 0 {
        let existing = db::run(pool, |conn| Ok(store::next(conn)?)).await?;
        return existing.map(|k| (k, false)).ok_or(KeyError::NoActiveKey);
    }
    Ok((row, true))
}

/// `porta keys rotate --now`: a new key signs at once; the old one is retired (still
/// published until its tokens expire). For emergencies: APIs with a cached JWKS meet the
/// new `kid` before their cache expires and must refetch.
pub async fn rotate_now(pool: &DbPool, master: &MasterKey) -> Result<String, KeyError> {
    let now = crate::time::now();
    let row = generate(master, "standby", now).await?;
    let kid = row.kid.clone();
    let k = kid.clone();
    db::run_write(pool, move |conn| {
        store::insert(conn, &row)?;
        store::promote(conn, &k, "standby", now)?;
        Ok(())
    })
    .await?;
    tracing::warn!(%kid, "emergency rotation: new signing key active now");
    Ok(kid)
}

/// `porta keys rotate --revoke KID`: removes a key at once, so nothing it signed verifies
/// any more. Revoking the active key first puts a new one in its place.
pub async fn revoke(pool: &DbPool, master: &MasterKey, kid: &str) -> Result<bool, KeyError> {
    let k = kid.to_string();
    let Some(row) = db::run(pool, move |conn| Ok(store::find(conn, &k)?)).await? else {
        return Ok(false);
    };
    // At most a few rounds: each round that finds the key active puts a new key in front.
    for _ in 0..3 {
        let k = kid.to_string();
        let current = db::run(pool, move |conn| Ok(store::find(conn, &k)?)).await?;
        match current {
            None => break,
            Some(r) if r.state == "active" => {
                rotate_now(pool, master).await?;
            }
            Some(_) => {}
        }
        let k = kid.to_string();
        if db::run_write(pool, move |conn| Ok(store::delete_inactive(conn, &k)?)).await? == 1 {
            tracing::warn!(kid = %row.kid, "signing key revoked");
            return Ok(true);
        }
    }
    let k = kid.to_string();
    let gone = db::run(pool, move |conn| Ok(store::find(conn, &k)?))
        .await?
        .is_none();
    Ok(gone)
}

/// Re-seals every signing key under the new master key (one step of `porta keys
/// rewrap`, inside the caller's transaction). Returns how many were re-sealed.
pub fn reseal_all(conn: &mut DbConn, resealer: &Resealer) -> Result<usize, ResealError> {
    let mut n = 0;
    for row in store::list(conn)? {
        let sealed = resealer.reseal(&row.private_key_enc, &format!("signing-key:{}", row.kid))?;
        store::set_sealed(conn, &row.kid, &sealed)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    /// The key schedule's removal of expired keys while another write holds SQLite's lock
    /// waits its turn at the write gate: outside it (busy timeout off) the tick would fail.
    #[actix_web::test]
    async fn the_schedule_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let schedule = super::Schedule {
            period: 90 * 86_400,
            prepublish: 86_400,
            retention: 86_400,
        };
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let removed = super::remove_expired(&pool, schedule, crate::time::now()).await;
        holder.released();
        assert!(matches!(removed, Ok(false)), "{removed:?}");
    }

    /// The key inserts are gated writes: a tick that makes the first key asks for two turns
    /// at the gate (the key, and the removal of expired ones), and publishing the next key
    /// one. On `db::run` the inserts would ask for none.
    #[actix_web::test]
    async fn its_inserts_are_gated_writes() {
        use crate::crypto::MasterKey;
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let schedule = super::Schedule {
            period: 90 * 86_400,
            prepublish: 86_400,
            retention: 86_400,
        };
        let turns = crate::db::gate_turns(&pool);
        let changed = super::tick(&pool, &master, schedule, crate::time::now()).await;
        assert!(changed.expect("tick"), "the first key is made");
        assert_eq!(crate::db::gate_turns(&pool) - turns, 2);
        let turns = crate::db::gate_turns(&pool);
        let (_, published) = super::publish_next(&pool, &master, schedule)
            .await
            .expect("the next key");
        assert!(published);
        assert_eq!(crate::db::gate_turns(&pool) - turns, 1);
    }

    /// `rotate_now`'s insert and promotion are one gated write: behind a writer that holds
    /// SQLite's lock (busy timeout off) it waits its turn, where an insert outside the gate
    /// would fail at once. The key is made before the write, in far less than the second
    /// the holder keeps the lock. The new key signs at once and the old one is retired.
    #[actix_web::test]
    async fn rotate_now_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        use crate::crypto::MasterKey;
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let ring = crate::keys::KeyRing::load(&pool, &master)
            .await
            .expect("first key");
        let old = ring.current().active_kid().to_string();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_secs(1));
        let turns = crate::db::gate_turns(&pool);
        let new = super::rotate_now(&pool, &master).await.expect("rotation");
        holder.released();
        assert_eq!(crate::db::gate_turns(&pool) - turns, 1);
        assert_ne!(new, old);
        let states: Vec<(String, String)> = crate::db::run(&pool, |conn| {
            Ok(crate::keys::store::list(conn)?
                .into_iter()
                .map(|k| (k.kid, k.state))
                .collect())
        })
        .await
        .expect("keys");
        assert!(
            states.contains(&(new.clone(), "active".to_string())),
            "{states:?}"
        );
        assert!(states.contains(&(old, "retired".to_string())), "{states:?}");
        ring.reload(&pool, &master).await.expect("reload");
        assert_eq!(ring.current().active_kid(), new);
    }

    /// Start-up makes the first key as one gated write, and only when there is none: a
    /// second start finds it and neither writes nor takes a turn.
    #[actix_web::test]
    async fn the_first_key_is_made_once_as_a_gated_write() {
        use crate::crypto::MasterKey;
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let turns = crate::db::gate_turns(&pool);
        let first = crate::keys::KeyRing::load(&pool, &master)
            .await
            .expect("first start");
        assert_eq!(crate::db::gate_turns(&pool) - turns, 1);
        let turns = crate::db::gate_turns(&pool);
        let again = crate::keys::KeyRing::load(&pool, &master)
            .await
            .expect("second start");
        assert_eq!(crate::db::gate_turns(&pool) - turns, 0);
        assert_eq!(again.current().active_kid(), first.current().active_kid());
        let count = crate::db::run(&pool, |conn| Ok(crate::keys::store::list(conn)?.len()))
            .await
            .expect("keys");
        assert_eq!(count, 1);
    }
}
