//! Content: a retreat library API under `/api/content`. It owns the catalogue (retreats →
//! sessions → tracks with audio and transcripts), signed media links, and each person's
//! listening progress and bookmarks. Callers are known only from their access tokens.

mod admin;
mod input;
mod listener;
mod listening;
mod media;
mod routes;
mod search;
mod store;
mod transcripts;
mod uploads;
mod views;

use std::path::PathBuf;

use actix_web::web;

use crate::resource::{self, ApiError};

/// Settings of the content module.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder the audio files and transcripts are served from.
    pub media_dir: PathBuf,
    /// HMAC-SHA256 key of signed media URLs (at least 32 bytes).
    pub media_key: Vec<u8>,
    /// Life of a signed media URL in seconds.
    pub media_url_ttl: i64,
    /// Largest transcript PDF whose text is extracted for search.
    pub transcript_max_bytes: u64,
    /// Life of a signed download link in seconds.
    pub download_ttl: i64,
    /// Download links one person may get per UTC day (0: downloads off).
    pub downloads_per_day: i64,
    /// Largest file an admin may upload.
    pub upload_max_bytes: u64,
}

/// The module's routes: the whole content API, top to bottom.
/// The scopes this API knows, in plain words for the consent page.
pub const SCOPES: &[(&str, &str)] = &[
    (
        "content:read",
        "Listen to the library and see your progress and bookmarks",
    ),
    (
        "content:write",
        "Save your listening progress and bookmarks",
    ),
];

pub fn scope(config: Config) -> actix_web::Scope {
    use web::{delete, get, head, patch, post, put};
    resource::api_scope("/api/content")
        .app_data(web::Data::new(config))
        // The catalogue (content:read).
        .service(web::resource("/retreats").route(get().to(routes::list_retreats)))
        .service(web::resource("/retreats/{id}").route(get().to(routes::get_retreat)))
        .service(web::resource("/tracks/{id}").route(get().to(routes::get_track)))
        .service(web::resource("/search").route(get().to(routes::search)))
        .service(web::resource("/search/transcripts").route(get().to(routes::search_transcripts)))
        // Media: a signed link (content:read, premium rule), then the file by that link
        // (no token: the signature is the credential).
        .service(web::resource("/tracks/{id}/media").route(get().to(media::media_link)))
        .service(web::resource("/tracks/{id}/download").route(get().to(media::download_link)))
        .service(
            web::resource("/media/{file:.*}")
                .route(get().to(media::serve_media))
                .route(head().to(media::serve_media)),
        )
        // The caller's own listening progress and bookmarks.
        .service(
            web::resource("/tracks/{id}/progress")
                // A player saves where the listener is every few seconds: not a write the
                // API-wide limit should count.
                .app_data(web::Data::new(resource::WriteLimit::off()))
                .route(get().to(routes::get_progress))
                .route(put().to(routes::save_progress)),
        )
        .service(web::resource("/progress").route(get().to(routes::list_progress)))
        .service(web::resource("/progress/stats").route(get().to(listener::stats)))
        .service(
            web::resource("/preferences")
                .route(get().to(listener::get_preferences))
                .route(put().to(listener::save_preferences)),
        )
        .service(
            web::resource("/bookmarks")
                .route(get().to(routes::list_bookmarks))
                .route(post().to(routes::create_bookmark)),
        )
        .service(
            web::resource("/bookmarks/{id}")
                .route(patch().to(routes::update_bookmark))
                .route(delete().to(routes::delete_bookmark)),
        )
        // Catalogue management (content:write and the admin role).
        .service(web::resource("/admin/retreats").route(post().to(admin::create_retreat)))
        .service(
            web::resource("/admin/retreats/{id}")
                .route(put().to(admin::update_retreat))
                .route(delete().to(admin::delete_retreat)),
        )
        .service(
            web::resource("/admin/retreats/{id}/sessions").route(post().to(admin::create_session)),
        )
        .service(
            web::resource("/admin/sessions/{id}")
                .route(put().to(admin::update_session))
                .route(delete().to(admin::delete_session)),
        )
        .service(web::resource("/admin/sessions/{id}/tracks").route(post().to(admin::create_track)))
        .service(
            web::resource("/admin/tracks/{id}")
                .route(put().to(admin::update_track))
                .route(delete().to(admin::delete_track)),
        )
        .service(web::resource("/admin/tracks/{id}/audio").route(put().to(uploads::upload_audio)))
        .service(
            web::resource("/admin/tracks/{id}/transcript")
                .route(put().to(uploads::upload_transcript)),
        )
        .default_service(web::to(unknown_route))
}

/// Unknown paths under `/api/content` answer JSON like the rest of the API.
async fn unknown_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "there is no such content API endpoint".into(),
    ))
}

/// Now, as unix seconds.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A fresh random id for a new row.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
