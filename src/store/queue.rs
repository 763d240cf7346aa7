//! The queue: views (mine, unassigned, pending, all, per team, search) one keyset page at a time,
//! and the figures for the inbox tabs (counts and the oldest wait), read through the same indexes.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::Result;
use super::conversations::{Conversation, SELECT, map_conversation};
pub use super::search::Search;
use super::search::{
    DRIVE, FEW, MessageSide, Tuning, WINDOW, contact_side, message_side, message_terms,
    search_clause,
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
    scope_sql(scope, args, "c.")
}

/// [`scope_clause`] with the columns of an own-and-pool scope as `col` (`c.` or `+c.`: the
/// latter keeps the planner from reading the two halves of the OR from two indexes and sorting
/// every visible conversation, where a search wants them read in page order and stops early).
fn scope_sql(scope: &Scope, args: &mut Vec<SqlValue>, col: &str) -> String {
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
                " AND ({col}assignee_id = ?{p} OR ({col}assignee_id IS NULL AND ({col}team_id IS NULL OR {col}team_id IN ({team_list}))) OR {})",
                mentioned(p)
            )
        }
    }
}

/// A page of conversations and the cursor (`last_message_at`, id) of the next one.
pub type Page = (Vec<Conversation>, Option<(i64, i64)>);

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
fn filter_clause(q: &ConvQuery, args: &mut Vec<SqlValue>) -> String {
    let mut sql = String::new();
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
    sql.push_str(&scope_sql(&q.scope, args, col));
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
        let a = arg(at.into(), args);
        let i = arg(id.into(), args);
        sql.push_str(&format!(
            " AND (c.last_message_at < {a} OR (c.last_message_at = {a} AND c.id < {i}))"
        ));
    }
    sql
}

const ORDER: &str = " ORDER BY c.last_message_at DESC, c.id DESC";

/// Reads the page of conversations `c` that `conditions` keep (parameters `args`) in queue
/// order: `limit` of them and the cursor of the next page. Their ids are found and ordered first
/// and only those rows read in full (names, team, tags): a search can leave thousands to sort.
fn read_page(
    conn: &Connection,
    conditions: &str,
    mut args: Vec<SqlValue>,
    limit: i64,
) -> Result<Page> {
    args.push((limit + 1).into());
    let ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT c.id FROM conversations c WHERE 1{conditions}{ORDER} LIMIT ?{}",
            args.len()
        ))?
        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut items = if ids.is_empty() {
        Vec::new()
    } else {
        conn.prepare_cached(&format!(
            "{SELECT} WHERE c.id IN (SELECT value FROM json_each(?1)){ORDER}"
        ))?
        .query_map([serde_json::to_string(&ids)?], map_conversation)?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| (c.last_message_at.0, c.id.0))
    } else {
        None
    };
    Ok((items, next))
}

/// The last of the first `window` conversations (`last_message_at`, id) that `filters` keep, in
/// page order; `None` when they keep fewer.
fn window_end(
    conn: &Connection,
    filters: &str,
    args: &[SqlValue],
    window: usize,
) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT c.last_message_at, c.id FROM conversations c WHERE 1{filters}{ORDER}
              LIMIT 1 OFFSET {}",
            window - 1
        ))?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// [`list_conversations`] with its [`Tuning`] as a parameter.
///
/// A search with message words first walks the first `window` conversations in page order,
/// testing each (see [`WINDOW`]): when that fills the page, or those were all there are, it is
/// the answer. Otherwise each side is asked its index: a narrow side gives its conversation ids
/// and the page is read through them; a broad one is checked while the page is read in order.
fn list_page(conn: &Connection, q: &ConvQuery, tuning: Tuning) -> Result<Page> {
    let mut args: Vec<SqlValue> = Vec::new();
    let filters = filter_clause(q, &mut args);
    let Some(search) = &q.search else {
        return read_page(conn, &filters, args, q.limit);
    };
    let contact = contact_side(conn, search, tuning.few)?;
    let words = message_terms(search);
    if !words.is_empty() && tuning.window > 0 {
        let end = window_end(conn, &filters, &args, tuning.window)?;
        let mut walk_args = args.clone();
        let mut conditions = filters.clone();
        if let Some((at, id)) = end {
            walk_args.push(at.into());
            let a = walk_args.len();
            walk_args.push(id.into());
            let i = walk_args.len();
            conditions.push_str(&format!(
                " AND (c.last_message_at > ?{a} OR (c.last_message_at = ?{a} AND c.id >= ?{i}))"
            ));
        }
        let clause = search_clause(
            &contact,
            &MessageSide::Each,
            &words,
            tuning.drive,
            &mut walk_args,
        )?;
        conditions.push_str(&format!(" AND {clause}"));
        let page = read_page(conn, &conditions, walk_args, q.limit)?;
        if page.1.is_some() || end.is_none() {
            return Ok(page);
        }
    }
    let message = if words.is_empty() {
        MessageSide::Nothing
    } else {
        message_side(conn, &words, tuning.few)?
    };
    let clause = search_clause(&contact, &message, &words, tuning.drive, &mut args)?;
    read_page(conn, &format!("{filters} AND {clause}"), args, q.limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_bare;
    use crate::store::terms;
    use rusqlite::params;

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
                terms::insert_terms(&conn, conv, texts[(i + m) % 5]).expect("terms");
            }
        }
        conn
    }

    /// Every page of a search, following the cursor, answered the way `tuning` says.
    fn all_pages(conn: &Connection, scope: &Scope, search: &Search, tuning: Tuning) -> Vec<i64> {
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
        };
        let mut ids = Vec::new();
        loop {
            let (items, next) = list_page(conn, &q, tuning).expect("page");
            ids.extend(items.iter().map(|c| c.id.0));
            match next {
                Some(n) => q.before = Some(n),
                None => return ids,
            }
        }
    }

    #[test]
    fn every_way_of_answering_a_search_gives_the_same_pages_within_the_scope() {
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
            // Words of different messages of one conversation.
            (search(&["refund", "deliv"], None), 12),
            (search(&["deliv", "lieferung"], None), 4),
            (search(&["refund", "xylophone"], None), 0),
        ];
        let scopes = [
            Scope::All,
            Scope::AssignedTo(UserId(1)),
            Scope::AssignedToOrPool {
                user: UserId(1),
                teams: vec![],
            },
        ];
        // Every way of answering: the product's; sides listed by id, no walk; the same ids
        // checked while reading in order; broad sides, no walk; a walk of one conversation that
        // cannot fill the page, then broad sides; a walk over everything.
        let tunings = [
            Tuning {
                few: FEW,
                window: WINDOW,
                drive: DRIVE,
            },
            Tuning {
                few: FEW,
                window: 0,
                drive: DRIVE,
            },
            Tuning {
                few: FEW,
                window: 0,
                drive: 0,
            },
            Tuning {
                few: 0,
                window: 0,
                drive: DRIVE,
            },
            Tuning {
                few: 0,
                window: 1,
                drive: DRIVE,
            },
            Tuning {
                few: 0,
                window: 1000,
                drive: DRIVE,
            },
        ];
        for (s, all) in &searches {
            for scope in &scopes {
                let narrow = all_pages(&conn, scope, s, tunings[0]);
                for tuning in &tunings[1..] {
                    let other = all_pages(&conn, scope, s, *tuning);
                    assert_eq!(narrow, other, "{s:?} {scope:?} {tuning:?}");
                }
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
}
