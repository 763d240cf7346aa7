-- Search: customers by name and phone from indexes instead of LIKE '%…%' scans (issue #8).
--
-- contacts_fts: every 3-character substring (trigram) of the name and of the phone's digits,
-- case- and accent-insensitive, so "mari", "haddad", "jose" (for José) and any run of 3+ digits
-- of a number are index look-ups.
-- contacts_words: names by word prefix, for 1–2 character queries, which trigrams cannot answer;
-- emoji count as words here, so a name's 🌸 can be searched for.
-- Both are contentless (the text stays in contacts) and kept in step by the triggers below.
CREATE VIRTUAL TABLE contacts_fts USING fts5(name, phone, content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 0 remove_diacritics 1');
CREATE VIRTUAL TABLE contacts_words USING fts5(name, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2 categories ''L* N* Co So''', prefix = '1 2');

-- What is indexed of a contact; the one place this is spelled (service::queue::search mirrors
-- it for what people type):
-- name: without Arabic vowel marks (harakat U+064B–U+0652, superscript alef U+0670) and tatweel
--   (U+0640), which most people leave out when typing; "مُحَمَّد" is found by "محمد".
-- phone: digits only, without the characters people put between them, so the stored form
--   ("4915123456789", "+4915123456789", "+49 151 2345-6789") does not matter.
CREATE VIEW contacts_search_text AS
SELECT id,
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name,
        char(1611), ''), char(1612), ''), char(1613), ''), char(1614), ''), char(1615), ''),
        char(1616), ''), char(1617), ''), char(1618), ''), char(1600), ''), char(1648), '') AS name,
    replace(replace(replace(replace(replace(replace(replace(replace(replace(COALESCE(phone, ''),
        '+', ''), ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', ''), char(9), ''),
        char(160), '') AS phone
FROM contacts;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, name, phone)
        SELECT id, name, phone FROM contacts_search_text WHERE id = new.id;
    INSERT INTO contacts_words(rowid, name)
        SELECT id, name FROM contacts_search_text WHERE id = new.id;
END;
-- Only when the name or phone really changed: an inbound message writes them every time.
CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, phone ON contacts
    WHEN old.name IS NOT new.name OR old.phone IS NOT new.phone BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
    DELETE FROM contacts_words WHERE rowid = old.id;
    INSERT INTO contacts_fts(rowid, name, phone)
        SELECT id, name, phone FROM contacts_search_text WHERE id = new.id;
    INSERT INTO contacts_words(rowid, name)
        SELECT id, name FROM contacts_search_text WHERE id = new.id;
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
    DELETE FROM contacts_words WHERE rowid = old.id;
END;

-- The contacts that exist already.
INSERT INTO contacts_fts(rowid, name, phone) SELECT id, name, phone FROM contacts_search_text;
INSERT INTO contacts_words(rowid, name) SELECT id, name FROM contacts_search_text;

-- Message text by word prefix (unicode61, as messages_fts of 002 had it), keyed by conversation:
-- rowid = conversation_id << 32 | message id. A search then reads conversation ids straight from
-- the index (no look-up of each matching message), and "does conversation c have a matching
-- message" is one rowid-range probe. Replaces messages_fts, which nothing else reads.
-- Arabic vowel marks and tatweel are left out, as for names (unicode61 would split words at them).
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE message_words USING fts5(text, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2');
CREATE VIEW messages_search_text AS
SELECT id, (conversation_id << 32) | id AS key,
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(text,
        char(1611), ''), char(1612), ''), char(1613), ''), char(1614), ''), char(1615), ''),
        char(1616), ''), char(1617), ''), char(1618), ''), char(1600), ''), char(1648), '') AS text
FROM messages;
CREATE TRIGGER message_words_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_words(rowid, text) SELECT key, text FROM messages_search_text WHERE id = new.id;
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF text, conversation_id ON messages BEGIN
    DELETE FROM message_words WHERE rowid = (old.conversation_id << 32) | old.id;
    INSERT INTO message_words(rowid, text) SELECT key, text FROM messages_search_text WHERE id = new.id;
END;
CREATE TRIGGER message_words_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_words WHERE rowid = (old.conversation_id << 32) | old.id;
END;
INSERT INTO message_words(rowid, text) SELECT key, text FROM messages_search_text;
