//! The JSON shapes of catalogue answers. Tracks show their tier (so apps can show a lock)
//! but not where their files lie: files are reached only through signed links.

use std::collections::HashMap;

use serde::Serialize;

use super::input::Tier;
use super::store::{Retreat, Session, Track, TranscriptInfo};

/// A track as listeners see it.
#[derive(Debug, Clone, Serialize)]
pub struct TrackView {
    pub id: String,
    pub session_id: String,
    pub retreat_id: String,
    pub title: String,
    pub description: String,
    pub language: String,
    pub duration_seconds: i64,
    pub position: i64,
    pub tier: Tier,
    pub has_transcript: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TrackView {
    pub fn new(track: &Track, retreat_id: &str) -> TrackView {
        TrackView {
            id: track.id.clone(),
            session_id: track.session_id.clone(),
            retreat_id: retreat_id.to_string(),
            title: track.title.clone(),
            description: track.description.clone(),
            language: track.language.clone(),
            duration_seconds: track.duration_seconds,
            position: track.position,
            tier: Tier::from_stored(&track.tier),
            has_transcript: track.transcript_file.is_some(),
            created_at: track.created_at,
            updated_at: track.updated_at,
        }
    }
}

/// A track as admins see it: with its media paths.
#[derive(Debug, Clone, Serialize)]
pub struct AdminTrackView {
    #[serde(flatten)]
    pub track: TrackView,
    pub audio_file: String,
    pub transcript_file: Option<String>,
    /// How the transcript's text was read for search (null without a transcript).
    pub transcript_index: Option<TranscriptInfo>,
}

impl AdminTrackView {
    pub fn new(
        track: Track,
        retreat_id: &str,
        transcript_index: Option<TranscriptInfo>,
    ) -> AdminTrackView {
        AdminTrackView {
            track: TrackView::new(&track, retreat_id),
            audio_file: track.audio_file,
            transcript_file: track.transcript_file,
            transcript_index,
        }
    }
}

/// A session with its tracks in order.
#[derive(Debug, Clone, Serialize)]
pub struct SessionOutline {
    #[serde(flatten)]
    pub session: Session,
    pub tracks: Vec<TrackView>,
}

/// A retreat with its sessions in order.
#[derive(Debug, Clone, Serialize)]
pub struct RetreatOutline {
    #[serde(flatten)]
    pub retreat: Retreat,
    pub sessions: Vec<SessionOutline>,
}

impl RetreatOutline {
    /// Puts each track under its session; `tracks` come in play order. One pass over the
    /// tracks, one over the sessions.
    pub fn new(retreat: Retreat, sessions: Vec<Session>, tracks: Vec<Track>) -> RetreatOutline {
        let mut by_session: HashMap<&str, Vec<TrackView>> = HashMap::new();
        for t in &tracks {
            by_session
                .entry(t.session_id.as_str())
                .or_default()
                .push(TrackView::new(t, &retreat.id));
        }
        let sessions = sessions
            .into_iter()
            .map(|session| SessionOutline {
                tracks: by_session.remove(session.id.as_str()).unwrap_or_default(),
                session,
            })
            .collect();
        RetreatOutline { retreat, sessions }
    }
}
