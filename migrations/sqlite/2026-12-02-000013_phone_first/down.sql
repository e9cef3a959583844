PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_with_email (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    phone TEXT,
    disabled_at BIGINT,
    locale TEXT,
    zoneinfo TEXT,
    deletion_requested_at BIGINT
);
INSERT INTO users_with_email SELECT id, email, email_verified, name, password_hash,
    created_at, updated_at, phone, disabled_at, locale, zoneinfo, deletion_requested_at
    FROM users WHERE email IS NOT NULL;
DROP TABLE users;
ALTER TABLE users_with_email RENAME TO users;
CREATE UNIQUE INDEX users_phone ON users(phone);
COMMIT;
PRAGMA foreign_keys = ON;
