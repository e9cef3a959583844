-- How an app's access tokens look: 'jwt' (RS256, RFC 9068) or 'opaque' (sealed; resource
-- servers introspect them).
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'jwt';
