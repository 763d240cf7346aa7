//! Routing: the ordered rules, and the reads routing decides on (a team's members with their load,
//! a team's pool oldest first, a contact's tags and last owner) and its one write of its own (the
//! round-robin turn, `users.last_routed_at`).

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::routing::{Actions, Candidate, Conditions, Rule};
use crate::domain::{ContactId, ConversationId, Status, TeamId, UserId, UserStatus};

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

/// Stores a new rule (its `id` is ignored); answers the id. Like every write of a rule, it
/// replaces the config version ([`super::settings::find_config_version`]).
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
    let id = conn.last_insert_rowid();
    super::settings::update_config_version(conn)?;
    Ok(id)
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
    super::settings::update_config_version(conn)
}

/// Deletes a rule; answers whether there was one.
pub fn delete_rule(conn: &Connection, id: i64) -> Result<bool> {
    let gone = conn
        .prepare_cached("DELETE FROM routing_rules WHERE id = ?1")?
        .execute([id])?
        > 0;
    super::settings::update_config_version(conn)?;
    Ok(gone)
}

/// A person's unresolved conversations (`u.id`), as a correlated subquery. Counted as one
/// equality probe per unresolved status into `conv_status_owner (status, assignee_id, ..)`,
/// which covers it: no conversation row is read. (Through the partial index `conv_owner_open`,
/// SQLite still read each conversation's row to check its status, which made routing slower
/// the more a person owned — issue #10.) The statuses come from [`Status::ALL`].
static OPEN_COUNT: LazyLock<String> = LazyLock::new(|| {
    let unresolved: Vec<String> = Status::ALL
        .iter()
        .filter(|s| **s != Status::Resolved)
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "(SELECT COUNT(*) FROM conversations c
           WHERE c.status IN ({}) AND c.assignee_id = u.id)",
        unresolved.join(", ")
    )
});

/// The enabled members of `team` with their availability, capacity, round-robin turn and
/// unresolved conversations (see [`OPEN_COUNT`]). The count is a range of the index per member,
/// as long as their load: it is made only where a pick reads it — for every member when
/// `all_loads` (least loaded), else only for members with a capacity (round robin and the
/// sticky owner compare it with the capacity alone); a member without a capacity then shows
/// `open` 0 (issue #10: counting every member's load on every routed conversation made ingest
/// slower the more the team owned).
pub fn list_candidates(conn: &Connection, team: TeamId, all_loads: bool) -> Result<Vec<Candidate>> {
    // SQLite evaluates the correlated count only in the CASE branch taken.
    let mut st = conn.prepare_cached(&format!(
        "SELECT u.id, u.status, u.capacity, u.last_routed_at,
                CASE WHEN ?2 OR u.capacity IS NOT NULL THEN {} ELSE 0 END
           FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.team_id = ?1 AND u.disabled = 0
          ORDER BY u.id",
        *OPEN_COUNT
    ))?;
    let rows = st.query_map(params![team.0, all_loads], |r| {
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

/// A person's availability and capacity, and their unresolved conversations ([`OPEN_COUNT`];
/// `None`: no such enabled user).
pub fn find_load(conn: &Connection, user: UserId) -> Result<Option<Candidate>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT u.id, u.status, u.capacity, u.last_routed_at, {}
               FROM users u WHERE u.id = ?1 AND u.disabled = 0",
            *OPEN_COUNT
        ))?
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{Assignment, ChannelKind, Role};
    use crate::service::teams::TeamChange;
    use crate::store::conversations::{NewConversation, insert_conversation};
    use crate::store::users::NewUser;

    /// A member's load is counted where a pick reads it: for everyone when asked (least
    /// loaded), else only for members with a capacity (issue #10: round robin counted every
    /// member's unresolved conversations on every routed conversation).
    #[test]
    fn loads_are_counted_for_least_loaded_and_for_members_with_a_capacity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open_bare(&dir.path().join("t.db")).expect("database");
        let mut people = Vec::new();
        // (name, capacity, unresolved conversations, resolved ones)
        let desk = [
            ("ana", None, 3, 1),
            ("bruno", Some(10), 2, 2),
            ("carla", None, 0, 0),
        ];
        for (name, capacity, _, _) in desk {
            let new = NewUser {
                email: format!("{name}@example.test"),
                name: name.into(),
                role: Role::Agent,
                password_hash: "h".into(),
            };
            let id = crate::service::users::create_user(&conn, new, &[])
                .expect("agent")
                .id;
            conn.execute(
                "UPDATE users SET status = 'available', capacity = ?2 WHERE id = ?1",
                params![id.0, capacity],
            )
            .expect("capacity");
            people.push(id);
        }
        let channel = crate::service::channels::create(
            &conn,
            ChannelKind::Api,
            "site",
            &json!({"callback_url": "http://127.0.0.1:9/"}),
        )
        .expect("channel")
        .id;
        let contact = crate::store::contacts::insert_contact(&conn, "c", None, 0).expect("contact");
        for (who, (_, _, open, resolved)) in people.iter().zip(desk) {
            for (n, status) in [(open, Status::Open), (resolved, Status::Resolved)] {
                for _ in 0..n {
                    let c = NewConversation {
                        channel,
                        contact,
                        status,
                        assignee: Some(*who),
                        team: None,
                    };
                    insert_conversation(&conn, &c, 0).expect("conversation");
                }
            }
        }
        let team = crate::service::teams::create_team(
            &conn,
            TeamChange {
                name: Some("Sales".into()),
                assignment: Some(Assignment::RoundRobin),
                members: Some(people.clone()),
            },
        )
        .expect("team")
        .id;
        let loads = |all| -> Vec<i64> {
            list_candidates(&conn, team, all)
                .expect("candidates")
                .iter()
                .map(|c| c.open)
                .collect()
        };
        // Least loaded: everyone's. Otherwise only bruno's (a capacity); 0 shows "not counted".
        assert_eq!(loads(true), vec![3, 2, 0]);
        assert_eq!(loads(false), vec![0, 2, 0]);
        // find_load, for one person, always counts.
        let ana = find_load(&conn, people[0]).expect("load").expect("ana");
        assert_eq!(ana.open, 3);
    }
}
