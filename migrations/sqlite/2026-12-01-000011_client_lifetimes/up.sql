-- Per-app token lifetimes (seconds; NULL = the settings' defaults), and whether a refresh
-- answer carries a new id token (OIDC Core 12.2 allows leaving it out).
ALTER TABLE clients ADD COLUMN access_token_ttl BIGINT;
ALTER TABLE clients ADD COLUMN id_token_ttl BIGINT;
ALTER TABLE clients ADD COLUMN refresh_token_ttl BIGINT;
ALTER TABLE clients ADD COLUMN refresh_id_token BOOLEAN NOT NULL DEFAULT 1;
