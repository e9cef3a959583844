-- Roles of accounts (user, consultant, admin, and any others an operator names). APIs read
-- them from the `roles` claim of access tokens issued with the `roles` scope.
CREATE TABLE account_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Every existing account is a user.
INSERT INTO account_roles (user_id, role, created_at) SELECT id, 'user', created_at FROM users;
