DROP TABLE audit_events;
DROP TABLE attempt_counters;
