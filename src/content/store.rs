//! Diesel queries for the catalogue: retreats, their sessions and the sessions' tracks.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{content_retreats as cr, content_sessions as cs, content_tracks as ct};
use crate::db::DbConn;

/// A retreat row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = cr)]
pub struct Retreat {
    pub id: String,
    pub title: String,
    pub description: String,
    pub language: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A session row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = cs)]
pub struct Session {
    pub id: String,
    pub retreat_id: String,
    pub title: String,
    pub description: String,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

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

/// New values of a retreat.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = cr)]
pub struct RetreatChanges {
    pub title: String,
    pub description: String,
    pub language: String,
    pub updated_at: i64,
}

/// New values of a session; `position: None` keeps the current one.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = cs)]
pub struct SessionChanges {
    pub title: String,
    pub description: String,
    pub position: Option<i64>,
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

/// A track and the retreat it belongs to.
pub type PlacedTrack = (Track, String);

/// A retreat, its sessions in order, and all their tracks in order.
pub type Outline = (Retreat, Vec<Session>, Vec<Track>);

// -- retreats --

/// One page of retreats, by title; and the total.
pub fn list_retreats(
    conn: &mut DbConn,
    language: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Retreat>, i64)> {
    let filtered = || {
        let mut q = cr::table.into_boxed();
        if let Some(l) = language {
            q = q.filter(cr::language.eq(l.to_string()));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order((cr::title.asc(), cr::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(Retreat::as_select())
        .load(conn)?;
    Ok((items, total))
}

pub fn find_retreat(conn: &mut DbConn, id: &str) -> QueryResult<Option<Retreat>> {
    cr::table
        .find(id)
        .select(Retreat::as_select())
        .first(conn)
        .optional()
}

/// A retreat with its sessions (in order) and every track of them (in order).
pub fn retreat_outline(conn: &mut DbConn, id: &str) -> QueryResult<Option<Outline>> {
    conn.transaction(|conn| {
        let Some(retreat) = find_retreat(conn, id)? else {
            return Ok(None);
        };
        let sessions = cs::table
            .filter(cs::retreat_id.eq(id))
            .order((cs::position.asc(), cs::created_at.asc(), cs::id.asc()))
            .select(Session::as_select())
            .load(conn)?;
        let tracks = ct::table
            .inner_join(cs::table)
            .filter(cs::retreat_id.eq(id))
            .order((ct::position.asc(), ct::created_at.asc(), ct::id.asc()))
            .select(Track::as_select())
            .load(conn)?;
        Ok(Some((retreat, sessions, tracks)))
    })
}

pub fn insert_retreat(conn: &mut DbConn, retreat: &Retreat) -> QueryResult<()> {
    diesel::insert_into(cr::table)
        .values(retreat)
        .execute(conn)
        .map(drop)
}

/// Updates a retreat; `None` when there is none with this id.
pub fn update_retreat(
    conn: &mut DbConn,
    id: &str,
    changes: &RetreatChanges,
) -> QueryResult<Option<Retreat>> {
    conn.transaction(|conn| {
        let n = diesel::update(cr::table.find(id))
            .set(changes)
            .execute(conn)?;
        if n == 0 {
            return Ok(None);
        }
        find_retreat(conn, id)
    })
}

/// Deletes a retreat with its sessions, tracks, and everyone's progress and bookmarks on
/// them (foreign keys cascade). True if it existed.
pub fn delete_retreat(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(cr::table.find(id)).execute(conn)? > 0)
}

// -- sessions --

pub fn find_session(conn: &mut DbConn, id: &str) -> QueryResult<Option<Session>> {
    cs::table
        .find(id)
        .select(Session::as_select())
        .first(conn)
        .optional()
}

/// Adds a session to its retreat, at `session.position` or (when `None`) after the last
/// one. `None` when the retreat does not exist.
pub fn insert_session(
    conn: &mut DbConn,
    mut session: Session,
    position: Option<i64>,
) -> QueryResult<Option<Session>> {
    conn.transaction(|conn| {
        if find_retreat(conn, &session.retreat_id)?.is_none() {
            return Ok(None);
        }
        session.position = match position {
            Some(p) => p,
            None => next_position(
                cs::table
                    .filter(cs::retreat_id.eq(&session.retreat_id))
                    .select(diesel::dsl::max(cs::position))
                    .first(conn)?,
            ),
        };
        diesel::insert_into(cs::table)
            .values(&session)
            .execute(conn)?;
        Ok(Some(session))
    })
}

fn next_position(last: Option<i64>) -> i64 {
    last.map_or(0, |p| (p + 1).min(super::input::MAX_POSITION))
}

pub fn update_session(
    conn: &mut DbConn,
    id: &str,
    changes: &SessionChanges,
) -> QueryResult<Option<Session>> {
    conn.transaction(|conn| {
        let n = diesel::update(cs::table.find(id))
            .set(changes)
            .execute(conn)?;
        if n == 0 {
            return Ok(None);
        }
        find_session(conn, id)
    })
}

/// Deletes a session with its tracks (cascading). True if it existed.
pub fn delete_session(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(cs::table.find(id)).execute(conn)? > 0)
}

// -- tracks --

/// A track with the id of its retreat.
pub fn find_track(conn: &mut DbConn, id: &str) -> QueryResult<Option<PlacedTrack>> {
    ct::table
        .inner_join(cs::table)
        .filter(ct::id.eq(id))
        .select((Track::as_select(), cs::retreat_id))
        .first(conn)
        .optional()
}

/// Adds a track to its session, at `position` or after the last one; the track's language
/// defaults to the retreat's. `None` when the session does not exist.
pub fn insert_track(
    conn: &mut DbConn,
    mut track: Track,
    language: Option<String>,
    position: Option<i64>,
) -> QueryResult<Option<PlacedTrack>> {
    conn.transaction(|conn| {
        let Some(session) = find_session(conn, &track.session_id)? else {
            return Ok(None);
        };
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
            .values(&track)
            .execute(conn)?;
        Ok(Some((track, session.retreat_id)))
    })
}

pub fn update_track(
    conn: &mut DbConn,
    id: &str,
    changes: &TrackChanges,
) -> QueryResult<Option<PlacedTrack>> {
    conn.transaction(|conn| {
        let n = diesel::update(ct::table.find(id))
            .set(changes)
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
