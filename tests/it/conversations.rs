//! The single-owner conversation model over HTTP: claim, reply, notes, handoff, status, tags,
//! timeline, inbound idempotency and durability across a restart (who may do what is in
//! `visibility.rs`).

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

#[test]
fn ten_concurrent_claims_one_winner_nine_409() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    // Ten different people (five agents of the team, owner, manager, and repeats) race.
    let mut tokens = vec![
        app.ana.token.clone(),
        app.bruno.token.clone(),
        app.owner.token.clone(),
        app.manager.token.clone(),
    ];
    for i in 0..6 {
        let made = app
            .api
            .post(
                "/api/v1/users",
                &app.owner.token,
                json!({"name": format!("Agent {i}"), "email": format!("a{i}@shop.test"), "password": "long enough", "role": "agent", "teams": [app.sales]}),
            )
            .expect(201);
        let login = app
            .api
            .raw(
                reqwest::Method::POST,
                "/api/v1/auth/token",
                None,
                Some(
                    json!({"email": made["email"], "password": "long enough"})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .expect(201);
        tokens.push(login["token"].as_str().expect("token").to_string());
    }
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let handles: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let api = app.api.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                let r = api.post(
                    &format!("/api/v1/conversations/{conv}/claim"),
                    &t,
                    json!({}),
                );
                (r.status.as_u16(), r.body)
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = handles
        .into_iter()
        .map(|h| h.join().expect("join"))
        .collect();
    let winners: Vec<_> = results.iter().filter(|r| r.0 == 200).collect();
    let losers: Vec<_> = results.iter().filter(|r| r.0 == 409).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(losers.len(), 9, "{results:?}");
    let owner = &winners[0].1["assignee"];
    for (_, body) in losers {
        assert_eq!(body["error"]["code"], "already_assigned");
        assert_eq!(
            body["error"]["data"]["assignee"]["id"], owner["id"],
            "the loser learns who won"
        );
    }
    assert_eq!(app.count_kind(conv, "conversation.claimed"), 1);
}

#[test]
fn only_the_assignee_replies_and_a_refused_reply_queues_nothing() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let path = format!("/api/v1/conversations/{conv}/messages");
    let r = app
        .api
        .post(&path, &app.ana.token, json!({"text": "hi"}))
        .expect_error(409, "not_owner");
    assert!(
        r["error"]["message"]
            .as_str()
            .expect("message")
            .contains("claim")
    );
    app.claim(conv, &app.ana);
    let before = app.count("outbox");
    // Bruno sees nothing of Ana's conversation (own_and_pool): 404, not 409.
    app.api
        .post(&path, &app.bruno.token, json!({"text": "me too"}))
        .expect_error(404, "not_found");
    // The manager sees it but does not own it: 409 naming Ana.
    let r = app
        .api
        .post(&path, &app.manager.token, json!({"text": "manager here"}))
        .expect_error(409, "not_owner");
    assert_eq!(r["error"]["data"]["assignee"]["id"], app.ana.id);
    assert!(
        r["error"]["message"]
            .as_str()
            .expect("message")
            .contains("Ana")
    );
    assert_eq!(
        app.count("outbox"),
        before,
        "a refused reply must not reach the outbox"
    );
    let sent = app
        .api
        .post(&path, &app.ana.token, json!({"text": "Hello from Ana"}))
        .expect(201);
    assert_eq!(sent["type"], "message");
    assert_eq!(sent["direction"], "out");
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["author"]["name"], "Ana");
    assert_eq!(app.count("outbox"), before + 1);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    assert_eq!(c["status"], "pending", "auto_pending_on_reply");
    assert_eq!(c["waiting_since"], Value::Null);
}

#[test]
fn transfer_with_note_stores_note_and_event_together() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    app.claim(conv, &app.ana);
    let path = format!("/api/v1/conversations/{conv}/assign");
    // A transfer that fails validation leaves no note behind.
    let notes = app.count("notes");
    app.api
        .post(
            &path,
            &app.ana.token,
            json!({"assignee_id": 999_999, "note": "lost?"}),
        )
        .expect_error(422, "invalid_assignee");
    assert_eq!(app.count("notes"), notes);
    let moved = app
        .api
        .post(&path, &app.ana.token, json!({"assignee_id": app.carla.id, "team_id": app.support, "note": "Wants a refund; order 1234"}))
        .expect(200);
    assert_eq!(moved["assignee"]["id"], app.carla.id);
    assert_eq!(moved["team"]["name"], "Support");
    let items = app.timeline(conv);
    let note = items
        .iter()
        .find(|i| i["type"] == "note")
        .expect("note in timeline");
    assert_eq!(note["text"], "Wants a refund; order 1234");
    assert_eq!(note["author"]["name"], "Ana");
    let ev = items
        .iter()
        .find(|i| i["kind"] == "conversation.assigned")
        .expect("event");
    assert_eq!(ev["data"]["note_id"], note["id"]);
    assert_eq!(ev["data"]["from"]["id"], app.ana.id);
    assert_eq!(ev["data"]["to"]["id"], app.carla.id);
    assert_eq!(ev["data"]["team"]["name"], "Support");
    assert_eq!(ev["actor"]["id"], app.ana.id);
    // Ana no longer owns it and, in own_and_pool, no longer sees it.
    app.api
        .post(&path, &app.ana.token, json!({"assignee_id": app.ana.id}))
        .expect_error(404, "not_found");
    // Carla releases it to the pool; Bruno (Sales) cannot take it from Support's pool, a manager can.
    app.api
        .post(&path, &app.carla.token, json!({"assignee_id": null}))
        .expect(200);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.carla.token)
        .expect(200);
    assert_eq!(c["assignee"], Value::Null);
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/claim"),
            &app.bruno.token,
            json!({}),
        )
        .expect_error(404, "");
    app.api
        .post(
            &path,
            &app.manager.token,
            json!({"assignee_id": app.bruno.id, "team_id": null}),
        )
        .expect(200);
    // An agent may not hand off someone else's conversation.
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"agent_visibility": "all_read_only"}),
        )
        .expect(200);
    app.api
        .post(
            &path,
            &app.carla.token,
            json!({"assignee_id": app.carla.id}),
        )
        .expect_error(403, "forbidden");
}

#[test]
fn status_cycle_tags_and_notes() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    let status = |token: &str, body: Value| {
        app.api
            .post(&format!("/api/v1/conversations/{conv}/status"), token, body)
    };
    status(&app.ana.token, json!({"status": "resolved"})).expect_error(403, "forbidden");
    app.claim(conv, &app.ana);
    status(&app.ana.token, json!({"status": "snoozed"})).expect_error(422, "invalid_until");
    status(
        &app.ana.token,
        json!({"status": "snoozed", "until": "2020-01-01T00:00:00Z"}),
    )
    .expect_error(422, "invalid_until");
    let s = status(
        &app.ana.token,
        json!({"status": "snoozed", "until": "2099-01-01T00:00:00Z"}),
    )
    .expect(200);
    assert_eq!(s["status"], "snoozed");
    assert_eq!(s["snoozed_until"], "2099-01-01T00:00:00.000Z");
    // An inbound message wakes a snoozed conversation.
    app.inbound(ch, &secret, "m2", "cust-1", "Still there?")
        .expect(201);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    assert_eq!(c["status"], "open");
    assert_eq!(c["snoozed_until"], Value::Null);
    let r = status(&app.ana.token, json!({"status": "resolved"})).expect(200);
    assert_eq!(r["status"], "resolved");
    assert_eq!(r["waiting_since"], Value::Null);
    // A new message on a resolved conversation reopens it with the same owner, in a new cycle.
    app.inbound(ch, &secret, "m3", "cust-1", "One more thing")
        .expect(201);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    assert_eq!(c["status"], "open");
    assert_eq!(c["assignee"]["id"], app.ana.id);
    assert!(c["waiting_since"].is_string());
    assert_eq!(app.count("cycles"), 2);
    let kinds: Vec<_> = app
        .timeline(conv)
        .iter()
        .filter_map(|i| i["kind"].as_str().map(String::from))
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "conversation.status").count() >= 4,
        "{kinds:?}"
    );
    // Tags: anyone who sees it; names are trimmed, case-insensitive and deduplicated.
    let t = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/tags"),
            &app.manager.token,
            json!({"add": ["vip", " refund "]}),
        )
        .expect(200);
    let mut tags: Vec<_> = t["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t.as_str().expect("s").to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, vec!["refund", "vip"]);
    let t = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/tags"),
            &app.ana.token,
            json!({"add": ["VIP"], "remove": ["refund"]}),
        )
        .expect(200);
    assert_eq!(t["tags"], json!(["vip"]));
    let listed = app
        .api
        .get("/api/v1/conversations?view=all&tag=vip", &app.manager.token)
        .expect(200);
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/tags"),
            &app.ana.token,
            json!({"add": [""]}),
        )
        .expect_error(422, "empty");
    // Notes: anyone who sees it, never sent.
    let outbox = app.count("outbox");
    let n = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/notes"),
            &app.manager.token,
            json!({"text": "Call her back after 5pm"}),
        )
        .expect(201);
    assert_eq!(n["type"], "note");
    assert_eq!(app.count("outbox"), outbox);
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/notes"),
            &app.ana.token,
            json!({"text": "   "}),
        )
        .expect_error(422, "empty");
}
