//! Diesel queries for one-time codes.

use diesel::prelude::*;

use crate::db::schema::one_time_codes as otc;
use crate::db::{delete_batch, Bind, DbConn};

/// A one-time code (only its MAC under the master key is stored).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = otc)]
pub struct CodeRow {
    pub id: String,
    pub purpose: String,
    pub identifier: String,
    pub user_id: Option<String>,
    pub code_hash: String,
    pub browser: String,
    pub tries: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Registration choices applied when the code comes back (JSON).
    pub payload: Option<String>,
    /// The account's sign-in generation when a code that signs in or resets was issued
    /// (none for other purposes, unknown identifiers, and codes from before this column):
    /// the code works only while it is still the account's.
    pub generation: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &CodeRow) -> QueryResult<usize> {
    diesel::insert_into(otc::table).values(row).execute(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<CodeRow>> {
    otc::table
        .find(id)
        .select(CodeRow::as_select())
        .first(conn)
        .optional()
}

/// Spends one try on a live code; 0 when the code is dead (used, expired, out of tries).
pub fn spend_try(conn: &mut DbConn, id: &str, now: i64, max_tries: i64) -> QueryResult<usize> {
    diesel::update(otc::table.find(id))
        .filter(otc::used_at.is_null())
        .filter(otc::expires_at.gt(now))
        .filter(otc::tries.lt(max_tries))
        .set(otc::tries.eq(otc::tries + 1))
        .execute(conn)
}

/// Marks a code used; 1 when this call used it.
pub fn use_up(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(otc::table.find(id))
        .filter(otc::used_at.is_null())
        .set(otc::used_at.eq(now))
        .execute(conn)
}

/// Deletes codes that can no longer be used or counted, at most `batch` of them.
pub fn purge(conn: &mut DbConn, before: i64, batch: i64) -> QueryResult<usize> {
    let at = Bind::BigInt(before);
    delete_batch!(conn, "one_time_codes", "id", "expires_at < ?", [at], batch)
}
