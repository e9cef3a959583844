-- At most one active and one next signing key, enforced by the database so that several
-- nodes racing through a rotation cannot end with two.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(state) WHERE state = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(state) WHERE state = 'next';

-- A rotated refresh token remembers its successor (sealed under the master key) for a
-- few seconds, so a client's benign retry gets the same successor instead of a revocation.
ALTER TABLE refresh_tokens ADD COLUMN successor_enc TEXT;
