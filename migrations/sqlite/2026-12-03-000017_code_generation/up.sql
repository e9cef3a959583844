-- A one-time code that signs in or resets a password keeps the person's sign-in
-- generation when it was issued: ending their sign-ins (a password change or reset, "sign
-- out everywhere", an administrator's end, disable or delete) moves the generation on, and
-- the codes sent before it no longer sign in or reset. NULL: not bound (other purposes,
-- unknown identifiers, and codes issued before this column, or by an older node).
ALTER TABLE one_time_codes ADD COLUMN generation BIGINT;
