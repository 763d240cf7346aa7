-- Staff invitations and password resets (#14): one-time links. The token itself is never stored,
-- only its SHA-256; a link is live while it is neither used nor revoked and `expires_at` (UTC ms)
-- is in the future. Issuing a new link for a user revokes the previous one, so at most one is
-- live per user.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    token_hash  BLOB NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER,
    created_by  INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX invitations_live ON invitations(user_id) WHERE used_at IS NULL AND revoked_at IS NULL;
