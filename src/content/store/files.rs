//! Uploaded files: what was read from each, which track holds it, and the removal of those
//! no track needs once their links have expired.

use super::*;
use crate::db::schema::{content_files as cf, content_removals as cr_};

/// An uploaded file.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, PartialEq, Eq)]
#[diesel(table_name = cf)]
pub struct FileRow {
    /// Under the media folder: `uploads/<kind>/<sha256>.<ext>`.
    pub path: String,
    pub sha256: String,
    pub bytes: i64,
    pub media_type: String,
    pub duration_seconds: Option<i64>,
    pub uploaded_at: i64,
}

/// Notes an uploaded file (the same bytes uploaded again keep their first row).
pub fn record_file(conn: &mut DbConn, f: &FileRow) -> QueryResult<()> {
    let known: i64 = cf::table.find(&f.path).count().get_result(conn)?;
    if known > 0 {
        return Ok(());
    }
    match diesel::insert_into(cf::table).values(f).execute(conn) {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Which file of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Audio,
    Transcript,
}

/// Points the track's audio (with its measured duration) or transcript at `path`; the path
/// it had before, or `None` when there is no such track.
pub fn set_track_file(
    conn: &mut DbConn,
    track_id: &str,
    slot: Slot,
    path: &str,
    duration: Option<i64>,
    now: i64,
) -> QueryResult<Option<Option<String>>> {
    crate::db::transaction(conn, |conn| {
        let Some((audio, transcript)) = ct::table
            .find(track_id)
            .select((ct::audio_file, ct::transcript_file))
            .first::<(String, Option<String>)>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        // Held again: no removal may take it now.
        diesel::delete(cr_::table.find(path)).execute(conn)?;
        let row = ct::table.find(track_id);
        match slot {
            Slot::Audio => {
                diesel::update(row)
                    .set((ct::audio_file.eq(path), ct::updated_at.eq(now)))
                    .execute(conn)?;
                if let Some(d) = duration {
                    diesel::update(ct::table.find(track_id))
                        .set(ct::duration_seconds.eq(d))
                        .execute(conn)?;
                }
                Ok(Some(Some(audio)))
            }
            Slot::Transcript => {
                diesel::update(row)
                    .set((ct::transcript_file.eq(Some(path)), ct::updated_at.eq(now)))
                    .execute(conn)?;
                Ok(Some(transcript))
            }
        }
    })
}

/// Removes `path` once `after` has passed, unless a track holds it by then.
pub fn schedule_removal(conn: &mut DbConn, path: &str, after: i64) -> QueryResult<()> {
    let updated = diesel::update(cr_::table.find(path))
        .set(cr_::remove_after.eq(after))
        .execute(conn)?;
    if updated == 0 {
        match diesel::insert_into(cr_::table)
            .values((cr_::path.eq(path), cr_::remove_after.eq(after)))
            .execute(conn)
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Up to `limit` files due for removal that no track holds; their rows are gone when this
/// returns (the caller deletes the files). Files a track holds again leave the list.
pub fn take_due_removals(conn: &mut DbConn, now: i64, limit: i64) -> QueryResult<Vec<String>> {
    crate::db::transaction(conn, |conn| {
        let due: Vec<String> = cr_::table
            .filter(cr_::remove_after.le(now))
            .order(cr_::remove_after)
            .limit(limit)
            .select(cr_::path)
            .load(conn)?;
        let mut gone = Vec::new();
        for path in due {
            let held: i64 = ct::table
                .filter(
                    ct::audio_file
                        .eq(&path)
                        .or(ct::transcript_file.eq(Some(&path))),
                )
                .count()
                .get_result(conn)?;
            diesel::delete(cr_::table.find(&path)).execute(conn)?;
            if held == 0 {
                diesel::delete(cf::table.find(&path)).execute(conn)?;
                gone.push(path);
            }
        }
        Ok(gone)
    })
}

/// True when a track holds `path` (as audio or transcript).
pub fn is_held(conn: &mut DbConn, path: &str) -> QueryResult<bool> {
    let held: i64 = ct::table
        .filter(
            ct::audio_file
                .eq(path)
                .or(ct::transcript_file.eq(Some(path))),
        )
        .count()
        .get_result(conn)?;
    Ok(held > 0)
}

/// The uploaded files (`uploads/…`) of the tracks of a retreat or a session, or of one
/// track, before they are deleted.
pub fn uploads_under(conn: &mut DbConn, of: &Under) -> QueryResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = match of {
        Under::Retreat(id) => ct::table
            .inner_join(cs::table)
            .filter(cs::retreat_id.eq(id))
            .select((ct::audio_file, ct::transcript_file))
            .load(conn)?,
        Under::Session(id) => ct::table
            .filter(ct::session_id.eq(id))
            .select((ct::audio_file, ct::transcript_file))
            .load(conn)?,
        Under::Track(id) => ct::table
            .find(id)
            .select((ct::audio_file, ct::transcript_file))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .flat_map(|(a, t)| std::iter::once(a).chain(t))
        .filter(|p| p.starts_with("uploads/"))
        .collect())
}

/// What [`uploads_under`] looks in.
#[derive(Debug, Clone)]
pub enum Under {
    Retreat(String),
    Session(String),
    Track(String),
}
