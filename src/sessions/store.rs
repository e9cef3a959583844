//! Diesel queries for browser sessions.

use diesel::prelude::*;

use crate::db::schema::{browser_sessions, remembered_browsers, users};
use crate::db::{delete_batch, Bind, DbConn};

/// A browser session; the cookie holds the secret, the row only its hash.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = browser_sessions)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: String,
    pub ip: String,
}

impl Session {
    pub fn amr_list(&self) -> Vec<String> {
        self.amr.split_whitespace().map(str::to_string).collect()
    }
}

pub fn insert(conn: &mut DbConn, s: &Session) -> QueryResult<usize> {
    diesel::insert_into(browser_sessions::table)
        .values(s)
        .execute(conn)
}

/// The session, unless it expired or its account was disabled since (an administrator's
/// disable ends sessions too; the join closes the gap of a sign-in finishing meanwhile).
pub fn find_valid(conn: &mut DbConn, id_hash: &str, now: i64) -> QueryResult<Option<Session>> {
    browser_sessions::table
        .inner_join(users::table.on(users::id.eq(browser_sessions::user_id)))
        .filter(browser_sessions::id_hash.eq(id_hash))
        .filter(browser_sessions::expires_at.gt(now))
        .filter(users::disabled_at.is_null())
        .select(Session::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, id_hash: &str) -> QueryResult<usize> {
    diesel::delete(browser_sessions::table.find(id_hash)).execute(conn)
}

pub fn delete_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(browser_sessions::table.filter(browser_sessions::user_id.eq(user_id)))
        .execute(conn)
}

pub fn list_for_user(conn: &mut DbConn, user_id: &str, now: i64) -> QueryResult<Vec<Session>> {
    browser_sessions::table
        .filter(browser_sessions::user_id.eq(user_id))
        .filter(browser_sessions::expires_at.gt(now))
        .order(browser_sessions::last_seen_at.desc())
        .select(Session::as_select())
        .load(conn)
}

/// Ends one of a person's sessions (never someone else's).
pub fn delete_of_user(conn: &mut DbConn, user_id: &str, id_hash: &str) -> QueryResult<usize> {
    diesel::delete(
        browser_sessions::table
            .filter(browser_sessions::id_hash.eq(id_hash))
            .filter(browser_sessions::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Ends every session of a person except `keep`.
pub fn delete_others(conn: &mut DbConn, user_id: &str, keep: &str) -> QueryResult<usize> {
    diesel::delete(
        browser_sessions::table
            .filter(browser_sessions::user_id.eq(user_id))
            .filter(browser_sessions::id_hash.ne(keep)),
    )
    .execute(conn)
}

pub fn touch(conn: &mut DbConn, id_hash: &str, now: i64) -> QueryResult<usize> {
    diesel::update(browser_sessions::table.find(id_hash))
        .set(browser_sessions::last_seen_at.eq(now))
        .execute(conn)
}

/// Deletes expired sessions, at most `batch` of them (housekeeping).
pub fn purge_expired(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let at = Bind::BigInt(now);
    delete_batch!(
        conn,
        "browser_sessions",
        "id_hash",
        "expires_at <= ?",
        [at],
        batch
    )
}

/// Remembers a browser for `user_id` until `expires_at` (the cookie holds the secret).
pub fn remember_browser(
    conn: &mut DbConn,
    id_hash: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
    user_agent: &str,
) -> QueryResult<usize> {
    diesel::insert_into(remembered_browsers::table)
        .values((
            remembered_browsers::id_hash.eq(id_hash),
            remembered_browsers::user_id.eq(user_id),
            remembered_browsers::created_at.eq(now),
            remembered_browsers::expires_at.eq(expires_at),
            remembered_browsers::user_agent.eq(user_agent),
        ))
        .execute(conn)
}

/// Whether the browser whose secret hashes to `id_hash` is remembered for `user_id`.
pub fn is_remembered(
    conn: &mut DbConn,
    id_hash: &str,
    user_id: &str,
    now: i64,
) -> QueryResult<bool> {
    let found: i64 = remembered_browsers::table
        .filter(remembered_browsers::id_hash.eq(id_hash))
        .filter(remembered_browsers::user_id.eq(user_id))
        .filter(remembered_browsers::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// How many browsers are remembered for `user_id` now.
pub fn remembered_count(conn: &mut DbConn, user_id: &str, now: i64) -> QueryResult<i64> {
    remembered_browsers::table
        .filter(remembered_browsers::user_id.eq(user_id))
        .filter(remembered_browsers::expires_at.gt(now))
        .count()
        .get_result(conn)
}

/// Forgets every browser remembered for `user_id`; how many.
pub fn forget_browsers(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(remembered_browsers::table.filter(remembered_browsers::user_id.eq(user_id)))
        .execute(conn)
}

/// Drops remembered browsers that expired before `now`, at most `batch` of them
/// (housekeeping).
pub fn purge_remembered(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let at = Bind::BigInt(now);
    delete_batch!(
        conn,
        "remembered_browsers",
        "id_hash",
        "expires_at <= ?",
        [at],
        batch
    )
}
