//! Invitations: an administrator creates an account without a password and Porta emails a
//! one-time link (256 random bits; only the hash is stored) to set one. Using the link sets
//! the password and confirms the address; it works once, until it expires.

use diesel::prelude::*;

use crate::db::schema::account_invitations as ai;
use crate::db::{delete_batch, Bind, DbConn};

/// A new invitation for `user_id`, replacing any unused one; returns the token for the link.
pub fn create(conn: &mut DbConn, user_id: &str, expires_at: i64) -> QueryResult<String> {
    let token = crate::crypto::random_token(32);
    crate::db::transaction(conn, |conn| -> QueryResult<()> {
        diesel::delete(
            ai::table
                .filter(ai::user_id.eq(user_id))
                .filter(ai::used_at.is_null()),
        )
        .execute(conn)?;
        diesel::insert_into(ai::table)
            .values((
                ai::token_hash.eq(crate::crypto::hash_secret(&token)),
                ai::user_id.eq(user_id),
                ai::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(token)
}

/// The account a live (unused, unexpired) invitation token belongs to.
pub fn find_live(conn: &mut DbConn, token: &str, now: i64) -> QueryResult<Option<String>> {
    ai::table
        .filter(ai::token_hash.eq(crate::crypto::hash_secret(token)))
        .filter(ai::used_at.is_null())
        .filter(ai::expires_at.gt(now))
        .select(ai::user_id)
        .first(conn)
        .optional()
}

/// Uses the invitation: sets the password and confirms the address, once. `Ok(None)` when
/// the token is not live (used, expired, unknown); else the account id.
pub fn accept(
    conn: &mut DbConn,
    token: &str,
    password_hash: &str,
    now: i64,
) -> QueryResult<Option<String>> {
    crate::db::transaction(conn, |conn| {
        let Some(user_id) = find_live(conn, token, now)? else {
            return Ok(None);
        };
        let spent = diesel::update(
            ai::table
                .filter(ai::token_hash.eq(crate::crypto::hash_secret(token)))
                .filter(ai::used_at.is_null()),
        )
        .set(ai::used_at.eq(now))
        .execute(conn)?;
        if spent != 1 {
            return Ok(None);
        }
        super::store::set_password(conn, &user_id, password_hash)?;
        super::store::mark_verified(conn, &user_id)?;
        Ok(Some(user_id))
    })
}

/// Deletes invitations that can no longer be used, at most `batch` of them
/// (housekeeping).
pub fn purge(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    delete_batch!(
        conn,
        "account_invitations",
        "token_hash",
        "expires_at <= ? OR used_at IS NOT NULL",
        [Bind::BigInt(now)],
        batch
    )
}
