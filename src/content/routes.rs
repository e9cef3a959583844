//! Listener handlers: the catalogue, search, and a person's own progress and bookmarks.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::input::Tier;
use super::listening::{self, Bookmark, BookmarkChanges, Progress};
use super::media::require_tier;
use super::store::{self, PlacedTrack, TranscriptSearch};
use super::views::{RetreatOutline, TrackView};
use super::{input, listener, new_id, now, search as finder, transcripts};
use crate::db::{self, DbPool};
use crate::resource::{ApiError, Caller, Paged, Pagination};

/// Most bookmarks one person may keep, so one account cannot fill the database.
pub const MAX_BOOKMARKS: i64 = 10_000;

/// `?language=` of lists.
#[derive(Debug, Deserialize)]
pub struct LanguageFilter {
    language: Option<String>,
}

impl LanguageFilter {
    fn checked(&self) -> Result<Option<String>, ApiError> {
        self.language.as_deref().map(input::language).transpose()
    }
}

/// The track with this id, or 404.
pub async fn track_or_404(pool: &DbPool, id: String) -> Result<PlacedTrack, ApiError> {
    db::run(pool, move |conn| Ok(store::find_track(conn, &id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("no track with this id".into()))
}

// -- catalogue --

/// GET /retreats?language=&page=&per_page=
#[tracing::instrument(skip_all)]
pub async fn list_retreats(
    caller: Caller,
    pool: web::Data<DbPool>,
    page: web::Query<Pagination>,
    filter: web::Query<LanguageFilter>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let p = page.into_inner().checked()?;
    let language = filter.checked()?;
    let (items, total) = db::run(&pool, move |conn| {
        Ok(store::list_retreats(
            conn,
            language.as_deref(),
            p.offset(),
            p.limit(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::new(items, total, &p)))
}

/// GET /retreats/{id}: the retreat with its sessions and their tracks, in order.
#[tracing::instrument(skip_all, fields(retreat = %id))]
pub async fn get_retreat(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let id = id.into_inner();
    let (retreat, sessions, tracks) =
        db::run(&pool, move |conn| Ok(store::retreat_outline(conn, &id)?))
            .await?
            .ok_or_else(|| ApiError::NotFound("no retreat with this id".into()))?;
    Ok(HttpResponse::Ok().json(RetreatOutline::new(retreat, sessions, tracks)))
}

/// GET /tracks/{id}
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn get_track(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let (track, retreat_id) = track_or_404(&pool, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TrackView::new(&track, &retreat_id)))
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    language: Option<String>,
}

/// GET /search?q=&language=&page=&per_page=
#[tracing::instrument(skip_all)]
pub async fn search(
    caller: Caller,
    pool: web::Data<DbPool>,
    page: web::Query<Pagination>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let p = page.into_inner().checked()?;
    let words = input::search_words(query.q.as_deref())?;
    let language = query.language.as_deref().map(input::language).transpose()?;
    let (items, total) = db::run(&pool, move |conn| {
        Ok(finder::search(
            conn,
            &words,
            language.as_deref(),
            p.offset(),
            p.limit(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::new(items, total, &p)))
}

#[derive(Debug, Deserialize)]
pub struct TranscriptQuery {
    q: Option<String>,
    language: Option<String>,
    retreat_id: Option<String>,
}

/// GET /search/transcripts?q=&language=&retreat_id=&page=&per_page=: tracks whose
/// transcript holds every word, best first, each with a snippet of where.
#[tracing::instrument(skip_all)]
pub async fn search_transcripts(
    caller: Caller,
    pool: web::Data<DbPool>,
    page: web::Query<Pagination>,
    query: web::Query<TranscriptQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let p = page.into_inner().checked()?;
    let query = query.into_inner();
    let search = TranscriptSearch {
        words: input::search_words(query.q.as_deref())?,
        language: query.language.as_deref().map(input::language).transpose()?,
        retreat_id: match query.retreat_id {
            Some(id) if id.chars().count() > 100 => {
                return Err(ApiError::InvalidRequest(
                    "retreat_id must be at most 100 characters".into(),
                ))
            }
            id => id,
        },
        marks: (transcripts::MATCH_START, transcripts::MATCH_END),
        offset: p.offset(),
        limit: p.limit(),
    };
    let (items, total) = transcripts::search(&pool, search).await?;
    Ok(HttpResponse::Ok().json(Paged::new(items, total, &p)))
}

// -- progress --

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressForm {
    #[serde(deserialize_with = "crate::resource::whole::number")]
    position_seconds: i64,
    #[serde(default)]
    completed: bool,
}

/// A person's progress on one track; `updated_at` is null before anything was saved.
#[derive(Debug, Serialize)]
struct ProgressView {
    track_id: String,
    position_seconds: i64,
    completed: bool,
    updated_at: Option<i64>,
}

impl From<Progress> for ProgressView {
    fn from(p: Progress) -> Self {
        ProgressView {
            track_id: p.track_id,
            position_seconds: p.position_seconds,
            completed: p.completed,
            updated_at: Some(p.updated_at),
        }
    }
}

/// GET /tracks/{id}/progress: the caller's own progress.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn get_progress(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:read")?;
    let (track, _) = track_or_404(&pool, id.into_inner()).await?;
    require_tier(&caller, Tier::from_stored(&track.tier))?;
    let subject = caller.subject.clone();
    let track_id = track.id.clone();
    let saved = db::run(&pool, move |conn| {
        Ok(listening::find_progress(conn, &subject, &track_id)?)
    })
    .await?;
    let view = saved.map(ProgressView::from).unwrap_or(ProgressView {
        track_id: track.id,
        position_seconds: 0,
        completed: false,
        updated_at: None,
    });
    Ok(HttpResponse::Ok().json(view))
}

/// PUT /tracks/{id}/progress: saves where the caller stopped.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn save_progress(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    form: web::Json<ProgressForm>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:write")?;
    let (track, _) = track_or_404(&pool, id.into_inner()).await?;
    require_tier(&caller, Tier::from_stored(&track.tier))?;
    let progress = Progress {
        subject: caller.subject.clone(),
        track_id: track.id,
        position_seconds: input::playback_position(form.position_seconds, track.duration_seconds)?,
        completed: form.completed,
        updated_at: now(),
    };
    let saved = progress.clone();
    db::run_write(&pool, move |conn| {
        listening::save_progress(conn, &saved)?;
        listener::note_listening(conn, &saved.subject, saved.updated_at)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProgressView::from(progress)))
}

/// GET /progress: the caller's progress on every track, most recent first.
#[tracing::instrument(skip_all)]
pub async fn list_progress(
    caller: Caller,
    pool: web::Data<DbPool>,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:read")?;
    let p = page.into_inner().checked()?;
    let subject = caller.subject.clone();
    let (items, total) = db::run(&pool, move |conn| {
        Ok(listening::list_progress(
            conn,
            &subject,
            p.offset(),
            p.limit(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::new(items, total, &p)))
}

// -- bookmarks --

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookmarkForm {
    track_id: String,
    #[serde(deserialize_with = "crate::resource::whole::number")]
    position_seconds: i64,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookmarkPatch {
    #[serde(default, deserialize_with = "crate::resource::whole::optional")]
    position_seconds: Option<i64>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BookmarkFilter {
    track_id: Option<String>,
}

/// POST /bookmarks
#[tracing::instrument(skip_all)]
pub async fn create_bookmark(
    caller: Caller,
    pool: web::Data<DbPool>,
    form: web::Json<BookmarkForm>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:write")?;
    let form = form.into_inner();
    let note = input::text("note", form.note.as_deref(), input::MAX_NOTE)?;
    let (track, _) = track_or_404(&pool, form.track_id).await?;
    require_tier(&caller, Tier::from_stored(&track.tier))?;
    let now = now();
    let bookmark = Bookmark {
        id: new_id(),
        subject: caller.subject.clone(),
        track_id: track.id,
        position_seconds: input::playback_position(form.position_seconds, track.duration_seconds)?,
        note,
        created_at: now,
        updated_at: now,
    };
    let row = bookmark.clone();
    let kept = db::run_write(&pool, move |conn| {
        // A soft cap: parallel requests may pass it by a few, which is harmless.
        if listening::count_bookmarks(conn, &row.subject)? >= MAX_BOOKMARKS {
            return Ok(false);
        }
        listening::insert_bookmark(conn, &row)?;
        Ok(true)
    })
    .await?;
    if !kept {
        return Err(ApiError::Conflict(format!(
            "you already have {MAX_BOOKMARKS} bookmarks; delete some first"
        )));
    }
    Ok(HttpResponse::Created().json(bookmark))
}

/// GET /bookmarks?track_id=&page=&per_page=: the caller's own bookmarks, newest first.
#[tracing::instrument(skip_all)]
pub async fn list_bookmarks(
    caller: Caller,
    pool: web::Data<DbPool>,
    page: web::Query<Pagination>,
    filter: web::Query<BookmarkFilter>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:read")?;
    let p = page.into_inner().checked()?;
    let subject = caller.subject.clone();
    let track_id = filter.into_inner().track_id;
    let (items, total) = db::run(&pool, move |conn| {
        Ok(listening::list_bookmarks(
            conn,
            &subject,
            track_id.as_deref(),
            p.offset(),
            p.limit(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::new(items, total, &p)))
}

fn no_bookmark() -> ApiError {
    // Also for other people's bookmarks, so their ids cannot be probed.
    ApiError::NotFound("no bookmark with this id".into())
}

/// PATCH /bookmarks/{id}: changes the note or the position of the caller's bookmark.
#[tracing::instrument(skip_all, fields(bookmark = %id))]
pub async fn update_bookmark(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    form: web::Json<BookmarkPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:write")?;
    let form = form.into_inner();
    if form.note.is_none() && form.position_seconds.is_none() {
        return Err(ApiError::InvalidRequest(
            "nothing to change: send note or position_seconds".into(),
        ));
    }
    let note = match &form.note {
        Some(n) => Some(input::text("note", Some(n), input::MAX_NOTE)?),
        None => None,
    };
    let id = id.into_inner();
    let (subject, bookmark_id) = (caller.subject.clone(), id.clone());
    let (_, duration, tier) = db::run(&pool, move |conn| {
        Ok(listening::find_bookmark(conn, &subject, &bookmark_id)?)
    })
    .await?
    .ok_or_else(no_bookmark)?;
    require_tier(&caller, Tier::from_stored(&tier))?;
    let changes = BookmarkChanges {
        position_seconds: form
            .position_seconds
            .map(|p| input::playback_position(p, duration))
            .transpose()?,
        note,
        updated_at: now(),
    };
    let subject = caller.subject.clone();
    let updated = db::run(&pool, move |conn| {
        Ok(listening::update_bookmark(conn, &subject, &id, &changes)?)
    })
    .await?
    .ok_or_else(no_bookmark)?;
    Ok(HttpResponse::Ok().json(updated))
}

/// DELETE /bookmarks/{id}
#[tracing::instrument(skip_all, fields(bookmark = %id))]
pub async fn delete_bookmark(
    caller: Caller,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person_scope("content:write")?;
    let (subject, id) = (caller.subject.clone(), id.into_inner());
    let deleted = db::run_write(&pool, move |conn| {
        Ok(listening::delete_bookmark(conn, &subject, &id)?)
    })
    .await?;
    if !deleted {
        return Err(no_bookmark());
    }
    Ok(HttpResponse::NoContent().finish())
}
