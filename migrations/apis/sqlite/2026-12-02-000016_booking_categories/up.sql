-- Service categories (name, description, order); a service belongs to at most one, and a
-- deleted category leaves its services uncategorised.
CREATE TABLE booking_categories (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- lower-cased name: no two categories share a name, whatever the case
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE booking_services ADD COLUMN category_id TEXT REFERENCES booking_categories(id) ON DELETE SET NULL;
CREATE INDEX booking_services_category ON booking_services (category_id, consultant_id);
