-- What a registration chose (password hash, name), kept with its confirmation code and
-- applied only when that code comes back, so nobody can change an unconfirmed account's
-- password by registering its address again.
ALTER TABLE one_time_codes ADD COLUMN payload TEXT;
