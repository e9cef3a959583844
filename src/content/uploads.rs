//! Uploads of a track's audio and transcript by admins: a multipart body streamed to disk
//! (never held in memory), at most `media_upload_max_bytes`, its SHA-256 taken on the way,
//! its type told from its first bytes (not its name), the audio's length read from the
//! audio. Files are stored by content (`uploads/<kind>/<sha256>.<ext>`), so replacing a
//! track's file gives it a new path while signed links to the old one keep working until
//! they expire; then the old file is removed, as are a deleted track's files.

use std::path::Path;

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};

use super::store::{self, FileRow, Slot};
use super::views::AdminTrackView;
use super::{now, transcripts, Config};
use crate::db::{self, DbPool};
use crate::resource::upload::{receive, sniff};
use crate::resource::{ApiError, Caller};

/// The audio types accepted, told from the bytes: (MIME type, extension).
const AUDIO: &[(&str, &str)] = &[
    ("audio/mpeg", "mp3"),
    ("audio/m4a", "m4a"),
    ("audio/x-m4a", "m4a"),
    ("audio/mp4", "m4a"),
    ("video/mp4", "m4a"),
    ("audio/aac", "aac"),
    ("audio/ogg", "ogg"),
    ("audio/x-wav", "wav"),
    ("audio/wav", "wav"),
];

/// The audio's length in whole seconds (at least 1), read by symphonia: from the header
/// when it says, else by walking the packets. `None` when it cannot be read.
fn audio_seconds(path: &Path) -> Option<i64> {
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let file = std::fs::File::open(path).ok()?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let probed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        symphonia::default::get_probe().format(
            &Hint::new(),
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
    }))
    .ok()?
    .ok()?;
    let mut format = probed.format;
    let track = format.default_track()?;
    let (id, params) = (track.id, track.codec_params.clone());
    if let (Some(frames), Some(rate)) = (params.n_frames, params.sample_rate) {
        if rate > 0 && frames > 0 {
            return Some(((frames as f64 / rate as f64).round() as i64).max(1));
        }
    }
    let base = params.time_base?;
    let mut total: u64 = 0;
    loop {
        match format.next_packet() {
            Ok(p) if p.track_id() == id => total = total.saturating_add(p.dur),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let t = base.calc_time(total);
    let seconds = t.seconds as f64 + t.frac;
    (seconds > 0.0).then(|| (seconds.round() as i64).max(1))
}

/// What the answer says about the stored file.
#[derive(Debug, serde::Serialize)]
struct Uploaded {
    #[serde(flatten)]
    track: AdminTrackView,
    file: FileRow,
}

/// PUT /admin/tracks/{id}/audio (multipart, field `file`): MP3, M4A/AAC, OGG or WAV.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn upload_audio(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = Multipart::new(req.headers(), body);
    upload(caller, pool, config, id.into_inner(), body, Slot::Audio).await
}

/// PUT /admin/tracks/{id}/transcript (multipart, field `file`): a PDF, indexed for search.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn upload_transcript(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // A malformed or missing multipart header shows as an error of the first field: 400.
    let body = Multipart::new(req.headers(), body);
    upload(
        caller,
        pool,
        config,
        id.into_inner(),
        body,
        Slot::Transcript,
    )
    .await
}

async fn upload(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: String,
    body: Multipart,
    slot: Slot,
) -> Result<HttpResponse, ApiError> {
    super::admin::require_admin(&caller)?;
    // The track first: no bytes are stored for a track that does not exist.
    super::routes::track_or_404(&pool, id.clone()).await?;
    let folder = match slot {
        Slot::Audio => "audio",
        Slot::Transcript => "transcripts",
    };
    let dir = config.media_dir.join("uploads").join(folder);
    let got = receive(body, &dir, config.upload_max_bytes).await?;
    let found = sniff(&got.head);
    let accepted: &[(&str, &str)] = match slot {
        Slot::Audio => AUDIO,
        Slot::Transcript => &[("application/pdf", "pdf")],
    };
    // Refused: dropping `got` removes the temporary file.
    let Some(&(media_type, ext)) = found.and_then(|m| accepted.iter().find(|(a, _)| *a == m))
    else {
        let what = found.unwrap_or("of an unknown type");
        return Err(ApiError::UnsupportedType(match slot {
            Slot::Audio => format!(
                "the file is {what}; audio must be MP3, M4A/AAC, OGG or WAV (told from its bytes, not its name)"
            ),
            Slot::Transcript => format!(
                "the file is {what}; a transcript must be a PDF (told from its bytes, not its name)"
            ),
        }));
    };
    let path = format!("uploads/{folder}/{}.{ext}", got.sha256);
    let final_path = config.media_dir.join(&path);
    // Measured before it is moved into place: a file refused here leaves nothing behind
    // (dropping `got` removes the temporary file).
    let duration = match slot {
        Slot::Audio => {
            let temp = got.temp.clone();
            web::block(move || {
                std::panic::catch_unwind(|| audio_seconds(&temp))
                    .ok()
                    .flatten()
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Slot::Transcript => None,
    };
    if slot == Slot::Audio && duration.is_none() {
        return Err(ApiError::InvalidRequest(
            "the audio cannot be read (its length is unknown): is the file whole?".into(),
        ));
    }
    let (temp, target) = (got.temp.clone(), final_path.clone());
    web::block(move || std::fs::rename(&temp, &target))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("storing the upload: {e}")))?;
    let now = now();
    let row = FileRow {
        path: path.clone(),
        sha256: got.sha256,
        bytes: got.bytes as i64,
        media_type: media_type.to_string(),
        duration_seconds: duration,
        uploaded_at: now,
    };
    let grace = config.media_url_ttl.max(config.download_ttl);
    let (saved, track_id) = (row.clone(), id.clone());
    let replaced = db::run(&pool, move |conn| {
        // The file's row lands first and on its own: it stays, whatever befalls the rest.
        db::write(conn, |c| store::record_file(c, &saved))?;
        db::write(conn, |conn| {
            let old = store::set_track_file(conn, &track_id, slot, &saved.path, duration, now)?;
            if let Some(Some(old)) = &old {
                if old != &saved.path && old.starts_with("uploads/") {
                    store::schedule_removal(conn, old, now + grace)?;
                }
            }
            Ok(old)
        })
    })
    .await?;
    if replaced.is_none() {
        // Deleted meanwhile: the file waits for removal like any other no track holds.
        let p = path.clone();
        db::run_write(&pool, move |conn| {
            Ok(store::schedule_removal(conn, &p, now)?)
        })
        .await?;
        return Err(ApiError::NotFound("no track with this id".into()));
    }
    sweep(&pool, &config).await;
    let (track, retreat_id) = super::routes::track_or_404(&pool, id).await?;
    let index = match slot {
        Slot::Transcript => {
            transcripts::index(
                &pool,
                &config,
                &track.id,
                &track.language,
                track.transcript_file.as_deref(),
            )
            .await?
        }
        Slot::Audio => None,
    };
    Ok(HttpResponse::Ok().json(Uploaded {
        track: AdminTrackView::new(track, &retreat_id, index),
        file: row,
    }))
}

/// Removes up to 100 uploaded files that no track holds and whose links have expired.
/// Runs after uploads and deletions; a failure is logged, never the request's.
pub async fn sweep(pool: &DbPool, config: &Config) {
    let now = now();
    let due = db::run(pool, move |conn| {
        Ok(store::take_due_removals(conn, now, 100)?)
    })
    .await;
    let due = match due {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "upload removals not read");
            return;
        }
    };
    // A file taken again since (a new upload of the same bytes) stays.
    let mut gone = Vec::new();
    for path in due {
        let p = path.clone();
        if let Ok(false) = db::run(pool, move |conn| Ok(store::is_held(conn, &p)?)).await {
            gone.push(path);
        }
    }
    let dir = config.media_dir.clone();
    let _ = web::block(move || {
        for path in gone {
            if let Err(e) = std::fs::remove_file(dir.join(&path)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, path, "an old upload could not be removed");
                }
            }
        }
    })
    .await;
}

/// Schedules the uploaded files that `paths` name for removal once their links expire, and
/// sweeps what is due. For deletions and replacements by the catalogue routes.
pub async fn release(pool: &DbPool, config: &Config, paths: Vec<String>) -> Result<(), ApiError> {
    if !paths.is_empty() {
        let after = now() + config.media_url_ttl.max(config.download_ttl);
        db::run_write(pool, move |conn| {
            for p in &paths {
                if !store::is_held(conn, p)? {
                    store::schedule_removal(conn, p, after)?;
                }
            }
            Ok(())
        })
        .await?;
    }
    sweep(pool, config).await;
    Ok(())
}
