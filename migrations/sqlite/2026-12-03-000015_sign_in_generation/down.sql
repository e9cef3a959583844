ALTER TABLE pending_sign_ins DROP COLUMN generation;
ALTER TABLE users DROP COLUMN sign_in_generation;
