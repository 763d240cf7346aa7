-- Search (#8): message text as the set of words each conversation holds, instead of one index
-- row per message (message_words of 008).
--
-- A search lists conversations newest first and shows 50: for a common word the page fills
-- from the first hundred conversations in that order if each can be asked "do you hold this
-- word?" cheaply, whereas reading the word's list from a full-text index costs about as much
-- as it has entries (a ~100k-entry list: 60–130 ms at 200k conversations). conversation_terms
-- answers that question with one row look-up and a substring test; conversation_terms_fts
-- lists the conversations of a rare word.
--
-- conversation_terms: the distinct search terms (domain::search::terms: lower case, accents and
-- Arabic vowel marks left out) of a conversation's messages, as ' term term … ' (space before
-- each and at the end), so "a term begins with p" is instr(terms, ' ' || p) > 0. key =
-- conversation_id << 16 | chunk: a conversation's words fill chunks of about 4 KB in turn (a
-- long conversation's new word rewrites one small row, not all it ever said). Written by the
-- store when a message is inserted (store::terms); rows are only ever added to (messages are
-- never edited or removed in place: an edit or withdrawal arrives as a message of its own).
DROP TRIGGER message_words_insert;
DROP TRIGGER message_words_update;
DROP TRIGGER message_words_delete;
DROP VIEW messages_search_text;
DROP TABLE message_words;
CREATE TABLE conversation_terms (
    key   INTEGER PRIMARY KEY,
    terms TEXT NOT NULL
) STRICT;
-- The same terms by word, for conversations of a rare word. The ascii tokenizer splits at the
-- spaces only (terms hold no other ASCII separator) and changes nothing else, so this index
-- and the substring test agree on every term.
CREATE VIRTUAL TABLE conversation_terms_fts USING fts5(terms, content = 'conversation_terms',
    content_rowid = 'key', tokenize = 'ascii');
CREATE TRIGGER conversation_terms_insert AFTER INSERT ON conversation_terms BEGIN
    INSERT INTO conversation_terms_fts(rowid, terms) VALUES (new.key, new.terms);
END;
CREATE TRIGGER conversation_terms_update AFTER UPDATE ON conversation_terms BEGIN
    INSERT INTO conversation_terms_fts(conversation_terms_fts, rowid, terms)
        VALUES ('delete', old.key, old.terms);
    INSERT INTO conversation_terms_fts(rowid, terms) VALUES (new.key, new.terms);
END;
CREATE TRIGGER conversation_terms_delete AFTER DELETE ON conversation_terms BEGIN
    INSERT INTO conversation_terms_fts(conversation_terms_fts, rowid, terms)
        VALUES ('delete', old.key, old.terms);
END;
-- The messages that exist already are read into conversation_terms by the migration's Rust
-- step (store::terms::rebuild), which needs the terms rule.

-- A search reads the queue in page order and tests each conversation; the order index now also
-- carries what a viewer's scope, the status filter and a broad name search check (assignee,
-- team, status, contact), so that walk reads no table row until a conversation matches (an
-- agent's first 1000 visible conversations cost ~3300 table look-ups, ~9 ms, without them).
DROP INDEX conv_recent;
CREATE INDEX conv_recent ON conversations(last_message_at DESC, id DESC, assignee_id, team_id,
    status, contact_id);
