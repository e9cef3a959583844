-- A one-time code for an account keeps the person's sign-in generation when it was issued:
-- ending their sign-ins (a password change or reset, "sign out everywhere", an
-- administrator's end, disable or delete) moves the generation on, and the codes sent
-- before it no longer sign in, reset or confirm anything.
ALTER TABLE one_time_codes ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
