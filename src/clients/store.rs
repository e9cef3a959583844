//! Diesel queries for clients.

use diesel::prelude::*;

use crate::db::schema::clients;
use crate::db::DbConn;

/// A client row as stored (lists as JSON / space-separated text).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub skip_consent: bool,
    pub created_at: i64,
    /// Audiences this client serves as a resource server (space-separated).
    pub audiences: String,
    /// Allowed browser origins (space-separated; empty = from the redirect URIs).
    pub web_origins: String,
    /// Token lifetimes of this app in seconds (`None`: the settings').
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    /// Whether a refresh answer carries a new id token.
    pub refresh_id_token: bool,
    /// `jwt` or `opaque` (`clients::AccessTokenFormat`).
    pub access_token_format: String,
    /// The secret before the last rotation, accepted until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// When an administrator disabled the app (`None`: enabled).
    pub disabled_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &ClientRow) -> QueryResult<usize> {
    diesel::insert_into(clients::table)
        .values(row)
        .execute(conn)
}

/// Registers `row` anew: a client with its id is replaced (the demo client, re-seeded with
/// a new secret at every start).
pub fn replace(conn: &mut DbConn, row: &ClientRow) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        diesel::delete(clients::table.find(&row.id)).execute(conn)?;
        insert(conn, row)
    })
}

/// Deletes a client (its consents go with it by cascade).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(clients::table.find(id)).execute(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// Replaces what an administrator may change (everything but the id, the secrets and the
/// creation time).
pub fn update(conn: &mut DbConn, row: &ClientRow) -> QueryResult<usize> {
    diesel::update(clients::table.find(&row.id))
        .set((
            clients::name.eq(&row.name),
            clients::redirect_uris.eq(&row.redirect_uris),
            clients::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
            clients::grant_types.eq(&row.grant_types),
            clients::scopes.eq(&row.scopes),
            clients::skip_consent.eq(row.skip_consent),
            clients::audiences.eq(&row.audiences),
            clients::web_origins.eq(&row.web_origins),
            clients::access_token_ttl.eq(row.access_token_ttl),
            clients::id_token_ttl.eq(row.id_token_ttl),
            clients::refresh_token_ttl.eq(row.refresh_token_ttl),
            clients::refresh_id_token.eq(row.refresh_id_token),
            clients::access_token_format.eq(&row.access_token_format),
        ))
        .execute(conn)
}

/// A new secret; the old one keeps working until `previous_expires_at`.
pub fn rotate_secret(
    conn: &mut DbConn,
    id: &str,
    new_hash: &str,
    previous_expires_at: i64,
) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        let Some(row) = find(conn, id)? else {
            return Ok(0);
        };
        diesel::update(clients::table.find(id))
            .set((
                clients::secret_hash.eq(new_hash),
                clients::previous_secret_hash.eq(row.secret_hash),
                clients::previous_secret_expires_at.eq(previous_expires_at),
            ))
            .execute(conn)
    })
}

/// Disables (`Some(time)`) or enables (`None`) an app.
pub fn set_disabled(conn: &mut DbConn, id: &str, at: Option<i64>) -> QueryResult<usize> {
    diesel::update(clients::table.find(id))
        .set(clients::disabled_at.eq(at))
        .execute(conn)
}
