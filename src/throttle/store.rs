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

/// Makes sure `key` has a row, outside any transaction: on PostgreSQL a unique violation
/// inside a transaction would abort it, and a parallel request may insert first.
fn ensure_row(conn: &mut DbConn, key: &str, now: i64) -> QueryResult<()> {
    let inserted = diesel::insert_into(ac::table)
        .values(&Counter {
            key: key.to_string(),
            failures: 0,
            window_start: now,
            locked_until: 0,
        })
        .execute(conn);
    match inserted {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Adds one failure and returns the resulting lock in seconds. Every step is one atomic
/// statement (no transaction: a concurrent insert must not abort anything on PostgreSQL);
/// the increment itself is what serialises concurrent failures.
pub fn fail(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<i64> {
    ensure_row(conn, key, now)?;
    diesel::update(ac::table.find(key))
        .set(ac::failures.eq(ac::failures + 1))
        .execute(conn)?;
    settle(conn, key, now, policy)
}

/// After an increment: restarts a window that has gone quiet and sets the lock the count
/// calls for. Returns the lock in seconds (0 = none).
fn settle(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<i64> {
    let Some(c) = find(conn, key)? else {
        return Ok(0);
    };
    let mut failures = c.failures;
    if now - c.window_start > policy.window && c.locked_until <= now {
        // A quiet window has passed: count again from this attempt.
        diesel::update(ac::table.find(key))
            .set((ac::failures.eq(1), ac::window_start.eq(now)))
            .execute(conn)?;
        failures = 1;
    }
    let lock = policy.lock_for(failures);
    if lock > 0 {
        diesel::update(ac::table.find(key))
            .filter(ac::locked_until.lt(now + lock))
            .set(ac::locked_until.eq(now + lock))
            .execute(conn)?;
    }
    Ok(lock)
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
    ensure_row(conn, key, now)?;
    // Counts only while not locked, in one statement: concurrent attempts each get their
    // own count and none slips past a lock set by another.
    let counted = diesel::update(ac::table.find(key).filter(ac::locked_until.le(now)))
        .set(ac::failures.eq(ac::failures + 1))
        .execute(conn)?;
    if counted == 0 {
        let remaining = find(conn, key)?
            .map(|c| (c.locked_until - now).max(1))
            .unwrap_or(1);
        return Ok((remaining, 0));
    }
    Ok((0, settle(conn, key, now, policy)?))
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
