-- Bookings: consultants, their services and hours, and appointments. Times are UTC unix
-- seconds; local times of weekly hours are minutes after local midnight in the
-- consultant's IANA time zone. People are token subjects (this module has no users table).
CREATE TABLE booking_consultants (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    bio TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    photo TEXT,
    time_zone TEXT NOT NULL,
    status TEXT NOT NULL,
    rejection_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    reviewed_at BIGINT
);
CREATE INDEX booking_consultants_status ON booking_consultants(status, created_at);

-- Languages and specialities of a profile: `tag` is the lower-cased form filters match.
CREATE TABLE booking_consultant_tags (
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    tag TEXT NOT NULL,
    label TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (consultant_id, kind, tag)
);
CREATE INDEX booking_consultant_tags_tag ON booking_consultant_tags(kind, tag);

-- Services are never deleted (appointments point at them), only deactivated.
CREATE TABLE booking_services (
    id TEXT PRIMARY KEY NOT NULL,
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX booking_services_consultant ON booking_services(consultant_id, active);

CREATE TABLE booking_availability (
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    weekday BIGINT NOT NULL,
    start_minute BIGINT NOT NULL,
    end_minute BIGINT NOT NULL,
    PRIMARY KEY (consultant_id, weekday, start_minute)
);

-- A day off (no times), hours off, or extra hours on one local date.
CREATE TABLE booking_exceptions (
    id TEXT PRIMARY KEY NOT NULL,
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    start_minute BIGINT,
    end_minute BIGINT,
    available BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX booking_exceptions_day ON booking_exceptions(consultant_id, day);

CREATE TABLE booking_appointments (
    id TEXT PRIMARY KEY NOT NULL,
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    consultant_subject TEXT NOT NULL,
    client_subject TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES booking_services(id) ON DELETE CASCADE,
    service_name TEXT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    cancelled_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX booking_appointments_client ON booking_appointments(client_subject, created_at);
CREATE INDEX booking_appointments_consultant ON booking_appointments(consultant_subject, created_at);
CREATE INDEX booking_appointments_created ON booking_appointments(created_at);

-- The time an active appointment holds, in 5-minute blocks: the primary key is what makes
-- two overlapping bookings of one consultant impossible, whatever requests race.
CREATE TABLE booking_appointment_slots (
    consultant_id TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES booking_appointments(id) ON DELETE CASCADE,
    PRIMARY KEY (consultant_id, slot_start)
);
CREATE INDEX booking_appointment_slots_appointment ON booking_appointment_slots(appointment_id);
