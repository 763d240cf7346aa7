-- Working together (#9): mentions in notes, and a default team per channel.

-- One row per person a note names ("@Ana" or the note's "mentions" list). While the
-- conversation is unresolved it lets that person see it and write notes (domain::policy);
-- seen_at is set when they open the conversation.
CREATE TABLE mentions (
    id              INTEGER PRIMARY KEY,
    note_id         INTEGER NOT NULL REFERENCES notes(id),
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    seen_at         INTEGER,
    UNIQUE (note_id, user_id)
) STRICT;
-- "My mentions", newest first, and the unseen count.
CREATE INDEX mentions_user ON mentions(user_id, id DESC);
CREATE INDEX mentions_unseen ON mentions(user_id) WHERE seen_at IS NULL;
-- Who is mentioned in a conversation (policy), and "mark seen" on opening it.
CREATE INDEX mentions_conversation ON mentions(conversation_id, user_id);

-- The team a new conversation of this channel gets when no routing rule sets one (NULL: none).
ALTER TABLE channels ADD COLUMN default_team_id INTEGER REFERENCES teams(id);
