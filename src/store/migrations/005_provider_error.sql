-- The provider's own words on a failed message (Meta's error message and details), kept beside
-- our explanation in error_text, so an agent and support can see both.
ALTER TABLE messages ADD COLUMN error_provider TEXT;
