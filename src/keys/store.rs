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

pub fn next(conn: &mut DbConn) -> QueryResult<Option<KeyRow>> {
    signing_keys::table
        .filter(signing_keys::state.eq("next"))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, kid: &str) -> QueryResult<Option<KeyRow>> {
    signing_keys::table
        .find(kid)
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a key unless one in the same singleton state (`active`, `next`) exists; the
/// partial unique indexes decide, so concurrent nodes cannot both succeed. 1 = inserted.
pub fn insert_unless_taken(conn: &mut DbConn, row: &KeyRow) -> QueryResult<usize> {
    use diesel::result::{DatabaseErrorKind, Error};
    match insert(conn, row) {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(0),
        other => other,
    }
}

/// Promotes `kid` from `next` (or a fresh `standby` row) to `active` and retires the old
/// active key, in one transaction. 0 when another node already did it.
pub fn promote(conn: &mut DbConn, kid: &str, from_state: &str, now: i64) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        // Retire first: the unique index allows one active key at a time.
        diesel::update(signing_keys::table.filter(signing_keys::state.eq("active")))
            .filter(signing_keys::kid.ne(kid))
            .set((
                signing_keys::state.eq("retired"),
                signing_keys::retires_at.eq(now),
            ))
            .execute(conn)?;
        let promoted = diesel::update(signing_keys::table.find(kid))
            .filter(signing_keys::state.eq(from_state))
            .set((
                signing_keys::state.eq("active"),
                signing_keys::activates_at.eq(now),
            ))
            .execute(conn)?;
        if promoted == 0 {
            // Someone else promoted; undo our retirement.
            return Err(diesel::result::Error::RollbackTransaction);
        }
        Ok(promoted)
    })
    .or_else(|e| match e {
        diesel::result::Error::RollbackTransaction => Ok(0),
        e => Err(e),
    })
}

/// Drops retired keys whose tokens have all expired.
pub fn remove_expired(conn: &mut DbConn, now: i64, retention: i64) -> QueryResult<usize> {
    diesel::delete(
        signing_keys::table
            .filter(signing_keys::state.eq("retired"))
            .filter(signing_keys::retires_at.le(now - retention)),
    )
    .execute(conn)
}

/// Deletes a key at once (emergency revocation), unless it is the active one: the caller
/// rotates first, and a node that promoted it meanwhile makes this a no-op (0).
pub fn delete_inactive(conn: &mut DbConn, kid: &str) -> QueryResult<usize> {
    diesel::delete(
        signing_keys::table
            .find(kid)
            .filter(signing_keys::state.ne("active")),
    )
    .execute(conn)
}

/// Every sealed private key, for re-encryption under a new master key.
pub fn set_sealed(conn: &mut DbConn, kid: &str, sealed: &str) -> QueryResult<usize> {
    diesel::update(signing_keys::table.find(kid))
        .set(signing_keys::private_key_enc.eq(sealed))
        .execute(conn)
}
