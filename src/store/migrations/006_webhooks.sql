-- WhatsApp webhook bodies (issue #8): an identical body is kept once (sha256 of the raw bytes);
-- the channels whose app secret signed a body are recorded with it, and processing acts only on
-- their changes; a body that fails processing is retried with backoff, then set aside (never
-- retried by the sweep, never pruned); processed bodies are deleted after a retention period.
ALTER TABLE wa_webhooks ADD COLUMN sha256 BLOB;             -- of the raw body; NULL on rows kept before 006
ALTER TABLE wa_webhooks ADD COLUMN verified TEXT;           -- JSON array of channel ids whose app secret signed it; NULL before 006 (all)
ALTER TABLE wa_webhooks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;  -- failed processing attempts
ALTER TABLE wa_webhooks ADD COLUMN next_attempt_at INTEGER; -- after a failure: not tried again before this
ALTER TABLE wa_webhooks ADD COLUMN set_aside_at INTEGER;    -- failed for good: the sweep leaves it alone
ALTER TABLE wa_webhooks ADD COLUMN error TEXT;              -- why the last attempt failed
CREATE UNIQUE INDEX wa_webhooks_sha256 ON wa_webhooks(sha256) WHERE sha256 IS NOT NULL;
-- The sweep's list: not processed and not set aside (replaces wa_webhooks_pending of 003).
DROP INDEX wa_webhooks_pending;
CREATE INDEX wa_webhooks_due ON wa_webhooks(id) WHERE processed_at IS NULL AND set_aside_at IS NULL;
CREATE INDEX wa_webhooks_processed ON wa_webhooks(processed_at) WHERE processed_at IS NOT NULL;
