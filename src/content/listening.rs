//! Diesel queries for what a person keeps while listening: progress per track and
//! bookmarks. Every query is filtered by the person's token subject, so no one reaches
//! another person's rows.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{content_bookmarks as cb, content_progress as cp, content_tracks as ct};
use crate::db::DbConn;

/// Where a person stopped in a track.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = cp)]
pub struct Progress {
    #[serde(skip)]
    pub subject: String,
    pub track_id: String,
    pub position_seconds: i64,
    pub completed: bool,
    pub updated_at: i64,
}

/// A progress row with the track's title and length, for "continue listening" lists.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressEntry {
    #[serde(flatten)]
    pub progress: Progress,
    pub track_title: String,
    pub duration_seconds: i64,
}

/// A marked moment in a track, with a note.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = cb)]
pub struct Bookmark {
    pub id: String,
    #[serde(skip)]
    pub subject: String,
    pub track_id: String,
    pub position_seconds: i64,
    pub note: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// New values of a bookmark; `None` keeps the current one.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = cb)]
pub struct BookmarkChanges {
    pub position_seconds: Option<i64>,
    pub note: Option<String>,
    pub updated_at: i64,
}

// -- progress --

/// Saves (inserts or replaces) a person's progress on a track. Update first, insert when
/// there was nothing; if a parallel request inserted in between, update once more. No
/// transaction: a unique violation would abort it on PostgreSQL (and the multi-backend
/// connection has no `ON CONFLICT DO UPDATE`).
pub fn save_progress(conn: &mut DbConn, progress: &Progress) -> QueryResult<()> {
    let update = |conn: &mut DbConn| {
        diesel::update(cp::table.find((&progress.subject, &progress.track_id)))
            .set((
                cp::position_seconds.eq(progress.position_seconds),
                cp::completed.eq(progress.completed),
                cp::updated_at.eq(progress.updated_at),
            ))
            .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(());
    }
    match diesel::insert_into(cp::table)
        .values(progress)
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => update(conn).map(drop),
        Err(e) => Err(e),
    }
}

pub fn find_progress(
    conn: &mut DbConn,
    subject: &str,
    track_id: &str,
) -> QueryResult<Option<Progress>> {
    cp::table
        .find((subject, track_id))
        .select(Progress::as_select())
        .first(conn)
        .optional()
}

/// One page of a person's progress, most recent first; and the total.
pub fn list_progress(
    conn: &mut DbConn,
    subject: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ProgressEntry>, i64)> {
    let total = cp::table
        .filter(cp::subject.eq(subject))
        .count()
        .get_result(conn)?;
    let rows = cp::table
        .inner_join(ct::table)
        .filter(cp::subject.eq(subject))
        .order((cp::updated_at.desc(), cp::track_id.asc()))
        .offset(offset)
        .limit(limit)
        .select((Progress::as_select(), ct::title, ct::duration_seconds))
        .load::<(Progress, String, i64)>(conn)?;
    let items = rows
        .into_iter()
        .map(|(progress, track_title, duration_seconds)| ProgressEntry {
            progress,
            track_title,
            duration_seconds,
        })
        .collect();
    Ok((items, total))
}

// -- bookmarks --

/// How many bookmarks a person has.
pub fn count_bookmarks(conn: &mut DbConn, subject: &str) -> QueryResult<i64> {
    cb::table
        .filter(cb::subject.eq(subject))
        .count()
        .get_result(conn)
}

pub fn insert_bookmark(conn: &mut DbConn, bookmark: &Bookmark) -> QueryResult<()> {
    diesel::insert_into(cb::table)
        .values(bookmark)
        .execute(conn)
        .map(drop)
}

/// One page of a person's bookmarks (of one track, if given), newest first; and the total.
pub fn list_bookmarks(
    conn: &mut DbConn,
    subject: &str,
    track_id: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Bookmark>, i64)> {
    let filtered = || {
        let mut q = cb::table.filter(cb::subject.eq(subject)).into_boxed();
        if let Some(t) = track_id {
            q = q.filter(cb::track_id.eq(t));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order((cb::created_at.desc(), cb::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(Bookmark::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// A person's bookmark with its track's length; `None` for anyone else's.
pub fn find_bookmark(
    conn: &mut DbConn,
    subject: &str,
    id: &str,
) -> QueryResult<Option<(Bookmark, i64, String)>> {
    cb::table
        .inner_join(ct::table)
        .filter(cb::id.eq(id))
        .filter(cb::subject.eq(subject))
        .select((Bookmark::as_select(), ct::duration_seconds, ct::tier))
        .first(conn)
        .optional()
}

/// Updates a person's bookmark; `None` when they have none with this id.
pub fn update_bookmark(
    conn: &mut DbConn,
    subject: &str,
    id: &str,
    changes: &BookmarkChanges,
) -> QueryResult<Option<Bookmark>> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(
            cb::table
                .filter(cb::id.eq(id))
                .filter(cb::subject.eq(subject)),
        )
        .set(changes)
        .execute(conn)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(find_bookmark(conn, subject, id)?.map(|(b, _, _)| b))
    })
}

/// Deletes a person's bookmark; false when they have none with this id.
pub fn delete_bookmark(conn: &mut DbConn, subject: &str, id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        cb::table
            .filter(cb::id.eq(id))
            .filter(cb::subject.eq(subject)),
    )
    .execute(conn)?;
    Ok(n > 0)
}
