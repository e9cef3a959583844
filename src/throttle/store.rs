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
