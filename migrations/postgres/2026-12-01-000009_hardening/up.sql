-- Attempts in flight: a throttle reserves its budget while a credential is being checked,
-- and counts only failures (a right password is never refused because others were racing).
ALTER TABLE attempt_counters ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE attempt_counters ADD COLUMN in_flight_since BIGINT NOT NULL DEFAULT 0;

-- Mail and SMS waiting to be delivered (and a record of what was delivered or finally
-- failed). The body is sealed under the master key and erased once sent.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claim TEXT,
    claimed_until BIGINT NOT NULL,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
