-- One-time codes sent by email (or SMS): stored as argon2 hashes, bound to the browser
-- that asked for them, single use, a few tries each.
CREATE TABLE one_time_codes (
    id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    identifier TEXT NOT NULL,
    user_id TEXT,
    code_hash TEXT NOT NULL,
    browser TEXT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX one_time_codes_identifier ON one_time_codes(identifier, created_at);
