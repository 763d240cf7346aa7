//! The event stream (`GET /api/v1/events`): frames with id, kind and JSON, filtered by what the
//! user may see, resumable with `Last-Event-ID`, and presence that is never stored.

use serde_json::json;

use crate::support::scenario::{Scenario, Table, Who, report};
use crate::support::sse::{next_of, next_where, open};
use crate::support::{FakeCallback, TestApp, WAIT};

#[test]
fn events_are_filtered_by_visibility_and_resume_after_last_event_id() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ana = open(&app.api, &app.ana.token, None);
    let bruno = open(&app.api, &app.bruno.token, None);
    let landed = app
        .inbound(ch, &secret, "e1", "cust-1", "Hello!")
        .expect(201);
    let conv = landed["conversation_id"].as_i64().expect("id");
    let (created, _) = next_of(&ana, "message.created");
    assert!(created.id.is_some(), "stored events carry an id");
    assert_eq!(created.data["kind"], "message.created");
    assert_eq!(created.data["conversation_id"], conv);
    assert_eq!(created.data["data"]["message_id"], landed["message_id"]);
    assert!(
        created.data["at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    next_of(&bruno, "message.created");
    // Ana takes it: from now on Bruno (same team, own_and_pool) sees nothing of it.
    app.claim(conv, &app.ana);
    let (claimed, _) = next_of(&ana, "conversation.claimed");
    assert_eq!(claimed.data["actor"]["id"], app.ana.id);
    assert_eq!(claimed.data["assignee_id"], app.ana.id, "who holds it now");
    let note = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/notes"),
            &app.ana.token,
            json!({"text": "private to Ana"}),
        )
        .expect(201);
    let (n, _) = next_of(&ana, "note.created");
    assert_eq!(n.data["data"]["note_id"], note["id"]);
    // A visible event after the hidden ones: Bruno's stream must reach it without them.
    app.api
        .put(
            "/api/v1/me/status",
            &app.carla.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    let (status, skipped) = next_of(&bruno, "user.status");
    assert_eq!(status.data["data"]["to"], "busy");
    assert!(
        !skipped
            .iter()
            .any(|k| k == "conversation.claimed" || k == "note.created"),
        "Bruno saw events of Ana's conversation: {skipped:?}"
    );
    // Resume: a new stream from the first message's id replays what came after, in order.
    let resumed = open(&app.api, &app.ana.token, created.id);
    let (again, before) = next_of(&resumed, "note.created");
    assert_eq!(again.id, n.id);
    assert!(
        before.contains(&"conversation.claimed".to_string()),
        "{before:?}"
    );
    // Disabling Bruno ends his open stream.
    app.api
        .patch(
            &format!("/api/v1/users/{}", app.bruno.id),
            &app.owner.token,
            json!({"disabled": true}),
        )
        .expect(200);
    loop {
        match bruno.recv_timeout(WAIT) {
            Ok(_) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("a disabled user's stream stayed open")
            }
        }
    }
    // Presence is delivered live and never stored.
    let events_before = app.count("events");
    let watcher = open(&app.api, &app.manager.token, None);
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/presence"),
            &app.ana.token,
            json!({"state": "typing"}),
        )
        .expect(204);
    let (p, _) = next_of(&watcher, "presence");
    assert_eq!(p.id, None);
    assert_eq!(p.data["data"]["state"], "typing");
    assert_eq!(p.data["data"]["user"]["name"], "Ana");
    assert_eq!(app.count("events"), events_before);
    // Who may say they are here: whoever sees the conversation (Ana holds it, own_and_pool).
    let presence = format!("/api/v1/conversations/{conv}/presence");
    let row = |who: &str, state: &str| {
        Scenario::new("POST", presence.as_str(), Who::named(who)).json(json!({"state": state}))
    };
    let mut t = Table::new(&app);
    #[rustfmt::skip]
    t.push(row("ana", "viewing").status(204))
        .push(row("owner", "viewing").status(204))
        .push(row("manager", "typing").status(204))
        .push(row("carla", "viewing").error(404, "not_found"))
        .push(row("guest", "viewing").error(401, "unauthenticated"))
        .push(row("ana", "dancing").error(400, "invalid_field"));
    t.check();
    assert_eq!(
        app.count("events"),
        events_before,
        "presence is never stored"
    );
}

/// (caller, sees the note on Ana's conversation, sees the note on Sales' pool).
type Sees = (&'static str, bool, bool);

/// Which streams carry a note on Ana's conversation and on Sales' pool, per setting. The same
/// rules as the API (policy.rs).
#[rustfmt::skip]
const STREAMS: &[(&str, [Sees; 5])] = &[
    ("own",           [("owner", true, true), ("manager", true, true), ("ana", true, false), ("bruno", false, false), ("carla", false, false)]),
    ("own_and_pool",  [("owner", true, true), ("manager", true, true), ("ana", true, true),  ("bruno", false, true),  ("carla", false, false)]),
    ("all_read_only", [("owner", true, true), ("manager", true, true), ("ana", true, true),  ("bruno", true, true),   ("carla", true, true)]),
];

#[test]
fn each_stream_carries_what_its_reader_may_see() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, mine) = app.conversation(&cb.url);
    app.api
        .post(
            &format!("/api/v1/conversations/{mine}/assign"),
            &app.manager.token,
            json!({"assignee_id": app.ana.id, "team_id": app.sales}),
        )
        .expect(200);
    let pool = app.inbound(ch, &secret, "p1", "cust-2", "Hi").expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    app.api
        .post(
            &format!("/api/v1/conversations/{pool}/assign"),
            &app.manager.token,
            json!({"assignee_id": null, "team_id": app.sales}),
        )
        .expect(200);
    let mut failures = Vec::new();
    let mut rows = 0;
    for (round, (setting, expected)) in STREAMS.iter().enumerate() {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"agent_visibility": setting}),
            )
            .expect(200);
        // Resuming from the newest event rather than "from now": this test is about what each
        // stream filters, and a stream opened without a cursor can miss an event committed while
        // it starts (src/realtime.rs reads "now" after subscribing and drops live events at or
        // before it).
        let from = app.last_event_id();
        let streams: Vec<_> = expected
            .iter()
            .map(|(who, _, _)| {
                let staff = Who::named(who).staff(&app).expect("staff");
                open(&app.api, &staff.token, Some(from))
            })
            .collect();
        for conv in [mine, pool] {
            app.api
                .post(
                    &format!("/api/v1/conversations/{conv}/notes"),
                    &app.owner.token,
                    json!({"text": format!("{setting} note")}),
                )
                .expect(201);
        }
        // A change everyone sees closes the round: what came before it is all there was.
        let marker = if round % 2 == 0 { "busy" } else { "available" };
        app.api
            .put(
                "/api/v1/me/status",
                &app.owner.token,
                json!({"status": marker}),
            )
            .expect(200);
        for ((who, sees_mine, sees_pool), rx) in expected.iter().zip(&streams) {
            let mut got = Vec::new();
            loop {
                let f = rx.recv_timeout(WAIT).expect("a frame before the marker");
                if f.kind == "user.status" && f.data["data"]["to"] == marker {
                    break;
                }
                if f.kind == "note.created" {
                    got.push(f.data["conversation_id"].as_i64().expect("conversation id"));
                }
            }
            for (conv, want, what) in [
                (mine, *sees_mine, "Ana's"),
                (pool, *sees_pool, "the pool's"),
            ] {
                rows += 1;
                if got.contains(&conv) != want {
                    failures.push(format!(
                        "{setting}: {who} {} the note on {what} conversation",
                        if want { "missed" } else { "was sent" }
                    ));
                }
            }
        }
    }
    report(&failures, rows);
}

#[test]
fn search_finds_words_in_messages_and_names() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    app.inbound(
        ch,
        &secret,
        "s1",
        "c1",
        "Is the leather jacket back in stock?",
    )
    .expect(201);
    app.inbound(ch, &secret, "s2", "c2", "Where is my parcel?")
        .expect(201);
    app.inbound(ch, &secret, "s3", "c2", "Ordered on Monday")
        .expect(201);
    let find = |q: &str| -> Vec<String> {
        app.api
            .get(
                &format!("/api/v1/conversations?view=all&q={q}"),
                &app.manager.token,
            )
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["contact"]["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(
        find("leath"),
        vec!["Customer c1"],
        "prefix of a word in an older message"
    );
    assert_eq!(
        find("parcel"),
        vec!["Customer c2"],
        "a word that is not in the last message"
    );
    assert_eq!(find("Customer%20c1"), vec!["Customer c1"]);
    assert!(
        find("%22)%20NEAR(%20*").is_empty(),
        "search syntax in the input is taken literally"
    );
    // As an operator this would find both; as a word no message has all three. (A query of
    // one or two letters alone searches names only, see tests/it/search.rs.)
    assert!(
        find("leather%20OR%20parcel").is_empty(),
        "OR is a word here, not an operator"
    );
    assert_eq!(
        find("Ordered%20OR"),
        vec!["Customer c2"],
        "OR as a word prefix"
    );
    assert!(find("bicycle").is_empty());
}

#[test]
fn no_open_stream_for_a_while_means_offline_and_a_stream_brings_the_status_back() {
    let app = TestApp::spawn();
    app.api
        .put(
            "/api/v1/me/status",
            &app.ana.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    // Carla keeps a stream open the whole time, so she stays as she is.
    let _carla = open(&app.api, &app.carla.token, None);
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"auto_offline_secs": 1, "scheduler_tick_ms": 50}),
        )
        .expect(200);
    let status = |token: &str| {
        app.api.get("/api/v1/me", token).expect(200)["status"]
            .as_str()
            .expect("status")
            .to_string()
    };
    app.wait_until("Ana marked offline", || status(&app.ana.token) == "offline");
    assert_eq!(
        status(&app.carla.token),
        "available",
        "an open stream keeps you present"
    );
    let ev = app
        .event_data("user.status")
        .into_iter()
        .find(|e| e["to"] == "offline")
        .expect("a user.status event");
    assert_eq!(ev["auto"], true);
    // Opening a stream restores what she had chosen.
    let ana = open(&app.api, &app.ana.token, None);
    app.wait_until("Ana's status restored", || status(&app.ana.token) == "busy");
    // That change is committed as her stream starts, after its "from now" cursor: the stream
    // itself must carry it (a stream that read its cursor late used to drop such events).
    let (back, _) = next_where(&ana, "user.status", |d| {
        d["data"]["user"]["id"] == app.ana.id && d["data"]["to"] == "busy"
    });
    assert_eq!(back.data["data"]["auto"], true, "{:?}", back.data);
    // A status she sets herself is hers: it is not "restored" later.
    app.api
        .put(
            "/api/v1/me/status",
            &app.ana.token,
            json!({"status": "available"}),
        )
        .expect(200);
    assert_eq!(status(&app.ana.token), "available");
}
