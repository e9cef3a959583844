//! Diesel queries for the catalogue: retreats, their sessions and the sessions' tracks.
//! Every write of a title or description also writes the row's `search_text`, and the
//! number of sessions per retreat and tracks per session is capped, so one retreat's
//! outline stays a bounded answer.

mod files;
mod listeners;
mod tracks;
mod transcripts;

use crate::db::schema::{content_retreats as cr, content_sessions as cs, content_tracks as ct};
use crate::db::DbConn;
use diesel::prelude::*;
pub use files::*;
pub use listeners::*;
use serde::Serialize;
pub use tracks::*;
pub use transcripts::*;

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

/// What became of a session or track added under its parent.
#[derive(Debug)]
pub enum Added<T> {
    /// Saved.
    Row(T),
    /// The retreat or session does not exist.
    NoParent,
    /// The parent already holds the most it may.
    Full,
}

/// The text search matches: title and description, lower-cased with Unicode rules here
/// because SQLite's `lower()` folds ASCII only. The line break keeps a word from matching
/// across the two (query words never contain whitespace).
pub fn search_text(title: &str, description: &str) -> String {
    format!("{title}\n{description}").to_lowercase()
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
    crate::db::transaction(conn, |conn| {
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
        .values((
            retreat,
            cr::search_text.eq(search_text(&retreat.title, &retreat.description)),
        ))
        .execute(conn)
        .map(drop)
}

/// Updates a retreat; `None` when there is none with this id.
pub fn update_retreat(
    conn: &mut DbConn,
    id: &str,
    changes: &RetreatChanges,
) -> QueryResult<Option<Retreat>> {
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(cr::table.find(id))
            .set((
                changes,
                cr::search_text.eq(search_text(&changes.title, &changes.description)),
            ))
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

/// Adds a session to its retreat, at `position` or (when `None`) after the last one,
/// unless the retreat already holds `max` sessions.
pub fn insert_session(
    conn: &mut DbConn,
    mut session: Session,
    position: Option<i64>,
    max: i64,
) -> QueryResult<Added<Session>> {
    crate::db::transaction(conn, |conn| {
        // Touching the retreat first locks it (row lock on PostgreSQL, write lock on
        // SQLite), so parallel inserts cannot both take the last free place.
        let locked = diesel::update(cr::table.find(&session.retreat_id))
            .set(cr::updated_at.eq(cr::updated_at))
            .execute(conn)?;
        if locked == 0 {
            return Ok(Added::NoParent);
        }
        let count: i64 = cs::table
            .filter(cs::retreat_id.eq(&session.retreat_id))
            .count()
            .get_result(conn)?;
        if count >= max {
            return Ok(Added::Full);
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
            .values((
                &session,
                cs::search_text.eq(search_text(&session.title, &session.description)),
            ))
            .execute(conn)?;
        Ok(Added::Row(session))
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
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(cs::table.find(id))
            .set((
                changes,
                cs::search_text.eq(search_text(&changes.title, &changes.description)),
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(retreat_id: &str, title: &str) -> Session {
        Session {
            id: crate::content::new_id(),
            retreat_id: retreat_id.into(),
            title: title.into(),
            description: String::new(),
            position: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn track(session_id: &str) -> Track {
        Track {
            id: crate::content::new_id(),
            session_id: session_id.into(),
            title: "Talk".into(),
            description: String::new(),
            language: String::new(),
            duration_seconds: 60,
            position: 0,
            tier: "free".into(),
            audio_file: "a.mp3".into(),
            transcript_file: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn search_text_folds_unicode() {
        assert_eq!(
            search_text("Über die Stille", "ÉTÉ"),
            "über die stille\nété"
        );
    }

    #[test]
    fn parents_hold_at_most_max_children() {
        let pool = crate::db::memory_pool(crate::db::MigrationSets {
            idp: false,
            apis: true,
        });
        let conn = &mut *pool.get().expect("connection");
        let retreat = Retreat {
            id: crate::content::new_id(),
            title: "Retreat".into(),
            description: String::new(),
            language: "en".into(),
            created_at: 0,
            updated_at: 0,
        };
        insert_retreat(conn, &retreat).expect("retreat");

        let first = match insert_session(conn, session(&retreat.id, "One"), None, 2) {
            Ok(Added::Row(s)) => s,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            insert_session(conn, session(&retreat.id, "Two"), None, 2),
            Ok(Added::Row(_))
        ));
        assert!(matches!(
            insert_session(conn, session(&retreat.id, "Three"), None, 2),
            Ok(Added::Full)
        ));
        assert!(matches!(
            insert_session(conn, session("nope", "Four"), None, 2),
            Ok(Added::NoParent)
        ));

        assert!(matches!(
            insert_track(conn, track(&first.id), None, None, 1),
            Ok(Added::Row(_))
        ));
        assert!(matches!(
            insert_track(conn, track(&first.id), None, None, 1),
            Ok(Added::Full)
        ));
        assert!(matches!(
            insert_track(conn, track("nope"), None, None, 1),
            Ok(Added::NoParent)
        ));
        // Deleting makes room again.
        assert!(delete_session(conn, &first.id).expect("delete"));
        assert!(matches!(
            insert_session(conn, session(&retreat.id, "Three"), None, 2),
            Ok(Added::Row(_))
        ));
    }
}
