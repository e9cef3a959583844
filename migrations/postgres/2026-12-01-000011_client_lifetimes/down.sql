ALTER TABLE clients DROP COLUMN refresh_id_token;
ALTER TABLE clients DROP COLUMN refresh_token_ttl;
ALTER TABLE clients DROP COLUMN id_token_ttl;
ALTER TABLE clients DROP COLUMN access_token_ttl;
