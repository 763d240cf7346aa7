-- The bot (#13): each channel's automation (menu, away message, satisfaction survey) as the JSON
-- object of shared/API.md, written whole.
CREATE TABLE automations (
    channel_id INTEGER PRIMARY KEY REFERENCES channels(id),
    config     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
-- While the menu bot holds a conversation: when it gives up and hands over (ms; NULL when no bot
-- holds it), and how many answers matched no option. Human queue views leave these out; the
-- scheduler reads the partial index for timeouts.
ALTER TABLE conversations ADD COLUMN bot_until INTEGER;
ALTER TABLE conversations ADD COLUMN bot_misses INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conv_bot_until ON conversations(bot_until) WHERE bot_until IS NOT NULL;
-- A satisfaction survey sent for this (resolved) cycle, answer awaited.
ALTER TABLE conversations ADD COLUMN csat_cycle_id INTEGER;
-- The away message went out in this cycle (once per cycle).
ALTER TABLE cycles ADD COLUMN away_sent_at INTEGER;
