DROP TABLE booking_notifications;
