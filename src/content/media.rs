//! Signed media links: an API call with a token hands out a short-lived URL, and the URL
//! itself is the credential, so audio players and PDF viewers that cannot send an
//! `Authorization` header can still fetch the file (with Range requests).

use actix_files::NamedFile;
use actix_web::http::header::{self, CacheControl, CacheDirective, TryIntoHeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::input::{MediaPath, Tier};
use super::{now, Config};
use crate::db::DbPool;
use crate::resource::{ApiError, Caller};

type HmacSha256 = Hmac<Sha256>;

/// The MAC of a link: HMAC-SHA256 over `"<file>\n<expires>"`. The newline cannot appear in
/// a media path, so no two (file, expiry) pairs sign the same message.
fn mac(key: &[u8], file: &str, expires: i64) -> Result<HmacSha256, ApiError> {
    let mut mac = HmacSha256::new_from_slice(key)
        .map_err(|_| ApiError::Internal("the media key is unusable".into()))?;
    mac.update(file.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    Ok(mac)
}

/// The base64url signature of `file` until `expires`.
pub fn sign(key: &[u8], file: &str, expires: i64) -> Result<String, ApiError> {
    Ok(URL_SAFE_NO_PAD.encode(mac(key, file, expires)?.finalize().into_bytes()))
}

/// True when `signature` is the signature of `file` until `expires`, compared in constant
/// time so the signature cannot be guessed byte by byte.
fn verify(key: &[u8], file: &str, expires: i64, signature: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
        return false;
    };
    mac(key, file, expires).is_ok_and(|m| m.verify_slice(&given).is_ok())
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

/// GET /tracks/{id}/media?kind=audio|transcript: a signed, short-lived link to the file.
#[tracing::instrument(skip_all, fields(track = %id))]
pub async fn media_link(
    caller: Caller,
    pool: web::Data<DbPool>,
    config: web::Data<Config>,
    id: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("content:read")?;
    let (track, _) = super::routes::track_or_404(&pool, id.into_inner()).await?;
    require_tier(&caller, Tier::from_stored(&track.tier))?;
    let file = match query.kind {
        Kind::Audio => track.audio_file,
        Kind::Transcript => track
            .transcript_file
            .ok_or_else(|| ApiError::NotFound("this track has no transcript".into()))?,
    };
    // Stored paths were checked on save; checking again keeps a bad row from signing one.
    let file = MediaPath::parse("the stored media path", &file)
        .map_err(|e| ApiError::Internal(format!("track {}: {e}", track.id)))?;
    let expires_at = now() + config.media_url_ttl;
    let signature = sign(&config.media_key, file.as_str(), expires_at)?;
    let link = MediaLink {
        url: format!(
            "/api/content/media/{}?expires={expires_at}&signature={signature}",
            file.url_path()
        ),
        expires_at,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(link))
}

#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
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
    // The signature first: nothing about the file is revealed to an unsigned request.
    if !verify(&config.media_key, &file, expires, signature) {
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
    fn signatures_bind_file_and_expiry() {
        let key = [7u8; 32];
        let sig = sign(&key, "a.mp3", 100).unwrap();
        assert!(verify(&key, "a.mp3", 100, &sig));
        assert!(!verify(&key, "a.mp3", 101, &sig));
        assert!(!verify(&key, "b.mp3", 100, &sig));
        assert!(!verify(&[8u8; 32], "a.mp3", 100, &sig));
        assert!(!verify(&key, "a.mp3", 100, "not base64!"));
        assert!(!verify(&key, "a.mp3", 100, ""));
    }
}
