-- A person's sign-in generation: ending their sign-ins (a password change or reset, "sign
-- out everywhere", an administrator's end, disable or delete) moves it on, and a sign-in
-- parked for its second factor finishes only in the generation it was parked in.
ALTER TABLE users ADD COLUMN sign_in_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pending_sign_ins ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
