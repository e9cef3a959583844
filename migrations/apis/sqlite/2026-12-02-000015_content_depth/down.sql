DROP TABLE content_downloads;
DROP TABLE content_listening_days;
DROP TABLE content_preferences;
DROP TRIGGER content_transcripts_gone;
DROP TABLE content_transcripts_fts;
DROP TABLE content_transcripts;
