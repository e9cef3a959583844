DROP TABLE outbox;
ALTER TABLE attempt_counters DROP COLUMN in_flight_since;
ALTER TABLE attempt_counters DROP COLUMN in_flight;
