//! A consultant's documents for review.

use diesel::prelude::*;

use crate::db::schema::booking_documents as bd;
use crate::db::DbConn;

/// Most documents one consultant may keep.
pub const MAX_DOCUMENTS: i64 = 20;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = bd)]
pub struct Document {
    pub id: String,
    pub consultant_id: String,
    /// `id`, `certificate` or `other`.
    pub kind: String,
    /// The file name as uploaded.
    pub name: String,
    pub media_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub uploaded_at: i64,
}

/// Adds a document unless the consultant has `MAX_DOCUMENTS`; false when full.
pub fn insert(conn: &mut DbConn, d: &Document) -> QueryResult<bool> {
    crate::db::transaction(conn, |conn| {
        let n: i64 = bd::table
            .filter(bd::consultant_id.eq(&d.consultant_id))
            .count()
            .get_result(conn)?;
        if n >= MAX_DOCUMENTS {
            return Ok(false);
        }
        diesel::insert_into(bd::table).values(d).execute(conn)?;
        Ok(true)
    })
}

/// A consultant's documents, newest first.
pub fn of(conn: &mut DbConn, consultant_id: &str) -> QueryResult<Vec<Document>> {
    bd::table
        .filter(bd::consultant_id.eq(consultant_id))
        .order((bd::uploaded_at.desc(), bd::id))
        .limit(MAX_DOCUMENTS)
        .select(Document::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Document>> {
    bd::table
        .find(id)
        .select(Document::as_select())
        .first(conn)
        .optional()
}

/// Deletes one of the consultant's documents; false when they have none with this id.
pub fn delete(conn: &mut DbConn, consultant_id: &str, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(
        bd::table
            .find(id)
            .filter(bd::consultant_id.eq(consultant_id)),
    )
    .execute(conn)?
        > 0)
}
