DROP INDEX signing_keys_one_active;
DROP INDEX signing_keys_one_next;
ALTER TABLE refresh_tokens DROP COLUMN successor_enc;
