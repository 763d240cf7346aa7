//! conversation_terms (migration 019): the search terms of each conversation's messages, added
//! to as messages are stored, and the look-ups a search makes of them (see store::queue).

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::Result;
use crate::domain::search::terms;

/// Bits of a conversation_terms key that number a conversation's chunks (key = conversation id
/// << CHUNK_BITS | chunk).
pub(crate) const CHUNK_BITS: u32 = 16;
const LAST_CHUNK: i64 = (1 << CHUNK_BITS) - 1;
/// Bytes of terms text a chunk takes before the next one is started: a new word then rewrites
/// (and re-indexes) at most this much, however long the conversation.
const CHUNK_BYTES: usize = 4000;

/// Adds the terms of a message's `text` to those of `conversation`: a write only when the text
/// brings a term the conversation did not have (one row look-up otherwise).
pub fn insert_terms(conn: &Connection, conversation: i64, text: &str) -> Result<()> {
    let words = terms(text);
    if words.is_empty() {
        return Ok(());
    }
    let first = conversation << CHUNK_BITS;
    let chunks: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT key, terms FROM conversation_terms WHERE key BETWEEN ?1 AND ?2 ORDER BY key",
        )?
        .query_map(params![first, first | LAST_CHUNK], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut known: HashSet<&str> = chunks
        .iter()
        .flat_map(|(_, t)| t.split(' '))
        .filter(|t| !t.is_empty())
        .collect();
    let fresh: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| known.insert(w))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let last = chunks.last().map(|(k, t)| (*k, t.as_str()));
    write_chunks(conn, first, last, &fresh)
}

/// Writes `fresh` terms after the conversation's `last` chunk (key, text), filling it up to
/// [`CHUNK_BYTES`] and starting new chunks after it (`first` is the conversation's first key).
fn write_chunks(
    conn: &Connection,
    first: i64,
    last: Option<(i64, &str)>,
    fresh: &[&str],
) -> Result<()> {
    let (mut key, mut text, mut stored) = match last {
        Some((k, t)) => (k, t.to_string(), true),
        None => (first, " ".to_string(), false),
    };
    let save = |key: i64, text: &str, stored: bool| -> Result<()> {
        let sql = if stored {
            "UPDATE conversation_terms SET terms = ?2 WHERE key = ?1"
        } else {
            "INSERT INTO conversation_terms (key, terms) VALUES (?1, ?2)"
        };
        conn.prepare_cached(sql)?.execute(params![key, text])?;
        Ok(())
    };
    let mut dirty = false;
    for term in fresh {
        // A chunk is never left empty, and the last chunk number takes whatever is left.
        if text.len() + term.len() + 1 > CHUNK_BYTES && text.len() > 1 && key - first < LAST_CHUNK {
            if dirty {
                save(key, &text, stored)?;
            }
            key += 1;
            text = " ".to_string();
            stored = false;
        }
        text.push_str(term);
        text.push(' ');
        dirty = true;
    }
    if dirty {
        save(key, &text, stored)?;
    }
    Ok(())
}

/// Empties conversation_terms and fills it again from every stored message (migration 019's
/// step for the messages that exist, and the benchmark's after bulk generation). Returns the
/// number of messages read.
pub fn rebuild(conn: &Connection) -> Result<usize> {
    // The build is one transaction (a migration is). With a connection's small page cache the
    // full-text index's merges spill pages and write them again and again: on a 2M-message
    // database the write-ahead log outgrew the free disk. A large cache for the build only.
    let cache: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0))?;
    conn.pragma_update(None, "cache_size", REBUILD_CACHE_KIB)?;
    let read = fill(conn);
    conn.pragma_update(None, "cache_size", cache)?;
    read
}

/// Page cache while [`rebuild`] runs, in KiB as `cache_size` takes it (negative): 256 MiB,
/// more than conversation_terms and its index take at 2M messages (~100 MB).
const REBUILD_CACHE_KIB: i64 = -262_144;

/// [`rebuild`]'s work.
fn fill(conn: &Connection) -> Result<usize> {
    conn.execute("DELETE FROM conversation_terms", [])?;
    let mut stmt = conn.prepare(
        "SELECT conversation_id, text FROM messages ORDER BY conversation_id, created_at, id",
    )?;
    let mut rows = stmt.query([])?;
    let mut read = 0;
    let mut current: Option<i64> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut order: Vec<String> = Vec::new();
    let flush = |conv: i64, order: &mut Vec<String>, seen: &mut HashSet<String>| {
        let fresh: Vec<&str> = order.iter().map(String::as_str).collect();
        let done = if fresh.is_empty() {
            Ok(())
        } else {
            write_chunks(conn, conv << CHUNK_BITS, None, &fresh)
        };
        order.clear();
        seen.clear();
        done
    };
    while let Some(r) = rows.next()? {
        let conv: i64 = r.get(0)?;
        let text: String = r.get(1)?;
        read += 1;
        if current != Some(conv) {
            if let Some(prev) = current {
                flush(prev, &mut order, &mut seen)?;
            }
            current = Some(conv);
        }
        for t in terms(&text) {
            if !seen.contains(&t) {
                seen.insert(t.clone());
                order.push(t);
            }
        }
    }
    if let Some(prev) = current {
        flush(prev, &mut order, &mut seen)?;
    }
    Ok(read)
}

/// Conversations holding a term that begins with `prefix` (a search term), ascending: their ids,
/// or `None` when there are more than `few`.
pub fn list_holding(conn: &Connection, prefix: &str, few: usize) -> Result<Option<Vec<i64>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT rowid >> {CHUNK_BITS} FROM conversation_terms_fts WHERE conversation_terms_fts MATCH ?1"
    ))?;
    let mut rows = stmt.query([fts_prefix(prefix)])?;
    let mut ids: Vec<i64> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if ids.last() != Some(&id) {
            if ids.len() == few {
                return Ok(None);
            }
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

/// The conversation_terms_fts query for terms beginning with `prefix` (a term: no quote in it).
pub(crate) fn fts_prefix(prefix: &str) -> String {
    format!("\"{prefix}\"*")
}

/// The SQL condition (on conversations `c`) that the conversation holds a term beginning with
/// the text of parameter `param` (`?n`, a term).
pub(crate) fn holds_clause(param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM conversation_terms mt WHERE mt.key BETWEEN c.id << {CHUNK_BITS}
            AND (c.id << {CHUNK_BITS}) | {LAST_CHUNK} AND instr(mt.terms, ' ' || {param}) > 0)"
    )
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;
    use crate::store::open_bare;

    /// Whether conversation `conversation` holds a term beginning with each of `prefixes` (the
    /// substring test a search's page applies).
    fn find_holds(conn: &Connection, conversation: i64, prefixes: &[&str]) -> Result<bool> {
        let first = conversation << CHUNK_BITS;
        for p in prefixes {
            let hit = conn
                .prepare_cached(
                    "SELECT 1 FROM conversation_terms WHERE key BETWEEN ?1 AND ?2
                        AND instr(terms, ' ' || ?3) > 0",
                )?
                .query_row(params![first, first | LAST_CHUNK, p], |_| Ok(()))
                .optional()?;
            if hit.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn conversation(dir: &std::path::Path) -> Connection {
        let conn = open_bare(&dir.join("t.db")).expect("open");
        conn.execute_batch(
            "INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
             INSERT INTO contacts (id, name, created_at) VALUES (1, 'Ana', 0);
             INSERT INTO conversations (id, channel_id, contact_id, last_message_at, created_at, updated_at)
                 VALUES (7, 1, 1, 0, 0, 0);",
        )
        .expect("seed");
        conn
    }

    fn rows(conn: &Connection) -> Vec<(i64, String)> {
        conn.prepare("SELECT key, terms FROM conversation_terms ORDER BY key")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[test]
    fn a_message_adds_only_the_terms_its_conversation_lacks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = conversation(dir.path());
        insert_terms(&conn, 7, "Where is my parcel? My PARCEL!").expect("first");
        assert_eq!(
            rows(&conn),
            vec![(7 << 16, " where is my parcel ".to_string())]
        );
        insert_terms(&conn, 7, "parcel is where").expect("nothing new");
        insert_terms(&conn, 7, "🌸 !!!").expect("no term");
        assert_eq!(
            rows(&conn),
            vec![(7 << 16, " where is my parcel ".to_string())]
        );
        insert_terms(&conn, 7, "Le café, mon parcel").expect("second");
        assert_eq!(
            rows(&conn),
            vec![(7 << 16, " where is my parcel le cafe mon ".to_string())]
        );
        assert_eq!(list_holding(&conn, "caf", 10).expect("list"), Some(vec![7]));
        assert!(find_holds(&conn, 7, &["whe", "cafe"]).expect("holds"));
        assert!(!find_holds(&conn, 7, &["whe", "tea"]).expect("holds"));
    }

    #[test]
    fn a_long_conversation_continues_in_new_chunks_and_every_word_stays_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = conversation(dir.path());
        // 3000 distinct words of 8 letters: about 27 KB of terms, 7 chunks.
        let words: Vec<String> = (0..3000).map(|i| format!("word{i:04}")).collect();
        for batch in words.chunks(100) {
            insert_terms(&conn, 7, &batch.join(" ")).expect("insert");
        }
        let chunks = rows(&conn);
        assert!(chunks.len() >= 7, "{} chunks", chunks.len());
        for (n, (key, text)) in chunks.iter().enumerate() {
            assert_eq!(*key, (7 << 16) + n as i64);
            assert!(text.len() <= CHUNK_BYTES, "chunk {n}: {} bytes", text.len());
        }
        let all: Vec<&str> = chunks
            .iter()
            .flat_map(|(_, t)| t.split_whitespace())
            .collect();
        assert_eq!(all.len(), 3000, "each word once");
        for w in ["word0000", "word1499", "word2999"] {
            assert!(find_holds(&conn, 7, &[w]).expect("holds"), "{w}");
            assert_eq!(
                list_holding(&conn, w, 10).expect("list"),
                Some(vec![7]),
                "{w}"
            );
        }
        assert_eq!(
            list_holding(&conn, "word", 10).expect("list"),
            Some(vec![7])
        );
        // Rebuilt from the messages (none stored here): emptied.
        assert_eq!(rebuild(&conn).expect("rebuild"), 0);
        assert!(rows(&conn).is_empty());
        assert_eq!(list_holding(&conn, "word", 10).expect("list"), Some(vec![]));
    }
}
