-- Web UI: fast tab figures, full-text search over message text, canned replies.

-- Tab figures from indexes alone: the pool by team with its waits, and statuses with owners.
CREATE INDEX conv_pool ON conversations(team_id, COALESCE(waiting_since, last_message_at))
    WHERE assignee_id IS NULL AND status <> 'resolved';
CREATE INDEX conv_status_owner ON conversations(status, assignee_id, team_id);

-- Message text, searchable by word prefix; kept in step by triggers (messages are append-only;
-- only their status changes).
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;

-- Canned replies, inserted in the composer with /shortcut.
CREATE TABLE canned_replies (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL COLLATE NOCASE UNIQUE,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
