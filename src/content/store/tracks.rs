//! Tracks: the audio and transcript of one talk, placed in a session.

use super::*;

/// A track row. The media paths were checked when they were saved.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ct)]
pub struct Track {
    pub id: String,
    pub session_id: String,
    pub title: String,
    pub description: String,
    pub language: String,
    pub duration_seconds: i64,
    pub position: i64,
    pub tier: String,
    pub audio_file: String,
    pub transcript_file: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// New values of a track; `None` keeps the current value, `Some(None)` clears the
/// transcript.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = ct)]
pub struct TrackChanges {
    pub title: String,
    pub description: String,
    pub language: Option<String>,
    pub duration_seconds: i64,
    pub position: Option<i64>,
    pub tier: String,
    pub audio_file: String,
    pub transcript_file: Option<Option<String>>,
    pub updated_at: i64,
}

/// A track with the id of its retreat.
pub fn find_track(conn: &mut DbConn, id: &str) -> QueryResult<Option<PlacedTrack>> {
    ct::table
        .inner_join(cs::table)
        .filter(ct::id.eq(id))
        .select((Track::as_select(), cs::retreat_id))
        .first(conn)
        .optional()
}

/// Adds a track to its session, at `position` or after the last one, unless the session
/// already holds `max` tracks; the track's language defaults to the retreat's.
pub fn insert_track(
    conn: &mut DbConn,
    mut track: Track,
    language: Option<String>,
    position: Option<i64>,
    max: i64,
) -> QueryResult<Added<PlacedTrack>> {
    crate::db::transaction(conn, |conn| {
        // Lock the session first, as in `insert_session`.
        let locked = diesel::update(cs::table.find(&track.session_id))
            .set(cs::updated_at.eq(cs::updated_at))
            .execute(conn)?;
        if locked == 0 {
            return Ok(Added::NoParent);
        }
        let Some(session) = find_session(conn, &track.session_id)? else {
            return Ok(Added::NoParent);
        };
        let count: i64 = ct::table
            .filter(ct::session_id.eq(&track.session_id))
            .count()
            .get_result(conn)?;
        if count >= max {
            return Ok(Added::Full);
        }
        track.language = match language {
            Some(l) => l,
            None => cr::table
                .find(&session.retreat_id)
                .select(cr::language)
                .first(conn)?,
        };
        track.position = match position {
            Some(p) => p,
            None => next_position(
                ct::table
                    .filter(ct::session_id.eq(&track.session_id))
                    .select(diesel::dsl::max(ct::position))
                    .first(conn)?,
            ),
        };
        diesel::insert_into(ct::table)
            .values((
                &track,
                ct::search_text.eq(search_text(&track.title, &track.description)),
            ))
            .execute(conn)?;
        Ok(Added::Row((track, session.retreat_id)))
    })
}

pub fn update_track(
    conn: &mut DbConn,
    id: &str,
    changes: &TrackChanges,
) -> QueryResult<Option<PlacedTrack>> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(ct::table.find(id))
            .set((
                changes,
                ct::search_text.eq(search_text(&changes.title, &changes.description)),
            ))
            .execute(conn)?;
        if n == 0 {
            return Ok(None);
        }
        find_track(conn, id)
    })
}

/// Deletes a track and everyone's progress and bookmarks on it (cascading).
pub fn delete_track(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(ct::table.find(id)).execute(conn)? > 0)
}
