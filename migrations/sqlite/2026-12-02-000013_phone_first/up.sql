-- An account may have an email, a phone, or both (phone-first accounts have no email).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_phone_first (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    phone TEXT,
    disabled_at BIGINT,
    locale TEXT,
    zoneinfo TEXT,
    deletion_requested_at BIGINT,
    CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
INSERT INTO users_phone_first (id, email, email_verified, name, password_hash, created_at,
    updated_at, phone, disabled_at, locale, zoneinfo, deletion_requested_at)
SELECT id, email, email_verified, name, password_hash, created_at, updated_at, phone,
    disabled_at, locale, zoneinfo, deletion_requested_at FROM users;
DROP TABLE users;
ALTER TABLE users_phone_first RENAME TO users;
CREATE UNIQUE INDEX users_phone ON users(phone);
COMMIT;
PRAGMA foreign_keys = ON;
