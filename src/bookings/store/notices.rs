//! Diesel queries for the module's outbox of appointment emails (`booking_notifications`).

use diesel::prelude::*;

use crate::db::schema::booking_notifications as bn;
use crate::db::DbConn;

/// A row of the outbox.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bn)]
pub struct Notice {
    pub id: String,
    pub appointment_id: String,
    /// `requested`, `confirmed`, `declined`, `cancelled` or `reminder`.
    pub event: String,
    /// `client` or `consultant`.
    pub party: String,
    pub due_at: i64,
    pub attempts: i64,
    pub claim: Option<String>,
    pub claimed_until: i64,
    pub done_at: Option<i64>,
    /// `sent`, `skipped` or `failed`.
    pub outcome: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl Notice {
    /// A new row for `party` about `event`, due at `due_at`.
    pub fn new(appointment_id: &str, event: &str, party: &str, due_at: i64, now: i64) -> Notice {
        Notice {
            id: crate::bookings::new_id(),
            appointment_id: appointment_id.to_string(),
            event: event.to_string(),
            party: party.to_string(),
            due_at,
            attempts: 0,
            claim: None,
            claimed_until: 0,
            done_at: None,
            outcome: None,
            last_error: None,
            created_at: now,
        }
    }
}

/// Queues `notices` (inside the caller's transaction, with the change they announce).
pub fn queue(conn: &mut DbConn, notices: &[Notice]) -> QueryResult<()> {
    // One row at a time: the multi-backend connection has no batch insert.
    for n in notices {
        diesel::insert_into(bn::table).values(n).execute(conn)?;
    }
    Ok(())
}

/// Claims up to `batch` due rows for `claim` until `now + hold`; returns them.
pub fn claim_due(
    conn: &mut DbConn,
    claim: &str,
    now: i64,
    batch: i64,
    hold: i64,
) -> QueryResult<Vec<Notice>> {
    let due = bn::table
        .filter(bn::done_at.is_null())
        .filter(bn::due_at.le(now))
        .filter(bn::claimed_until.le(now))
        .order((bn::due_at, bn::created_at))
        .select(bn::id)
        .limit(batch)
        .load::<String>(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    // The conditions again in the UPDATE: a row another node claimed in between no
    // longer matches, so each row has one owner.
    crate::db::write(conn, |conn| {
        diesel::update(
            bn::table
                .filter(bn::id.eq_any(&due))
                .filter(bn::done_at.is_null())
                .filter(bn::claimed_until.le(now)),
        )
        .set((bn::claim.eq(claim), bn::claimed_until.eq(now + hold)))
        .execute(conn)
    })?;
    bn::table
        .filter(bn::claim.eq(claim))
        .filter(bn::done_at.is_null())
        .order((bn::due_at, bn::created_at))
        .select(Notice::as_select())
        .load(conn)
}

/// Extends this node's claim on a row until `until`; 0 when the claim is no longer ours.
pub fn renew(conn: &mut DbConn, id: &str, claim: &str, until: i64) -> QueryResult<usize> {
    diesel::update(
        bn::table
            .find(id)
            .filter(bn::claim.eq(claim))
            .filter(bn::done_at.is_null()),
    )
    .set(bn::claimed_until.eq(until))
    .execute(conn)
}

/// Finishes a claimed row: `sent`, `skipped` or `failed` (with why).
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    claim: &str,
    outcome: &str,
    error: Option<String>,
    attempts: i64,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(bn::table.find(id).filter(bn::claim.eq(claim)))
        .set((
            bn::done_at.eq(Some(now)),
            bn::outcome.eq(Some(outcome)),
            bn::last_error.eq(error),
            bn::attempts.eq(attempts),
        ))
        .execute(conn)
}

/// Puts a claimed row back to be tried again at `next`.
pub fn retry_later(
    conn: &mut DbConn,
    id: &str,
    claim: &str,
    attempts: i64,
    next: i64,
    error: String,
) -> QueryResult<usize> {
    diesel::update(bn::table.find(id).filter(bn::claim.eq(claim)))
        .set((
            bn::attempts.eq(attempts),
            bn::due_at.eq(next),
            bn::claim.eq(None::<String>),
            bn::claimed_until.eq(0),
            bn::last_error.eq(Some(error)),
        ))
        .execute(conn)
}

/// Whether the person was sent the confirmation of `appointment_id` (a cancellation then
/// withdraws the calendar entry it carried).
pub fn confirmation_sent(conn: &mut DbConn, appointment_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        bn::table
            .filter(bn::appointment_id.eq(appointment_id))
            .filter(bn::event.eq("confirmed"))
            .filter(bn::outcome.eq("sent")),
    ))
    .get_result(conn)
}

/// Forgets finished rows older than `before`.
pub fn purge(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(bn::table.filter(bn::done_at.lt(before))).execute(conn)
}
