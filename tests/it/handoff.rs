//! The end-of-shift handoff through the API: all of a person's unresolved conversations (or the
//! listed ones) move in one transaction with the note, or nothing moves.

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

/// `n` conversations claimed by Ana, each from its own customer; answers their ids.
fn anas(app: &TestApp, n: usize) -> Vec<i64> {
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    (0..n)
        .map(|i| {
            let id = app
                .inbound(ch, &secret, &format!("m{i}"), &format!("cust-{i}"), "Hello")
                .expect(201)["conversation_id"]
                .as_i64()
                .expect("id");
            app.claim(id, &app.ana);
            id
        })
        .collect()
}

fn conv(app: &TestApp, id: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)
}

#[test]
fn twenty_conversations_move_with_their_note_in_one_request() {
    let app = TestApp::spawn();
    let ids = anas(&app, 20);
    // One resolved conversation of Ana's stays where it is.
    let resolved = ids[19];
    app.api
        .post(
            &format!("/api/v1/conversations/{resolved}/status"),
            &app.ana.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
    let events_before = app.count("events");
    let r = app
        .api
        .post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": app.bruno.id}, "note": "Shift over: all waiting on price lists",
                   "go_offline": true}),
        )
        .expect(200);
    let moved: Vec<i64> = r["moved"]
        .as_array()
        .expect("moved")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(moved.len(), 19, "every unresolved one: {moved:?}");
    assert!(!moved.contains(&resolved));
    for id in &moved {
        assert_eq!(conv(&app, *id)["assignee"]["id"], app.bruno.id);
        let tl = app.timeline(*id);
        let assigned = tl
            .iter()
            .find(|i| i["kind"] == "conversation.assigned")
            .expect("event");
        let note = tl.iter().find(|i| i["type"] == "note").expect("note");
        assert_eq!(note["text"], "Shift over: all waiting on price lists");
        assert_eq!(
            assigned["data"]["note_id"], note["id"],
            "the note travels with the move"
        );
        assert_eq!(assigned["data"]["from"]["id"], app.ana.id);
    }
    assert_eq!(conv(&app, resolved)["assignee"]["id"], app.ana.id);
    assert!(app.count("events") > events_before + 19 * 2);
    let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
    assert_eq!(me["status"], "offline", "go_offline");
}

#[test]
fn naming_a_conversation_that_is_not_mine_moves_nothing() {
    let app = TestApp::spawn();
    let mine = anas(&app, 3);
    let cb = FakeCallback::start(&[]);
    let (_, _, brunos) = app.conversation(&cb.url);
    app.claim(brunos, &app.bruno);
    let before = app.count("events");
    // (who, body, status, code)
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "bruno's conversation in the list",
            json!({"to": {"assignee_id": app.carla.id}, "conversation_ids": [mine[0], brunos]}),
            403,
            "not_owner",
        ),
        (
            "an unknown conversation",
            json!({"to": {"assignee_id": app.carla.id}, "conversation_ids": [mine[0], 999_999]}),
            403,
            "not_owner",
        ),
        (
            "to myself",
            json!({"to": {"assignee_id": app.ana.id}}),
            422,
            "invalid_assignee",
        ),
        (
            "to nobody who exists",
            json!({"to": {"assignee_id": 999_999}}),
            422,
            "invalid_assignee",
        ),
        (
            "to an unknown team",
            json!({"to": {"assignee_id": null, "team_id": 999_999}}),
            422,
            "unknown_team",
        ),
        ("no target", json!({"note": "bye"}), 400, "invalid_field"),
        (
            "target without assignee_id",
            json!({"to": {}}),
            400,
            "invalid_field",
        ),
        (
            "ids not a list",
            json!({"to": {"assignee_id": null}, "conversation_ids": 5}),
            400,
            "invalid_field",
        ),
    ];
    for (what, body, status, code) in cases {
        let r = app.api.post("/api/v1/me/handoff", &app.ana.token, body);
        assert_eq!(r.status.as_u16(), status, "{what}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{what}");
    }
    assert_eq!(
        app.count("events"),
        before,
        "nothing moved, nothing recorded"
    );
    for id in &mine {
        assert_eq!(conv(&app, *id)["assignee"]["id"], app.ana.id);
    }
}

#[test]
fn listed_conversations_go_to_a_team_pool_and_managers_hand_off_for_others() {
    let app = TestApp::spawn();
    let ids = anas(&app, 3);
    let r = app
        .api
        .post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": null, "team_id": app.support}, "conversation_ids": [ids[0]]}),
        )
        .expect(200);
    assert_eq!(r["moved"], json!([ids[0]]));
    let c = conv(&app, ids[0]);
    assert_eq!(c["assignee"], Value::Null);
    assert_eq!(c["team"]["id"], app.support);
    // An agent cannot hand off for someone else, before anything about the body is judged.
    app.api
        .post(
            &format!("/api/v1/users/{}/handoff", app.ana.id),
            &app.bruno.token,
            json!({"oops": true}),
        )
        .expect_error(403, "forbidden");
    app.api
        .post(
            "/api/v1/users/999999/handoff",
            &app.manager.token,
            json!({"to": {"assignee_id": null}}),
        )
        .expect_error(404, "not_found");
    let r = app
        .api
        .post(
            &format!("/api/v1/users/{}/handoff", app.ana.id),
            &app.manager.token,
            json!({"to": {"assignee_id": app.bruno.id}}),
        )
        .expect(200);
    assert_eq!(r["moved"], json!([ids[1], ids[2]]));
    let tl = app.timeline(ids[1]);
    let assigned = tl
        .iter()
        .find(|i| i["kind"] == "conversation.assigned")
        .expect("event");
    assert_eq!(
        assigned["actor"]["id"], app.manager.id,
        "the manager did it"
    );
    // Nothing left to move: an empty list, not an error.
    let r = app
        .api
        .post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": app.bruno.id}}),
        )
        .expect(200);
    assert_eq!(r["moved"], json!([]));
}
