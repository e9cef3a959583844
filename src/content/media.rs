//! Signed media links: an API call with a token hands out a short-lived URL, and the URL
//! itself is the credential, so audio players and PDF viewers that cannot send an
//! `Authorization` header can still fetch the file (with Range requests).

use actix_files::NamedFile;
use actix_web::http::header::{self, CacheControl, CacheDirective, TryIntoHeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::input::{MediaPath, Tier};
use super::{now, Config};
use crate::db::DbPool;
use crate::resource::{signed, ApiError, Caller};

/// What a link signs: `"<file>\n<expires>"`, and `"\ndownload"` after it for a download
/// link. The newline cannot appear in a media path, so no two (file, expiry, kind) triples
/// sign the same message, and a streaming link cannot be turned into a (longer-lived)
/// download link or back.
fn message(file: &str, expires: i64, download: bool) -> Vec<u8> {
    let flag = if download { "\ndownload" } else { "" };
    format!("{file}\n{expires}{flag}").into_bytes()
}

/// The base64url signature of `file` until `expires`.
pub fn sign(key: &[u8], file: &str, expires: i64, download: bool) -> Result<String, ApiError> {
    signed::sign(key, &message(file, expires, download))
}

/// True when `signature` is the signature of `file` until `expires`.
fn verify(key: &[u8], file: &str, expires: i64, download: bool, signature: &str) -> bool {
    signed::verify(key, &message(file, expires, download), signature)
}

/// Which file of a track.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Audio,
    Transcript,
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    kind: Kind,
}

/// A signed link.
#[derive(Debug, Serialize)]
pub struct MediaLink {
    /// Path of the file on this API, with `expires` and `signature`.
    pub url: String,
    /// When the link stops working (unix seconds).
    pub expires_at: i64,
}

/// 403 `premium_required` unless the caller may use a track of `tier`: free tracks are for
/// everyone; premium ones for an active subscription (the token's `subscription` claim, or
/// `subscription_plan` + `subscription_expires`), or the `premium` or `admin` role. An
/// expired subscription is the free tier, and the answer says when it ended.
pub fn require_tier(caller: &Caller, tier: Tier) -> Result<(), ApiError> {
    let now = super::now();
    match tier {
        Tier::Free => Ok(()),
        Tier::Premium
            if caller.active_subscription(now).is_some()
                || caller.has_role("premium")
                || caller.has_role("admin") =>
        {
            Ok(())
        }
        Tier::Premium => Err(match &caller.subscription {
            Some(s) => ApiError::PremiumRequired(
                format!(
                    "this track is premium: your {} subscription ended at {}",
                    s.plan,
                    chrono::DateTime::from_timestamp(s.expires_at, 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_else(|| s.expires_at.to_string())
                ),
                Some(s.clone()),
            ),
            None => ApiError::PremiumRequired(
                "this track is premium: it needs an active subscription".into(),
                None,
            ),
        }),
    }
}

/// The file of `kind` of the track `id`, once the caller may have it (scope, premium rule).
async fn track_file(
    caller: &Caller,
    pool: &DbPool,
    id: String,
    kind: Kind,
) -> Result<MediaPath, ApiError> {
    caller.require_scope("content:read")?;
    let (track, _) = super::routes::track_or_404(pool, id).await?;
    require_tier(caller, Tier::from_stored(&track.tier))?;
    let file = match kind {
        Kind::Audio => track.audio_file,
        Kind::Transcript => track
            .transcript_file
            .ok_or_else(|| ApiError::NotFound("this track has no transcript".into()))?,
    };
    // Stored paths were checked on save; checking again keeps a bad row from signing one.
    MediaPath::parse("the stored media path", &file)
        .map_err(|e| ApiError::Internal(format!("track {}: {e}", track.id)))
}

/// A signed link to `file` for `ttl` seconds.
fn signed_link(
    config: &Config,
    file: &MediaPath,
    ttl: i64,
    download: bool,
) -> Result<MediaLink, ApiError> {
    let expires_at = now() + ttl;
    let signature = sign(&config.media_key, file.as_str(), expires_at, download)?;
    let flag = if download { "&download=1" } else { "" };
    Ok(MediaLink {
        url: format!(
            "/api/content/media/{}?expires={expires_at}&signature={signature}{flag}",
            file.url_path()
        ),
        expires_at,
    })
}

/// GET /tracks/{id}/media?kind=audio|transcript: a signed, short-lived link to the file.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn media_link(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let file = track_file(&caller, &pool, id.into_inner(), query.kind).await?;
    let link = signed_link(&config, &file, config.media_url_ttl, false)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(link))
}

/// A download link, with the caller's count for the day.
#[derive(Debug, Serialize)]
pub struct DownloadLink {
    #[serde(flatten)]
    pub link: MediaLink,
    pub downloads_today: i64,
    pub downloads_left_today: i64,
}

/// GET /tracks/{id}/download?kind=audio|transcript: a signed link that saves the file
/// (`Content-Disposition: attachment`) for offline listening, valid `media_download_ttl`
/// seconds; each counts toward the person's `media_downloads_per_day` (UTC days).
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn download_link(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_person()?;
    let cap = config.downloads_per_day;
    if cap == 0 {
        return Err(ApiError::Forbidden(
            "downloads are turned off on this server".into(),
        ));
    }
    let file = track_file(&caller, &pool, id.into_inner(), query.kind).await?;
    let now = now();
    let day = now.div_euclid(86_400);
    let subject = caller.subject.clone();
    let counted = crate::db::run_write(&pool, move |conn| {
        Ok(super::store::count_download(conn, &subject, day, cap)?)
    })
    .await?;
    let Some(count) = counted else {
        let retry = (day + 1) * 86_400 - now;
        return Err(ApiError::TooMany(
            format!("you have made your {cap} downloads for today; more tomorrow (UTC)"),
            retry.max(1) as u64,
        ));
    };
    let link = signed_link(&config, &file, config.download_ttl, true)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DownloadLink {
            link,
            downloads_today: count,
            downloads_left_today: (cap - count).max(0),
        }))
}

#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
    /// `1` on download links (part of what is signed).
    download: Option<String>,
}

/// GET /media/{file}?expires=&signature=: the file, if the link is genuine and current.
/// No bearer token: the signature is the credential.
#[tracing::instrument(skip_all)]
pub async fn serve_media(
    req: HttpRequest,
    config: web::Data<Config>,
    file: web::Path<String>,
    query: web::Query<SignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let refused = || ApiError::Forbidden("the link is not valid".into());
    let file = file.into_inner();
    let (Some(expires), Some(signature)) = (&query.expires, &query.signature) else {
        return Err(refused());
    };
    let expires: i64 = expires.parse().map_err(|_| refused())?;
    let download = match query.download.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => return Err(refused()),
    };
    // The signature first: nothing about the file is revealed to an unsigned request.
    if !verify(&config.media_key, &file, expires, download, signature) {
        return Err(refused());
    }
    let remaining = expires - now();
    if remaining <= 0 {
        return Err(ApiError::Forbidden("the link has expired".into()));
    }
    // Signed names were checked when saved, but a leaked key must still not reach outside
    // the media folder.
    let path = MediaPath::parse("the file name", &file)?.within(&config.media_dir);
    let missing = || ApiError::NotFound("the file is not available".into());
    // A symlink inside the folder must not lead outside it either.
    let (p, dir) = (path.clone(), config.media_dir.clone());
    let resolved = actix_web::rt::task::spawn_blocking(move || {
        Ok::<_, std::io::Error>((std::fs::canonicalize(p)?, std::fs::canonicalize(dir)?))
    })
    .await;
    let Ok(Ok((real, root))) = resolved else {
        return Err(missing());
    };
    if !real.starts_with(&root) {
        tracing::warn!(path = %path.display(), "a media link leads outside media_dir");
        return Err(missing());
    }
    let named = NamedFile::open_async(&real).await.map_err(|e| {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, path = %path.display(), "a media file cannot be read");
        }
        missing()
    })?;
    if !named.metadata().is_file() {
        return Err(missing());
    }
    let named = if download {
        // Saved, not played: the browser or app keeps the file under its own name.
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "download".into());
        named.set_content_disposition(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![header::DispositionParam::Filename(name)],
        })
    } else {
        named
    };
    let mut resp = named.use_last_modified(true).into_response(&req);
    // Private: the link belongs to one person; never kept past the link's own life.
    let max_age = u32::try_from(remaining).unwrap_or(u32::MAX);
    let cache = CacheControl(vec![
        CacheDirective::Private,
        CacheDirective::MaxAge(max_age),
    ]);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        cache
            .try_into_value()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_file_expiry_and_kind() {
        let key = [7u8; 32];
        let sig = sign(&key, "a.mp3", 100, false).unwrap();
        assert!(verify(&key, "a.mp3", 100, false, &sig));
        assert!(!verify(&key, "a.mp3", 101, false, &sig));
        assert!(!verify(&key, "b.mp3", 100, false, &sig));
        assert!(!verify(&[8u8; 32], "a.mp3", 100, false, &sig));
        assert!(!verify(&key, "a.mp3", 100, false, "not base64!"));
        assert!(!verify(&key, "a.mp3", 100, false, ""));
        // A streaming link is not a download link, and back.
        assert!(!verify(&key, "a.mp3", 100, true, &sig));
        let download = sign(&key, "a.mp3", 100, true).unwrap();
        assert!(verify(&key, "a.mp3", 100, true, &download));
        assert!(!verify(&key, "a.mp3", 100, false, &download));
    }
}
