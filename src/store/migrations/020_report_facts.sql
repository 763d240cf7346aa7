-- Reports at size (#11, "Measure"): a cycle row carries every fact the summary reads, so a report
-- reads one table through its index on the period, with no join per row.
--
-- The conversation's channel, team and assignee as they are now (the summary filters by the
-- current team and counts an unresolved cycle for the current assignee): mirrors kept by the
-- triggers below, whichever writer changes the conversation.
ALTER TABLE cycles ADD COLUMN channel_id INTEGER;
ALTER TABLE cycles ADD COLUMN team_id INTEGER;
ALTER TABLE cycles ADD COLUMN assignee_id INTEGER;
-- First response and resolution time counted in business hours only (whole seconds, under the
-- calendar of the settings `timezone`, `business_hours` and `holidays`). Written in Rust
-- (store::cycles::update_business_secs) by the cycle writers, by the settings writer when the
-- calendar changes (all cycles) and by this migration's Rust step. NULL: not answered / not
-- resolved, no business hours set, or not computed yet (the report then computes it itself).
ALTER TABLE cycles ADD COLUMN first_response_business_secs INTEGER;
ALTER TABLE cycles ADD COLUMN resolution_business_secs INTEGER;

UPDATE cycles SET (channel_id, team_id, assignee_id) =
    (SELECT c.channel_id, c.team_id, c.assignee_id FROM conversations c
      WHERE c.id = cycles.conversation_id);

-- The summary reads every column it needs from this index, in period order: reading the table
-- rows through an index on started_at alone jumps across the table (cycles are written in
-- conversation order) and took most of a 90-day report.
CREATE INDEX cycles_period ON cycles(started_at, first_response_at, first_responder_id,
    resolved_at, resolved_by, assignee_id, team_id, channel_id, sla_applied, sla_breached,
    csat_score, first_response_business_secs, resolution_business_secs);
DROP INDEX cycles_started;

CREATE TRIGGER cycles_scope_on_insert AFTER INSERT ON cycles
BEGIN
    UPDATE cycles SET (channel_id, team_id, assignee_id) =
        (SELECT c.channel_id, c.team_id, c.assignee_id FROM conversations c
          WHERE c.id = NEW.conversation_id)
     WHERE id = NEW.id;
END;
CREATE TRIGGER cycles_scope_on_conversation AFTER UPDATE OF channel_id, team_id, assignee_id
    ON conversations
WHEN OLD.channel_id IS NOT NEW.channel_id OR OLD.team_id IS NOT NEW.team_id
  OR OLD.assignee_id IS NOT NEW.assignee_id
BEGIN
    UPDATE cycles SET channel_id = NEW.channel_id, team_id = NEW.team_id,
                      assignee_id = NEW.assignee_id
     WHERE conversation_id = NEW.id;
END;
-- Whoever moves a cycle's times (the cycle writers, the bot's release) makes its business-hours
-- figures stale; they are written again after, never read stale.
CREATE TRIGGER cycles_business_stale AFTER UPDATE OF started_at, first_response_at, resolved_at
    ON cycles
WHEN OLD.started_at IS NOT NEW.started_at OR OLD.first_response_at IS NOT NEW.first_response_at
  OR OLD.resolved_at IS NOT NEW.resolved_at
BEGIN
    UPDATE cycles SET first_response_business_secs = NULL, resolution_business_secs = NULL
     WHERE id = NEW.id;
END;

-- Conversations per agent: who was given which conversation when, one row per
-- `conversation.claimed` / `conversation.assigned` event with a person in `to` (a release to the
-- pool has none), kept by triggers from the events themselves so it cannot differ from them; a
-- report counts these rows through their index instead of reading JSON of every event.
CREATE TABLE assignments (
    event_id        INTEGER PRIMARY KEY, -- the event's id
    conversation_id INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX assignments_at ON assignments(at, user_id, conversation_id);

INSERT INTO assignments (event_id, conversation_id, user_id, at)
SELECT e.id, e.conversation_id, json_extract(e.data, '$.to.id'), e.created_at FROM events e
 WHERE e.kind IN ('conversation.claimed', 'conversation.assigned')
   AND e.conversation_id IS NOT NULL AND json_extract(e.data, '$.to.id') IS NOT NULL;

CREATE TRIGGER assignments_on_event AFTER INSERT ON events
WHEN NEW.kind IN ('conversation.claimed', 'conversation.assigned')
 AND NEW.conversation_id IS NOT NULL AND json_extract(NEW.data, '$.to.id') IS NOT NULL
BEGIN
    INSERT INTO assignments (event_id, conversation_id, user_id, at)
    VALUES (NEW.id, NEW.conversation_id, json_extract(NEW.data, '$.to.id'), NEW.created_at);
END;
CREATE TRIGGER assignments_on_event_time AFTER UPDATE OF created_at ON events
BEGIN
    UPDATE assignments SET at = NEW.created_at WHERE event_id = NEW.id;
END;
CREATE TRIGGER assignments_on_event_delete AFTER DELETE ON events
BEGIN
    DELETE FROM assignments WHERE event_id = OLD.id;
END;

-- Replies of a period read from one index (no row lookups): messages and reply times per agent.
CREATE INDEX staff_replies_period ON staff_replies(at, user_id, waited_from, conversation_id);
DROP INDEX staff_replies_at;

-- The Now board: every agent's load from one pass over the unresolved assigned conversations,
-- and the unassigned queue, each from a covering index.
CREATE INDEX conv_owner_load ON conversations(assignee_id, status, waiting_since, team_id)
    WHERE assignee_id IS NOT NULL AND status <> 'resolved';
CREATE INDEX conv_queue_now ON conversations(team_id, waiting_since)
    WHERE assignee_id IS NULL AND status <> 'resolved' AND bot_until IS NULL;
-- SLA at risk / breached now: the running clocks only.
CREATE INDEX sla_clocks_running ON sla_clocks(conversation_id, warned, breached)
    WHERE stopped_at IS NULL;
-- /metrics: the oldest webhook not processed yet, without reading the processed ones.
CREATE INDEX wa_webhooks_waiting ON wa_webhooks(received_at) WHERE processed_at IS NULL;
