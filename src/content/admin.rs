//! Catalogue management for people with the `admin` role and the `content:write` scope.
//! Every write checks its input fully first: titles, language tags and media paths that
//! cannot leave the media folder. Retreats and sessions hold a bounded number of
//! sessions and tracks, so a retreat's outline stays a bounded answer.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::input::{self, MediaPath, Tier};
use super::store::{
    self, Added, Retreat, RetreatChanges, Session, SessionChanges, Track, TrackChanges,
    TranscriptInfo,
};
use super::views::AdminTrackView;
use super::{new_id, now, transcripts, Config};
use crate::db::{self, DbConn, DbPool};
use crate::resource::{ApiError, Caller};

/// Deletes the row `id` with `delete`: 204, or 404 naming `what`.
async fn delete_or_404(
    pool: &DbPool,
    id: String,
    what: &'static str,
    delete: fn(&mut DbConn, &str) -> diesel::QueryResult<bool>,
) -> Result<HttpResponse, ApiError> {
    if !db::run_write(pool, move |conn| Ok(delete(conn, &id)?)).await? {
        return Err(not_found(what));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Scope before role: a token without `content:write` says so, whoever holds it.
pub(super) fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    caller.require_scope("content:write")?;
    caller.require_role("admin")
}

/// Most sessions one retreat may hold: `GET /retreats/{id}` answers all of them at once.
pub const MAX_SESSIONS_PER_RETREAT: i64 = 200;
/// Most tracks one session may hold, for the same reason.
pub const MAX_TRACKS_PER_SESSION: i64 = 200;

fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!("no {what} with this id"))
}

/// The answer to adding a `child` under a `parent` that may hold `max` of them: the row,
/// 404 without the parent, 409 when the parent is full.
fn added<T>(outcome: Added<T>, parent: &str, child: &str, max: i64) -> Result<T, ApiError> {
    match outcome {
        Added::Row(row) => Ok(row),
        Added::NoParent => Err(not_found(parent)),
        Added::Full => Err(ApiError::Conflict(format!(
            "this {parent} already has {max} {child}s, the most it may hold; delete one first"
        ))),
    }
}

// -- retreats --

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetreatForm {
    title: String,
    description: Option<String>,
    language: String,
}

impl RetreatForm {
    fn checked(&self) -> Result<(String, String, String), ApiError> {
        Ok((
            input::title("title", &self.title, input::MAX_TITLE)?,
            input::text(
                "description",
                self.description.as_deref(),
                input::MAX_DESCRIPTION,
            )?,
            input::language(&self.language)?,
        ))
    }
}

/// POST /admin/retreats
#[tracing::instrument(skip_all)]
pub async fn create_retreat(
    caller: Caller,
    pool: web::Data<DbPool>,
    form: web::Json<RetreatForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (title, description, language) = form.checked()?;
    let now = now();
    let retreat = Retreat {
        id: new_id(),
        title,
        description,
        language,
        created_at: now,
        updated_at: now,
    };
    let row = retreat.clone();
    db::run_write(&pool, move |conn| Ok(store::insert_retreat(conn, &row)?)).await?;
    Ok(HttpResponse::Created().json(retreat))
}

/// PUT /admin/retreats/{id}
#[tracing::instrument(skip_all, fields(retreat = %id))]
pub async fn update_retreat(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    form: web::Json<RetreatForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (title, description, language) = form.checked()?;
    let changes = RetreatChanges {
        title,
        description,
        language,
        updated_at: now(),
    };
    let id = id.into_inner();
    let retreat = db::run(&pool, move |conn| {
        Ok(store::update_retreat(conn, &id, &changes)?)
    })
    .await?
    .ok_or_else(|| not_found("retreat"))?;
    Ok(HttpResponse::Ok().json(retreat))
}

/// DELETE /admin/retreats/{id}: with its sessions and tracks.
#[tracing::instrument(skip_all, fields(retreat = %id))]
pub async fn delete_retreat(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let id = id.into_inner();
    let files = uploads_of(&pool, store::Under::Retreat(id.clone())).await?;
    let answer = delete_or_404(&pool, id, "retreat", store::delete_retreat).await?;
    super::uploads::release(&pool, &config, files).await?;
    Ok(answer)
}

/// The uploaded files under a retreat, session or track, before it goes.
async fn uploads_of(pool: &DbPool, under: store::Under) -> Result<Vec<String>, ApiError> {
    Ok(db::run(pool, move |conn| Ok(store::uploads_under(conn, &under)?)).await?)
}

// -- sessions --

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionForm {
    title: String,
    description: Option<String>,
    /// Missing: after the last session (new) or unchanged (update).
    #[serde(default, deserialize_with = "crate::resource::whole::optional")]
    position: Option<i64>,
}

impl SessionForm {
    fn checked(&self) -> Result<(String, String, Option<i64>), ApiError> {
        Ok((
            input::title("title", &self.title, input::MAX_TITLE)?,
            input::text(
                "description",
                self.description.as_deref(),
                input::MAX_DESCRIPTION,
            )?,
            self.position.map(input::position).transpose()?,
        ))
    }
}

/// POST /admin/retreats/{id}/sessions
#[tracing::instrument(skip_all, fields(retreat = %id))]
pub async fn create_session(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    form: web::Json<SessionForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (title, description, position) = form.checked()?;
    let now = now();
    let session = Session {
        id: new_id(),
        retreat_id: id.into_inner(),
        title,
        description,
        position: 0,
        created_at: now,
        updated_at: now,
    };
    let max = MAX_SESSIONS_PER_RETREAT;
    let outcome = db::run(&pool, move |conn| {
        Ok(store::insert_session(conn, session, position, max)?)
    })
    .await?;
    let session = added(outcome, "retreat", "session", max)?;
    Ok(HttpResponse::Created().json(session))
}

/// PUT /admin/sessions/{id}
#[tracing::instrument(skip_all, fields(session = %id))]
pub async fn update_session(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    form: web::Json<SessionForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let (title, description, position) = form.checked()?;
    let changes = SessionChanges {
        title,
        description,
        position,
        updated_at: now(),
    };
    let id = id.into_inner();
    let session = db::run(&pool, move |conn| {
        Ok(store::update_session(conn, &id, &changes)?)
    })
    .await?
    .ok_or_else(|| not_found("session"))?;
    Ok(HttpResponse::Ok().json(session))
}

/// DELETE /admin/sessions/{id}: with its tracks.
#[tracing::instrument(skip_all, fields(session = %id))]
pub async fn delete_session(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let id = id.into_inner();
    let files = uploads_of(&pool, store::Under::Session(id.clone())).await?;
    let answer = delete_or_404(&pool, id, "session", store::delete_session).await?;
    super::uploads::release(&pool, &config, files).await?;
    Ok(answer)
}

// -- tracks --

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackForm {
    title: String,
    description: Option<String>,
    /// Missing: the retreat's language (new) or unchanged (update).
    language: Option<String>,
    #[serde(deserialize_with = "crate::resource::whole::number")]
    duration_seconds: i64,
    /// Missing: after the last track (new) or unchanged (update).
    #[serde(default, deserialize_with = "crate::resource::whole::optional")]
    position: Option<i64>,
    #[serde(default)]
    tier: Tier,
    audio_file: String,
    transcript_file: Option<String>,
}

/// A track form after its checks.
struct CheckedTrack {
    title: String,
    description: String,
    language: Option<String>,
    duration_seconds: i64,
    position: Option<i64>,
    tier: Tier,
    audio_file: MediaPath,
    transcript_file: Option<MediaPath>,
}

impl TrackForm {
    fn checked(&self) -> Result<CheckedTrack, ApiError> {
        Ok(CheckedTrack {
            title: input::title("title", &self.title, input::MAX_TITLE)?,
            description: input::text(
                "description",
                self.description.as_deref(),
                input::MAX_DESCRIPTION,
            )?,
            language: self.language.as_deref().map(input::language).transpose()?,
            duration_seconds: input::duration(self.duration_seconds)?,
            position: self.position.map(input::position).transpose()?,
            tier: self.tier,
            audio_file: MediaPath::parse("audio_file", &self.audio_file)?,
            transcript_file: self
                .transcript_file
                .as_deref()
                .map(|f| MediaPath::parse("transcript_file", f))
                .transpose()?,
        })
    }
}

/// POST /admin/sessions/{id}/tracks
#[tracing::instrument(skip_all, fields(session = %id))]
pub async fn create_track(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    form: web::Json<TrackForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let t = form.checked()?;
    let now = now();
    let track = Track {
        id: new_id(),
        session_id: id.into_inner(),
        title: t.title,
        description: t.description,
        language: String::new(),
        duration_seconds: t.duration_seconds,
        position: 0,
        tier: t.tier.as_str().to_string(),
        audio_file: t.audio_file.as_str().to_string(),
        transcript_file: t.transcript_file.map(|f| f.as_str().to_string()),
        created_at: now,
        updated_at: now,
    };
    let max = MAX_TRACKS_PER_SESSION;
    let outcome = db::run(&pool, move |conn| {
        Ok(store::insert_track(
            conn, track, t.language, t.position, max,
        )?)
    })
    .await?;
    let (track, retreat_id) = added(outcome, "session", "track", max)?;
    let index = index_transcript(&pool, &config, &track).await?;
    Ok(HttpResponse::Created().json(AdminTrackView::new(track, &retreat_id, index)))
}

/// PUT /admin/tracks/{id}: replaces the track's fields (a missing transcript_file removes
/// the transcript).
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn update_track(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    form: web::Json<TrackForm>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let t = form.checked()?;
    let changes = TrackChanges {
        title: t.title,
        description: t.description,
        language: t.language,
        duration_seconds: t.duration_seconds,
        position: t.position,
        tier: t.tier.as_str().to_string(),
        audio_file: t.audio_file.as_str().to_string(),
        transcript_file: Some(t.transcript_file.map(|f| f.as_str().to_string())),
        updated_at: now(),
    };
    let id = id.into_inner();
    let before = uploads_of(&pool, store::Under::Track(id.clone())).await?;
    let (track, retreat_id) = db::run(&pool, move |conn| {
        Ok(store::update_track(conn, &id, &changes)?)
    })
    .await?
    .ok_or_else(|| not_found("track"))?;
    // Uploaded files the track no longer names go once their links have expired.
    super::uploads::release(&pool, &config, before).await?;
    let index = index_transcript(&pool, &config, &track).await?;
    Ok(HttpResponse::Ok().json(AdminTrackView::new(track, &retreat_id, index)))
}

/// Reads the saved track's transcript for search (the text is taken again on every save, so
/// a replaced PDF or a changed language is indexed anew).
async fn index_transcript(
    pool: &DbPool,
    config: &Config,
    track: &Track,
) -> Result<Option<TranscriptInfo>, ApiError> {
    transcripts::index(
        pool,
        config,
        &track.id,
        &track.language,
        track.transcript_file.as_deref(),
    )
    .await
}

/// DELETE /admin/tracks/{id}: with everyone's progress and bookmarks on it.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn delete_track(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let id = id.into_inner();
    let files = uploads_of(&pool, store::Under::Track(id.clone())).await?;
    let answer = delete_or_404(&pool, id, "track", store::delete_track).await?;
    // Its uploaded files go once the links handed out for them have expired.
    super::uploads::release(&pool, &config, files).await?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_parent_is_a_conflict() {
        assert_eq!(
            added(Added::Row(7), "retreat", "session", 200).ok(),
            Some(7)
        );
        match added(Added::<()>::NoParent, "session", "track", 200) {
            Err(ApiError::NotFound(why)) => assert_eq!(why, "no session with this id"),
            other => panic!("{other:?}"),
        }
        match added(
            Added::<()>::Full,
            "session",
            "track",
            MAX_TRACKS_PER_SESSION,
        ) {
            Err(ApiError::Conflict(why)) => assert!(why.contains("200 tracks"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
