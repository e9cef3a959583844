DROP INDEX booking_services_category;
ALTER TABLE booking_services DROP COLUMN category_id;
DROP TABLE booking_categories;
