-- Core schema. Times are UTC unix milliseconds. Append-only: never edit a shipped migration.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL -- JSON
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'agent')),
    password_hash TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'busy', 'offline')),
    capacity      INTEGER,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL COLLATE NOCASE UNIQUE,
    assignment TEXT NOT NULL DEFAULT 'manual' CHECK (assignment IN ('manual', 'round_robin', 'least_loaded')),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, team_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_team ON memberships(team_id, user_id);

-- API tokens and (later) browser sessions; only the SHA-256 of the secret is stored.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('api', 'whatsapp')),
    name       TEXT NOT NULL,
    config     TEXT NOT NULL DEFAULT '{}', -- JSON, may hold secrets: never sent to clients as is
    secret     TEXT,                       -- API channel: bearer secret and HMAC key
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    phone      TEXT,
    attributes TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_phone ON contacts(phone) WHERE phone IS NOT NULL;

CREATE TABLE contact_identities (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    kind       TEXT NOT NULL, -- 'api', 'wa_id', 'bsuid'
    identifier TEXT NOT NULL,
    UNIQUE (channel_id, kind, identifier)
) STRICT;
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    channel_id        INTEGER NOT NULL REFERENCES channels(id),
    contact_id        INTEGER NOT NULL REFERENCES contacts(id),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
    assignee_id       INTEGER REFERENCES users(id),
    team_id           INTEGER REFERENCES teams(id),
    priority          TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    snoozed_until     INTEGER,
    cycle_id          INTEGER, -- current cycle (see cycles)
    waiting_since     INTEGER, -- oldest unanswered inbound message
    last_message_at   INTEGER NOT NULL,
    last_inbound_at   INTEGER,
    window_closes_at  INTEGER, -- customer service window (channels that have one)
    preview           TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
-- Queue views read one of these in order and stop at the page size.
CREATE INDEX conv_unassigned ON conversations(last_message_at DESC, id DESC)
    WHERE assignee_id IS NULL AND status <> 'resolved';
CREATE INDEX conv_assignee ON conversations(assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conv_status ON conversations(status, last_message_at DESC, id DESC);
CREATE INDEX conv_recent ON conversations(last_message_at DESC, id DESC);
CREATE INDEX conv_team ON conversations(team_id, last_message_at DESC, id DESC);
CREATE INDEX conv_contact ON conversations(contact_id, channel_id, id);
CREATE INDEX conv_snoozed ON conversations(snoozed_until) WHERE status = 'snoozed';

-- A cycle runs from the first inbound message after creation or resolution to the resolution:
-- the unit of first-response and resolution metrics.
CREATE TABLE cycles (
    id                INTEGER PRIMARY KEY,
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id),
    started_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    first_responder_id INTEGER REFERENCES users(id),
    resolved_at       INTEGER,
    resolved_by       INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX cycles_conversation ON cycles(conversation_id, id);
CREATE INDEX cycles_started ON cycles(started_at);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind            TEXT NOT NULL DEFAULT 'text', -- text, template, image, ...
    text            TEXT NOT NULL DEFAULT '',
    payload         TEXT, -- JSON: template, media, provider extras
    author_id       INTEGER REFERENCES users(id),
    status          TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
    error_code      TEXT,
    error_text      TEXT,
    external_id     TEXT, -- provider's message id, for dedupe and status updates
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_timeline ON messages(conversation_id, created_at, id);
CREATE UNIQUE INDEX messages_external ON messages(channel_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    author_id       INTEGER NOT NULL REFERENCES users(id),
    text            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX notes_timeline ON notes(conversation_id, created_at, id);

-- Append-only record of every change: audit log, handoff record, analytics source, live feed.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations(id),
    kind            TEXT NOT NULL,
    actor_id        INTEGER REFERENCES users(id),
    data            TEXT NOT NULL DEFAULT '{}', -- JSON
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX events_conversation ON events(conversation_id, created_at, id);
CREATE INDEX events_kind ON events(kind, created_at);

CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL COLLATE NOCASE UNIQUE,
    color TEXT
) STRICT;

CREATE TABLE conversation_tags (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag_id          INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_tags_tag ON conversation_tags(tag_id, conversation_id);

-- Durable outbound queue, written in the same transaction as the message it sends.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_message ON outbox(message_id);
