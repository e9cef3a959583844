ALTER TABLE booking_consultants DROP COLUMN reviewed_by;
DROP TABLE booking_documents;
