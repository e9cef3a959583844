DROP TABLE content_bookmarks;
DROP TABLE content_progress;
DROP TABLE content_tracks;
DROP TABLE content_sessions;
DROP TABLE content_retreats;
