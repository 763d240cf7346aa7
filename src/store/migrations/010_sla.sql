-- SLA policies and the running SLA clocks (#10). A clock per conversation and target; the
-- scheduler reads clocks by `next_at` (the next moment one warns or breaches) through a partial
-- index, never by scanning conversations.
CREATE TABLE sla_policies (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    team_id             INTEGER REFERENCES teams(id),
    priority            TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    first_response_secs INTEGER CHECK (first_response_secs > 0),
    next_response_secs  INTEGER CHECK (next_response_secs > 0),
    resolution_secs     INTEGER CHECK (resolution_secs > 0),
    warn_at             REAL NOT NULL DEFAULT 0.8 CHECK (warn_at > 0 AND warn_at < 1),
    business_hours      INTEGER NOT NULL DEFAULT 0 CHECK (business_hours IN (0, 1)),
    pause_when_pending  INTEGER NOT NULL DEFAULT 1 CHECK (pause_when_pending IN (0, 1)),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE sla_clocks (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    target          TEXT NOT NULL CHECK (target IN ('first_response', 'next_response', 'resolution')),
    cycle_id        INTEGER NOT NULL,
    policy_id       INTEGER NOT NULL,
    started_at      INTEGER NOT NULL, -- what the target counts from (cycle start, customer message)
    resumed_at      INTEGER NOT NULL, -- start of the current running stretch (after a pause)
    consumed_secs   INTEGER NOT NULL DEFAULT 0, -- clock time used before `resumed_at`
    paused          INTEGER NOT NULL DEFAULT 0,
    warn_at         INTEGER NOT NULL,
    due_at          INTEGER NOT NULL,
    warned          INTEGER NOT NULL DEFAULT 0,
    breached        INTEGER NOT NULL DEFAULT 0,
    stopped_at      INTEGER, -- met, or no longer applies
    next_at         INTEGER, -- when the scheduler must look again; NULL: nothing to fire
    PRIMARY KEY (conversation_id, target)
) STRICT, WITHOUT ROWID;
CREATE INDEX sla_clocks_next ON sla_clocks(next_at) WHERE next_at IS NOT NULL;
CREATE INDEX sla_clocks_due ON sla_clocks(due_at) WHERE stopped_at IS NULL AND paused = 0;

-- Take-back and the unassigned alert (#10): when the current assignee got the conversation, and
-- whether its "waiting unassigned" alert was raised (once per conversation). Each scheduler
-- query reads one partial index ordered by the customer's waiting time.
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN unassigned_alerted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conv_unassigned_wait ON conversations(waiting_since)
    WHERE assignee_id IS NULL AND status = 'open' AND unassigned_alerted = 0 AND waiting_since IS NOT NULL;
CREATE INDEX conv_assigned_wait ON conversations(waiting_since)
    WHERE assignee_id IS NOT NULL AND status = 'open' AND waiting_since IS NOT NULL;
-- Oldest first and "Take next" (#10): the pool by waiting time.
CREATE INDEX conv_pool_wait ON conversations(waiting_since)
    WHERE assignee_id IS NULL AND status = 'open' AND waiting_since IS NOT NULL;
