DROP TABLE content_downloads;
DROP TABLE content_listening_days;
DROP TABLE content_preferences;
DROP TABLE content_transcripts;
