//! The queue: views (mine, unassigned, pending, all, per team, search) one keyset page at a time,
//! and the figures for the inbox tabs (counts and the oldest wait), read through the same indexes.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params, params_from_iter};

use super::Result;
use super::conversations::{Conversation, SELECT, map_conversation};
use crate::domain::policy::Scope;
use crate::domain::{Status, TeamId, UserId};

/// Counts for the tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Unassigned, unresolved.
    pub unassigned: i64,
    /// Since when the longest-waiting unassigned conversation waits (ms).
    pub oldest_unassigned: Option<i64>,
    /// Assigned to the viewer, unresolved.
    pub mine: i64,
    /// Waiting on the customer, visible to the viewer.
    pub pending: i64,
}

/// The tab figures for a viewer with `scope`.
pub fn queue_counts(conn: &Connection, scope: &Scope, me: UserId) -> Result<QueueCounts> {
    let mut args: Vec<SqlValue> = Vec::new();
    let clause = scope_clause(scope, &mut args);
    // In the pool nobody is the assignee, so the scope reduces to its team condition; the
    // figures then come from conv_pool alone.
    let pool = match scope {
        Scope::All => Some(String::new()),
        Scope::AssignedTo(_) => None,
        Scope::AssignedToOrPool { teams, .. } => {
            let list = teams
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            Some(format!(" AND (c.team_id IS NULL OR c.team_id IN ({list}))"))
        }
    };
    let (unassigned, oldest) = match pool {
        None => (0, None),
        Some(team_clause) => conn
            .prepare_cached(&format!(
                "SELECT COUNT(*), MIN(COALESCE(c.waiting_since, c.last_message_at))
                   FROM conversations c INDEXED BY conv_pool
                  WHERE c.assignee_id IS NULL AND c.status <> 'resolved' AND c.bot_until IS NULL{team_clause}"
            ))?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?,
    };
    let pending = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM conversations c WHERE c.status = 'pending'{clause}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let mine = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = ?1 AND c.status <> 'resolved'",
        )?
        .query_row([me.0], |r| r.get(0))?;
    Ok(QueueCounts {
        unassigned,
        oldest_unassigned: oldest,
        mine,
        pending,
    })
}

/// A queue view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Nobody owns it and it is not resolved.
    Unassigned,
    /// The viewer owns it.
    Mine,
    /// Waiting on the customer.
    Pending,
    /// Everything the viewer may see.
    All,
    /// Conversations with a running SLA target (not met, not paused), what breaches first on
    /// top: breached (longest overdue first), then the soonest due.
    AtRisk,
}

/// The order of a queue page (the "at risk" view has its own: soonest due first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest activity first (`last_message_at` descending).
    #[default]
    Recent,
    /// Longest waiting first: since when the customer waits for us, else their last message
    /// (the same wait as the Unassigned tab's "oldest"), ascending.
    Waiting,
}

/// Which statuses a query shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Everything but resolved (the default).
    Unresolved,
    /// Exactly this status.
    Is(Status),
    /// Any status.
    Any,
}

/// A queue query.
#[derive(Debug, Clone)]
pub struct ConvQuery {
    /// The view.
    pub view: View,
    /// The viewer.
    pub viewer: UserId,
    /// What the viewer may see.
    pub scope: Scope,
    /// Only this team.
    pub team: Option<TeamId>,
    /// Only with this tag.
    pub tag: Option<String>,
    /// Status filter.
    pub status: StatusFilter,
    /// Text search over contact names, phones and message text.
    pub search: Option<Search>,
    /// Page size.
    pub limit: i64,
    /// Start after this cursor (sort key, id) of the previous page.
    pub before: Option<(i64, i64)>,
    /// The order (ignored by [`View::AtRisk`]).
    pub order: Order,
}

/// A page's sort: the key (selected as the row's last column), the FROM clause it needs, the
/// id column that breaks ties, and whether it ascends.
fn sort_of(q: &ConvQuery) -> (&'static str, &'static str, &'static str, bool) {
    match (q.view, q.order) {
        // One running clock per conversation (its soonest), read through sla_clocks_due whose
        // order is (due_at, conversation_id): the page is read in order and stops at its size.
        (View::AtRisk, _) => (
            "k.due_at",
            "sla_clocks k INDEXED BY sla_clocks_due JOIN conversations c ON c.id = k.conversation_id",
            "k.conversation_id",
            true,
        ),
        (_, Order::Waiting) => (
            "COALESCE(c.waiting_since, c.last_message_at)",
            "conversations c",
            "c.id",
            true,
        ),
        (_, Order::Recent) => ("c.last_message_at", "conversations c", "c.id", false),
    }
}

/// The SQL condition (starting with ` AND`) that keeps conversations `c` in `scope`, pushing its
/// parameters onto `args`.
pub(crate) fn scope_clause(scope: &Scope, args: &mut Vec<SqlValue>) -> String {
    // An unresolved conversation whose notes mention the user is in both narrower scopes
    // (policy::Ownership::mentions).
    let mentioned = |p: usize| {
        format!(
            "(c.status <> 'resolved' AND c.id IN (SELECT m.conversation_id FROM mentions m WHERE m.user_id = ?{p}))"
        )
    };
    match scope {
        Scope::All => String::new(),
        Scope::AssignedTo(u) => {
            args.push(u.0.into());
            let p = args.len();
            format!(" AND (c.assignee_id = ?{p} OR {})", mentioned(p))
        }
        Scope::AssignedToOrPool { user, teams } => {
            args.push(user.0.into());
            let p = args.len();
            // Team ids are integers from the database, safe to inline.
            let team_list = teams
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            format!(
                " AND (c.assignee_id = ?{p} OR (c.assignee_id IS NULL AND (c.team_id IS NULL OR c.team_id IN ({team_list}))) OR {})",
                mentioned(p)
            )
        }
    }
}

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

/// The message-text query (message_words, unicode61): every word with a letter or digit as a
/// quoted prefix. `None` for short searches (see [`Search::is_short`]).
pub(crate) fn fts_query(s: &Search) -> Option<String> {
    if s.is_short() {
        return None;
    }
    let words: Vec<String> = s
        .words
        .iter()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Most conversations a search lists by id before it counts as broad: the page is then read
/// through these ids and sorted, which stays within a few milliseconds.
const FEW: usize = 4000;

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

/// Conversations with a message matching `m`: their ids, or `None` when there are more than
/// [`FEW`]. message_words rowids are `conversation_id << 32 | message id` and come in order, so
/// a conversation's matches are adjacent and no message is looked up.
fn few_by_message(conn: &Connection, m: &str, few: usize) -> Result<Option<Vec<i64>>> {
    let mut stmt =
        conn.prepare_cached("SELECT rowid >> 32 FROM message_words WHERE message_words MATCH ?1")?;
    let mut rows = stmt.query([m])?;
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

/// The SQL condition for a search, pushing its parameters onto `args`. Each side (contacts,
/// messages) is asked its index first: a narrow side gives its conversation ids and the page is
/// read through them; a broad one (more than [`FEW`]) is read from its index once into a set
/// that the page, read in order, is checked against (matches are then dense enough to fill it
/// soon). A probe of the full-text index per conversation instead costs about a millisecond each
/// at 200k contacts, so it is never used.
fn search_clause(
    conn: &Connection,
    search: &Search,
    few: usize,
    args: &mut Vec<SqlValue>,
) -> Result<String> {
    let mut ids: Vec<i64> = Vec::new();
    let mut sets: Vec<String> = Vec::new();
    let arg = |v: String, args: &mut Vec<SqlValue>| {
        args.push(v.into());
        format!("?{}", args.len())
    };
    if let Some((table, m)) = contacts_match(search) {
        match few_by_contact(conn, table, &m, few)? {
            Some(found) => ids.extend(found),
            None => {
                let p = arg(m, args);
                // `+`: check the set while reading in page order, never look up each member
                // and sort them all (which the planner picks, at 0.3–0.5 s for 100k).
                sets.push(format!(
                    "+c.contact_id IN (SELECT rowid FROM {table} WHERE {table} MATCH {p})"
                ));
            }
        }
    }
    if let Some(m) = fts_query(search) {
        match few_by_message(conn, &m, few)? {
            Some(found) => ids.extend(found),
            None => {
                let p = arg(m, args);
                sets.push(format!(
                    "+c.id IN (SELECT rowid >> 32 FROM message_words WHERE message_words MATCH {p})"
                ));
            }
        }
    }
    let mut sides = sets;
    if !ids.is_empty() {
        ids.sort_unstable();
        ids.dedup();
        let p = arg(serde_json::to_string(&ids)?, args);
        sides.insert(0, format!("c.id IN (SELECT value FROM json_each({p}))"));
    }
    Ok(match sides.len() {
        // Nothing to look for, or nothing found.
        0 => "0".to_string(),
        _ => format!("({})", sides.join(" OR ")),
    })
}

/// A page of conversations and the cursor (`last_message_at`, id) of the next one.
pub type Page = (Vec<Conversation>, Option<(i64, i64)>);

/// One page of a queue view, newest activity first, with the cursor of the next page.
pub fn list_conversations(conn: &Connection, q: &ConvQuery) -> Result<Page> {
    list_page(conn, q, FEW)
}

/// [`list_conversations`] with the threshold of a broad search side as a parameter (tests run
/// both ways of answering on the same data).
fn list_page(conn: &Connection, q: &ConvQuery, few: usize) -> Result<Page> {
    let (key, from, id_col, asc) = sort_of(q);
    let head = SELECT.replacen(
        "\n    FROM conversations c",
        &format!(", {key}\n    FROM {from}"),
        1,
    );
    // A conversation the menu bot holds (#13) is in no human view until the handoff.
    let mut sql = format!("{head} WHERE c.bot_until IS NULL");
    let mut args: Vec<SqlValue> = Vec::new();
    let arg = |v: SqlValue, args: &mut Vec<SqlValue>| {
        args.push(v);
        format!("?{}", args.len())
    };
    let status = match q.view {
        View::Pending => StatusFilter::Is(Status::Pending),
        _ => q.status,
    };
    match q.view {
        // Spelled as in the partial index conv_unassigned so the planner can use it.
        View::Unassigned => sql.push_str(" AND c.assignee_id IS NULL"),
        View::Mine => {
            let p = arg(q.viewer.0.into(), &mut args);
            sql.push_str(&format!(" AND c.assignee_id = {p}"));
        }
        View::AtRisk => sql.push_str(
            " AND k.stopped_at IS NULL AND k.paused = 0 AND NOT EXISTS (SELECT 1 FROM sla_clocks k2
                WHERE k2.conversation_id = k.conversation_id AND k2.stopped_at IS NULL
                  AND k2.paused = 0
                  AND (k2.due_at < k.due_at OR (k2.due_at = k.due_at AND k2.target < k.target)))",
        ),
        View::Pending | View::All => {}
    }
    match status {
        StatusFilter::Unresolved => sql.push_str(" AND c.status <> 'resolved'"),
        StatusFilter::Is(s) => {
            if q.view == View::Unassigned && s != Status::Resolved {
                sql.push_str(" AND c.status <> 'resolved'");
            }
            let p = arg(s.as_str().to_string().into(), &mut args);
            sql.push_str(&format!(" AND c.status = {p}"));
        }
        StatusFilter::Any => {}
    }
    sql.push_str(&scope_clause(&q.scope, &mut args));
    if let Some(t) = q.team {
        let p = arg(t.0.into(), &mut args);
        sql.push_str(&format!(" AND c.team_id = {p}"));
    }
    if let Some(tag) = &q.tag {
        let p = arg(tag.clone().into(), &mut args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM conversation_tags x JOIN tags tg ON tg.id = x.tag_id
                WHERE x.conversation_id = c.id AND tg.name = {p})"
        ));
    }
    if let Some(search) = &q.search {
        let clause = search_clause(conn, search, few, &mut args)?;
        sql.push_str(&format!(" AND {clause}"));
    }
    let (cmp, dir) = if asc { (">", "ASC") } else { ("<", "DESC") };
    if let Some((at, id)) = q.before {
        let a = arg(at.into(), &mut args);
        let i = arg(id.into(), &mut args);
        sql.push_str(&format!(
            " AND ({key} {cmp} {a} OR ({key} = {a} AND {id_col} {cmp} {i}))"
        ));
    }
    let l = arg((q.limit + 1).into(), &mut args);
    sql.push_str(&format!(" ORDER BY {key} {dir}, {id_col} {dir} LIMIT {l}"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((map_conversation(r)?, r.get::<_, i64>(20)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next = if rows.len() as i64 > q.limit {
        rows.truncate(q.limit as usize);
        rows.last().map(|(c, k)| (*k, c.id.0))
    } else {
        None
    };
    Ok((rows.into_iter().map(|(c, _)| c).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_bare;

    /// 60 conversations: names and phones in several forms, messages in several languages,
    /// assigned to user 1, user 2, team 1's pool or the general pool in turn.
    fn fixture(dir: &std::path::Path) -> Connection {
        let conn = open_bare(&dir.join("t.db")).expect("open");
        conn.execute_batch(
            "INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
             INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES
                 (1, 'a@x', 'A', 'agent', 'h', 0), (2, 'b@x', 'B', 'agent', 'h', 0);
             INSERT INTO teams (id, name, created_at) VALUES (1, 'T', 0);",
        )
        .expect("seed");
        let names = [
            "Maria Silva",
            "José Haddad",
            "محمد حداد",
            "Jonas Müller",
            "Li Wei 🌸",
        ];
        let phones = [Some("4915123456789"), Some("+351 912 000 111"), None];
        let texts = [
            "I want a refund please",
            "When is the delivery?",
            "شكرا جزيلا",
            "ok",
            "Der Lieferung fehlt etwas",
        ];
        for i in 0..60usize {
            conn.execute(
                "INSERT INTO contacts (name, phone, created_at) VALUES (?1, ?2, 0)",
                params![names[i % 5], phones[i % 3],],
            )
            .expect("contact");
            let contact = conn.last_insert_rowid();
            let (assignee, team) = match i % 4 {
                0 => (Some(1), None),
                1 => (Some(2), None),
                2 => (None, Some(1)),
                _ => (None, None),
            };
            conn.execute(
                "INSERT INTO conversations (channel_id, contact_id, assignee_id, team_id, last_message_at,
                     created_at, updated_at) VALUES (1, ?1, ?2, ?3, ?4, 0, 0)",
                params![contact, assignee, team, (i as i64 * 7) % 50],
            )
            .expect("conversation");
            let conv = conn.last_insert_rowid();
            for m in 0..(i % 3 + 1) {
                conn.execute(
                    "INSERT INTO messages (conversation_id, channel_id, direction, text, status, created_at)
                     VALUES (?1, 1, 'in', ?2, 'received', 0)",
                    params![conv, texts[(i + m) % 5]],
                )
                .expect("message");
            }
        }
        conn
    }

    /// Every page of a search, following the cursor (`few` as the broad threshold).
    fn all_pages(conn: &Connection, scope: &Scope, search: &Search, few: usize) -> Vec<i64> {
        let mut q = ConvQuery {
            view: View::All,
            viewer: UserId(1),
            scope: scope.clone(),
            team: None,
            tag: None,
            status: StatusFilter::Any,
            search: Some(search.clone()),
            limit: 4,
            before: None,
            order: Order::Recent,
        };
        let mut ids = Vec::new();
        loop {
            let (items, next) = list_page(conn, &q, few).expect("page");
            ids.extend(items.iter().map(|c| c.id.0));
            match next {
                Some(n) => q.before = Some(n),
                None => return ids,
            }
        }
    }

    #[test]
    fn broad_and_narrow_searches_answer_alike_within_the_scope() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = fixture(dir.path());
        let search = |words: &[&str], phone: Option<&str>| Search {
            words: words.iter().map(|w| w.to_string()).collect(),
            phone: phone.map(String::from),
        };
        let searches = [
            (search(&["mari"], None), 12),
            (search(&["haddad"], None), 12),
            (search(&["حداد"], None), 12),
            (search(&["4915123456789"], Some("4915123456789")), 20),
            (search(&["refund"], None), 24),
            (search(&["deliv"], None), 24),
            (search(&["jo"], None), 24),
            (search(&["🌸"], None), 12),
            (search(&["xylophone"], None), 0),
        ];
        let scopes = [
            Scope::All,
            Scope::AssignedTo(UserId(1)),
            Scope::AssignedToOrPool {
                user: UserId(1),
                teams: vec![],
            },
        ];
        for (s, all) in &searches {
            for scope in &scopes {
                let narrow = all_pages(&conn, scope, s, FEW);
                let broad = all_pages(&conn, scope, s, 0);
                assert_eq!(narrow, broad, "{s:?} {scope:?}");
                let mut unique = narrow.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), narrow.len(), "no repeats: {s:?} {scope:?}");
                if *scope == Scope::All {
                    assert_eq!(narrow.len(), *all, "{s:?}");
                }
                // Conversation ids 1, 5, 9… are user 1's, 2, 6… user 2's, 3, 7… team 1's pool.
                let may_see = |id: i64| match scope {
                    Scope::All => true,
                    Scope::AssignedTo(_) => id % 4 == 1,
                    Scope::AssignedToOrPool { .. } => id % 4 == 1 || id % 4 == 0,
                };
                assert!(
                    narrow.iter().all(|id| may_see(*id)),
                    "{s:?} {scope:?}: {narrow:?}"
                );
            }
        }
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
            let search = Search {
                words: words.iter().map(|w| w.to_string()).collect(),
                phone: phone.map(String::from),
            };
            let q = ConvQuery {
                view: View::All,
                viewer: UserId(1),
                scope: Scope::All,
                team: None,
                tag: None,
                status: StatusFilter::Any,
                search: Some(search),
                limit: 10,
                before: None,
                order: Order::Recent,
            };
            list_conversations(&conn, &q).expect("list").0.len()
        };
        assert_eq!(found(&["ribei"], None), 1);
        assert_eq!(found(&["ze"], None), 1);
        assert_eq!(found(&["4915123456789"], Some("4915123456789")), 1);
        assert_eq!(found(&["parc"], None), 1);
        assert_eq!(found(&["xylophone"], None), 0);
    }
}
