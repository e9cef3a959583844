-- Resource servers: a client may introspect access tokens issued to another client only
-- when one of the token's audiences is listed here (space-separated).
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
-- Browser origins allowed to call the token, userinfo, revocation and introspection
-- endpoints for this client (space-separated); empty: the origins of its redirect URIs.
ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '';
