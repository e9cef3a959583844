-- Administration: roles as things of their own (with a description, and a system flag
-- for the ones Porta relies on), permissions grouped into roles, and account states.
CREATE TABLE roles (
    name TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    system BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
INSERT INTO roles (name, description, system, created_at) VALUES
    ('user', 'Every account', 1, 0),
    ('consultant', 'Offers consultations in the booking app', 1, 0),
    ('admin', 'Administers Porta', 1, 0);
-- Roles that accounts already carry become roles of their own.
INSERT INTO roles (name, description, system, created_at)
    SELECT DISTINCT role, '', 0, 0 FROM account_roles
    WHERE role NOT IN ('user', 'consultant', 'admin');

CREATE TABLE permissions (
    name TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE role_permissions (
    role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    permission TEXT NOT NULL REFERENCES permissions(name) ON DELETE CASCADE,
    PRIMARY KEY (role, permission)
);
CREATE INDEX role_permissions_permission ON role_permissions(permission);
CREATE INDEX account_roles_role ON account_roles(role);

-- NULL: active. A disabled account cannot sign in; its sessions and grants were ended.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
-- Standard claims (OIDC Core 5.1), set by administrators for now.
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN zoneinfo TEXT;

-- Apps: after a secret rotation the previous secret keeps working until
-- previous_secret_expires_at; a disabled app cannot authenticate or start a sign-in.
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT;
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;

-- Custom attributes of accounts (declared in settings), one row per value, as JSON text.
CREATE TABLE account_attributes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, name)
);
CREATE INDEX account_attributes_name ON account_attributes(name);

-- Invitations: an emailed one-time link to set a first password (only its hash is kept).
CREATE TABLE account_invitations (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX account_invitations_user ON account_invitations(user_id);

-- The right to leave: when the person asked for their account's deletion (erased after
-- account_deletion_grace unless they sign in again).
ALTER TABLE users ADD COLUMN deletion_requested_at BIGINT;
