//! The queue: views (mine, unassigned, pending, all, per team, search) one keyset page at a time,
//! and the figures for the inbox tabs (counts and the oldest wait), read through the same indexes.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::Result;
use super::conversations::{Conversation, SELECT, map_conversation};
pub use super::search::Search;
use super::search::{
    ContactSide, DRIVE, FEW, MessageSide, Tuning, WINDOW, contact_side, message_side,
    message_terms, search_clause,
};
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

/// A page's sort: the key, the FROM clause it needs, the id column that breaks ties, and
/// whether it ascends.
#[derive(Debug, Clone, Copy)]
struct Sort {
    key: &'static str,
    from: &'static str,
    id: &'static str,
    asc: bool,
}

impl Sort {
    /// The sort of `q`'s view and order.
    fn of(q: &ConvQuery) -> Sort {
        let (key, from, id, asc) = match (q.view, q.order) {
            // One running clock per conversation (its soonest), read through sla_clocks_due
            // whose order is (due_at, conversation_id): the page is read in order and stops at
            // its size.
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
        };
        Sort { key, from, id, asc }
    }

    /// ` ORDER BY` key and id in this sort's direction.
    fn order_by(&self) -> String {
        let dir = if self.asc { "ASC" } else { "DESC" };
        format!(" ORDER BY {} {dir}, {} {dir}", self.key, self.id)
    }

    /// The condition (starting with ` AND`) that keeps what comes after the row at `?{a}`
    /// (key) and `?{i}` (id) in this order, or, with `upto`, what comes up to and with it.
    fn beyond(&self, a: usize, i: usize, upto: bool) -> String {
        let (key, id) = (self.key, self.id);
        let (cmp, last) = match (self.asc, upto) {
            (true, false) => (">", ">"),
            (false, false) => ("<", "<"),
            (true, true) => ("<", "<="),
            (false, true) => (">", ">="),
        };
        format!(" AND ({key} {cmp} ?{a} OR ({key} = ?{a} AND {id} {last} ?{i}))")
    }
}

/// The SQL condition (starting with ` AND`) that keeps conversations `c` in `scope`, pushing its
/// parameters onto `args`.
pub(crate) fn scope_clause(scope: &Scope, args: &mut Vec<SqlValue>) -> String {
    scope_sql(scope, args, "c.", ScopePart::Whole)
}

/// Which part of a viewer's scope a query keeps. A search in an own scope reads the two parts
/// apart and merges the pages: with the mentions in the same OR the planner reads the halves
/// from two indexes and sorts every visible conversation, where each part alone is read in page
/// order. Own and pool needs no split: its columns are read with `+`, so the whole scope is
/// checked per conversation while the queue is read in page order (the mentions' ids listed
/// once per statement), and a second pass would build a broad contacts side's list again.
#[derive(Debug, Clone, Copy)]
enum ScopePart<'a> {
    /// All of it: role and ownership, or a mention (policy::Ownership::mentions).
    Whole,
    /// What role and ownership give, without mentions.
    ByRole,
    /// These conversations (a JSON array of ids: those mentioning the viewer), while unresolved.
    Mentioned(&'a str),
}

/// [`scope_clause`] for `part` of the scope, with the columns of an own-and-pool scope as `col`
/// (`c.` or `+c.`: the latter keeps the planner from reading the two halves of the OR from two
/// indexes and sorting every visible conversation, where a search wants them read in page order
/// and stops early).
fn scope_sql(scope: &Scope, args: &mut Vec<SqlValue>, col: &str, part: ScopePart) -> String {
    // An unresolved conversation whose notes mention the user is in both narrower scopes
    // (policy::Ownership::mentions).
    let mentioned = |p: usize| match part {
        ScopePart::Whole => format!(
            " OR (c.status <> 'resolved' AND c.id IN (SELECT m.conversation_id FROM mentions m WHERE m.user_id = ?{p}))"
        ),
        _ => String::new(),
    };
    match (scope, part) {
        (Scope::All, _) => String::new(),
        (_, ScopePart::Mentioned(ids)) => {
            args.push(ids.to_string().into());
            format!(
                " AND c.status <> 'resolved' AND c.id IN (SELECT value FROM json_each(?{}))",
                args.len()
            )
        }
        (Scope::AssignedTo(u), _) => {
            args.push(u.0.into());
            let p = args.len();
            format!(" AND (c.assignee_id = ?{p}{})", mentioned(p))
        }
        (Scope::AssignedToOrPool { user, teams }, _) => {
            args.push(user.0.into());
            let p = args.len();
            // Team ids are integers from the database, safe to inline.
            let team_list = teams
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            format!(
                " AND ({col}assignee_id = ?{p} OR ({col}assignee_id IS NULL AND ({col}team_id IS NULL OR {col}team_id IN ({team_list}))){})",
                mentioned(p)
            )
        }
    }
}

/// A page of conversations and the cursor (sort key, id) of the next one.
pub type Page = (Vec<Conversation>, Option<(i64, i64)>);

/// A page of conversations, each with its sort key, and the cursor of the next one.
struct Keyed {
    items: Vec<(Conversation, i64)>,
    next: Option<(i64, i64)>,
}

impl Keyed {
    fn page(self) -> Page {
        (self.items.into_iter().map(|(c, _)| c).collect(), self.next)
    }
}

/// One page of a queue view, newest activity first, with the cursor of the next page.
pub fn list_conversations(conn: &Connection, q: &ConvQuery) -> Result<Page> {
    list_page(
        conn,
        q,
        Tuning {
            few: FEW,
            window: WINDOW,
            drive: DRIVE,
        },
    )
}

/// The conditions of a query other than its search (view, status, scope, team, tag, cursor),
/// starting with ` AND`, pushing their parameters onto `args`.
fn filter_clause(q: &ConvQuery, args: &mut Vec<SqlValue>, part: ScopePart, sort: Sort) -> String {
    // A conversation the menu bot holds (#13) is in no human view until the handoff.
    let mut sql = String::from(" AND c.bot_until IS NULL");
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
            let p = arg(q.viewer.0.into(), args);
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
            let p = arg(s.as_str().to_string().into(), args);
            sql.push_str(&format!(" AND c.status = {p}"));
        }
        StatusFilter::Any => {}
    }
    let col = if q.search.is_some() { "+c." } else { "c." };
    sql.push_str(&scope_sql(&q.scope, args, col, part));
    if let Some(t) = q.team {
        let p = arg(t.0.into(), args);
        sql.push_str(&format!(" AND c.team_id = {p}"));
    }
    if let Some(tag) = &q.tag {
        let p = arg(tag.clone().into(), args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM conversation_tags x JOIN tags tg ON tg.id = x.tag_id
                WHERE x.conversation_id = c.id AND tg.name = {p})"
        ));
    }
    if let Some((at, id)) = q.before {
        args.push(at.into());
        args.push(id.into());
        sql.push_str(&sort.beyond(args.len() - 1, args.len(), false));
    }
    sql
}

/// Reads the page of conversations `c` that `conditions` keep (parameters `args`) in `sort`'s
/// order: `limit` of them and the cursor of the next page. Their ids are found and ordered first
/// and only those rows read in full (names, team, tags): a search can leave thousands to sort.
fn read_page(
    conn: &Connection,
    sort: Sort,
    conditions: &str,
    mut args: Vec<SqlValue>,
    limit: i64,
) -> Result<Keyed> {
    args.push((limit + 1).into());
    let mut keys: Vec<(i64, i64)> = conn
        .prepare_cached(&format!(
            "SELECT {}, {} FROM {} WHERE 1{conditions}{} LIMIT ?{}",
            sort.id,
            sort.key,
            sort.from,
            sort.order_by(),
            args.len()
        ))?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let next = if keys.len() as i64 > limit {
        keys.truncate(limit as usize);
        keys.last().map(|&(id, key)| (key, id))
    } else {
        None
    };
    let mut rows: std::collections::HashMap<i64, Conversation> = if keys.is_empty() {
        Default::default()
    } else {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        conn.prepare_cached(&format!(
            "{SELECT} WHERE c.id IN (SELECT value FROM json_each(?1))"
        ))?
        .query_map([serde_json::to_string(&ids)?], map_conversation)?
        .map(|c| c.map(|c| (c.id.0, c)))
        .collect::<rusqlite::Result<_>>()?
    };
    let items = keys
        .into_iter()
        .filter_map(|(id, key)| rows.remove(&id).map(|c| (c, key)))
        .collect();
    Ok(Keyed { items, next })
}

/// The last of the first `window` conversations (sort key, id) that `filters` keep, in page
/// order; `None` when they keep fewer.
fn window_end(
    conn: &Connection,
    sort: Sort,
    filters: &str,
    args: &[SqlValue],
    window: usize,
) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {}, {} FROM {} WHERE 1{filters}{} LIMIT 1 OFFSET {}",
            sort.key,
            sort.id,
            sort.from,
            sort.order_by(),
            window - 1
        ))?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// [`list_conversations`] with its [`Tuning`] as a parameter.
///
/// A search in an own scope reads the part role and ownership give and the part the viewer's
/// mentions give (a few conversations, listed from `mentions`) apart, and merges their pages
/// (see [`ScopePart`]); a view that shows only the viewer's own needs no mentions part. Every
/// other scope is read in one pass. Each side of the search (contacts, messages) is asked its
/// index at most once for both.
fn list_page(conn: &Connection, q: &ConvQuery, tuning: Tuning) -> Result<Page> {
    let sort = Sort::of(q);
    let Some(search) = &q.search else {
        let mut args: Vec<SqlValue> = Vec::new();
        let filters = filter_clause(q, &mut args, ScopePart::Whole, sort);
        return Ok(read_page(conn, sort, &filters, args, q.limit)?.page());
    };
    let contact = contact_side(conn, search, tuning.few)?;
    let words = message_terms(search);
    let user = match &q.scope {
        // Own and pool reads its columns with `+` (see `scope_sql`), so the planner reads the
        // queue in page order with the mentions in the same OR, materialised once: one pass,
        // where two would build a broad contacts side's list again for a few conversations.
        Scope::All | Scope::AssignedToOrPool { .. } => {
            let page = search_page(conn, q, &contact, &words, ScopePart::Whole, sort, tuning)?;
            return Ok(page.page());
        }
        Scope::AssignedTo(u) => *u,
    };
    let by_role = search_page(conn, q, &contact, &words, ScopePart::ByRole, sort, tuning)?;
    if q.view == View::Mine {
        return Ok(by_role.page());
    }
    let mentioned = super::mentions::list_unresolved_mentioning(conn, user)?;
    if mentioned.is_empty() {
        return Ok(by_role.page());
    }
    // A few conversations: each is tested for every word as it is read (no walk, no message
    // index), with the contacts side already asked for the part by role.
    let ids = serde_json::to_string(&mentioned)?;
    let mut args: Vec<SqlValue> = Vec::new();
    let filters = filter_clause(q, &mut args, ScopePart::Mentioned(&ids), sort);
    let message = if words.is_empty() {
        MessageSide::Nothing
    } else {
        MessageSide::Each
    };
    let clause = search_clause(&contact, &message, &words, tuning.drive, &mut args)?;
    let by_mention = read_page(
        conn,
        sort,
        &format!("{filters} AND {clause}"),
        args,
        q.limit,
    )?;
    Ok(merge_pages(by_role, by_mention, q.limit, sort).page())
}

/// One page of the conversations in `part` of the query's scope that a search finds: its
/// contacts side as asked already, its message terms `words`.
///
/// A search with message words first walks the first `window` conversations in page order,
/// testing each (see [`WINDOW`]): when that fills the page, or those were all there are, it is
/// the answer. Otherwise the message side is asked its index: a narrow side gives its
/// conversation ids and the page is read through them; a broad one is checked while the page
/// is read in order.
fn search_page(
    conn: &Connection,
    q: &ConvQuery,
    contact: &ContactSide,
    words: &[String],
    part: ScopePart,
    sort: Sort,
    tuning: Tuning,
) -> Result<Keyed> {
    let mut args: Vec<SqlValue> = Vec::new();
    let filters = filter_clause(q, &mut args, part, sort);
    if !words.is_empty() && tuning.window > 0 {
        let end = window_end(conn, sort, &filters, &args, tuning.window)?;
        let mut walk_args = args.clone();
        let mut conditions = filters.clone();
        if let Some((at, id)) = end {
            walk_args.push(at.into());
            walk_args.push(id.into());
            let n = walk_args.len();
            conditions.push_str(&sort.beyond(n - 1, n, true));
        }
        let clause = search_clause(
            contact,
            &MessageSide::Each,
            words,
            tuning.drive,
            &mut walk_args,
        )?;
        conditions.push_str(&format!(" AND {clause}"));
        let page = read_page(conn, sort, &conditions, walk_args, q.limit)?;
        if page.next.is_some() || end.is_none() {
            return Ok(page);
        }
    }
    let message = if words.is_empty() {
        MessageSide::Nothing
    } else {
        message_side(conn, words, tuning.few)?
    };
    let clause = search_clause(contact, &message, words, tuning.drive, &mut args)?;
    read_page(
        conn,
        sort,
        &format!("{filters} AND {clause}"),
        args,
        q.limit,
    )
}

/// The page of `limit` that two pages of the same query over two sets of conversations make
/// together: in `sort`'s order, each conversation once (one may be in both), and a next cursor
/// when either had more or together they exceed `limit`.
fn merge_pages(a: Keyed, b: Keyed, limit: i64, sort: Sort) -> Keyed {
    let more = a.next.is_some() || b.next.is_some();
    let mut items = a.items;
    for (c, k) in b.items {
        if !items.iter().any(|x| x.0.id == c.id) {
            items.push((c, k));
        }
    }
    items.sort_by_key(|(c, k)| (*k, c.id.0));
    if !sort.asc {
        items.reverse();
    }
    let limit = usize::try_from(limit).unwrap_or(0);
    if more || items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(|(c, k)| (*k, c.id.0));
        Keyed { items, next }
    } else {
        Keyed { items, next: None }
    }
}

#[cfg(test)]
pub(crate) mod search_tests;
