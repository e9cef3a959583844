//! Diesel queries for signing keys.

use diesel::prelude::*;

use crate::db::schema::signing_keys;
use crate::db::DbConn;

/// A signing key row; `private_key_enc` is sealed under the master key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub state: String,
    pub private_key_enc: String,
    pub public_jwk: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &KeyRow) -> QueryResult<usize> {
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)
}

pub fn active(conn: &mut DbConn) -> QueryResult<Option<KeyRow>> {
    signing_keys::table
        .filter(signing_keys::state.eq("active"))
        .order(signing_keys::activates_at.desc())
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

/// Keys in the JWKS: next, active and retired.
pub fn published(conn: &mut DbConn) -> QueryResult<Vec<KeyRow>> {
    signing_keys::table
        .filter(signing_keys::state.eq_any(["next", "active", "retired"]))
        .order(signing_keys::created_at.asc())
        .select(KeyRow::as_select())
        .load(conn)
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<KeyRow>> {
    signing_keys::table
        .order(signing_keys::created_at.asc())
        .select(KeyRow::as_select())
        .load(conn)
}

/// True when an active key exists.
pub async fn active_exists(pool: &crate::db::DbPool) -> Result<bool, crate::db::DbError> {
    crate::db::run(pool, |conn| Ok(active(conn)?.is_some())).await
}
