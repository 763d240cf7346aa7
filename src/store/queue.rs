//! The queue: views (mine, unassigned, pending, all, per team, search) one keyset page at a time,
//! and the figures for the inbox tabs (counts and the oldest wait), read through the same indexes.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

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
                  WHERE c.assignee_id IS NULL AND c.status <> 'resolved'{team_clause}"
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
    /// Start after this cursor (`last_message_at`, id) of the previous page.
    pub before: Option<(i64, i64)>,
}

/// The SQL condition (starting with ` AND`) that keeps conversations `c` in `scope`, pushing its
/// parameters onto `args`.
pub(crate) fn scope_clause(scope: &Scope, args: &mut Vec<SqlValue>) -> String {
    match scope {
        Scope::All => String::new(),
        Scope::AssignedTo(u) => {
            args.push(u.0.into());
            format!(" AND c.assignee_id = ?{}", args.len())
        }
        Scope::AssignedToOrPool { user, teams } => {
            args.push(user.0.into());
            // Team ids are integers from the database, safe to inline.
            let team_list = teams
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            format!(
                " AND (c.assignee_id = ?{} OR (c.assignee_id IS NULL AND (c.team_id IS NULL OR c.team_id IN ({team_list}))))",
                args.len()
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

/// The message-text query (messages_fts, unicode61): every word with a letter or digit as a
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

/// A page of conversations and the cursor (`last_message_at`, id) of the next one.
pub type Page = (Vec<Conversation>, Option<(i64, i64)>);

/// One page of a queue view, newest activity first, with the cursor of the next page.
pub fn list_conversations(conn: &Connection, q: &ConvQuery) -> Result<Page> {
    let mut sql = format!("{SELECT} WHERE 1");
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
        // Each side is a set of ids read from an index; a search with neither matches nothing.
        let mut sides = Vec::new();
        if let Some((table, m)) = contacts_match(search) {
            let p = arg(m.into(), &mut args);
            sides.push(format!(
                "c.contact_id IN (SELECT rowid FROM {table} WHERE {table} MATCH {p})"
            ));
        }
        if let Some(m) = fts_query(search) {
            let p = arg(m.into(), &mut args);
            sides.push(format!(
                "c.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid
                   WHERE messages_fts MATCH {p})"
            ));
        }
        if sides.is_empty() {
            sides.push("0".into());
        }
        sql.push_str(&format!(" AND ({})", sides.join(" OR ")));
    }
    if let Some((at, id)) = q.before {
        let a = arg(at.into(), &mut args);
        let i = arg(id.into(), &mut args);
        sql.push_str(&format!(
            " AND (c.last_message_at < {a} OR (c.last_message_at = {a} AND c.id < {i}))"
        ));
    }
    let l = arg((q.limit + 1).into(), &mut args);
    sql.push_str(&format!(
        " ORDER BY c.last_message_at DESC, c.id DESC LIMIT {l}"
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(params_from_iter(args.iter()), map_conversation)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next = if items.len() as i64 > q.limit {
        items.truncate(q.limit as usize);
        items.last().map(|c| (c.last_message_at.0, c.id.0))
    } else {
        None
    };
    Ok((items, next))
}
