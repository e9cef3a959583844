//! Diesel queries for failed-attempt counters.

use diesel::prelude::*;

use super::Policy;
use crate::db::schema::attempt_counters as ac;
use crate::db::{delete_batch, Bind, DbConn, Fixed};

/// A counter row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ac)]
pub struct Counter {
    pub key: String,
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: i64,
    /// Attempts reserved and not yet settled (see `reserve`).
    pub in_flight: i64,
    /// When the last reservation was made; a count this old was left by a crashed node.
    pub in_flight_since: i64,
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

/// Inserts `key`'s row unless it exists, with `in_flight` attempts reserved; true when
/// this inserted it. No error when a parallel request inserted first, so it is safe in
/// or out of a transaction on both databases. Plain SQL: diesel's MultiBackend has no
/// ON CONFLICT; both SQLite and PostgreSQL do.
fn insert_row(conn: &mut DbConn, key: &str, now: i64, in_flight: i64) -> QueryResult<bool> {
    let inserted = Fixed::new(
        "INSERT INTO attempt_counters \
         (\"key\", failures, window_start, locked_until, in_flight, in_flight_since) \
         VALUES (?, 0, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
        vec![
            Bind::Text(key),
            Bind::BigInt(now),
            Bind::BigInt(in_flight),
            Bind::BigInt(if in_flight > 0 { now } else { 0 }),
        ],
    )
    .execute(conn)?;
    Ok(inserted == 1)
}

/// Makes sure `key` has a row.
fn ensure_row(conn: &mut DbConn, key: &str, now: i64) -> QueryResult<()> {
    insert_row(conn, key, now, 0).map(|_| ())
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

/// Drops counters that are neither locked nor inside their window any more, at most
/// `batch` of them. The conditions stand outside the batch's subquery too: PostgreSQL
/// checks them again on a row a sign-in updated meanwhile (a reservation, a failure), so
/// such a counter stays.
pub fn purge(conn: &mut DbConn, now: i64, window: i64, batch: i64) -> QueryResult<usize> {
    delete_batch!(
        conn,
        "attempt_counters",
        "\"key\"",
        "locked_until <= ? AND window_start <= ? AND in_flight = 0",
        [Bind::BigInt(now), Bind::BigInt(now - window)],
        batch
    )
}

/// Seconds after which reservations still open are taken for lost (a node that died
/// mid-check): far longer than any credential check, which the hashing pool bounds.
pub const STALE_IN_FLIGHT: i64 = 120;

/// What `reserve` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// Reserved: one attempt of the budget is held until it is settled.
    Go,
    /// The key is locked for this many more seconds.
    Locked(i64),
    /// The budget is held by attempts still in flight; one of them may yet succeed, so
    /// ask again in a moment rather than refuse.
    Busy,
}

/// Reserves an attempt on `key` before the credential is checked. Failures plus attempts
/// in flight may not exceed the free budget, so parallel guesses cannot all slip past the
/// limit; past the budget (a lock has run out) attempts go one at a time. Only a failure
/// is counted (`settle_failure`); a success gives its reservation back.
///
/// One atomic statement decides for a key that has a row (the usual case): it restarts a
/// window gone quiet, drops reservations left by a node that died, and reserves when the
/// budget allows. A key without a row gets one inserted with the reservation in it; a
/// parallel insert of the same key sends this one back to the update.
pub fn reserve(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<Reserve> {
    for _ in 0..2 {
        // One statement, kept prepared (a `Fixed`): a window gone quiet (not locked,
        // nothing in flight) counts again from zero; reservations older than
        // STALE_IN_FLIGHT were left by a node that died mid-check and count as none. Every
        // right-hand side sees the row as it was: a quiet window has nothing in flight.
        let quiet = now - policy.window;
        let stale = now - STALE_IN_FLIGHT;
        let reserved = Fixed::new(
            "UPDATE attempt_counters SET \
             failures = CASE WHEN window_start < ? AND locked_until <= ? AND in_flight = 0 \
               THEN 0 ELSE failures END, \
             window_start = CASE WHEN window_start < ? AND locked_until <= ? AND in_flight = 0 \
               THEN ? ELSE window_start END, \
             in_flight = CASE WHEN in_flight > 0 AND in_flight_since < ? \
               THEN 1 ELSE in_flight + 1 END, \
             in_flight_since = ? \
             WHERE \"key\" = ? AND locked_until <= ? \
             AND ((in_flight > 0 AND in_flight_since < ?) OR in_flight = 0 \
               OR failures + in_flight < ?)",
            vec![
                Bind::BigInt(quiet),
                Bind::BigInt(now),
                Bind::BigInt(quiet),
                Bind::BigInt(now),
                Bind::BigInt(now),
                Bind::BigInt(stale),
                Bind::BigInt(now),
                Bind::Text(key),
                Bind::BigInt(now),
                Bind::BigInt(stale),
                Bind::BigInt(policy.free_failures),
            ],
        )
        .execute(conn)?;
        if reserved == 1 {
            return Ok(Reserve::Go);
        }
        match find(conn, key)? {
            Some(c) if c.locked_until > now => return Ok(Reserve::Locked(c.locked_until - now)),
            Some(_) => return Ok(Reserve::Busy),
            None => {}
        }
        // No row yet: the first attempt on this key, reserved as it is inserted.
        if insert_row(conn, key, now, 1)? {
            return Ok(Reserve::Go);
        }
    }
    // Inserted and gone again twice in a moment (a purge racing the insert): try later.
    Ok(Reserve::Busy)
}

/// Gives a reservation back without counting anything (the check could not run).
pub fn release(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    Fixed::new(
        "UPDATE attempt_counters SET in_flight = in_flight - 1 \
         WHERE \"key\" = ? AND in_flight > 0",
        vec![Bind::Text(key)],
    )
    .execute(conn)
}

/// A reserved attempt succeeded on the account's own key: its failures are forgiven.
/// One statement: the reservation given back, failures and lock cleared.
pub fn settle_success(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    Fixed::new(
        "UPDATE attempt_counters SET failures = 0, locked_until = 0, \
         in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END \
         WHERE \"key\" = ?",
        vec![Bind::Text(key)],
    )
    .execute(conn)
}

/// A reserved attempt failed: counted, and the lock the count calls for is set. Returns
/// the lock in seconds (0 = none).
pub fn settle_failure(conn: &mut DbConn, key: &str, now: i64, policy: Policy) -> QueryResult<i64> {
    ensure_row(conn, key, now)?;
    release(conn, key)?;
    diesel::update(ac::table.find(key))
        .set(ac::failures.eq(ac::failures + 1))
        .execute(conn)?;
    settle(conn, key, now, policy)
}

/// Takes one unit of a fixed-window allowance (sends per address, per IP, in all): true
/// when taken, false when `max` were already taken in the current window. One atomic
/// statement decides, so a burst cannot overshoot; a window that has ended starts over.
pub fn take(conn: &mut DbConn, key: &str, now: i64, window: i64, max: i64) -> QueryResult<bool> {
    ensure_row(conn, key, now)?;
    // A finished window starts over (only the first of racing requests does this; the
    // others then find a fresh window and count in it).
    Fixed::new(
        "UPDATE attempt_counters SET failures = 0, window_start = ? \
         WHERE \"key\" = ? AND window_start <= ?",
        vec![
            Bind::BigInt(now),
            Bind::Text(key),
            Bind::BigInt(now - window),
        ],
    )
    .execute(conn)?;
    let taken = Fixed::new(
        "UPDATE attempt_counters SET failures = failures + 1 WHERE \"key\" = ? AND failures < ?",
        vec![Bind::Text(key), Bind::BigInt(max)],
    )
    .execute(conn)?;
    Ok(taken == 1)
}
