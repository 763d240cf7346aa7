//! The event stream (`GET /api/v1/events`): frames with id, kind and JSON, filtered by what the
//! user may see, resumable with `Last-Event-ID`, and presence that is never stored.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, channel};

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp, WAIT};

/// One SSE frame: id (if any), event kind and parsed data.
#[derive(Debug)]
struct Frame {
    id: Option<i64>,
    kind: String,
    data: Value,
}

/// Opens a stream and reads its frames on a thread.
fn open(app: &TestApp, token: &str, last_event_id: Option<i64>) -> Receiver<Frame> {
    let client = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .expect("client");
    let mut req = client
        .get(format!("{}/api/v1/events", app.api.base))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().expect("stream");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream"),
        "content type"
    );
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(resp).lines();
        let (mut id, mut kind, mut data) = (None, String::new(), String::new());
        while let Some(Ok(line)) = lines.next() {
            if line.is_empty() {
                if !kind.is_empty() {
                    let frame = Frame {
                        id,
                        kind: kind.clone(),
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    };
                    if tx.send(frame).is_err() {
                        return;
                    }
                }
                (id, kind, data) = (None, String::new(), String::new());
            } else if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                kind = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    });
    rx
}

/// The next frame of `kind`, skipping others; the skipped kinds are returned too.
#[track_caller]
fn next_of(rx: &Receiver<Frame>, kind: &str) -> (Frame, Vec<String>) {
    let mut skipped = Vec::new();
    loop {
        let f = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no {kind} event; saw {skipped:?}"));
        if f.kind == kind {
            return (f, skipped);
        }
        skipped.push(f.kind);
    }
}

#[test]
fn events_are_filtered_by_visibility_and_resume_after_last_event_id() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ana = open(&app, &app.ana.token, None);
    let bruno = open(&app, &app.bruno.token, None);
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
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/claim"),
            &app.ana.token,
            json!({}),
        )
        .expect(200);
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
    let resumed = open(&app, &app.ana.token, created.id);
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
    let watcher = open(&app, &app.manager.token, None);
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
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/presence"),
            &app.carla.token,
            json!({"state": "viewing"}),
        )
        .expect_error(404, "not_found");
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/presence"),
            &app.ana.token,
            json!({"state": "dancing"}),
        )
        .expect_error(400, "invalid_field");
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
    assert_eq!(
        find("OR"),
        vec!["Customer c2"],
        "OR is a word here (Ordered), not an operator"
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
    let _carla = open(&app, &app.carla.token, None);
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
    let _ana = open(&app, &app.ana.token, None);
    app.wait_until("Ana's status restored", || status(&app.ana.token) == "busy");
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
