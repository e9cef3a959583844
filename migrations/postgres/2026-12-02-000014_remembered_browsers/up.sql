-- Browsers a person asked to remember after a second factor: signing in there again needs
-- the first factor only, until the row expires or is forgotten. The cookie holds the
-- secret; the row its SHA-256.
CREATE TABLE remembered_browsers (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX remembered_browsers_user ON remembered_browsers(user_id);
