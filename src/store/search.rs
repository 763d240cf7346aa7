//! Search in the queue: what a search looks for (names, phones, message words), how each side
//! is read from its index, and the SQL condition a page of the queue is read with.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};

use super::Result;
use super::terms;

/// A search, as [`crate::service::queue::search`] normalised what a person typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// The words (letters, digits and emoji; Arabic vowel marks removed), at most 8.
    pub words: Vec<String>,
    /// The digits of a typed phone number (without an international `00` or trunk `0`), when
    /// the whole query is one; it is then looked for in phones only (and messages by word).
    pub phone: Option<String>,
}

impl Search {
    /// A query of fewer than 3 letters or digits in all: answered by name word prefix only
    /// (trigrams need 3 characters, and a 1–2 letter prefix over every message would match
    /// most of them).
    pub fn is_short(&self) -> bool {
        self.words.iter().map(|w| w.chars().count()).sum::<usize>() < 3
    }
}

/// Which contacts index answers a search, and its FTS5 query: the phone's digits as a
/// substring of the indexed digits; every word (all of 3+ characters) as a substring of the name
/// or phone; otherwise every word as a name word prefix. Words are quoted, so operators in the
/// input are taken literally. `None` when there is nothing to look for.
fn contacts_match(s: &Search) -> Option<(&'static str, String)> {
    if let Some(d) = s.phone.as_deref().filter(|d| d.len() >= 3) {
        return Some(("contacts_fts", format!("phone : \"{d}\"")));
    }
    if s.words.is_empty() {
        return None;
    }
    if s.words.iter().all(|w| w.chars().count() >= 3) {
        let q = s
            .words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>();
        Some(("contacts_fts", q.join(" AND ")))
    } else {
        let q = s
            .words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>();
        Some(("contacts_words", q.join(" ")))
    }
}

/// The message side of a search: the search terms (domain::search::terms) of every word with a
/// letter or digit, each to begin a term of the conversation. None for short searches (see
/// [`Search::is_short`]).
pub(crate) fn message_terms(s: &Search) -> Vec<String> {
    if s.is_short() {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for t in s.words.iter().flat_map(|w| crate::domain::search::terms(w)) {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Most conversations a search side lists by id before it counts as broad: the page is then read
/// through these ids and sorted, which stays within a few milliseconds.
pub(super) const FEW: usize = 4000;

/// Conversations, in page order, that a search with message words first reads and tests one by
/// one (a row look-up and a substring test each, ~5–10 µs): a word in more than 1 in 10 of them
/// fills a page of 50 from these alone, however many conversations hold it in all; a rarer one
/// has spent at most a few milliseconds before its index is asked.
pub(super) const WINDOW: usize = 500;

/// Most conversation ids a search reads the page through; with more, the page is read in queue
/// order and each checked against them (a page of 50 then fills after about 50 / the share of
/// conversations they are).
pub(super) const DRIVE: usize = 1000;

/// How a search is answered: [`FEW`], [`WINDOW`] and [`DRIVE`], as parameters so that tests can
/// run every way on the same data (a window of 0 skips the walk).
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    /// Most conversations a side lists by id.
    pub(super) few: usize,
    /// Conversations the walk reads first.
    pub(super) window: usize,
    /// Most ids a page is read through.
    pub(super) drive: usize,
}

/// The contacts side of a search as its index answered it.
pub(super) enum ContactSide {
    /// Nothing to look for.
    Nothing,
    /// The conversations of the matching contacts (at most `few`).
    Ids(Vec<i64>),
    /// Too many to list: contacts matching this FTS5 query in this contacts index.
    Broad(&'static str, String),
}

/// How the message side of a search is read.
pub(super) enum MessageSide {
    /// Nothing to look for (no word of 3+ letters in all).
    Nothing,
    /// Every conversation read is tested for every word (the walk).
    Each,
    /// These conversations (at most `few`), each tested for every word.
    Ids(Vec<i64>),
    /// Too many to list: conversations holding a term that begins with this one, each tested
    /// for every word.
    Holding(String),
}

/// Conversations with a contact matching `m` in contacts index `table`: their ids, or `None`
/// when there are more than [`FEW`] contacts.
fn few_by_contact(conn: &Connection, table: &str, m: &str, few: usize) -> Result<Option<Vec<i64>>> {
    let contacts: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ?1 LIMIT ?2"
        ))?
        .query_map(params![m, few as i64 + 1], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if contacts.len() > few {
        return Ok(None);
    }
    let list = serde_json::to_string(&contacts)?;
    let ids = conn
        .prepare_cached(
            "SELECT c.id FROM conversations c WHERE c.contact_id IN (SELECT value FROM json_each(?1))",
        )?
        .query_map([list], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(ids))
}

/// The contacts side of a search.
pub(super) fn contact_side(conn: &Connection, search: &Search, few: usize) -> Result<ContactSide> {
    Ok(match contacts_match(search) {
        None => ContactSide::Nothing,
        Some((table, m)) => match few_by_contact(conn, table, &m, few)? {
            Some(ids) => ContactSide::Ids(ids),
            None => ContactSide::Broad(table, m),
        },
    })
}

/// The message side of a search with `words` (see [`message_terms`]) once the walk did not
/// answer: the conversations of its longest word (the likeliest to be rare) when they are few,
/// otherwise that word to be checked per conversation. The page then tests every word.
pub(super) fn message_side(conn: &Connection, words: &[String], few: usize) -> Result<MessageSide> {
    let Some(longest) = words.iter().max_by_key(|w| w.chars().count()) else {
        return Ok(MessageSide::Nothing);
    };
    Ok(match terms::list_holding(conn, longest, few)? {
        Some(ids) => MessageSide::Ids(ids),
        None => MessageSide::Holding(longest.clone()),
    })
}

/// The SQL condition for a search whose sides are `contact` and `message` (its words `words`),
/// pushing its parameters onto `args`. Sides given by ids drive the page when there are at most
/// `drive` ids in all (they are read and sorted); otherwise they, like a broad side, are checked
/// while the page is read in order (`+`: never look up and sort every member, which the planner
/// would otherwise pick, 0.3–0.5 s for 100k). Every
/// conversation the message side yields is tested for every word (conversation_terms), so the
/// answer is the same whichever way a side was read.
pub(super) fn search_clause(
    contact: &ContactSide,
    message: &MessageSide,
    words: &[String],
    drive: usize,
    args: &mut Vec<SqlValue>,
) -> Result<String> {
    let arg = |v: String, args: &mut Vec<SqlValue>| {
        args.push(v.into());
        format!("?{}", args.len())
    };
    let holds = |args: &mut Vec<SqlValue>| {
        words
            .iter()
            .map(|w| terms::holds_clause(&arg(w.clone(), args)))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let mut parts: Vec<String> = Vec::new();
    let mut driving: Vec<i64> = Vec::new();
    let mut all_ids = true;
    match contact {
        ContactSide::Nothing => {}
        ContactSide::Ids(ids) => {
            if !ids.is_empty() {
                let p = arg(serde_json::to_string(ids)?, args);
                parts.push(format!("+c.id IN (SELECT value FROM json_each({p}))"));
                driving.extend(ids);
            }
        }
        ContactSide::Broad(table, m) => {
            all_ids = false;
            let p = arg(m.clone(), args);
            parts.push(format!(
                "+c.contact_id IN (SELECT rowid FROM {table} WHERE {table} MATCH {p})"
            ));
        }
    }
    match message {
        MessageSide::Nothing => {}
        MessageSide::Each => {
            all_ids = false;
            parts.push(format!("({})", holds(args)));
        }
        MessageSide::Ids(ids) => {
            if !ids.is_empty() {
                let p = arg(serde_json::to_string(ids)?, args);
                let h = holds(args);
                parts.push(format!(
                    "(+c.id IN (SELECT value FROM json_each({p})) AND {h})"
                ));
                driving.extend(ids);
            }
        }
        MessageSide::Holding(word) => {
            all_ids = false;
            let p = arg(terms::fts_prefix(word), args);
            let h = holds(args);
            parts.push(format!(
                "(+c.id IN (SELECT rowid >> {bits} FROM conversation_terms_fts
                    WHERE conversation_terms_fts MATCH {p}) AND {h})",
                bits = terms::CHUNK_BITS
            ));
        }
    }
    if parts.is_empty() {
        // Nothing to look for, or nothing found.
        return Ok("0".to_string());
    }
    let mut clause = format!("({})", parts.join(" OR "));
    // Many ids: cheaper to check while reading the queue in order (the order index carries the
    // filters) than to look each up and sort them all (~3 µs each).
    if all_ids && driving.len() <= drive {
        driving.sort_unstable();
        driving.dedup();
        let p = arg(serde_json::to_string(&driving)?, args);
        clause = format!("c.id IN (SELECT value FROM json_each({p})) AND {clause}");
    }
    Ok(clause)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use crate::domain::policy::Scope;
    use crate::store::queue::list_conversations;
    use crate::store::queue::search_tests::query;

    /// Ids of the conversations a search of `words` finds in the All view, newest first.
    fn found(conn: &Connection, words: &[&str]) -> Vec<i64> {
        let (page, _) = list_conversations(conn, &query(Scope::All, words)).expect("list");
        page.iter().map(|c| c.id.0).collect()
    }

    /// A database at main's last shipped version (13 migrations run: 001–010, 012, 013,
    /// 015), with rows those wrote, upgrades when the server opens it: the word index is built
    /// from the messages that exist, and the rows of 012–015 are kept.
    #[test]
    fn migration_019_reads_the_messages_that_exist_already() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        let migrations = crate::store::migrations();
        migrations
            .to_version(&mut conn, 13)
            .expect("migrate to main's version 13 (015)");
        conn.execute_batch(
            "INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
             INSERT INTO users (id, email, name, role, password_hash, created_at)
                 VALUES (1, 'a@x', 'A', 'agent', 'h', 0);
             INSERT INTO contacts (id, name, created_at) VALUES (1, 'Ana', 0), (2, 'Omar', 0);
             INSERT INTO conversations (id, channel_id, contact_id, status, assignee_id, pending_since,
                     last_message_at, created_at, updated_at)
                 VALUES (1, 1, 1, 'pending', 1, 5, 0, 0, 0), (2, 1, 2, 'open', NULL, NULL, 1, 0, 0);
             INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at)
                 VALUES (1, 1, 'in', 'Where is my parcel?', 'received', 0),
                        (2, 1, 'in', 'شكراً يا مُحَمَّد', 'received', 2);
             INSERT INTO messages (conversation_id, channel_id, direction, text, status, author_id, created_at)
                 VALUES (1, 1, 'out', 'Le café arrive mardi', 'delivered', 1, 1);
             INSERT INTO routing_rules (position, created_at, updated_at) VALUES (1, 0, 0);",
        )
        .expect("rows of version 13");
        drop(conn);
        drop(crate::store::Store::open(dir.path()).expect("the server opens it"));
        let conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, crate::store::migrations_count());
        let kept: (i64, i64, Option<i64>) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM routing_rules), (SELECT COUNT(*) FROM staff_replies),
                        (SELECT pending_since FROM conversations WHERE id = 1)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("rows of 012–015");
        assert_eq!(kept, (1, 1, Some(5)));
        let found = |words: &[&str]| found(&conn, words);
        // The older message of a conversation, its words with the newer one's, accents and
        // Arabic vowel marks left out, and word prefixes.
        assert_eq!(found(&["parc"]), vec![1]);
        assert_eq!(found(&["parcel", "cafe"]), vec![1]);
        assert_eq!(found(&["CAFÉ"]), vec![1]);
        assert_eq!(found(&["شكرا"]), vec![2]);
        assert_eq!(found(&["محمد"]), vec![2]);
        assert_eq!(found(&["xylophone"]), Vec::<i64>::new());
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM conversation_terms", [], |r| r.get(0))
            .expect("count");
        assert_eq!(kept, 2);
    }

    /// A database at main's version before 021 (16 migrations run), with a conversation the
    /// bot holds, upgrades when the server opens it: the order index now carries bot_until, and
    /// a search still leaves the held conversation out.
    #[test]
    fn migration_021_adds_the_bot_hold_to_the_order_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        crate::store::migrations()
            .to_version(&mut conn, 16)
            .expect("migrate to version 16 (019)");
        conn.execute_batch(
            "INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
             INSERT INTO contacts (id, name, created_at) VALUES (1, 'Ana Lima', 0), (2, 'Ana Souza', 0);
             INSERT INTO conversations (id, channel_id, contact_id, status, last_message_at,
                     created_at, updated_at, bot_until)
                 VALUES (1, 1, 1, 'open', 1, 0, 0, NULL), (2, 1, 2, 'open', 2, 0, 0, 99);",
        )
        .expect("rows of version 16");
        drop(conn);
        drop(crate::store::Store::open(dir.path()).expect("the server opens it"));
        let conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_index_info('conv_recent') ORDER BY seqno")
            .expect("index info")
            .query_map([], |r| r.get(0))
            .expect("columns")
            .collect::<rusqlite::Result<_>>()
            .expect("names");
        assert_eq!(
            columns,
            [
                "last_message_at",
                "id",
                "assignee_id",
                "team_id",
                "status",
                "contact_id",
                "bot_until"
            ]
        );
        assert_eq!(found(&conn, &["ana"]), vec![1]);
    }

    #[test]
    fn migration_008_indexes_the_rows_that_exist_already() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("old.db")).expect("open");
        let migrations = crate::store::migrations();
        migrations.to_version(&mut conn, 5).expect("migrate to 005");
        conn.execute_batch(
            "INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
             INSERT INTO contacts (id, name, phone, created_at) VALUES (1, 'Zé Ribeiro', '+49 151 2345-6789', 0);
             INSERT INTO conversations (id, channel_id, contact_id, last_message_at, created_at, updated_at)
                 VALUES (1, 1, 1, 0, 0, 0);
             INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at)
                 VALUES (1, 1, 'in', 'Where is my parcel?', 'received', 0);",
        )
        .expect("old rows");
        migrations.to_latest(&mut conn).expect("migrate");
        let found = |words: &[&str], phone: Option<&str>| {
            let mut q = query(Scope::All, words);
            if let Some(search) = q.search.as_mut() {
                search.phone = phone.map(String::from);
            }
            list_conversations(&conn, &q).expect("list").0.len()
        };
        assert_eq!(found(&["ribei"], None), 1);
        assert_eq!(found(&["ze"], None), 1);
        assert_eq!(found(&["4915123456789"], Some("4915123456789")), 1);
        assert_eq!(found(&["parc"], None), 1);
        assert_eq!(found(&["xylophone"], None), 0);
    }
}
