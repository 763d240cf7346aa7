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

/// Fills the database in `data_dir` (already migrated, with users `agents` and channel `channel`)
/// with `conversations` conversations of `per` messages each, in large transactions.
pub fn generate(
    data_dir: &Path,
    channel: i64,
    agents: &[i64],
    conversations: usize,
    per: usize,
    now: i64,
) -> Result<()> {
    let mut conn = open_bare(&data_dir.join("teaminbox.db"))?;
    // Bulk load only: durability of a half-made test database does not matter.
    conn.pragma_update(None, "synchronous", "OFF")?;
    let mut rng = Rng::new(42);
    let day = 86_400_000i64;
    let mut made = 0;
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
                let created = now - 90 * day + rng.below(90 * day as u64) as i64;
                let last = created + rng.below((now - created) as u64 / 4 + 1) as i64;
                contact.execute(params![
                    format!("Customer {made}"),
                    format!("+3519{made:08}"),
                    created
                ])?;
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
                conv.execute(params![
                    channel,
                    contact_id,
                    status,
                    assignee,
                    last,
                    waiting,
                    "Latest message text",
                    created
                ])?;
                let conv_id = tx.last_insert_rowid();
                for m in 0..per {
                    let at = created + (last - created) * m as i64 / per.max(1) as i64;
                    let inbound = m % 2 == 0;
                    msg.execute(params![
                        conv_id,
                        channel,
                        if inbound { "in" } else { "out" },
                        "A message of ordinary length, about what customers usually ask.",
                        if inbound { None } else { assignee },
                        if inbound { "received" } else { "delivered" },
                        inbound.then(|| format!("g{conv_id}-{m}")),
                        at
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    conn.execute_batch("ANALYZE")?;
    Ok(())
}

/// The baseline: the rows one inbound message writes (contact, identity, conversation, cycle on
/// first contact; then message, conversation update, event), one transaction per message, on a
/// bare connection with `synchronous=FULL`. Returns the number of messages written.
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
