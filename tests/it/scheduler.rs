//! The scheduler's clocks, driven through the API with a fast tick: a snoozed conversation wakes
//! at its time without any customer message.

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

/// RFC 3339 for `ms` milliseconds from now.
fn from_now(ms: i64) -> String {
    teaminbox::domain::time::format_ms(teaminbox::domain::time::now_ms() + ms)
}

#[test]
fn a_snoozed_conversation_wakes_at_its_time() {
    let app = TestApp::spawn();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 20}),
        )
        .expect(200);
    let cb = FakeCallback::start(&[]);
    let (_, _, soon) = app.conversation(&cb.url);
    app.claim(soon, &app.ana);
    let status = |conv: i64, until: String| {
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/status"),
                &app.ana.token,
                json!({"status": "snoozed", "until": until}),
            )
            .expect(200)
    };
    let get = |conv: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
            .expect(200)
    };
    assert_eq!(status(soon, from_now(400))["status"], "snoozed");

    // The wake is a commit of its own: wait for it, no customer message, no sleep.
    app.wait_until("the snooze to end", || get(soon)["status"] == "open");
    let c = get(soon);
    assert_eq!(c["snoozed_until"], Value::Null);
    assert_eq!(c["assignee"]["id"], app.ana.id, "it wakes with its owner");
    let woke: Vec<Value> = app
        .timeline(soon)
        .into_iter()
        .filter(|i| i["kind"] == "conversation.status" && i["data"]["to"] == "open")
        .collect();
    assert_eq!(woke.len(), 1, "one event says it woke: {woke:?}");
    assert_eq!(
        woke[0]["actor"],
        Value::Null,
        "nobody did it; the scheduler did"
    );
    assert_eq!(woke[0]["data"]["from"], "snoozed");
}

#[test]
fn a_snooze_far_ahead_stays_asleep_through_ticks() {
    let app = TestApp::spawn();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 20}),
        )
        .expect(200);
    let cb = FakeCallback::start(&[]);
    let (_, _, later) = app.conversation(&cb.url);
    let (_, _, soon) = {
        // A second customer on the same channel.
        let (ch, secret) = app.api_channel(&cb.url);
        let r = app
            .inbound(ch, &secret, "m-soon", "cust-soon", "Hello")
            .expect(201);
        (ch, secret, r["conversation_id"].as_i64().expect("id"))
    };
    for conv in [later, soon] {
        app.claim(conv, &app.ana);
    }
    let snooze = |conv: i64, until: String| {
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/status"),
                &app.ana.token,
                json!({"status": "snoozed", "until": until}),
            )
            .expect(200);
    };
    snooze(later, from_now(3_600_000));
    snooze(soon, from_now(300));
    let status = |conv: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
            .expect(200)["status"]
            .clone()
    };
    // Once the near one woke, ticks have passed the far one by: it is still asleep.
    app.wait_until("the near snooze to end", || status(soon) == "open");
    assert_eq!(status(later), "snoozed");
}
