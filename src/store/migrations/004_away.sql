-- Availability set by the server: the status a user had before going offline for lack of an open
-- event stream, restored when one opens again (NULL when the person chose their status).
ALTER TABLE users ADD COLUMN status_before_away TEXT;
