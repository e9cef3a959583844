//! Brute-force defence: counters of failed attempts (passwords, client secrets) per
//! account and per client IP, in the database so every node shares them. After a number
//! of failures a key is locked for a delay that doubles with each further failure, up to a
//! ceiling; locks are always temporary, so an attacker cannot lock a person out for good.
//! Successful requests are never counted or slowed.

pub mod store;

use crate::config::ThrottleSettings;
use crate::db::{self, DbError, DbPool};

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

/// The outcome of starting attempts on several keys at once.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// Seconds the caller must wait; 0 when the attempt may go ahead.
    pub refused_for: i64,
    /// The lock that stands if this attempt fails (0 = none).
    pub lock_if_failed: i64,
}

/// Starts an attempt on every key (each with its policy) in one trip to the database:
/// refused while any key is locked, else counted before the check (see
/// `store::attempt`). After a success call `succeeded`.
pub async fn attempt(pool: &DbPool, keys: Vec<(String, Policy)>) -> Result<Attempt, DbError> {
    let now = crate::time::now();
    db::run(pool, move |conn| {
        let mut out = Attempt {
            refused_for: 0,
            lock_if_failed: 0,
        };
        for (key, policy) in &keys {
            let (refused, lock) = store::attempt(conn, key, now, *policy)?;
            out.refused_for = out.refused_for.max(refused);
            out.lock_if_failed = out.lock_if_failed.max(lock);
            if refused > 0 {
                break;
            }
        }
        Ok(out)
    })
    .await
}

/// After a success: the first key (the account's) is cleared, the others (shared, like an
/// IP's) get their counted attempt back.
pub async fn succeeded(pool: &DbPool, keys: Vec<(String, Policy)>) -> Result<(), DbError> {
    db::run(pool, move |conn| {
        for (i, (key, policy)) in keys.iter().enumerate() {
            if i == 0 {
                store::delete(conn, key)?;
            } else {
                store::forgive(conn, key, *policy)?;
            }
        }
        Ok(())
    })
    .await
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
