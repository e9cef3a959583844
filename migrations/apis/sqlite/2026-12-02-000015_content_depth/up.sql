-- The text of each track's transcript, extracted from its PDF when the track is saved, and
-- how the extraction went. The words live in the FTS5 index below, whose rowid is `doc`
-- (an INTEGER PRIMARY KEY, so VACUUM and backups keep it stable).
CREATE TABLE content_transcripts (
    doc INTEGER PRIMARY KEY,
    track_id TEXT NOT NULL UNIQUE REFERENCES content_tracks(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    -- indexed | unreadable | missing | too_large
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    pages BIGINT NOT NULL,
    characters BIGINT NOT NULL,
    extracted_at BIGINT NOT NULL
);

-- Case- and accent-insensitive words (unicode61 remove_diacritics 2) with the Porter
-- stemmer, which knows English only; SQLite has no Portuguese stemmer.
CREATE VIRTUAL TABLE content_transcripts_fts USING fts5(
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- A transcript row that goes (replaced, or its track deleted) takes its words with it.
CREATE TRIGGER content_transcripts_gone AFTER DELETE ON content_transcripts BEGIN
    DELETE FROM content_transcripts_fts WHERE rowid = old.doc;
END;

-- A listener's own settings in the apps.
CREATE TABLE content_preferences (
    subject TEXT PRIMARY KEY NOT NULL,
    app_language TEXT NOT NULL,
    -- en | en-pt (bilingual)
    content_language TEXT NOT NULL,
    notifications BOOLEAN NOT NULL,
    time_zone TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The days (in the listener's time zone) on which a person saved progress, for streaks.
CREATE TABLE content_listening_days (
    subject TEXT NOT NULL,
    -- days since 1970-01-01 in the listener's time zone
    day BIGINT NOT NULL,
    PRIMARY KEY (subject, day)
);

-- Download links (offline listening) handed out per person and UTC day, for the daily cap.
CREATE TABLE content_downloads (
    subject TEXT NOT NULL,
    -- days since 1970-01-01, UTC
    day BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (subject, day)
);
