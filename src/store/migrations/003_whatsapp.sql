-- WhatsApp Cloud API: webhook bodies kept exactly as Meta signed them (stored before we answer 200,
-- processed afterwards), inbound media downloaded into the data dir, and read receipts sent.

CREATE TABLE wa_webhooks (
    id           INTEGER PRIMARY KEY,
    body         BLOB NOT NULL,     -- the raw request body, byte for byte
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,           -- NULL: not processed yet (resumed after a restart)
    outcome      TEXT               -- what processing made of it, or why it was not understood
) STRICT;
CREATE INDEX wa_webhooks_pending ON wa_webhooks(id) WHERE processed_at IS NULL;

-- One row per inbound media message: fetched at once (Meta keeps media ids for 7 days only).
CREATE TABLE wa_media (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    media_id   TEXT NOT NULL,
    mime_type  TEXT,
    filename   TEXT,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    path       TEXT,    -- relative to the data dir
    size       INTEGER,
    sha256     TEXT,    -- hex of what we stored
    error      TEXT,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX wa_media_pending ON wa_media(updated_at) WHERE state = 'pending';

-- The newest inbound message of a conversation a read receipt was sent for.
CREATE TABLE wa_read_marks (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    marked_at       INTEGER NOT NULL
) STRICT;

-- Webhooks are routed to their channel by metadata.phone_number_id.
CREATE INDEX channels_wa_phone ON channels(json_extract(config, '$.phone_number_id'))
    WHERE kind = 'whatsapp';
