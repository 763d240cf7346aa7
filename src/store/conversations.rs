//! Conversations: their state, its changes, and the read model the API shows.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Result;
use super::mentions::{MENTIONED_IDS, parse_ids};
use super::users::Named;
use crate::domain::policy::Ownership;
use crate::domain::time::Ts;
use crate::domain::{ChannelId, ChannelKind, ContactId, ConversationId, Status, TeamId, UserId};

/// What the rules need to know about a conversation (read inside the write transaction).
#[derive(Debug, Clone)]
pub struct ConvState {
    /// Id.
    pub id: ConversationId,
    /// Channel.
    pub channel_id: ChannelId,
    /// Kind of the channel.
    pub channel_kind: ChannelKind,
    /// Customer.
    pub contact_id: ContactId,
    /// Status.
    pub status: Status,
    /// Assignee.
    pub assignee: Option<UserId>,
    /// Team.
    pub team: Option<TeamId>,
    /// Current cycle.
    pub cycle_id: Option<i64>,
    /// Customer's last message time.
    pub last_inbound_at: Option<i64>,
    /// When the service window closes.
    pub window_closes_at: Option<i64>,
    /// Since when the customer has waited on us (UTC ms; `None`: not waiting).
    pub waiting_since: Option<i64>,
    /// The people its notes mention.
    pub mentioned: Vec<UserId>,
}

impl ConvState {
    /// The policy's view of who holds it.
    pub fn ownership(&self) -> Ownership {
        Ownership {
            assignee: self.assignee,
            team: self.team,
            resolved: self.status == Status::Resolved,
            mentioned: self.mentioned.clone(),
        }
    }
}

/// One conversation by id, for the rules.
pub fn find_conv_state(conn: &Connection, id: ConversationId) -> Result<Option<ConvState>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT c.id, c.channel_id, ch.kind, c.contact_id, c.status, c.assignee_id, c.team_id,
                    c.cycle_id, c.last_inbound_at, c.window_closes_at, {MENTIONED_IDS},
                    c.waiting_since
             FROM conversations c JOIN channels ch ON ch.id = c.channel_id WHERE c.id = ?1"
        ))?
        .query_row([id.0], |r| {
            let kind: String = r.get(2)?;
            let status: String = r.get(4)?;
            Ok(ConvState {
                id: ConversationId(r.get(0)?),
                channel_id: ChannelId(r.get(1)?),
                channel_kind: ChannelKind::parse(&kind).unwrap_or(ChannelKind::Api),
                contact_id: ContactId(r.get(3)?),
                status: Status::parse(&status).unwrap_or(Status::Open),
                assignee: r.get::<_, Option<i64>>(5)?.map(UserId),
                team: r.get::<_, Option<i64>>(6)?.map(TeamId),
                cycle_id: r.get(7)?,
                last_inbound_at: r.get(8)?,
                window_closes_at: r.get(9)?,
                waiting_since: r.get(11)?,
                mentioned: parse_ids(r.get(10)?),
            })
        })
        .optional()?)
}

/// The newest conversation of a contact on a channel.
pub fn find_latest_for_contact(
    conn: &Connection,
    contact: ContactId,
    channel: ChannelId,
) -> Result<Option<ConversationId>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM conversations WHERE contact_id = ?1 AND channel_id = ?2 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([contact.0, channel.0], |r| r.get(0))
        .optional()?
        .map(ConversationId))
}

/// Fields of a new conversation.
#[derive(Debug, Clone)]
pub struct NewConversation {
    /// Channel.
    pub channel: ChannelId,
    /// Customer.
    pub contact: ContactId,
    /// Initial status.
    pub status: Status,
    /// Initial assignee.
    pub assignee: Option<UserId>,
    /// Initial team.
    pub team: Option<TeamId>,
}

/// Inserts a conversation.
pub fn insert_conversation(
    conn: &Connection,
    c: &NewConversation,
    now: i64,
) -> Result<ConversationId> {
    conn.prepare_cached(
        "INSERT INTO conversations (channel_id, contact_id, status, assignee_id, team_id, last_message_at, created_at, updated_at, pending_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, CASE WHEN ?3 = 'pending' THEN ?6 END)",
    )?
    .execute(params![
        c.channel.0,
        c.contact.0,
        c.status.as_str(),
        c.assignee.map(|u| u.0),
        c.team.map(|t| t.0),
        now
    ])?;
    Ok(ConversationId(conn.last_insert_rowid()))
}

/// Claims an unassigned conversation; returns false if someone holds it already. The condition
/// in the UPDATE makes the claim atomic even apart from the single writer.
pub fn claim_if_unassigned(
    conn: &Connection,
    id: ConversationId,
    user: UserId,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE conversations SET assignee_id = ?2, assigned_at = ?3, updated_at = ?3 WHERE id = ?1 AND assignee_id IS NULL",
        )?
        .execute(params![id.0, user.0, now])?
        == 1)
}

/// Sets assignee and team.
pub fn update_assignment(
    conn: &Connection,
    id: ConversationId,
    assignee: Option<UserId>,
    team: Option<TeamId>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET team_id = ?3, updated_at = ?4,
            assigned_at = CASE WHEN assignee_id IS ?2 THEN assigned_at ELSE ?4 END,
            assignee_id = ?2
         WHERE id = ?1",
    )?
    .execute(params![id.0, assignee.map(|u| u.0), team.map(|t| t.0), now])?;
    Ok(())
}

/// Sets the status (and snooze end); resolving clears the customer's waiting time.
pub fn update_status(
    conn: &Connection,
    id: ConversationId,
    status: Status,
    snoozed_until: Option<i64>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET status = ?2, snoozed_until = ?3, updated_at = ?4,
            waiting_since = CASE WHEN ?2 = 'resolved' THEN NULL ELSE waiting_since END,
            pending_since = CASE WHEN ?2 = 'pending' THEN CASE WHEN status = 'pending' THEN pending_since ELSE ?4 END END
         WHERE id = ?1",
    )?
    .execute(params![id.0, status.as_str(), snoozed_until, now])?;
    Ok(())
}

/// The unresolved conversations (open, pending, snoozed) `user` owns, oldest activity first.
pub fn list_unresolved_owned(conn: &Connection, user: UserId) -> Result<Vec<ConversationId>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM conversations
         WHERE assignee_id = ?1 AND status <> 'resolved'
         ORDER BY last_message_at, id",
    )?;
    let ids = st
        .query_map([user.0], |r| r.get(0).map(ConversationId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// Unassigned open conversations whose customer has waited since `before` (UTC ms) or longer
/// and whose alert was not raised: `(id, waiting_since)`, longest wait first, at most `limit`.
pub fn list_unalerted_unassigned(
    conn: &Connection,
    before: i64,
    limit: i64,
) -> Result<Vec<(ConversationId, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT id, waiting_since FROM conversations
         WHERE assignee_id IS NULL AND status = 'open' AND unassigned_alerted = 0
           AND waiting_since IS NOT NULL AND waiting_since <= ?1
         ORDER BY waiting_since LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![before, limit], |r| {
            Ok((ConversationId(r.get(0)?), r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Marks the unassigned alert of `id` raised.
pub fn update_unassigned_alerted(conn: &Connection, id: ConversationId) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET unassigned_alerted = 1 WHERE id = ?1")?
        .execute([id.0])?;
    Ok(())
}

/// An assigned conversation left unanswered: who holds it, its team, and since when (UTC ms).
#[derive(Debug, Clone, Copy)]
pub struct Ignored {
    /// The conversation.
    pub id: ConversationId,
    /// Its assignee.
    pub assignee: UserId,
    /// Its team.
    pub team: Option<TeamId>,
    /// The later of the customer's wait and the assignment.
    pub since: i64,
}

/// Assigned open conversations whose customer has waited since `before` (UTC ms) or longer and
/// whose assignee got them at `before` or earlier, with no staff reply since (a reply clears the
/// wait), longest wait first.
pub fn list_ignored_assigned(conn: &Connection, before: i64, limit: i64) -> Result<Vec<Ignored>> {
    let mut st = conn.prepare_cached(
        "SELECT id, assignee_id, team_id, MAX(waiting_since, COALESCE(assigned_at, 0)) FROM conversations
         WHERE assignee_id IS NOT NULL AND status = 'open' AND waiting_since IS NOT NULL
           AND waiting_since <= ?1 AND COALESCE(assigned_at, 0) <= ?1
         ORDER BY waiting_since LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![before, limit], |r| {
            Ok(Ignored {
                id: ConversationId(r.get(0)?),
                assignee: UserId(r.get(1)?),
                team: r.get::<_, Option<i64>>(2)?.map(TeamId),
                since: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The unassigned open conversation of a pool whose customer has waited longest, if they have
/// waited since `before` (UTC ms) or earlier: conversations of `teams` and those with no team.
pub fn find_oldest_waiting_in_pool(
    conn: &Connection,
    teams: &[TeamId],
    before: i64,
) -> Result<Option<ConversationId>> {
    let teams = serde_json::to_string(&teams.iter().map(|t| t.0).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    Ok(conn
        .prepare_cached(
            "SELECT id FROM conversations
             WHERE assignee_id IS NULL AND status = 'open' AND waiting_since IS NOT NULL
               AND waiting_since <= ?1
               AND (team_id IS NULL OR team_id IN (SELECT value FROM json_each(?2)))
             ORDER BY waiting_since, id LIMIT 1",
        )?
        .query_row(params![before, teams], |r| r.get(0).map(ConversationId))
        .optional()?)
}

/// The unassigned open conversation whose customer has waited longest (then the lowest id), in
/// the pools of `teams` and the general pool (`None`: every pool) — "Take next". Read through the
/// partial index conv_pool_wait in waiting order.
pub fn find_next_waiting(
    conn: &Connection,
    teams: Option<&[TeamId]>,
) -> Result<Option<ConversationId>> {
    let teams = teams.map(|t| {
        serde_json::to_string(&t.iter().map(|t| t.0).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    });
    Ok(conn
        .prepare_cached(
            "SELECT id FROM conversations INDEXED BY conv_pool_wait
             WHERE assignee_id IS NULL AND status = 'open' AND waiting_since IS NOT NULL
               AND (?1 IS NULL OR team_id IS NULL
                    OR team_id IN (SELECT value FROM json_each(?1)))
             ORDER BY waiting_since, id LIMIT 1",
        )?
        .query_row(params![teams], |r| r.get(0).map(ConversationId))
        .optional()?)
}

/// Snoozed conversations whose time has come (`snoozed_until <= now`, ms), soonest first, at
/// most `limit` — read through the partial index `conv_snoozed`, never a scan of the table.
pub fn list_due_snoozed(conn: &Connection, now: i64, limit: i64) -> Result<Vec<ConversationId>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM conversations
         WHERE status = 'snoozed' AND snoozed_until <= ?1
         ORDER BY snoozed_until LIMIT ?2",
    )?;
    let ids = st
        .query_map(params![now, limit], |r| r.get(0).map(ConversationId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// Pending conversations that have waited on the customer since `before` (UTC ms) or longer
/// with no customer message since then, longest quiet first, at most `limit` (the partial index
/// `conv_pending_since`, never a scan).
pub fn list_quiet_pending(
    conn: &Connection,
    before: i64,
    limit: i64,
) -> Result<Vec<ConversationId>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM conversations
         WHERE status = 'pending' AND pending_since <= ?1
           AND COALESCE(last_inbound_at, 0) <= ?1
         ORDER BY pending_since LIMIT ?2",
    )?;
    let ids = st
        .query_map(params![before, limit], |r| r.get(0).map(ConversationId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// A customer message that changes nothing but the customer service window (a survey answer on
/// a resolved conversation, #13): the window runs from it as from any message the customer sends
/// (Meta: 24 hours from the customer's last message); status, wait, preview and order stay.
pub fn record_inbound_window(
    conn: &Connection,
    id: ConversationId,
    at: i64,
    window_closes_at: Option<i64>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET
            last_inbound_at = MAX(COALESCE(last_inbound_at, 0), ?2),
            window_closes_at = CASE WHEN ?3 IS NULL THEN window_closes_at
                                    ELSE MAX(COALESCE(window_closes_at, 0), ?3) END,
            updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![id.0, at, window_closes_at, now])?;
    Ok(())
}

/// [`record_inbound`]'s UPDATE, by which of `status` and `waiting_since` it sets: index
/// `2 * status + waiting_since`.
static RECORD_INBOUND: LazyLock<[String; 4]> = LazyLock::new(|| {
    let rest = "snoozed_until = NULL,
            pending_since = CASE WHEN ?3 = 'pending' THEN CASE WHEN status = 'pending' THEN pending_since ELSE ?6 END END,
            last_message_at = MAX(last_message_at, ?2),
            last_inbound_at = MAX(COALESCE(last_inbound_at, 0), ?2),
            window_closes_at = MAX(COALESCE(window_closes_at, 0), COALESCE(?5, 0)),
            preview = CASE WHEN ?2 >= last_message_at THEN ?4 ELSE preview END, updated_at = ?6
         WHERE id = ?1";
    let set = |status: bool, waiting: bool| {
        format!(
            "UPDATE conversations SET {}{}{rest}",
            if status { "status = ?3, " } else { "" },
            if waiting {
                "waiting_since = MIN(COALESCE(waiting_since, ?2), ?2), "
            } else {
                ""
            }
        )
    };
    [
        set(false, false),
        set(false, true),
        set(true, false),
        set(true, true),
    ]
});

/// What [`record_inbound`] finds stored before the message: the status, and since when the
/// customer has waited (`None`: not waiting, or a conversation just inserted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Status.
    pub status: Status,
    /// Since when the customer has waited on us (UTC ms).
    pub waiting_since: Option<i64>,
}

/// Records an inbound customer message sent at `at` (the provider's time, ms). Everything
/// "latest" follows that time, not the order of arrival: a late, older message neither becomes
/// the preview nor moves the conversation up; the customer waits since their earliest
/// unanswered message. `status` is the status after it; `stored` is what the caller read in
/// this transaction. The status, and the waiting time, are set only when they change: SQLite
/// rewrites every index on a column an UPDATE sets, changed or not, and each customer message
/// to a conversation that was waiting already rewrote its entries in `conv_status_owner`,
/// `conv_owner_load`, the waiting-time indexes and the pool's for nothing — a page written per
/// message and index, spread over every owner's part of the index (issue #10).
#[allow(clippy::too_many_arguments)]
pub fn record_inbound(
    conn: &Connection,
    id: ConversationId,
    at: i64,
    preview: &str,
    status: Status,
    stored: Stored,
    window_closes_at: Option<i64>,
    now: i64,
) -> Result<()> {
    let sets_status = stored.status != status;
    // `MIN(COALESCE(waiting_since, at), at)` keeps a wait that began at or before `at`.
    let sets_waiting = stored.waiting_since.is_none_or(|w| w > at);
    let sql = &RECORD_INBOUND[2 * usize::from(sets_status) + usize::from(sets_waiting)];
    conn.prepare_cached(sql)?.execute(params![
        id.0,
        at,
        status.as_str(),
        preview,
        window_closes_at,
        now
    ])?;
    // A channel without a window stores NULL, not 0.
    if window_closes_at.is_none() {
        conn.prepare_cached("UPDATE conversations SET window_closes_at = NULL WHERE id = ?1 AND window_closes_at = 0")?
            .execute([id.0])?;
    }
    Ok(())
}

/// Records a customer-visible staff message: the customer is no longer waiting on us.
pub fn record_outbound(
    conn: &Connection,
    id: ConversationId,
    preview: &str,
    status: Status,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET status = ?3, snoozed_until = CASE WHEN ?3 = 'snoozed' THEN snoozed_until END,
            pending_since = CASE WHEN ?3 = 'pending' THEN CASE WHEN status = 'pending' THEN pending_since ELSE ?4 END END,
            last_message_at = MAX(last_message_at, ?4), waiting_since = NULL, preview = ?2, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![id.0, preview, status.as_str(), now])?;
    Ok(())
}

/// `{"id","kind","name"}` of a channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelRef {
    /// Id.
    pub id: ChannelId,
    /// Kind.
    pub kind: ChannelKind,
    /// Name.
    pub name: String,
}

/// `{"id","name","phone"}` of a contact.
#[derive(Debug, Clone, Serialize)]
pub struct ContactRef {
    /// Id.
    pub id: ContactId,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
}

/// A conversation as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    /// Id.
    pub id: ConversationId,
    /// Status.
    pub status: Status,
    /// Who owns it.
    pub assignee: Option<Named>,
    /// Its team.
    pub team: Option<Named>,
    /// The customer.
    pub contact: ContactRef,
    /// Where it happens.
    pub channel: ChannelRef,
    /// Tag names.
    pub tags: Vec<String>,
    /// Newest message time.
    pub last_message_at: Ts,
    /// Since when the customer waits for us (null: not waiting).
    pub waiting_since: Option<Ts>,
    /// When the customer service window closes (null: no window on this channel, or never opened).
    pub window_closes_at: Option<Ts>,
    /// The conversation is unresolved and its window closes within two hours: reply now (or
    /// hand it to someone who can) while free text is still allowed.
    pub window_closing: bool,
    /// SLA state (SLA policies come later).
    pub sla: Option<serde_json::Value>,
    /// Creation time.
    pub created_at: Ts,
    /// Priority.
    pub priority: String,
    /// Snooze end.
    pub snoozed_until: Option<Ts>,
    /// Newest message text, shortened.
    pub preview: String,
    /// The menu bot holds it (#13): no assignee, in no human queue until the handoff. Lists
    /// never hold such a conversation, so only a single read ([`find_conversation`]) sets it.
    pub bot: bool,
}

pub(super) const SELECT: &str = "SELECT c.id, c.status, c.assignee_id, u.name, c.team_id, t.name, c.contact_id, ct.name, ct.phone,
        c.channel_id, ch.kind, ch.name,
        (SELECT json_group_array(tg.name) FROM conversation_tags x JOIN tags tg ON tg.id = x.tag_id
          WHERE x.conversation_id = c.id),
        c.last_message_at, c.waiting_since, c.window_closes_at, c.created_at, c.priority, c.snoozed_until, c.preview
    FROM conversations c
    JOIN contacts ct ON ct.id = c.contact_id
    JOIN channels ch ON ch.id = c.channel_id
    LEFT JOIN users u ON u.id = c.assignee_id
    LEFT JOIN teams t ON t.id = c.team_id";

pub(super) fn map_conversation(r: &rusqlite::Row<'_>) -> rusqlite::Result<Conversation> {
    let named = |id: Option<i64>, name: Option<String>| {
        id.map(|id| Named {
            id,
            name: name.unwrap_or_default(),
        })
    };
    let status: String = r.get(1)?;
    let kind: String = r.get(10)?;
    let tags: Option<String> = r.get(12)?;
    Ok(Conversation {
        id: ConversationId(r.get(0)?),
        status: Status::parse(&status).unwrap_or(Status::Open),
        assignee: named(r.get(2)?, r.get(3)?),
        team: named(r.get(4)?, r.get(5)?),
        contact: ContactRef {
            id: ContactId(r.get(6)?),
            name: r.get(7)?,
            phone: r.get(8)?,
        },
        channel: ChannelRef {
            id: ChannelId(r.get(9)?),
            kind: ChannelKind::parse(&kind).unwrap_or(ChannelKind::Api),
            name: r.get(11)?,
        },
        tags: tags
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        last_message_at: Ts(r.get(13)?),
        waiting_since: r.get::<_, Option<i64>>(14)?.map(Ts),
        window_closes_at: r.get::<_, Option<i64>>(15)?.map(Ts),
        window_closing: crate::domain::conversation::window_closing(
            Status::parse(&status).unwrap_or(Status::Open),
            r.get(15)?,
            crate::domain::time::now_ms(),
        ),
        sla: None,
        created_at: Ts(r.get(16)?),
        priority: r.get(17)?,
        snoozed_until: r.get::<_, Option<i64>>(18)?.map(Ts),
        preview: r.get(19)?,
        bot: false,
    })
}

/// One conversation as the API shows it.
pub fn find_conversation(conn: &Connection, id: ConversationId) -> Result<Option<Conversation>> {
    let Some(mut c) = conn
        .prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))?
        .query_row([id.0], map_conversation)
        .optional()?
    else {
        return Ok(None);
    };
    c.bot = super::bot::find_held(conn, id)?;
    Ok(Some(c))
}

/// Every conversation of a contact with who holds it, newest first (at most 100).
pub fn list_for_contact(
    conn: &Connection,
    contact: ContactId,
) -> Result<Vec<(ConversationId, Ownership)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id, c.assignee_id, c.team_id, c.status, {MENTIONED_IDS}
           FROM conversations c WHERE c.contact_id = ?1 ORDER BY c.id DESC LIMIT 100"
    ))?;
    let rows = stmt.query_map([contact.0], |r| {
        Ok((
            ConversationId(r.get(0)?),
            Ownership {
                assignee: r.get::<_, Option<i64>>(1)?.map(UserId),
                team: r.get::<_, Option<i64>>(2)?.map(TeamId),
                resolved: r.get::<_, String>(3)? == Status::Resolved.as_str(),
                mentioned: parse_ids(r.get(4)?),
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
