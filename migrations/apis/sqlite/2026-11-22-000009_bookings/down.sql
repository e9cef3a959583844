DROP TABLE booking_appointment_slots;
DROP TABLE booking_appointments;
DROP TABLE booking_exceptions;
DROP TABLE booking_availability;
DROP TABLE booking_services;
DROP TABLE booking_consultant_tags;
DROP TABLE booking_consultants;
