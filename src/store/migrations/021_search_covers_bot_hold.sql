-- Search (#8): the queue's order index also carries bot_until, so the one filter every list and
-- search path applies (no human view shows a conversation the menu bot holds, #13) is checked in
-- the index. Without it a search that reads the queue in page order looked up every row it
-- passed (~3 µs each), which an agent in own_and_pool, who sees about 1 in 3 conversations, paid
-- three times over: 9000+ look-ups for a broad name at 200k conversations. Columns as in 019,
-- bot_until last.
DROP INDEX conv_recent;
CREATE INDEX conv_recent ON conversations(last_message_at DESC, id DESC, assignee_id, team_id,
    status, contact_id, bot_until);
