-- The retreat library (module `content`): retreats hold sessions, sessions hold tracks.
-- People appear only as the `subject` of their access tokens: no foreign key to `users`,
-- because the content API may run apart from the identity provider.
-- `search_text` is the title and description lower-cased in Rust with Unicode rules
-- (written on every insert and update): SQLite's lower() folds ASCII only, so search
-- matches this column instead, the same way on both backends.
CREATE TABLE content_retreats (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    search_text TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX content_retreats_language ON content_retreats (language);

CREATE TABLE content_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    retreat_id TEXT NOT NULL REFERENCES content_retreats(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    search_text TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX content_sessions_retreat ON content_sessions (retreat_id, position);

-- `audio_file` and `transcript_file` are paths relative to the media folder.
CREATE TABLE content_tracks (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES content_sessions(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    search_text TEXT NOT NULL,
    language TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    position BIGINT NOT NULL,
    tier TEXT NOT NULL,
    audio_file TEXT NOT NULL,
    transcript_file TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX content_tracks_session ON content_tracks (session_id, position);

-- One row per person and track: where they stopped listening.
CREATE TABLE content_progress (
    subject TEXT NOT NULL,
    track_id TEXT NOT NULL REFERENCES content_tracks(id) ON DELETE CASCADE,
    position_seconds BIGINT NOT NULL,
    completed BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (subject, track_id)
);
CREATE INDEX content_progress_recent ON content_progress (subject, updated_at);

CREATE TABLE content_bookmarks (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    track_id TEXT NOT NULL REFERENCES content_tracks(id) ON DELETE CASCADE,
    position_seconds BIGINT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX content_bookmarks_subject ON content_bookmarks (subject, track_id, created_at);
