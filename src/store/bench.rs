//! SQL for the benchmark only: bulk generation of a large database, and the bare-rusqlite
//! baseline that inserts the rows of one inbound message per transaction.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, open_bare};
use crate::domain::events::{Event, MessageCreated};

/// A small deterministic pseudo-random sequence (xorshift), so runs are comparable.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Next value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// One generated customer and what they wrote (see `bench::corpus`).
pub struct Customer {
    /// Name.
    pub name: String,
    /// Phone, in whatever form a door stored it.
    pub phone: Option<String>,
    /// Message texts, oldest first; inbound and staff replies alternate.
    pub messages: Vec<String>,
}

/// Fills the database in `data_dir` (already migrated, with users `agents` and channel `channel`)
/// with `conversations` conversations, one per customer that `next` makes, in large
/// transactions. Returns the number of messages written.
pub fn generate(
    data_dir: &Path,
    channel: i64,
    agents: &[i64],
    conversations: usize,
    now: i64,
    next: &mut dyn FnMut() -> Customer,
) -> Result<usize> {
    let mut conn = open_bare(&data_dir.join("teaminbox.db"))?;
    // Bulk load only: durability of a half-made test database does not matter.
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -200_000)?;
    let mut rng = Rng::new(42);
    let day = 86_400_000i64;
    let mut made = 0;
    let mut messages = 0;
    while made < conversations {
        let tx = conn.transaction()?;
        {
            let mut contact =
                tx.prepare("INSERT INTO contacts (name, phone, created_at) VALUES (?1, ?2, ?3)")?;
            let mut identity = tx.prepare(
                "INSERT INTO contact_identities (contact_id, channel_id, kind, identifier) VALUES (?1, ?2, 'api', ?3)",
            )?;
            let mut conv = tx.prepare(
                "INSERT INTO conversations (channel_id, contact_id, status, assignee_id, last_message_at, last_inbound_at,
                    waiting_since, preview, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?5)",
            )?;
            let mut msg = tx.prepare(
                "INSERT INTO messages (conversation_id, channel_id, direction, text, author_id, status, external_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for _ in 0..10_000.min(conversations - made) {
                made += 1;
                let customer = next();
                let created = now - 90 * day + rng.below(90 * day as u64) as i64;
                let last = created + rng.below((now - created) as u64 / 4 + 1) as i64;
                contact.execute(params![customer.name, customer.phone, created])?;
                let contact_id = tx.last_insert_rowid();
                identity.execute(params![contact_id, channel, format!("bench-{made}")])?;
                let roll = rng.below(100);
                let status = match roll {
                    0..50 => "resolved",
                    50..80 => "open",
                    80..95 => "pending",
                    _ => "snoozed",
                };
                let assignee = if rng.below(100) < 30 {
                    None
                } else {
                    agents.get(rng.below(agents.len() as u64) as usize).copied()
                };
                let waiting = (status == "open").then_some(last);
                let preview: String = customer
                    .messages
                    .last()
                    .map(|t| t.chars().take(100).collect())
                    .unwrap_or_default();
                conv.execute(params![
                    channel, contact_id, status, assignee, last, waiting, preview, created
                ])?;
                let conv_id = tx.last_insert_rowid();
                let per = customer.messages.len();
                for (m, text) in customer.messages.iter().enumerate() {
                    let at = created + (last - created) * m as i64 / per.max(1) as i64;
                    let inbound = m % 2 == 0;
                    msg.execute(params![
                        conv_id,
                        channel,
                        if inbound { "in" } else { "out" },
                        text,
                        if inbound { None } else { assignee },
                        if inbound { "received" } else { "delivered" },
                        inbound.then(|| format!("g{conv_id}-{m}")),
                        at
                    ])?;
                    // As store::messages::insert_message does.
                    super::terms::insert_terms(&tx, conv_id, text)?;
                }
                messages += per;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch("ANALYZE")?;
    Ok(messages)
}

/// The baseline: the rows one inbound message writes (contact, identity, conversation, cycle on
/// first contact; then message, its search terms, conversation update, event), one transaction
/// per message, on a bare connection with `synchronous=FULL`. Returns the number of messages
/// written.
pub fn baseline_ingest(path: &Path, messages: usize, contacts: usize, now: i64) -> Result<usize> {
    let conn: Connection = open_bare(path)?;
    conn.execute(
        "INSERT INTO channels (kind, name, config, secret, created_at) VALUES ('api', 'bench', '{}', 's', ?1)",
        [now],
    )?;
    let channel = conn.last_insert_rowid();
    for i in 0..messages {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let ident = format!("cust-{}", i % contacts.max(1));
        let found: Option<i64> = conn
            .prepare_cached(
                "SELECT c.id FROM contact_identities ci JOIN conversations c ON c.contact_id = ci.contact_id
                 WHERE ci.channel_id = ?1 AND ci.kind = 'api' AND ci.identifier = ?2",
            )?
            .query_row(params![channel, ident], |r| r.get(0))
            .optional()?;
        let conv = match found {
            Some(c) => c,
            None => {
                conn.prepare_cached("INSERT INTO contacts (name, created_at) VALUES (?1, ?2)")?
                    .execute(params![ident, now])?;
                let contact = conn.last_insert_rowid();
                conn.prepare_cached(
                    "INSERT INTO contact_identities (contact_id, channel_id, kind, identifier) VALUES (?1, ?2, 'api', ?3)",
                )?
                .execute(params![contact, channel, ident])?;
                conn.prepare_cached(
                    "INSERT INTO conversations (channel_id, contact_id, last_message_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, ?3)",
                )?
                .execute(params![channel, contact, now])?;
                let conv = conn.last_insert_rowid();
                conn.prepare_cached(
                    "INSERT INTO cycles (conversation_id, started_at) VALUES (?1, ?2)",
                )?
                .execute(params![conv, now])?;
                conv
            }
        };
        conn.prepare_cached(
            "INSERT INTO messages (conversation_id, channel_id, direction, text, status, external_id, created_at)
             VALUES (?1, ?2, 'in', 'hello from the benchmark', 'received', ?3, ?4)",
        )?
        .execute(params![conv, channel, format!("b{i}"), now])?;
        super::terms::insert_terms(&conn, conv, "hello from the benchmark")?;
        let msg = conn.last_insert_rowid();
        conn.prepare_cached(
            "UPDATE conversations SET last_message_at = ?2, preview = 'hello', waiting_since = COALESCE(waiting_since, ?2) WHERE id = ?1",
        )?
        .execute(params![conv, now])?;
        super::events::insert_event(
            &conn,
            Some(crate::domain::ConversationId(conv)),
            &Event::MessageCreated(MessageCreated {
                message_id: crate::domain::MessageId(msg),
                direction: crate::domain::Direction::In,
            }),
            None,
            now,
        )?;
        conn.execute_batch("COMMIT")?;
    }
    Ok(messages)
}

/// Messages stored.
pub fn count_messages(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?)
}

/// Webhook bodies stored but not processed yet.
pub fn count_unprocessed_webhooks(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM wa_webhooks WHERE processed_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// The search as it was before migration 008, for the benchmark's baseline: the owner's first
/// page of conversations (any status) whose contact name or phone is `LIKE '%text%'` or one of
/// whose messages has every word as a prefix. Returns the number of rows.
pub fn baseline_search(conn: &Connection, text: &str) -> Result<usize> {
    let escaped = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    let fts = (!words.is_empty()).then(|| words.join(" "));
    let messages = if fts.is_some() {
        " OR c.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid
            WHERE messages_fts MATCH ?2)"
    } else {
        ""
    };
    let sql = format!(
        "{} WHERE 1
           AND (ct.name LIKE ?1 ESCAPE '\\' OR ct.phone LIKE ?1 ESCAPE '\\'{messages})
         ORDER BY c.last_message_at DESC, c.id DESC LIMIT 51",
        super::conversations::SELECT
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let like = format!("%{escaped}%");
    let rows = match &fts {
        Some(f) => stmt.query_map(params![like, f], |_| Ok(()))?.count(),
        None => stmt.query_map(params![like], |_| Ok(()))?.count(),
    };
    Ok(rows)
}

/// Some customers (name, phone as stored), spread over the table, to build searches from.
pub fn sample_customers(conn: &Connection, n: usize) -> Result<Vec<(String, Option<String>)>> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0))?;
    let step = (total / n.max(1) as i64).max(1);
    let mut stmt = conn.prepare(
        "SELECT name, phone FROM contacts WHERE id % ?1 = 0 AND phone IS NOT NULL LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![step, n as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Bytes on disk of each full-text index (its shadow tables together, from `dbstat`) and of the
/// whole database, largest first.
pub fn index_sizes(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT CASE WHEN name LIKE 'contacts\\_fts%' ESCAPE '\\' THEN 'contacts_fts'
                     WHEN name LIKE 'contacts\\_words%' ESCAPE '\\' THEN 'contacts_words'
                     WHEN name LIKE 'conversation\\_terms%' ESCAPE '\\' THEN 'conversation_terms (with its index)'
                     WHEN name LIKE 'messages\\_fts%' ESCAPE '\\' THEN 'messages_fts (before, for the baseline)'
                     WHEN name LIKE 'bench\\_messages\\_tri%' ESCAPE '\\' THEN 'messages, trigram (compared)'
                     ELSE 'whole database' END, SUM(pgsize)
           FROM dbstat GROUP BY 1 ORDER BY 2 DESC",
    )?;
    let mut rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    if let Some(rest) = rows.iter_mut().find(|r| r.0 == "whole database") {
        rest.1 = total;
    }
    Ok(rows)
}

/// Empties and rebuilds the contact search indexes the way migration 008 builds them for
/// existing rows (the benchmark times it as the migration's cost).
pub fn rebuild_contact_search(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "BEGIN;
         INSERT INTO contacts_fts(contacts_fts) VALUES ('delete-all');
         INSERT INTO contacts_words(contacts_words) VALUES ('delete-all');
         INSERT INTO contacts_fts(rowid, name, phone) SELECT id, name, phone FROM contacts_search_text;
         INSERT INTO contacts_words(rowid, name) SELECT id, name FROM contacts_search_text;
         COMMIT;",
    )?;
    Ok(())
}

/// Builds, for comparison only, a trigram index over message text beside conversation_terms
/// (`bench_messages_tri`, external content: index only).
pub fn build_messages_trigram(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS bench_messages_tri USING fts5(text, content = 'messages',
             content_rowid = 'id', tokenize = 'trigram case_sensitive 0 remove_diacritics 1');
         INSERT INTO bench_messages_tri(bench_messages_tri) VALUES ('rebuild');",
    )?;
    Ok(())
}

/// Conversations with a message matching `query`: in conversation_terms_fts (word prefixes), or
/// with `trigram` in the comparison index: the raw index answer, without the queue's page.
pub fn count_message_matches(conn: &Connection, trigram: bool, query: &str) -> Result<i64> {
    let sql = if trigram {
        "SELECT COUNT(DISTINCT m.conversation_id) FROM bench_messages_tri f
           JOIN messages m ON m.id = f.rowid WHERE bench_messages_tri MATCH ?1"
    } else {
        "SELECT COUNT(DISTINCT rowid >> 16) FROM conversation_terms_fts
          WHERE conversation_terms_fts MATCH ?1"
    };
    Ok(conn.prepare_cached(sql)?.query_row([query], |r| r.get(0))?)
}

/// Builds messages_fts as migration 002 made it (unicode61 word prefixes keyed by message id;
/// 008 replaced it), for the baseline search only, on a bare connection.
pub fn build_old_message_index(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content = 'messages',
             content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
         INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');",
    )?;
    Ok(())
}

/// Mentions `user` in a note by `author` on every `every`-th conversation (by id), as a note
/// with an `@` writes them (note, then mention), so that an agent's search has a mentions side
/// of realistic size. Returns (conversations mentioning `user`, of them unresolved).
pub fn insert_mentions(
    conn: &Connection,
    author: i64,
    user: i64,
    every: i64,
    now: i64,
) -> Result<(usize, usize)> {
    let convs: Vec<(i64, bool)> = conn
        .prepare("SELECT id, status <> 'resolved' FROM conversations WHERE id % ?1 = 0")?
        .query_map([every], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (conv, _) in &convs {
        let conv = crate::domain::ConversationId(*conv);
        let note = super::messages::insert_note(
            conn,
            conv,
            crate::domain::UserId(author),
            "@Watcher could you look at this one?",
            now,
        )?;
        super::mentions::insert_mention(conn, note, conv, crate::domain::UserId(user), now)?;
    }
    Ok((convs.len(), convs.iter().filter(|c| c.1).count()))
}

/// What [`generate_scheduled`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scheduled {
    /// Open conversations (assigned ones answered or waiting less than a minute; unassigned ones
    /// already alerted).
    pub open: usize,
    /// Pending ones.
    pub pending: usize,
    /// Snoozed ones, waking within the next 30 days.
    pub snoozed: usize,
    /// SLA clocks (first response and resolution per open or pending conversation), each due
    /// between one hour and three days ahead.
    pub clocks: usize,
}

/// Fills the database in `data_dir` with `conversations` unresolved conversations in the state
/// a busy shop's scheduler sees between alerts: nothing due now. 70 % open (a third of them
/// unassigned), 20 % pending, 10 % snoozed; two SLA clocks per open or pending one.
pub fn generate_scheduled(
    data_dir: &Path,
    channel: i64,
    agents: &[i64],
    conversations: usize,
    now: i64,
) -> Result<Scheduled> {
    let mut conn = open_bare(&data_dir.join("teaminbox.db"))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let mut rng = Rng::new(7);
    let mut made = Scheduled::default();
    let hour = 3_600_000i64;
    while made.open + made.pending + made.snoozed < conversations {
        let tx = conn.transaction()?;
        {
            let mut contact =
                tx.prepare("INSERT INTO contacts (name, phone, created_at) VALUES (?1, ?2, ?3)")?;
            let mut conv = tx.prepare(
                "INSERT INTO conversations (channel_id, contact_id, status, assignee_id, assigned_at,
                    unassigned_alerted, last_message_at, last_inbound_at, waiting_since, snoozed_until,
                    preview, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, 'hello', ?7, ?7)",
            )?;
            let mut clock = tx.prepare(
                "INSERT INTO sla_clocks (conversation_id, target, cycle_id, policy_id, started_at,
                    resumed_at, warn_at, due_at, next_at)
                 VALUES (?1, ?2, 0, 0, ?3, ?3, ?4, ?5, ?4)",
            )?;
            let done = made.open + made.pending + made.snoozed;
            for i in 0..10_000.min(conversations - done) {
                let n = done + i;
                let last = now - rng.below(hour as u64) as i64;
                contact.execute(params![format!("Customer {n}"), None::<String>, last])?;
                let contact_id = tx.last_insert_rowid();
                let roll = rng.below(100);
                let (status, assignee, waiting, snoozed) = match roll {
                    0..70 => {
                        made.open += 1;
                        if rng.below(3) == 0 {
                            (
                                "open",
                                None,
                                Some(now - rng.below(2 * hour as u64) as i64),
                                None,
                            )
                        } else {
                            let agent = agents[rng.below(agents.len() as u64) as usize];
                            let waiting =
                                (rng.below(2) == 0).then(|| now - rng.below(60_000) as i64);
                            ("open", Some(agent), waiting, None)
                        }
                    }
                    70..90 => {
                        made.pending += 1;
                        let agent = agents[rng.below(agents.len() as u64) as usize];
                        ("pending", Some(agent), None, None)
                    }
                    _ => {
                        made.snoozed += 1;
                        let until = now + hour + rng.below(30 * 24 * hour as u64) as i64;
                        ("snoozed", None, None, Some(until))
                    }
                };
                conv.execute(params![
                    channel,
                    contact_id,
                    status,
                    assignee,
                    assignee.map(|_| last),
                    assignee.is_none() as i64,
                    last,
                    waiting,
                    snoozed
                ])?;
                let conv_id = tx.last_insert_rowid();
                if status != "snoozed" {
                    for target in ["first_response", "resolution"] {
                        let due = now + hour + rng.below(72 * hour as u64) as i64;
                        let warn = due - (due - last) / 5;
                        clock.execute(params![conv_id, target, last, warn, due])?;
                        made.clocks += 1;
                    }
                }
            }
        }
        tx.commit()?;
    }
    conn.execute_batch("ANALYZE")?;
    Ok(made)
}

/// Makes the `n` soonest SLA clocks due at `now` (their warning moment passed), so the next
/// scheduler tick records `n` warnings. Answers how many were changed.
pub fn make_clocks_due(conn: &Connection, n: i64, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE sla_clocks SET warn_at = ?1, next_at = ?1
         WHERE (conversation_id, target) IN
            (SELECT conversation_id, target FROM sla_clocks WHERE next_at IS NOT NULL ORDER BY next_at LIMIT ?2)",
        params![now - 1, n],
    )?)
}

/// The bare baseline of a tick: the one indexed probe for the next SLA moment.
pub fn next_clock_moment(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT min(next_at) FROM sla_clocks WHERE next_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Routing benchmark: every conversation resolved but the newest `open_per_agent` for each of
/// `agents`, which are open and theirs (a day's realistic load over a long history).
pub fn spread_open(conn: &Connection, agents: &[i64], open_per_agent: usize) -> Result<()> {
    conn.execute("UPDATE conversations SET status = 'resolved'", [])?;
    let n = agents.len() * open_per_agent;
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM conversations ORDER BY id DESC LIMIT ?1")?
        .query_map([n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (i, id) in ids.iter().enumerate() {
        conn.prepare_cached(
            "UPDATE conversations SET status = 'open', assignee_id = ?2 WHERE id = ?1",
        )?
        .execute(params![id, agents[i % agents.len()]])?;
    }
    Ok(())
}

/// Conversations that have an assignee.
pub fn count_assigned(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM conversations WHERE assignee_id IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Reports benchmark: on a database made by [`generate`], the facts reports read — one cycle
/// per conversation (started when it was created; answered a tenth of the way to its last
/// message when it has an assignee; resolved at its last message when resolved, by its
/// assignee; a CSAT answer on a quarter of the resolved; an SLA policy on a third, breached on
/// a seventh of those) and one `assigned` event per assigned conversation. Returns the cycles.
pub fn generate_report_facts(data_dir: &Path, assigned_kind: &str) -> Result<i64> {
    let conn = open_bare(&data_dir.join("teaminbox.db"))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.execute_batch(
        "BEGIN;
         INSERT INTO cycles (conversation_id, started_at, first_response_at, first_responder_id,
                             resolved_at, resolved_by, csat_score, sla_applied, sla_breached)
         SELECT id, created_at,
                CASE WHEN assignee_id IS NOT NULL THEN created_at + (last_message_at - created_at) / 10 END,
                assignee_id,
                CASE WHEN status = 'resolved' THEN last_message_at END,
                CASE WHEN status = 'resolved' THEN assignee_id END,
                CASE WHEN status = 'resolved' AND id % 4 = 0 THEN 1 + id % 5 END,
                id % 3 = 0, id % 21 = 0
           FROM conversations ORDER BY id;
         UPDATE conversations SET cycle_id =
             (SELECT y.id FROM cycles y WHERE y.conversation_id = conversations.id);",
    )?;
    conn.execute(
        "INSERT INTO events (conversation_id, kind, data, created_at)
         SELECT c.id, ?1, json_object('to', json_object('id', u.id, 'name', u.name)), c.created_at + 1
           FROM conversations c JOIN users u ON u.id = c.assignee_id ORDER BY c.id",
        [assigned_kind],
    )?;
    conn.execute_batch("COMMIT; ANALYZE")?;
    Ok(conn.query_row("SELECT COUNT(*) FROM cycles", [], |r| r.get(0))?)
}

/// The bare baseline of a report: cycles that started in `[from, to)` (UTC ms), counted
/// through their index.
pub fn count_cycles(conn: &Connection, from: i64, to: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM cycles WHERE started_at >= ?1 AND started_at < ?2")?
        .query_row([from, to], |r| r.get(0))?)
}

/// Conversations waiting on us (status `open`).
pub fn count_open(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM conversations WHERE status = 'open'",
        [],
        |r| r.get(0),
    )?)
}
