-- Pending auto-resolve (#10): since when a conversation waits on the customer, so the scheduler
-- resolves the ones quiet for `auto_resolve_pending_secs` by reading one partial index, never a
-- scan. Conversations pending before this migration count from their last change.
ALTER TABLE conversations ADD COLUMN pending_since INTEGER;
UPDATE conversations SET pending_since = updated_at WHERE status = 'pending';
CREATE INDEX conv_pending_since ON conversations(pending_since) WHERE status = 'pending';
