//! Diesel queries for grants: pending authorization requests, consents, token families,
//! authorization codes, refresh tokens and revoked access tokens.

use diesel::prelude::*;

use crate::db::schema::{
    auth_codes, authorization_requests, consents, refresh_tokens, revoked_tokens, token_families,
};
use crate::db::{delete_batch, Bind, DbConn, Fixed};
use crate::scopes::Scopes;

/// An authorization request waiting for sign-in or consent.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_requests)]
pub struct PendingRequest {
    pub id: String,
    pub client_id: String,
    pub params: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An authorization code (stored as its hash) and what it grants.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub pkce: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A refresh token (stored as its hash). Written by hand-written SQL (`insert_refresh`,
/// kept prepared); the grants tests check that every field goes in and comes back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    /// The successor, sealed, kept for the benign-retry grace period.
    pub successor_enc: Option<String>,
}

pub fn insert_request(conn: &mut DbConn, r: &PendingRequest) -> QueryResult<usize> {
    diesel::insert_into(authorization_requests::table)
        .values(r)
        .execute(conn)
}

pub fn find_request(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<Option<PendingRequest>> {
    authorization_requests::table
        .find(id)
        .filter(authorization_requests::expires_at.gt(now))
        .select(PendingRequest::as_select())
        .first(conn)
        .optional()
}

pub fn delete_request(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(authorization_requests::table.find(id)).execute(conn)
}

/// The scopes a person has already allowed a client.
pub fn consented_scopes(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
) -> QueryResult<Option<String>> {
    consents::table
        .find((user_id, client_id))
        .select(consents::scopes)
        .first(conn)
        .optional()
}

/// Records consent, merging with what was allowed before.
pub fn save_consent(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
    scopes: &str,
) -> QueryResult<()> {
    let now = crate::time::now();
    let inserted = ignore_duplicate(
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scopes.eq(scopes),
                consents::created_at.eq(now),
            ))
            .execute(conn),
    )?;
    if inserted == 1 {
        return Ok(());
    }
    crate::db::transaction(conn, |conn| {
        // Write first, so SQLite holds the write lock before it reads.
        let row = consents::table.find((user_id, client_id));
        diesel::update(row)
            .set(consents::created_at.eq(now))
            .execute(conn)?;
        let previous = consented_scopes(conn, user_id, client_id)?;
        let mut all: Vec<String> = Scopes::parse(previous.as_deref().unwrap_or(""))
            .into_vec()
            .into_iter()
            .chain(Scopes::parse(scopes).into_vec())
            .collect();
        all.sort_unstable();
        all.dedup();
        diesel::update(row)
            .set(consents::scopes.eq(all.join(" ")))
            .execute(conn)?;
        Ok(())
    })
}

pub fn insert_family(
    conn: &mut DbConn,
    id: &str,
    client_id: &str,
    user_id: Option<&str>,
) -> QueryResult<usize> {
    diesel::insert_into(token_families::table)
        .values((
            token_families::id.eq(id),
            token_families::client_id.eq(client_id),
            token_families::user_id.eq(user_id),
            token_families::created_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// Revokes a whole family: its refresh tokens and every access token that names it.
pub fn revoke_family(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(token_families::table.find(id))
        .filter(token_families::revoked_at.is_null())
        .set(token_families::revoked_at.eq(crate::time::now()))
        .execute(conn)
}

/// Revokes every grant family of a person (sign out everywhere, password change).
pub fn revoke_families_of_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::update(
        token_families::table
            .filter(token_families::user_id.eq(user_id))
            .filter(token_families::revoked_at.is_null()),
    )
    .set(token_families::revoked_at.eq(crate::time::now()))
    .execute(conn)
}

/// Revokes every grant family of a client (the client is being removed).
pub fn revoke_families_of_client(conn: &mut DbConn, client_id: &str) -> QueryResult<usize> {
    diesel::update(
        token_families::table
            .filter(token_families::client_id.eq(client_id))
            .filter(token_families::revoked_at.is_null()),
    )
    .set(token_families::revoked_at.eq(crate::time::now()))
    .execute(conn)
}

pub fn family_revoked(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let revoked: Option<Option<i64>> = token_families::table
        .find(id)
        .select(token_families::revoked_at)
        .first(conn)
        .optional()?;
    // An unknown family counts as revoked: nothing may stand on it.
    Ok(!matches!(revoked, Some(None)))
}

/// A family's revocation time (`None`: live) and start, if it exists: one read for the
/// refresh grant's two checks.
pub fn family_state(conn: &mut DbConn, id: &str) -> QueryResult<Option<(Option<i64>, i64)>> {
    token_families::table
        .find(id)
        .select((token_families::revoked_at, token_families::created_at))
        .first(conn)
        .optional()
}

pub fn insert_code(conn: &mut DbConn, c: &CodeRow) -> QueryResult<usize> {
    diesel::insert_into(auth_codes::table)
        .values(c)
        .execute(conn)
}

pub fn find_code(conn: &mut DbConn, hash: &str) -> QueryResult<Option<CodeRow>> {
    auth_codes::table
        .find(hash)
        .select(CodeRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a code used; 1 when this call used it, 0 when it was used before (the check and
/// the write are one statement, so two concurrent redemptions cannot both win).
pub fn consume_code(conn: &mut DbConn, hash: &str, now: i64) -> QueryResult<usize> {
    // Kept prepared (a `Fixed`): one per code exchange.
    Fixed::new(
        "UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
        vec![Bind::BigInt(now), Bind::Text(hash)],
    )
    .execute(conn)
}

pub fn insert_refresh(conn: &mut DbConn, r: &RefreshRow) -> QueryResult<usize> {
    // Kept prepared (a `Fixed`): one per rotation. On PostgreSQL diesel prepares an INSERT
    // of a row with optional fields afresh each time (it writes DEFAULT for a `None`).
    Fixed::new(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, \
         auth_time, amr, created_at, expires_at, rotated_at, successor_enc) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            Bind::Text(&r.token_hash),
            Bind::Text(&r.family_id),
            Bind::Text(&r.client_id),
            Bind::Text(&r.user_id),
            Bind::Text(&r.scope),
            Bind::BigInt(r.auth_time),
            Bind::Text(&r.amr),
            Bind::BigInt(r.created_at),
            Bind::BigInt(r.expires_at),
            Bind::NullableBigInt(r.rotated_at),
            Bind::NullableText(r.successor_enc.as_deref()),
        ],
    )
    .execute(conn)
}

pub fn find_refresh(conn: &mut DbConn, hash: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .find(hash)
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a refresh token rotated and remembers its sealed successor, answering the row as
/// it now is (rotated; one statement: the write is the read); `None` when it was already
/// rotated or is unknown.
pub fn rotate_refresh(
    conn: &mut DbConn,
    hash: &str,
    now: i64,
    successor_enc: &str,
) -> QueryResult<Option<RefreshRow>> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    // Kept prepared (a `Fixed`): one per rotation. Diesel prepares every UPDATE afresh.
    // The columns come back in `RefreshRow`'s order.
    Fixed::new(
        "UPDATE refresh_tokens SET rotated_at = ?, successor_enc = ? \
         WHERE token_hash = ? AND rotated_at IS NULL \
         RETURNING token_hash, family_id, client_id, user_id, scope, auth_time, amr, \
         created_at, expires_at, rotated_at, successor_enc",
        vec![
            Bind::BigInt(now),
            Bind::Text(successor_enc),
            Bind::Text(hash),
        ],
    )
    .returning::<(
        Text,
        Text,
        Text,
        Text,
        Text,
        BigInt,
        Text,
        BigInt,
        BigInt,
        Nullable<BigInt>,
        Nullable<Text>,
    )>()
    .get_result::<RefreshRow>(conn)
    .optional()
}

/// Records a revoked access token; revoking one twice (even concurrently) is fine.
pub fn revoke_jti(conn: &mut DbConn, jti: &str, expires_at: i64) -> QueryResult<usize> {
    let inserted = diesel::insert_into(revoked_tokens::table)
        .values((
            revoked_tokens::jti.eq(jti),
            revoked_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn);
    ignore_duplicate(inserted)
}

/// A unique violation means another request did the same thing first.
fn ignore_duplicate(result: QueryResult<usize>) -> QueryResult<usize> {
    use diesel::result::{DatabaseErrorKind, Error};
    match result {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(0),
        other => other,
    }
}

pub fn jti_revoked(conn: &mut DbConn, jti: &str) -> QueryResult<bool> {
    let n: i64 = revoked_tokens::table.find(jti).count().get_result(conn)?;
    Ok(n > 0)
}

/// Deletes what can no longer matter, at most `batch` rows of each table: expired
/// requests, codes, refresh tokens and revocation entries of tokens that have expired
/// anyway.
pub fn purge_expired(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let at = Bind::BigInt(now);
    let mut n = delete_batch!(
        conn,
        "authorization_requests",
        "id",
        "expires_at <= ?",
        [at],
        batch
    )?;
    // Codes stay a while after expiry so a late replay is still recognised as one.
    let code = Bind::BigInt(now - 3600);
    n += delete_batch!(
        conn,
        "auth_codes",
        "code_hash",
        "expires_at <= ?",
        [code],
        batch
    )?;
    n += delete_batch!(
        conn,
        "refresh_tokens",
        "token_hash",
        "expires_at <= ?",
        [at],
        batch
    )?;
    n += delete_batch!(
        conn,
        "revoked_tokens",
        "jti",
        "expires_at <= ?",
        [at],
        batch
    )?;
    Ok(n)
}

/// A person's consents with the client names, for the connected-apps list.
pub fn consents_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(String, String, String, i64)>> {
    use crate::db::schema::clients;
    consents::table
        .inner_join(clients::table.on(clients::id.eq(consents::client_id)))
        .filter(consents::user_id.eq(user_id))
        .select((
            consents::client_id,
            clients::name,
            consents::scopes,
            consents::created_at,
        ))
        .load(conn)
}

/// Withdraws a consent and revokes every grant the client holds for the person.
pub fn revoke_consent(conn: &mut DbConn, user_id: &str, client_id: &str) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::delete(consents::table.find((user_id, client_id))).execute(conn)?;
        diesel::update(
            token_families::table
                .filter(token_families::user_id.eq(user_id))
                .filter(token_families::client_id.eq(client_id))
                .filter(token_families::revoked_at.is_null()),
        )
        .set(token_families::revoked_at.eq(crate::time::now()))
        .execute(conn)?;
        Ok(n)
    })
}

/// Replaces the stored parameters of pending request `id`.
pub fn set_request_params(conn: &mut DbConn, id: &str, params: &str) -> QueryResult<usize> {
    // Kept prepared (a `Fixed`): one per sign-in for an app.
    Fixed::new(
        "UPDATE authorization_requests SET params = ? WHERE id = ?",
        vec![Bind::Text(params), Bind::Text(id)],
    )
    .execute(conn)
}
