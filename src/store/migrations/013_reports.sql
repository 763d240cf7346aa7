-- Reports (#11): what the figures read, written when the facts happen so a report reads cycles
-- and replies, never the messages table.
--
-- CSAT (#13 records it through store::reports::update_cycle_csat): the customer's 1-5 answer on a
-- resolved cycle and when it came. The agent it counts for is the cycle's `resolved_by`.
ALTER TABLE cycles ADD COLUMN csat_score INTEGER CHECK (csat_score BETWEEN 1 AND 5);
ALTER TABLE cycles ADD COLUMN csat_answered_at INTEGER;
-- SLA outcome of a cycle: whether any SLA clock ran for it and whether one breached. The clocks
-- themselves are replaced at the next cycle, so the outcome is kept here by the triggers below.
ALTER TABLE cycles ADD COLUMN sla_applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cycles ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cycles_resolved ON cycles(resolved_at) WHERE resolved_at IS NOT NULL;

UPDATE cycles SET sla_applied = 1,
    sla_breached = (SELECT MAX(k.breached) FROM sla_clocks k WHERE k.cycle_id = cycles.id)
 WHERE id IN (SELECT cycle_id FROM sla_clocks);

CREATE TRIGGER cycles_sla_on_insert AFTER INSERT ON sla_clocks
BEGIN
    UPDATE cycles SET sla_applied = 1, sla_breached = MAX(sla_breached, NEW.breached)
     WHERE id = NEW.cycle_id;
END;
CREATE TRIGGER cycles_sla_on_update AFTER UPDATE OF breached, cycle_id ON sla_clocks
BEGIN
    UPDATE cycles SET sla_applied = 1, sla_breached = MAX(sla_breached, NEW.breached)
     WHERE id = NEW.cycle_id;
END;

-- Every customer-visible message written by a person (automated messages have no author), with
-- the cycle it belongs to and, when the customer was waiting, since when (the conversation's
-- `waiting_since` just before the reply): messages per agent and reply times.
CREATE TABLE staff_replies (
    id              INTEGER PRIMARY KEY, -- the message id
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    cycle_id        INTEGER,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    at              INTEGER NOT NULL,
    waited_from     INTEGER
) STRICT;
CREATE INDEX staff_replies_at ON staff_replies(at);

INSERT INTO staff_replies (id, conversation_id, cycle_id, user_id, at, waited_from)
SELECT m.id, m.conversation_id, NULL, m.author_id, m.created_at, NULL
  FROM messages m WHERE m.direction = 'out' AND m.author_id IS NOT NULL;

CREATE TRIGGER staff_replies_on_message AFTER INSERT ON messages
WHEN NEW.direction = 'out' AND NEW.author_id IS NOT NULL
BEGIN
    INSERT INTO staff_replies (id, conversation_id, cycle_id, user_id, at, waited_from)
    SELECT NEW.id, c.id, c.cycle_id, NEW.author_id, NEW.created_at, c.waiting_since
      FROM conversations c WHERE c.id = NEW.conversation_id;
END;

-- /metrics counts failed outbox rows by reason at every scrape.
CREATE INDEX outbox_failed ON outbox(message_id) WHERE state = 'failed';
