-- The bookings module's own outbox: one row per email an appointment event owes one party.
-- A row names the event and the party, not an address: the address, the language and the
-- text are looked up and rendered when the row is delivered, so nothing personal waits
-- here. A row is claimed with one conditional UPDATE (claim, claimed_until), so several
-- nodes never deliver it twice; the unique key queues each event once per party.
CREATE TABLE booking_notifications (
    id TEXT PRIMARY KEY NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES booking_appointments(id) ON DELETE CASCADE,
    -- requested | confirmed | declined | cancelled | reminder
    event TEXT NOT NULL,
    -- client | consultant
    party TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    claim TEXT,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    -- set once the row is finished: sent | skipped (nothing to send any more) | failed
    done_at BIGINT,
    outcome TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (appointment_id, event, party)
);
CREATE INDEX booking_notifications_due ON booking_notifications (due_at) WHERE done_at IS NULL;
CREATE INDEX booking_notifications_done ON booking_notifications (done_at) WHERE done_at IS NOT NULL;
