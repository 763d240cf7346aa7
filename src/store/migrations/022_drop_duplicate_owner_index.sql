-- Ingest with routing on (#10, "Measure"): `conv_owner_open` (012) duplicates `conv_owner_load`
-- (020) — the same partial WHERE, `assignee_id` first — and no query plan uses it any more
-- (routing counts a person's load through `conv_status_owner`, the Now board and the queue
-- counts through `conv_owner_load`). It was one more index written on every change of an
-- assigned conversation's status or owner, including every customer message to it.
DROP INDEX conv_owner_open;
