-- Documents a consultant hands in for review (ID, certificates): stored privately under
-- booking_documents_dir, served to admins only over signed short-lived links.
CREATE TABLE booking_documents (
    id TEXT PRIMARY KEY NOT NULL,
    consultant_id TEXT NOT NULL REFERENCES booking_consultants(id) ON DELETE CASCADE,
    -- id | certificate | other
    kind TEXT NOT NULL,
    -- the file name as uploaded (shown to admins, used for the download)
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX booking_documents_consultant ON booking_documents (consultant_id, uploaded_at);

-- Who reviewed a profile last (the admin's token subject); why is rejection_reason.
ALTER TABLE booking_consultants ADD COLUMN reviewed_by TEXT;
