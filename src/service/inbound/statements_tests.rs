//! What an inbound message reads more than once (issue #10: routing must cost ingest under
//! 10 %): the statements it runs, counted with SQLite's statement trace, by kind, with routing
//! on and off and an SLA policy in force.

use std::cell::RefCell;

use rusqlite::Connection;
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use serde_json::json;

use super::{Inbound, receive};
use crate::domain::routing::{Actions, Conditions};
use crate::domain::{Assignment, ChannelId, ChannelKind, Priority, Role, TeamId, UserId};
use crate::service::routing::{RuleChange, create_rule};
use crate::service::sla::{PolicyChange, create_policy};
use crate::service::teams::TeamChange;
use crate::store::users::NewUser;

thread_local! {
    /// The statements run on this thread while tracing, as written.
    static RAN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn record(event: TraceEvent<'_>) {
    if let TraceEvent::Stmt(_, sql) = event {
        RAN.with(|r| r.borrow_mut().push(sql.to_string()));
    }
}

/// A desk as the benchmark's (`bench --only routing`): three available agents in Sales (round
/// robin when `on`, else manual) and Support (manual); when `on`, "broken" goes to Support with a
/// tag and a priority and everything else to Sales; an SLA policy over every conversation.
fn desk(conn: &Connection, on: bool) -> ChannelId {
    let mut agents = Vec::new();
    for name in ["ana", "bruno", "carla"] {
        let new = NewUser {
            email: format!("{name}@example.test"),
            name: name.into(),
            role: Role::Agent,
            password_hash: "h".into(),
        };
        agents.push(
            crate::service::users::create_user(conn, new, &[])
                .expect("agent")
                .id,
        );
    }
    conn.execute("UPDATE users SET status = 'available'", [])
        .expect("available");
    let channel = crate::service::channels::create(
        conn,
        ChannelKind::Api,
        "site",
        &json!({"callback_url": "http://127.0.0.1:9/"}),
    )
    .expect("channel");
    let team = |name: &str, assignment| {
        crate::service::teams::create_team(
            conn,
            TeamChange {
                name: Some(name.into()),
                assignment: Some(assignment),
                members: Some(agents.clone()),
            },
        )
        .expect("team")
        .id
    };
    let sales = team(
        "Sales",
        if on {
            Assignment::RoundRobin
        } else {
            Assignment::Manual
        },
    );
    let support = team("Support", Assignment::Manual);
    let policy = PolicyChange {
        name: Some("Everyone".into()),
        first_response_secs: Some(Some(600)),
        resolution_secs: Some(Some(86_400)),
        ..PolicyChange::default()
    };
    create_policy(conn, policy, 0).expect("policy");
    if on {
        let rules = [
            (
                Conditions {
                    keywords: Some(vec!["broken".into()]),
                    ..Conditions::default()
                },
                Actions {
                    team_id: Some(support.0),
                    tags: Some(vec!["repair".into()]),
                    priority: Some(Priority::High),
                },
            ),
            (
                Conditions::default(),
                Actions {
                    team_id: Some(sales.0),
                    ..Actions::default()
                },
            ),
        ];
        for (conditions, actions) in rules {
            let rule = RuleChange {
                position: None,
                conditions: Some(conditions),
                actions: Some(actions),
            };
            create_rule(conn, rule, 0).expect("rule");
        }
    }
    channel.id
}

/// Receives `text` from customer `who` (message id `id`) in its own transaction and answers the
/// statements it ran, and the conversation's assignee and team afterwards.
fn receive_traced(
    conn: &Connection,
    channel: ChannelId,
    (id, who, text): (&str, &str, &str),
) -> (Vec<String>, Option<UserId>, Option<TeamId>) {
    let m = Inbound {
        name: Some(who),
        ..Inbound::api_text(channel, id, who, text)
    };
    conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
    RAN.with(|r| r.borrow_mut().clear());
    conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record));
    let landed = receive(conn, &m).expect("received");
    conn.trace_v2(TraceEventCodes::empty(), None);
    conn.execute_batch("COMMIT").expect("commit");
    let state = crate::store::conversations::find_conv_state(conn, landed.conversation_id)
        .expect("read")
        .expect("conversation");
    (
        RAN.with(|r| std::mem::take(&mut *r.borrow_mut())),
        state.assignee,
        state.team,
    )
}

/// Statements of `ran` that contain `part` (whitespace as written in the store).
fn count(ran: &[String], part: &str) -> usize {
    let part: String = part.split_whitespace().collect::<Vec<_>>().join(" ");
    ran.iter()
        .filter(|s| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&part)
        })
        .count()
}

/// Per inbound message, routed or not: the SLA clocks are synced once (one read of the
/// policies; they were synced twice when routing moved the conversation), the business calendar
/// comes from the cache kept per config version (no read of every setting; it was read and
/// built on every sync), and the events that name a team or a person read no member lists.
#[test]
fn an_inbound_message_reads_policies_settings_and_members_once_at_most() {
    struct Case {
        name: &'static str,
        on: bool,
        message: (&'static str, &'static str, &'static str),
        /// Whether it lands with an agent, and in a team.
        assigned: bool,
        team: bool,
    }
    let cases = [
        Case {
            name: "routed to an agent by round robin",
            on: true,
            message: ("m1", "cust-1", "hello, is it in blue?"),
            assigned: true,
            team: true,
        },
        Case {
            name: "routed to a manual team, tagged and prioritised",
            on: true,
            message: ("m2", "cust-2", "my order arrived broken"),
            assigned: false,
            team: true,
        },
        Case {
            name: "the same customer again (no routing: the cycle is open)",
            on: true,
            message: ("m3", "cust-1", "any news?"),
            assigned: true,
            team: true,
        },
        Case {
            name: "routing off",
            on: false,
            message: ("m1", "cust-1", "hello, is it in blue?"),
            assigned: false,
            team: false,
        },
    ];
    let dirs = [true, false].map(|on| {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open_bare(&dir.path().join("t.db")).expect("database");
        let channel = desk(&conn, on);
        // The first message after the set-up reads the new config version's inputs.
        receive_traced(&conn, channel, ("warm", "cust-0", "hello"));
        (on, dir, conn, channel)
    });
    for case in &cases {
        let (_, _, conn, channel) = dirs
            .iter()
            .find(|d| d.0 == case.on)
            .expect("a desk per setting");
        let (ran, assignee, team) = receive_traced(conn, *channel, case.message);
        let name = case.name;
        assert_eq!(assignee.is_some(), case.assigned, "{name}");
        assert_eq!(team.is_some(), case.team, "{name}");
        assert_eq!(count(&ran, "FROM sla_policies"), 1, "{name}: {ran:#?}");
        assert_eq!(
            count(&ran, "SELECT key, value FROM settings"),
            0,
            "{name}: {ran:#?}"
        );
        assert_eq!(
            count(&ran, "SELECT u.id, u.name FROM memberships"),
            0,
            "{name}: {ran:#?}"
        );
        assert_eq!(
            count(&ran, "FROM memberships m JOIN teams"),
            0,
            "{name}: {ran:#?}"
        );
    }
}

/// A customer's message sets a conversation's status and waiting time only when they change
/// (issue #10: SQLite rewrites every index on a column an UPDATE sets, and a message to a
/// conversation whose customer was waiting already rewrote its entries in the status and
/// waiting-time indexes for nothing), and the values come out as before.
#[test]
fn a_message_sets_status_and_waiting_time_only_when_they_change() {
    struct Case {
        name: &'static str,
        /// Before the message: put the conversation in `pending` (a staff reply).
        pending_first: bool,
        /// The message's time, ms after `t0`.
        at: i64,
        sets_status: bool,
        sets_waiting: bool,
        /// Afterwards: status, and waiting since (ms after `t0`).
        status: &'static str,
        waiting: i64,
    }
    let cases = [
        Case {
            name: "the first message of a new conversation",
            pending_first: false,
            at: 0,
            sets_status: false,
            sets_waiting: true,
            status: "open",
            waiting: 0,
        },
        Case {
            name: "the next message, the customer still waiting",
            pending_first: false,
            at: 1_000,
            sets_status: false,
            sets_waiting: false,
            status: "open",
            waiting: 0,
        },
        Case {
            name: "a late message sent before the wait began",
            pending_first: false,
            at: -5_000,
            sets_status: false,
            sets_waiting: true,
            status: "open",
            waiting: -5_000,
        },
        Case {
            name: "an answer to a staff reply (pending, not waiting)",
            pending_first: true,
            at: 2_000,
            sets_status: true,
            sets_waiting: true,
            status: "open",
            waiting: 2_000,
        },
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = crate::store::open_bare(&dir.path().join("t.db")).expect("database");
    let channel = desk(&conn, true);
    let t0 = crate::domain::time::now_ms() - 60_000;
    for (n, case) in cases.iter().enumerate() {
        let name = case.name;
        if case.pending_first {
            conn.execute(
                "UPDATE conversations SET status = 'pending', waiting_since = NULL",
                [],
            )
            .expect("pending");
        }
        let id = format!("w{n}");
        let m = Inbound {
            at: Some(t0 + case.at),
            ..Inbound::api_text(channel, &id, "cust-w", "hello, is it in blue?")
        };
        RAN.with(|r| r.borrow_mut().clear());
        conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record));
        let landed = receive(&conn, &m).expect("received");
        conn.trace_v2(TraceEventCodes::empty(), None);
        let ran = RAN.with(|r| std::mem::take(&mut *r.borrow_mut()));
        let inbound: Vec<String> = ran
            .into_iter()
            .filter(|s| s.contains("last_inbound_at = MAX("))
            .collect();
        assert_eq!(inbound.len(), 1, "{name}: {inbound:#?}");
        assert_eq!(
            count(&inbound, "status = ?3,"),
            usize::from(case.sets_status),
            "{name}: {inbound:#?}"
        );
        assert_eq!(
            count(&inbound, "waiting_since = MIN("),
            usize::from(case.sets_waiting),
            "{name}: {inbound:#?}"
        );
        let (status, waiting): (String, i64) = conn
            .query_row(
                "SELECT status, waiting_since FROM conversations WHERE id = ?1",
                [landed.conversation_id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("conversation");
        assert_eq!(
            (status.as_str(), waiting - t0),
            (case.status, case.waiting),
            "{name}"
        );
    }
}

/// The distinct statements a burst of customer messages runs — routed to a round-robin team, to a
/// manual team with a tag and a priority, to an open conversation, with routing off — fit in half
/// the writer's statement cache (issue #10: with rusqlite's default of 16 the cache thrashed and
/// the writer spent ~40 % of its time preparing statements again). The other half is room for
/// the replies, claims and jobs that share the writer with them.
#[test]
fn a_burst_of_inbound_messages_fits_in_half_the_writers_statement_cache() {
    let mut distinct = std::collections::BTreeSet::new();
    for on in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open_bare(&dir.path().join("t.db")).expect("database");
        let channel = desk(&conn, on);
        for message in [
            ("b1", "cust-1", "hello, is it in blue?"),
            ("b2", "cust-2", "my order arrived broken"),
            ("b3", "cust-1", "any news?"),
            ("b4", "cust-3", "hello again"),
        ] {
            let (ran, _, _) = receive_traced(&conn, channel, message);
            // A trigger's statements are traced as `-- TRIGGER name`; they are compiled into
            // the statement that fires them.
            distinct.extend(ran.into_iter().filter(|s| !s.starts_with("--")));
        }
    }
    assert!(
        distinct.len() >= 20,
        "the trace saw the statements: {distinct:#?}"
    );
    assert!(
        distinct.len() <= crate::store::WRITER_STATEMENTS / 2,
        "{} distinct statements: {distinct:#?}",
        distinct.len()
    );
}
