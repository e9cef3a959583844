//! Brute-force defence: counters of failed attempts (passwords, client secrets) per
//! account and per client IP, in the database so every node shares them. After a number
//! of failures a key is locked for a delay that doubles with each further failure, up to a
//! ceiling; locks are always temporary, so an attacker cannot lock a person out for good.
//! Successful requests are never counted; attempts in flight hold a reservation (so
//! parallel guesses cannot exceed the budget) that a success gives back.

pub mod store;

use crate::config::ThrottleSettings;
use crate::db::{self, DbError, DbPool};

/// Deletes the counters `keys` (an administrator lifting locks); how many there were.
pub fn clear(conn: &mut crate::db::DbConn, keys: &[String]) -> diesel::QueryResult<usize> {
    let mut n = 0;
    for key in keys {
        n += store::delete(conn, key)?;
    }
    Ok(n)
}

/// One kind of throttle: how many failures are free, and how long locks last.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures inside `window` before the first lock.
    pub free_failures: i64,
    /// Seconds without failures after which the count starts over.
    pub window: i64,
    /// The first lock, in seconds; each further failure doubles it.
    pub base_lock: i64,
    /// The longest lock, in seconds.
    pub max_lock: i64,
}

impl Policy {
    /// The throttle for failed sign-ins of one account.
    pub fn account(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.login_max_failures)
    }

    /// The throttle for failed sign-ins from one IP.
    pub fn ip(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.ip_max_failures)
    }

    /// The throttle for failed client authentications of one client id.
    pub fn client(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.client_auth_max_failures)
    }

    fn with(s: &ThrottleSettings, free_failures: i64) -> Policy {
        Policy {
            free_failures,
            window: s.failure_window,
            base_lock: s.lock_base,
            max_lock: s.lock_max,
        }
    }

    /// The lock after `failures` failures (0 while still free).
    pub fn lock_for(&self, failures: i64) -> i64 {
        let over = failures - self.free_failures;
        if over < 0 {
            return 0;
        }
        let doubled = self.base_lock.saturating_mul(1i64 << over.min(30));
        doubled.min(self.max_lock)
    }
}

/// How long `key` is still locked, in seconds (0 = free to try).
pub async fn locked_for(pool: &DbPool, key: String) -> Result<i64, DbError> {
    let now = crate::time::now();
    db::run(pool, move |conn| {
        Ok(store::find(conn, &key)?
            .map(|c| (c.locked_until - now).max(0))
            .unwrap_or(0))
    })
    .await
}

/// Counts a failure for `key`; returns the lock it now carries (0 if none).
pub async fn record_failure(pool: &DbPool, key: String, policy: Policy) -> Result<i64, DbError> {
    let now = crate::time::now();
    db::run(pool, move |conn| Ok(store::fail(conn, &key, now, policy)?)).await
}

/// Takes one unit of each allowance `(key, window seconds, max)` in order, in one trip:
/// `Ok(None)` when every one was taken, `Ok(Some(seconds))` when one is spent for that
/// long (the ones before it stay taken: put the narrowest first). Used for work anyone can ask for (codes sent per address, per IP, in all).
pub async fn take(
    pool: &DbPool,
    allowances: Vec<(String, i64, i64)>,
) -> Result<Option<i64>, DbError> {
    let now = crate::time::now();
    db::run(pool, move |conn| {
        for (key, window, max) in &allowances {
            if !store::take(conn, key, now, *window, *max)? {
                let wait = store::find(conn, key)?
                    .map(|c| (c.window_start + window - now).max(1))
                    .unwrap_or(1);
                return Ok(Some(wait));
            }
        }
        Ok(None)
    })
    .await
}

/// How an attempt on several keys started.
#[derive(Debug)]
pub enum Begin {
    /// Reserved on every key: check the credential, then settle the attempt.
    Go(Attempt),
    /// A key is locked (or stayed busy past the wait): refused for this many seconds.
    Refused(i64),
}

/// How long an attempt waits for others in flight to settle before it is refused. Checks
/// are bounded by the hashing pool's queue deadline, so this is only reached in a flood.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts an attempt on every key (each with its policy): refused while any key is
/// locked; otherwise one attempt of each key's budget is reserved until the attempt is
/// settled with [`Attempt::succeeded`] or [`Attempt::failed`] (dropping it unsettled gives
/// the reservations back). Only failures count, so a right password is never refused
/// because other attempts were in flight: while the free budget is held by attempts not
/// yet settled, this waits for them (bounded) instead of refusing.
pub async fn begin(pool: &DbPool, keys: Vec<(String, Policy)>) -> Result<Begin, DbError> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let now = crate::time::now();
        let ks = keys.clone();
        let outcome = db::run(pool, move |conn| {
            for (i, (key, policy)) in ks.iter().enumerate() {
                let found = store::reserve(conn, key, now, *policy)?;
                if found != store::Reserve::Go {
                    for (taken, _) in &ks[..i] {
                        store::release(conn, taken)?;
                    }
                    return Ok(found);
                }
            }
            Ok(store::Reserve::Go)
        })
        .await?;
        match outcome {
            store::Reserve::Go => {
                return Ok(Begin::Go(Attempt {
                    pool: pool.clone(),
                    keys: Some(keys),
                }))
            }
            store::Reserve::Locked(seconds) => return Ok(Begin::Refused(seconds.max(1))),
            store::Reserve::Busy if started.elapsed() >= BUSY_WAIT => return Ok(Begin::Refused(1)),
            store::Reserve::Busy => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
        }
    }
}

/// An attempt whose budget is reserved; settle it once the credential is checked.
#[derive(Debug)]
pub struct Attempt {
    pool: DbPool,
    /// `None` once settled.
    keys: Option<Vec<(String, Policy)>>,
}

impl Attempt {
    /// The credential was right: the first key (the account's) is cleared, the others
    /// (shared, like an IP's) get their reservation back uncounted.
    pub async fn succeeded(mut self) -> Result<(), DbError> {
        let keys = self.keys.take().unwrap_or_default();
        db::run(&self.pool, move |conn| {
            for (i, (key, _)) in keys.iter().enumerate() {
                if i == 0 {
                    store::settle_success(conn, key)?;
                } else {
                    store::release(conn, key)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// The credential was wrong: counted on every key. Returns the longest lock that now
    /// stands (0 = none).
    pub async fn failed(mut self) -> Result<i64, DbError> {
        let keys = self.keys.take().unwrap_or_default();
        let now = crate::time::now();
        db::run(&self.pool, move |conn| {
            let mut lock = 0;
            for (key, policy) in &keys {
                lock = lock.max(store::settle_failure(conn, key, now, *policy)?);
            }
            Ok(lock)
        })
        .await
    }
}

impl Drop for Attempt {
    /// Unsettled (an error, or the request went away): the reservations are given back
    /// without counting, on a blocking thread.
    fn drop(&mut self) {
        let Some(keys) = self.keys.take() else {
            return;
        };
        let pool = self.pool.clone();
        let release = move || {
            if let Ok(mut conn) = pool.get() {
                for (key, _) in &keys {
                    let _ = store::release(&mut conn, key);
                }
            }
        };
        // Without a runtime (shutting down) the stale-reservation sweep frees them later.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn_blocking(release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_and_stop_at_the_ceiling() {
        let p = Policy {
            free_failures: 5,
            window: 900,
            base_lock: 2,
            max_lock: 900,
        };
        assert_eq!(p.lock_for(4), 0);
        assert_eq!(p.lock_for(5), 2);
        assert_eq!(p.lock_for(6), 4);
        assert_eq!(p.lock_for(9), 32);
        assert_eq!(p.lock_for(40), 900);
        assert_eq!(p.lock_for(10_000), 900);
    }
}
