//! Diesel queries for TOTP credentials, recovery codes and half-finished sign-ins.

use diesel::prelude::*;

use crate::db::schema::{pending_sign_ins as ps, recovery_codes as rc, totp_credentials as tc};
use crate::db::{delete_batch, Bind, DbConn};

/// A TOTP credential; `secret_enc` is sealed under the master key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tc)]
pub struct TotpRow {
    pub user_id: String,
    pub secret_enc: String,
    pub enabled_at: Option<i64>,
    pub last_step: i64,
    pub created_at: i64,
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ps)]
pub struct PendingSignIn {
    pub id: String,
    pub user_id: String,
    pub first_factor: String,
    pub browser: String,
    pub tries: i64,
    pub expires_at: i64,
    /// The person's sign-in generation when it was parked (see `accounts::User`).
    pub generation: i64,
}

pub fn totp(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<TotpRow>> {
    tc::table
        .find(user_id)
        .select(TotpRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces a not-yet-enabled credential (an abandoned enrolment) with `row`.
pub fn put_pending_totp(conn: &mut DbConn, row: &TotpRow) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        diesel::delete(
            tc::table
                .find(&row.user_id)
                .filter(tc::enabled_at.is_null()),
        )
        .execute(conn)?;
        diesel::insert_into(tc::table).values(row).execute(conn)
    })
}

/// Enables a credential at `step`; 1 when it was pending with exactly `secret_enc` (a
/// set-up restarted in another tab in the meantime wins, and this one fails).
pub fn enable_totp(
    conn: &mut DbConn,
    user_id: &str,
    secret_enc: &str,
    now: i64,
    step: i64,
) -> QueryResult<usize> {
    diesel::update(
        tc::table
            .find(user_id)
            .filter(tc::enabled_at.is_null())
            .filter(tc::secret_enc.eq(secret_enc)),
    )
    .set((tc::enabled_at.eq(now), tc::last_step.eq(step)))
    .execute(conn)
}

/// Accepts `step` only if it is newer than every step used before: a code works once.
pub fn use_step(conn: &mut DbConn, user_id: &str, step: i64) -> QueryResult<usize> {
    diesel::update(
        tc::table
            .find(user_id)
            .filter(tc::enabled_at.is_not_null())
            .filter(tc::last_step.lt(step)),
    )
    .set(tc::last_step.eq(step))
    .execute(conn)
}

pub fn delete_totp(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(rc::table.filter(rc::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(tc::table.find(user_id)).execute(conn)
}

/// Replaces the recovery codes with new hashes.
pub fn replace_recovery_codes(
    conn: &mut DbConn,
    user_id: &str,
    hashes: &[String],
) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        diesel::delete(rc::table.filter(rc::user_id.eq(user_id))).execute(conn)?;
        for h in hashes {
            diesel::insert_into(rc::table)
                .values((
                    rc::id.eq(crate::crypto::random_id()),
                    rc::user_id.eq(user_id),
                    rc::code_hash.eq(h),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Uses a recovery code; 1 when it was there and unused.
pub fn use_recovery_code(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        rc::table
            .filter(rc::user_id.eq(user_id))
            .filter(rc::code_hash.eq(hash))
            .filter(rc::used_at.is_null()),
    )
    .set(rc::used_at.eq(now))
    .execute(conn)
}

pub fn unused_recovery_codes(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    rc::table
        .filter(rc::user_id.eq(user_id))
        .filter(rc::used_at.is_null())
        .count()
        .get_result(conn)
}

pub fn insert_pending(conn: &mut DbConn, p: &PendingSignIn) -> QueryResult<usize> {
    diesel::insert_into(ps::table).values(p).execute(conn)
}

/// Spends a try on a live pending sign-in and returns it; `None` when dead.
pub fn spend_pending_try(
    conn: &mut DbConn,
    id: &str,
    now: i64,
    max: i64,
) -> QueryResult<Option<PendingSignIn>> {
    let n = diesel::update(
        ps::table
            .find(id)
            .filter(ps::expires_at.gt(now))
            .filter(ps::tries.lt(max)),
    )
    .set(ps::tries.eq(ps::tries + 1))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    ps::table
        .find(id)
        .select(PendingSignIn::as_select())
        .first(conn)
        .optional()
}

/// A live pending sign-in, without spending a try.
pub fn find_pending(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<Option<PendingSignIn>> {
    ps::table
        .find(id)
        .filter(ps::expires_at.gt(now))
        .select(PendingSignIn::as_select())
        .first(conn)
        .optional()
}

/// Consumes a pending sign-in; 1 when this call did.
pub fn finish_pending(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(ps::table.find(id)).execute(conn)
}

/// Deletes parked sign-ins that have expired, at most `batch` of them.
pub fn purge_pending(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let at = Bind::BigInt(now);
    delete_batch!(
        conn,
        "pending_sign_ins",
        "id",
        "expires_at <= ?",
        [at],
        batch
    )
}

/// Every sealed TOTP secret, for re-encryption under a new master key.
pub fn all_sealed(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    tc::table.select((tc::user_id, tc::secret_enc)).load(conn)
}

pub fn set_sealed(conn: &mut DbConn, user_id: &str, sealed: &str) -> QueryResult<usize> {
    diesel::update(tc::table.find(user_id))
        .set(tc::secret_enc.eq(sealed))
        .execute(conn)
}
