//! Routing: the ordered rules, and the reads routing decides on (a team's members with their load,
//! a team's pool oldest first, a contact's tags and last owner) and its one write of its own (the
//! round-robin turn, `users.last_routed_at`).

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::routing::{Actions, Candidate, Conditions, Rule};
use crate::domain::{ContactId, ConversationId, TeamId, UserId, UserStatus};

fn map_rule(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rule> {
    let conditions: String = r.get(2)?;
    let actions: String = r.get(3)?;
    Ok(Rule {
        id: r.get(0)?,
        position: r.get(1)?,
        // Written only by this module from the typed values, so they parse; a row that does not
        // (a hand edit) matches nothing rather than everything.
        conditions: serde_json::from_str::<Conditions>(&conditions).unwrap_or(Conditions {
            channel_id: Some(-1),
            ..Conditions::default()
        }),
        actions: serde_json::from_str::<Actions>(&actions).unwrap_or_default(),
    })
}

/// Every rule in the order they are tried: by position, ties by id.
pub fn list_rules(conn: &Connection) -> Result<Vec<Rule>> {
    let mut st = conn.prepare_cached(
        "SELECT id, position, conditions, actions FROM routing_rules ORDER BY position, id",
    )?;
    let rows = st.query_map([], map_rule)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One rule.
pub fn find_rule(conn: &Connection, id: i64) -> Result<Option<Rule>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, position, conditions, actions FROM routing_rules WHERE id = ?1",
        )?
        .query_row([id], map_rule)
        .optional()?)
}

fn json(v: &impl serde::Serialize) -> String {
    // Plain structs of options, strings and numbers: serializing cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// Stores a new rule (its `id` is ignored); answers the id.
pub fn insert_rule(conn: &Connection, rule: &Rule, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO routing_rules (position, conditions, actions, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![
        rule.position,
        json(&rule.conditions),
        json(&rule.actions),
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces position, conditions and actions of rule `rule.id`.
pub fn update_rule(conn: &Connection, rule: &Rule, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE routing_rules SET position = ?2, conditions = ?3, actions = ?4, updated_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        rule.id,
        rule.position,
        json(&rule.conditions),
        json(&rule.actions),
        now
    ])?;
    Ok(())
}

/// Deletes a rule; answers whether there was one.
pub fn delete_rule(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM routing_rules WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// The enabled members of `team` with their availability, capacity, round-robin turn and
/// unresolved conversations (counted through the partial index `conv_owner_open`).
pub fn list_candidates(conn: &Connection, team: TeamId) -> Result<Vec<Candidate>> {
    let mut st = conn.prepare_cached(
        "SELECT u.id, u.status, u.capacity, u.last_routed_at,
                (SELECT COUNT(*) FROM conversations c
                  WHERE c.assignee_id = u.id AND c.status <> 'resolved')
           FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.team_id = ?1 AND u.disabled = 0
          ORDER BY u.id",
    )?;
    let rows = st.query_map([team.0], |r| {
        let status: String = r.get(1)?;
        Ok(Candidate {
            user: UserId(r.get(0)?),
            status: UserStatus::parse(&status).unwrap_or(UserStatus::Offline),
            capacity: r.get(2)?,
            last_routed_at: r.get(3)?,
            open: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A person's availability and capacity, and their unresolved conversations (`None`: no such
/// enabled user).
pub fn find_load(conn: &Connection, user: UserId) -> Result<Option<Candidate>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.status, u.capacity, u.last_routed_at,
                    (SELECT COUNT(*) FROM conversations c
                      WHERE c.assignee_id = u.id AND c.status <> 'resolved')
               FROM users u WHERE u.id = ?1 AND u.disabled = 0",
        )?
        .query_row([user.0], |r| {
            let status: String = r.get(1)?;
            Ok(Candidate {
                user: UserId(r.get(0)?),
                status: UserStatus::parse(&status).unwrap_or(UserStatus::Offline),
                capacity: r.get(2)?,
                last_routed_at: r.get(3)?,
                open: r.get(4)?,
            })
        })
        .optional()?)
}

/// The teams `user` belongs to.
pub fn list_user_team_ids(conn: &Connection, user: UserId) -> Result<Vec<TeamId>> {
    let mut st =
        conn.prepare_cached("SELECT team_id FROM memberships WHERE user_id = ?1 ORDER BY team_id")?;
    let rows = st.query_map([user.0], |r| r.get(0).map(TeamId))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` conversations waiting in `team`'s pool (unassigned, unresolved), the customer
/// who has waited longest first, through the partial index `conv_pool`.
pub fn list_pool_oldest(
    conn: &Connection,
    team: TeamId,
    limit: i64,
) -> Result<Vec<ConversationId>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM conversations
          WHERE team_id = ?1 AND assignee_id IS NULL AND status <> 'resolved'
          ORDER BY COALESCE(waiting_since, last_message_at), id
          LIMIT ?2",
    )?;
    let rows = st.query_map(params![team.0, limit], |r| r.get(0).map(ConversationId))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records that routing gave `user` a conversation: their round-robin turn becomes `now`, or
/// one past the latest turn of anyone if that is later, so turns taken within one millisecond
/// still keep their order. Answers the turn stored.
pub fn update_last_routed(conn: &Connection, user: UserId, now: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "UPDATE users SET last_routed_at =
                MAX(?2, COALESCE((SELECT MAX(last_routed_at) FROM users), 0) + 1)
              WHERE id = ?1 RETURNING last_routed_at",
        )?
        .query_row(params![user.0, now], |r| r.get(0))?)
}

/// A contact's tags: every tag on any of their conversations, and the strings of the contact's
/// `tags` attribute (an array set through `PATCH /api/v1/contacts/{id}`).
pub fn list_contact_tags(conn: &Connection, contact: ContactId) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT t.name FROM conversations c
           JOIN conversation_tags ct ON ct.conversation_id = c.id
           JOIN tags t ON t.id = ct.tag_id
          WHERE c.contact_id = ?1
         UNION
         SELECT CAST(j.value AS TEXT) FROM contacts k, json_each(k.attributes, '$.tags') j
          WHERE k.id = ?1 AND json_valid(k.attributes) AND j.type = 'text'",
    )?;
    let rows = st.query_map([contact.0], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The returning customer's last owner: of the contact's conversations (any channel), newest
/// first, the first with an assignee, or else whoever resolved its latest resolved cycle.
pub fn find_last_owner(conn: &Connection, contact: ContactId) -> Result<Option<UserId>> {
    Ok(conn
        .prepare_cached(
            "SELECT owner FROM (
                SELECT c.id, COALESCE(c.assignee_id,
                    (SELECT y.resolved_by FROM cycles y
                      WHERE y.conversation_id = c.id AND y.resolved_by IS NOT NULL
                      ORDER BY y.id DESC LIMIT 1)) AS owner
                  FROM conversations c WHERE c.contact_id = ?1)
              WHERE owner IS NOT NULL ORDER BY id DESC LIMIT 1",
        )?
        .query_row([contact.0], |r| r.get(0).map(UserId))
        .optional()?)
}

/// Sets a conversation's priority.
pub fn update_priority(
    conn: &Connection,
    id: ConversationId,
    priority: crate::domain::Priority,
    now: i64,
) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET priority = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id.0, priority.as_str(), now])?;
    Ok(())
}

/// The first customer message of the conversation's current cycle: (text, time in ms).
pub fn find_cycle_opening(conn: &Connection, id: ConversationId) -> Result<Option<(String, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.text, m.created_at FROM conversations c
               JOIN cycles y ON y.id = c.cycle_id
               JOIN messages m ON m.conversation_id = c.id AND m.direction = 'in'
                AND m.created_at >= y.started_at
              WHERE c.id = ?1
              ORDER BY m.created_at, m.id LIMIT 1",
        )?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}
