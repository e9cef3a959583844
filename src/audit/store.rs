//! Diesel queries for the audit log.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_events as ae;
use crate::db::{delete_batch, Bind, DbConn};

/// One audit event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = ae)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

pub fn insert(conn: &mut DbConn, e: &AuditEvent) -> QueryResult<usize> {
    diesel::insert_into(ae::table).values(e).execute(conn)
}

/// Events newest first, filtered by account id, kind and time.
pub fn query(
    conn: &mut DbConn,
    user_id: Option<&str>,
    kind: Option<&str>,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = ae::table.filter(ae::at.ge(since)).into_boxed();
    if let Some(u) = user_id {
        q = q.filter(ae::user_id.eq(u.to_string()));
    }
    if let Some(k) = kind {
        q = q.filter(ae::kind.eq(k.to_string()));
    }
    q.order(ae::at.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// Deletes events older than `before`, at most `batch` of them.
pub fn purge(conn: &mut DbConn, before: i64, batch: i64) -> QueryResult<usize> {
    delete_batch!(
        conn,
        "audit_events",
        "id",
        "at < ?",
        [Bind::BigInt(before)],
        batch
    )
}

/// A page of events newest first (`offset` of them skipped), filtered like `query`.
pub fn page(
    conn: &mut DbConn,
    user_id: Option<&str>,
    kind: Option<&str>,
    since: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = ae::table.filter(ae::at.ge(since)).into_boxed();
    if let Some(u) = user_id {
        q = q.filter(ae::user_id.eq(u.to_string()));
    }
    if let Some(k) = kind {
        q = q.filter(ae::kind.eq(k.to_string()));
    }
    q.order((ae::at.desc(), ae::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// How many events of `kind` happened since `since`.
pub fn count(conn: &mut DbConn, kind: &str, since: i64) -> QueryResult<i64> {
    ae::table
        .filter(ae::kind.eq(kind))
        .filter(ae::at.ge(since))
        .count()
        .get_result(conn)
}

/// Erases a deleted person from the log: their events keep the (now meaningless) account
/// id but lose IP and user agent, and every event's detail loses `needles` (their email
/// address and phone number). Returns how many events changed.
pub fn erase(conn: &mut DbConn, user_id: &str, needles: &[String]) -> QueryResult<usize> {
    let mut n = diesel::update(ae::table.filter(ae::user_id.eq(user_id)))
        .set((ae::ip.eq(""), ae::user_agent.eq("")))
        .execute(conn)?;
    for needle in needles.iter().filter(|s| !s.is_empty()) {
        let pattern = format!(
            "%{}%",
            needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        n += diesel::sql_query(
            "UPDATE audit_events SET detail = REPLACE(detail, $1, '[erased]') \
             WHERE detail LIKE $2 ESCAPE '\\'",
        )
        .bind::<diesel::sql_types::Text, _>(needle)
        .bind::<diesel::sql_types::Text, _>(pattern)
        .execute(conn)?;
    }
    Ok(n)
}
