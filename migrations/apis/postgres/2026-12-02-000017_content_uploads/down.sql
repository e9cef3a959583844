DROP TABLE content_removals;
DROP TABLE content_files;
