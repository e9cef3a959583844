-- Files uploaded through the API, by their path under the media folder (content-addressed:
-- uploads/<kind>/<sha256>.<ext>), with what was read from them.
CREATE TABLE content_files (
    path TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    -- audio only
    duration_seconds BIGINT,
    uploaded_at BIGINT NOT NULL
);

-- Uploaded files no track needs any more, removed once every link that may name them has
-- expired (a replaced file keeps serving the signed links handed out before).
CREATE TABLE content_removals (
    path TEXT PRIMARY KEY NOT NULL,
    remove_after BIGINT NOT NULL
);
CREATE INDEX content_removals_due ON content_removals (remove_after);
