-- The text of each track's transcript, extracted from its PDF when the track is saved, and
-- how the extraction went; `document` holds its words stemmed in the track's language
-- (Portuguese for pt*, English otherwise), indexed with GIN.
CREATE TABLE content_transcripts (
    track_id TEXT PRIMARY KEY REFERENCES content_tracks(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    -- indexed | unreadable | missing | too_large
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    pages BIGINT NOT NULL,
    characters BIGINT NOT NULL,
    extracted_at BIGINT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        to_tsvector(
            CASE WHEN language LIKE 'pt%' THEN 'portuguese'::regconfig ELSE 'english'::regconfig END,
            body
        )
    ) STORED
);
CREATE INDEX content_transcripts_document ON content_transcripts USING GIN (document);

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
