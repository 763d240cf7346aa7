//! Cycles: one per stretch of a conversation from a customer's first message to its resolution,
//! the unit of first-response and resolution metrics. The writers here keep the figures a
//! report reads on the row (migration 020): the business-hours times after every change of a
//! cycle's times; the conversation's channel, team and assignee are mirrored by triggers.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, settings};
use crate::domain::calendar::BusinessCalendar;
use crate::domain::metrics::report_calendar;
use crate::domain::{ConversationId, UserId};

/// Starts a cycle and makes it the conversation's current one.
pub fn insert_cycle(conn: &Connection, id: ConversationId, started_at: i64) -> Result<i64> {
    conn.prepare_cached("INSERT INTO cycles (conversation_id, started_at) VALUES (?1, ?2)")?
        .execute(params![id.0, started_at])?;
    let cycle = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE conversations SET cycle_id = ?2 WHERE id = ?1")?
        .execute(params![id.0, cycle])?;
    Ok(cycle)
}

/// Moves the start of a cycle that has no response yet back to `at` when a late message shows
/// the customer began writing earlier (messages can arrive out of their provider order).
pub fn update_cycle_start(conn: &Connection, cycle: i64, at: i64) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE cycles SET started_at = ?2 WHERE id = ?1 AND started_at > ?2 AND first_response_at IS NULL",
        )?
        .execute(params![cycle, at])?;
    if n > 0 {
        update_business_secs(conn, Some(cycle))?;
    }
    Ok(())
}

/// Records the first staff response of a cycle (only the first counts).
pub fn mark_first_response(conn: &Connection, cycle: i64, at: i64, user: UserId) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE cycles SET first_response_at = ?2, first_responder_id = ?3 WHERE id = ?1 AND first_response_at IS NULL",
        )?
        .execute(params![cycle, at, user.0])?;
    if n > 0 {
        update_business_secs(conn, Some(cycle))?;
    }
    Ok(())
}

/// Records (or, with `None`, withdraws) a cycle's resolution.
pub fn mark_resolved(
    conn: &Connection,
    cycle: i64,
    at: Option<i64>,
    by: Option<UserId>,
) -> Result<()> {
    conn.prepare_cached("UPDATE cycles SET resolved_at = ?2, resolved_by = ?3 WHERE id = ?1")?
        .execute(params![cycle, at, by.map(|u| u.0)])?;
    // Also on a reopen: the trigger cleared the first response's figure with the resolution's.
    update_business_secs(conn, Some(cycle))?;
    Ok(())
}

/// A cycle's business-hours times under `cal`: (first response, resolution) in whole seconds,
/// each `None` while the cycle has no response / resolution. The summary computes the same for
/// a row whose stored figures are not written yet, so the two cannot differ.
pub fn business_secs(
    cal: &BusinessCalendar,
    started_at: i64,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
) -> (Option<i64>, Option<i64>) {
    (
        first_response_at.map(|t| cal.elapsed_secs(started_at, t)),
        resolved_at.map(|t| cal.elapsed_secs(started_at, t)),
    )
}

/// Writes the business-hours times (`first_response_business_secs`,
/// `resolution_business_secs`) of `only` that cycle, or of every cycle that lacks them, under
/// the calendar of the current settings ([`report_calendar`]); nothing without business hours.
/// Answers how many cycles were written. Called after each change of a cycle's times (the
/// trigger `cycles_business_stale` of migration 020 has cleared them), by
/// [`update_business_secs_all`] and by migration 020's Rust step.
pub fn update_business_secs(conn: &Connection, only: Option<i64>) -> Result<usize> {
    let Some(cal) = report_calendar(&settings::load_settings(conn)?) else {
        return Ok(0);
    };
    const STALE: &str = "((first_response_at IS NOT NULL AND first_response_business_secs IS NULL)
                          OR (resolved_at IS NOT NULL AND resolution_business_secs IS NULL))";
    let read = |r: &rusqlite::Row| -> rusqlite::Result<(i64, i64, Option<i64>, Option<i64>)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    };
    let rows: Vec<_> = match only {
        Some(id) => conn
            .prepare_cached(&format!(
                "SELECT id, started_at, first_response_at, resolved_at FROM cycles
                  WHERE id = ?1 AND {STALE}"
            ))?
            .query_row([id], read)
            .optional()?
            .into_iter()
            .collect(),
        None => conn
            .prepare_cached(&format!(
                "SELECT id, started_at, first_response_at, resolved_at FROM cycles WHERE {STALE}"
            ))?
            .query_map([], read)?
            .collect::<rusqlite::Result<_>>()?,
    };
    let mut write = conn.prepare_cached(
        "UPDATE cycles SET first_response_business_secs = ?2, resolution_business_secs = ?3
          WHERE id = ?1",
    )?;
    for (id, started, first, resolved) in &rows {
        let (f, r) = business_secs(&cal, *started, *first, *resolved);
        write.execute(params![id, f, r])?;
    }
    Ok(rows.len())
}

/// After a change of the business calendar (time zone, hours or holidays): clears every
/// cycle's business-hours times and writes them again under the new calendar, in the caller's
/// transaction (1.3 s for 85k cycles in the benchmark). Answers how many were written.
pub fn update_business_secs_all(conn: &Connection) -> Result<usize> {
    conn.prepare_cached(
        "UPDATE cycles SET first_response_business_secs = NULL, resolution_business_secs = NULL
          WHERE first_response_business_secs IS NOT NULL OR resolution_business_secs IS NOT NULL",
    )?
    .execute([])?;
    update_business_secs(conn, None)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::domain::events::kind;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    /// 1970-01-05, a Monday, 00:00 UTC.
    const MONDAY: i64 = 4 * DAY;

    /// (channel, team, assignee, first response business secs, resolution business secs) of
    /// every cycle, by id.
    type Facts = Vec<(i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)>;

    fn facts(conn: &Connection) -> Facts {
        let mut st = conn
            .prepare(
                "SELECT channel_id, team_id, assignee_id, first_response_business_secs,
                        resolution_business_secs FROM cycles ORDER BY id",
            )
            .expect("prepare");
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    }

    /// Rows of a shop with business hours Monday–Friday 09:00–17:00 UTC, written at main's
    /// version 16 (before migration 020).
    const ROWS_OF_16: &str = r#"
        INSERT INTO settings (key, value) VALUES ('timezone', '"UTC"'),
            ('business_hours', '{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}');
        INSERT INTO channels (id, kind, name, created_at) VALUES (1, 'api', 'c', 0);
        INSERT INTO teams (id, name, created_at) VALUES (1, 'Sales', 0), (2, 'Support', 0);
        INSERT INTO users (id, email, name, role, password_hash, created_at)
            VALUES (1, 'a@x', 'A', 'agent', 'h', 0), (2, 'b@x', 'B', 'agent', 'h', 0);
        INSERT INTO contacts (id, name, created_at) VALUES (1, 'Ana', 0), (2, 'Omar', 0);
        INSERT INTO conversations (id, channel_id, contact_id, status, assignee_id, team_id,
                last_message_at, created_at, updated_at)
            VALUES (1, 1, 1, 'resolved', 1, 1, 0, 0, 0), (2, 1, 2, 'open', NULL, NULL, 0, 0, 0);
    "#;

    /// Cycle 1: Monday 08:00, answered 09:30 (30 business minutes), resolved 18:00 (8 business
    /// hours). Cycle 2: Friday 16:30, answered Monday 09:15 (30 + 15 minutes), open. Cycle 3:
    /// Monday 12:00, never answered.
    fn cycles_of_16(conn: &Connection) {
        conn.execute(
            "INSERT INTO cycles (id, conversation_id, started_at, first_response_at,
                     first_responder_id, resolved_at, resolved_by)
                 VALUES (1, 1, ?1, ?2, 1, ?3, 1), (2, 2, ?4, ?5, 2, NULL, NULL),
                        (3, 2, ?6, NULL, NULL, NULL, NULL)",
            [
                MONDAY + 8 * HOUR,
                MONDAY + 9 * HOUR + 30 * MIN,
                MONDAY + 18 * HOUR,
                MONDAY + 4 * DAY + 16 * HOUR + 30 * MIN,
                MONDAY + 7 * DAY + 9 * HOUR + 15 * MIN,
                MONDAY + 7 * DAY + 12 * HOUR,
            ],
        )
        .expect("cycles");
        conn.execute_batch(
            r#"INSERT INTO events (conversation_id, kind, data, created_at) VALUES
                 (1, 'conversation.claimed', '{"to":{"id":1,"name":"A"}}', 10),
                 (2, 'conversation.assigned', '{"to":{"id":2,"name":"B"}}', 20),
                 (2, 'conversation.assigned', '{"from":{"id":2,"name":"B"},"to":null}', 30),
                 (2, 'conversation.tagged', '{"to":{"id":1}}', 40);"#,
        )
        .expect("events");
    }

    /// The assignment triggers of migration 020 name the kinds of the typed enum (SQL cannot
    /// import them).
    #[test]
    fn the_assignment_triggers_name_the_kinds_of_the_enum() {
        let sql = include_str!("migrations/020_report_facts.sql");
        for k in [kind::CONVERSATION_CLAIMED, kind::CONVERSATION_ASSIGNED] {
            assert_eq!(sql.matches(&format!("'{k}'")).count(), 2, "{k}");
        }
    }

    /// A database at main's version 16 with cycles and assignment events upgrades when the
    /// server opens it: every cycle carries its conversation's channel, team and assignee and
    /// its business-hours times; the assignments are read out of the events.
    #[test]
    fn migration_020_fills_the_cycles_and_assignments_that_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        crate::store::migrations()
            .to_version(&mut conn, 16)
            .expect("migrate to main's version 16 (019)");
        conn.execute_batch(ROWS_OF_16).expect("rows of version 16");
        cycles_of_16(&conn);
        drop(conn);
        drop(crate::store::Store::open(dir.path()).expect("the server opens it"));
        let conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
        assert_eq!(
            facts(&conn),
            vec![
                (1, Some(1), Some(1), Some(1800), Some(8 * 3600)),
                (1, None, None, Some(2700), None),
                (1, None, None, None, None),
            ]
        );
        let given: Vec<(i64, i64, i64, i64)> = conn
            .prepare("SELECT event_id, conversation_id, user_id, at FROM assignments ORDER BY 1")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(given, vec![(1, 1, 1, 10), (2, 2, 2, 20)]);
    }

    /// After the migration, the writers keep the row's figures: a new cycle takes its
    /// conversation's channel, team and assignee, and follows them when they change; a first
    /// response and a resolution write their business-hours times; moving a cycle's times by
    /// any other writer clears them rather than leave them stale.
    #[test]
    fn the_writers_keep_the_figures_on_the_row() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        crate::store::migrations()
            .to_latest(&mut conn)
            .expect("migrate");
        conn.execute_batch(ROWS_OF_16).expect("rows");
        // Friday 16:00, answered Monday 10:00 (1 h + 1 h), resolved Monday 09:30 + 2 h.
        let c =
            insert_cycle(&conn, ConversationId(2), MONDAY + 4 * DAY + 16 * HOUR).expect("cycle");
        assert_eq!(facts(&conn), vec![(1, None, None, None, None)]);
        conn.execute(
            "UPDATE conversations SET team_id = 2, assignee_id = 1 WHERE id = 2",
            [],
        )
        .expect("assign");
        assert_eq!(facts(&conn), vec![(1, Some(2), Some(1), None, None)]);
        mark_first_response(&conn, c, MONDAY + 7 * DAY + 10 * HOUR, UserId(1)).expect("answer");
        assert_eq!(facts(&conn), vec![(1, Some(2), Some(1), Some(7200), None)]);
        mark_resolved(
            &conn,
            c,
            Some(MONDAY + 7 * DAY + 11 * HOUR + 30 * MIN),
            Some(UserId(1)),
        )
        .expect("resolve");
        assert_eq!(
            facts(&conn),
            vec![(1, Some(2), Some(1), Some(7200), Some(12_600))]
        );
        conn.execute("UPDATE cycles SET started_at = started_at - ?1", [HOUR])
            .expect("move the start");
        assert_eq!(facts(&conn), vec![(1, Some(2), Some(1), None, None)]);
        assert_eq!(update_business_secs(&conn, None).expect("fill"), 1);
        // 15:00 on Friday: one more business hour in each.
        assert_eq!(
            facts(&conn),
            vec![(1, Some(2), Some(1), Some(10_800), Some(16_200))]
        );
        mark_resolved(&conn, c, None, None).expect("reopen");
        assert_eq!(
            facts(&conn),
            vec![(1, Some(2), Some(1), Some(10_800), None)]
        );
    }
}
