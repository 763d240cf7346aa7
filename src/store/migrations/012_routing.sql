-- Routing (#10): ordered rules that sort a new or reopened conversation (team, tags, priority),
-- and the turn of round robin per person, kept here so it survives a restart.
CREATE TABLE routing_rules (
    id         INTEGER PRIMARY KEY,
    position   INTEGER NOT NULL,
    conditions TEXT NOT NULL DEFAULT '{}', -- JSON: domain::routing::Conditions
    actions    TEXT NOT NULL DEFAULT '{}', -- JSON: domain::routing::Actions
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX routing_rules_order ON routing_rules(position, id);

-- When routing last gave this person a conversation (UTC ms; NULL: never).
ALTER TABLE users ADD COLUMN last_routed_at INTEGER;

-- Capacity: a person's unresolved conversations, counted without reading their resolved ones.
CREATE INDEX conv_owner_open ON conversations(assignee_id)
    WHERE assignee_id IS NOT NULL AND status <> 'resolved';
