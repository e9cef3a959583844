//! Diesel queries for failed-attempt counters.

use diesel::prelude::*;

use super::Policy;
use crate::db::schema::attempt_counters as ac;
use crate::db::DbConn;

/// A counter row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ac)]
pub struct Counter {
    pub key: String,
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

pub fn find(conn: &mut DbConn, key: &str) -> QueryResult<Option<Counter>> {
    ac::table
        .find(key)
        .select(Counter::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    diesel::delete(ac::table.find(key)).execute(conn)
}

/// Adds one failure in one transaction (write first, so concurrent failures serialise)
/// and returns the resulting lock in seconds.
pub fn fail(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<i64> {
    conn.transaction(|conn| {
        let bumped = diesel::update(ac::table.find(key))
            .set(ac::failures.eq(ac::failures + 1))
            .execute(conn)?;
        if bumped == 0 {
            let inserted = diesel::insert_into(ac::table)
                .values(&Counter {
                    key: key.to_string(),
                    failures: 1,
                    window_start: now,
                    locked_until: 0,
                })
                .execute(conn);
            match inserted {
                Ok(_) => {}
                // Another node inserted first: count on its row.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    diesel::update(ac::table.find(key))
                        .set(ac::failures.eq(ac::failures + 1))
                        .execute(conn)?;
                }
                Err(e) => return Err(e),
            }
        }
        let Some(mut c) = find(conn, key)? else {
            return Ok(0);
        };
        if now - c.window_start > policy.window && c.locked_until <= now {
            // A quiet window has passed: start counting again from this failure.
            c.failures = 1;
            c.window_start = now;
        }
        let lock = policy.lock_for(c.failures);
        c.locked_until = if lock > 0 { now + lock } else { c.locked_until };
        diesel::update(ac::table.find(key))
            .set((
                ac::failures.eq(c.failures),
                ac::window_start.eq(c.window_start),
                ac::locked_until.eq(c.locked_until),
            ))
            .execute(conn)?;
        Ok(lock)
    })
}

/// Drops counters that are neither locked nor inside their window any more.
pub fn purge(conn: &mut DbConn, now: i64, window: i64) -> QueryResult<usize> {
    diesel::delete(
        ac::table
            .filter(ac::locked_until.le(now))
            .filter(ac::window_start.le(now - window)),
    )
    .execute(conn)
}

/// Starts an attempt on `key`: refused (the remaining lock, in seconds) while the key is
/// locked; otherwise counted at once, before the credential is checked, so parallel
/// requests cannot all slip past the limit. When this attempt brings the count to the
/// limit, the lock is set now and stands if the attempt fails (a success clears it).
/// Returns (refused_for, lock_if_this_fails).
pub fn attempt(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<(i64, i64)> {
    conn.transaction(|conn| {
        // Write first, so concurrent attempts on one key serialise.
        let touched = diesel::update(ac::table.find(key))
            .set(ac::window_start.eq(ac::window_start))
            .execute(conn)?;
        if touched == 0 {
            let inserted = diesel::insert_into(ac::table)
                .values(&Counter {
                    key: key.to_string(),
                    failures: 0,
                    window_start: now,
                    locked_until: 0,
                })
                .execute(conn);
            if let Err(e) = inserted {
                if !matches!(
                    e,
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _
                    )
                ) {
                    return Err(e);
                }
            }
        }
        let Some(mut c) = find(conn, key)? else {
            return Ok((0, 0));
        };
        if c.locked_until > now {
            return Ok((c.locked_until - now, 0));
        }
        if now - c.window_start > policy.window {
            c.failures = 0;
            c.window_start = now;
        }
        c.failures += 1;
        let lock = policy.lock_for(c.failures);
        if lock > 0 {
            c.locked_until = now + lock;
        }
        diesel::update(ac::table.find(key))
            .set((
                ac::failures.eq(c.failures),
                ac::window_start.eq(c.window_start),
                ac::locked_until.eq(c.locked_until),
            ))
            .execute(conn)?;
        Ok((0, lock))
    })
}

/// Takes back one counted attempt that succeeded (shared keys such as an IP's).
pub fn forgive(conn: &mut DbConn, key: &str, policy: Policy) -> QueryResult<usize> {
    conn.transaction(|conn| {
        let Some(c) = find(conn, key)? else {
            return Ok(0);
        };
        let failures = (c.failures - 1).max(0);
        let locked_until = if failures < policy.free_failures {
            0
        } else {
            c.locked_until
        };
        diesel::update(ac::table.find(key))
            .set((ac::failures.eq(failures), ac::locked_until.eq(locked_until)))
            .execute(conn)
    })
}
