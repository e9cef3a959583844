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
