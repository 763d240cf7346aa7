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

/// A policy for every conversation with `first_response_secs` and `resolution_secs` targets.
fn policy(app: &TestApp, first: i64, resolution: Option<i64>) -> Value {
    app.api
        .post(
            "/api/v1/sla-policies",
            &app.manager.token,
            json!({"name": "Everyone", "first_response_secs": first, "resolution_secs": resolution,
                   "warn_at": 0.5}),
        )
        .expect(201)
}

fn fast_ticks(app: &TestApp) {
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 20}),
        )
        .expect(200);
}

/// A new customer on its own API channel; answers the conversation id.
fn customer(app: &TestApp, who: &str) -> i64 {
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    app.inbound(ch, &secret, &format!("m-{who}"), who, "Hello?")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("conversation id")
}

fn sla(app: &TestApp, conv: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200)["sla"]
        .clone()
}

#[test]
fn sla_policies_are_for_managers_and_say_what_is_wrong() {
    let app = TestApp::spawn();
    let post = |token: &str, body: Value| app.api.post("/api/v1/sla-policies", token, body);
    post(
        &app.ana.token,
        json!({"name": "x", "first_response_secs": 60}),
    )
    .expect_error(403, "forbidden");
    app.api
        .get("/api/v1/sla-policies", &app.ana.token)
        .expect_error(403, "forbidden");
    // (body, status, code)
    let bad: &[(Value, u16, &str)] = &[
        (json!({"first_response_secs": 60}), 422, "invalid_field"),
        (json!({"name": "no targets"}), 422, "invalid_field"),
        (
            json!({"name": "x", "first_response_secs": 0}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "x", "first_response_secs": -5}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "x", "resolution_secs": 400 * 24 * 3600}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "x", "first_response_secs": 60, "warn_at": 1.5}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "x", "first_response_secs": 60, "warn_at": 0}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "x", "first_response_secs": 60, "team_id": 999}),
            422,
            "unknown_team",
        ),
        (
            json!({"name": "x", "first_response_secs": 60, "priority": "asap"}),
            400,
            "invalid_field",
        ),
        (
            json!({"name": null, "first_response_secs": 60}),
            400,
            "invalid_field",
        ),
        (
            json!({"name": "x", "first_response_secs": "60"}),
            400,
            "invalid_field",
        ),
        (
            json!({"name": "   ", "first_response_secs": 60}),
            422,
            "empty",
        ),
    ];
    for (body, status, code) in bad {
        let r = post(&app.manager.token, body.clone());
        assert_eq!(r.status.as_u16(), *status, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], *code, "{body}");
    }
    let list = app
        .api
        .get("/api/v1/sla-policies", &app.manager.token)
        .expect(200);
    assert_eq!(
        list["items"],
        json!([]),
        "nothing was stored by a refused request"
    );

    let p = post(
        &app.manager.token,
        json!({"name": "Sales urgent", "team_id": app.sales, "priority": "urgent",
               "first_response_secs": 300, "next_response_secs": 600, "resolution_secs": 86400}),
    )
    .expect(201);
    assert_eq!(p["warn_at"], 0.8, "default warning share");
    assert_eq!(
        p["pause_when_pending"], true,
        "default: pending pauses resolution"
    );
    assert_eq!(p["business_hours"], false);
    let id = p["id"].as_i64().expect("id");
    let changed = app
        .api
        .patch(
            &format!("/api/v1/sla-policies/{id}"),
            &app.owner.token,
            json!({"priority": null, "warn_at": 0.9}),
        )
        .expect(200);
    assert_eq!(changed["priority"], Value::Null);
    assert_eq!(changed["warn_at"], 0.9);
    assert_eq!(changed["first_response_secs"], 300, "untouched fields stay");
    app.api
        .patch(
            "/api/v1/sla-policies/999",
            &app.owner.token,
            json!({"warn_at": 0.9}),
        )
        .expect_error(404, "not_found");
    app.api
        .patch(
            &format!("/api/v1/sla-policies/{id}"),
            &app.owner.token,
            json!({"first_response_secs": null, "next_response_secs": null, "resolution_secs": null}),
        )
        .expect_error(422, "invalid_field");
}

#[test]
fn an_unanswered_customer_warns_then_breaches_once_and_an_answered_one_is_met() {
    let app = TestApp::spawn();
    fast_ticks(&app);
    policy(&app, 1, None);
    // The answered customer writes to Sales, whose own policy (the more specific one) gives an
    // hour: the reply meets it however slow this machine is.
    app.api
        .post(
            "/api/v1/sla-policies",
            &app.manager.token,
            json!({"name": "Sales", "team_id": app.sales, "first_response_secs": 3600, "warn_at": 0.5}),
        )
        .expect(201);
    let waiting = customer(&app, "cust-waiting");
    let answered = {
        let cb = FakeCallback::start(&[]);
        let ch = app
            .api
            .post(
                "/api/v1/channels",
                &app.owner.token,
                json!({"kind": "api", "name": "Sales chat", "config": {"callback_url": cb.url},
                       "default_team_id": app.sales}),
            )
            .expect(201);
        let (ch, secret) = (
            ch["id"].as_i64().expect("id"),
            ch["secret"].as_str().expect("secret").to_string(),
        );
        app.inbound(ch, &secret, "m-answered", "cust-answered", "Hello?")
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("conversation id")
    };
    assert_eq!(sla(&app, answered)["policy"]["name"], "Sales");
    app.claim(answered, &app.ana);
    app.reply(answered, &app.ana, "Hi! How can I help?");
    let s = sla(&app, waiting);
    assert_eq!(s["policy"]["name"], "Everyone");
    assert!(s["first_response"]["due_at"].is_string(), "{s}");
    assert_eq!(s["next_response"], Value::Null, "no target set");

    app.wait_until("the breach", || {
        app.count_kind(waiting, "sla.breached") == 1
    });
    assert_eq!(
        app.count_kind(waiting, "sla.warning"),
        1,
        "the warning came first"
    );
    let breach = app
        .timeline(waiting)
        .into_iter()
        .find(|i| i["kind"] == "sla.breached")
        .expect("breach");
    assert_eq!(breach["data"]["target"], "first_response");
    assert_eq!(breach["actor"], Value::Null);
    assert_eq!(sla(&app, waiting)["first_response"]["state"], "breached");

    // Many ticks later (a second breach to wait for), each fired once, and the answered
    // conversation never warned.
    let later = customer(&app, "cust-later");
    app.wait_until("the second breach", || {
        app.count_kind(later, "sla.breached") == 1
    });
    assert_eq!(app.count_kind(waiting, "sla.breached"), 1);
    assert_eq!(app.count_kind(waiting, "sla.warning"), 1);
    assert_eq!(app.count_kind(answered, "sla.warning"), 0);
    assert_eq!(app.count_kind(answered, "sla.breached"), 0);
    assert_eq!(sla(&app, answered)["first_response"]["state"], "met");
}

#[test]
fn a_breach_missed_while_stopped_fires_once_after_restart_without_its_stale_warning() {
    let mut app = TestApp::spawn();
    fast_ticks(&app);
    policy(&app, 3600, Some(7200));
    let conv = customer(&app, "cust-restart");
    assert_eq!(sla(&app, conv)["first_response"]["state"], "running");
    app.stop();
    // The server was down while the warning and the due time of the first response passed.
    {
        let db = rusqlite::Connection::open(app.dir.path().join("teaminbox.db")).expect("open db");
        let now = teaminbox::domain::time::now_ms();
        db.execute(
            "UPDATE sla_clocks SET warn_at = ?1, due_at = ?2, next_at = ?1 WHERE target = 'first_response'",
            [now - 120_000, now - 60_000],
        )
        .expect("move the clock");
    }
    app.restart();
    app.wait_until("the breach after restart", || {
        app.count_kind(conv, "sla.breached") == 1
    });
    assert_eq!(
        app.count_kind(conv, "sla.warning"),
        0,
        "a warning after its breach says nothing new"
    );
    // The resolution clock still runs, untouched.
    assert_eq!(sla(&app, conv)["resolution"]["state"], "running");
}

#[test]
fn pending_pauses_the_resolution_clock_and_a_reply_ends_the_first_response_clock() {
    let app = TestApp::spawn();
    policy(&app, 600, Some(3600));
    let conv = customer(&app, "cust-pending");
    app.claim(conv, &app.ana);
    let before = sla(&app, conv);
    assert_eq!(before["resolution"]["state"], "running");
    // A reply sets pending (auto_pending_on_reply): first response met, resolution paused.
    app.reply(conv, &app.ana, "Let me check and come back to you");
    let s = sla(&app, conv);
    assert_eq!(s["first_response"]["state"], "met");
    assert_eq!(s["resolution"]["state"], "paused");
    assert_eq!(
        s["next_due_at"],
        Value::Null,
        "nothing runs while we wait on the customer"
    );
    // Back to open: resolution resumes (due no earlier than before), and the next-response
    // target has no clock because the policy sets none.
    let status = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/status"),
            &app.ana.token,
            json!({"status": "open"}),
        )
        .expect(200);
    assert_eq!(status["sla"]["resolution"]["state"], "running");
    assert!(
        status["sla"]["resolution"]["due_at"].as_str() >= before["resolution"]["due_at"].as_str(),
        "the pause moved the due time later: {} vs {}",
        status["sla"]["resolution"]["due_at"],
        before["resolution"]["due_at"]
    );
    assert_eq!(status["sla"]["next_response"], Value::Null);
    // Resolved: every clock stops.
    let done = app
        .api
        .post(
            &format!("/api/v1/conversations/{conv}/status"),
            &app.ana.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
    assert_eq!(done["sla"]["resolution"]["state"], "met");
    assert_eq!(done["sla"]["next_due_at"], Value::Null);
}

#[test]
fn a_customer_waiting_unassigned_raises_one_alert() {
    let app = TestApp::spawn();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 20, "unassigned_alert_secs": 1}),
        )
        .expect(200);
    let waiting = customer(&app, "cust-alone");
    let claimed = customer(&app, "cust-claimed");
    app.claim(claimed, &app.ana);
    app.wait_until("the alert", || {
        app.count_kind(waiting, "queue.unassigned_alert") == 1
    });
    let alert = app
        .timeline(waiting)
        .into_iter()
        .find(|i| i["kind"] == "queue.unassigned_alert")
        .expect("alert");
    assert!(alert["data"]["after_secs"].as_i64() >= Some(1), "{alert}");
    assert_eq!(alert["actor"], Value::Null);
    // Ticks later (another alert to wait for): still one, and none for the claimed one.
    let later = customer(&app, "cust-later");
    app.wait_until("the second alert", || {
        app.count_kind(later, "queue.unassigned_alert") == 1
    });
    assert_eq!(app.count_kind(waiting, "queue.unassigned_alert"), 1);
    assert_eq!(app.count_kind(claimed, "queue.unassigned_alert"), 0);
}

#[test]
fn an_ignored_conversation_is_taken_back_to_its_pool_and_an_answered_one_stays() {
    let app = TestApp::spawn();
    let ignored = customer(&app, "cust-ignored");
    let answered = customer(&app, "cust-answered");
    app.api
        .post(
            &format!("/api/v1/conversations/{ignored}/assign"),
            &app.manager.token,
            json!({"assignee_id": app.ana.id, "team_id": app.sales}),
        )
        .expect(200);
    app.claim(answered, &app.bruno);
    app.reply(answered, &app.bruno, "On it");
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 20, "take_back_secs": 1}),
        )
        .expect(200);
    app.wait_until("the take-back", || {
        app.count_kind(ignored, "conversation.taken_back") == 1
    });
    let c = conv_json(&app, ignored);
    assert_eq!(c["assignee"], Value::Null, "back in the pool");
    assert_eq!(c["team"]["id"], app.sales, "of its team");
    let ev = app
        .timeline(ignored)
        .into_iter()
        .find(|i| i["kind"] == "conversation.taken_back")
        .expect("event");
    assert_eq!(ev["data"]["from"]["id"], app.ana.id);
    assert!(ev["data"]["after_secs"].as_i64() >= Some(1));
    assert_eq!(conv_json(&app, answered)["assignee"]["id"], app.bruno.id);
    assert_eq!(app.count_kind(answered, "conversation.taken_back"), 0);
}

fn conv_json(app: &TestApp, id: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)
}

#[test]
fn with_oldest_first_an_agent_takes_the_longest_waiting_customer_first() {
    let app = TestApp::spawn();
    let oldest = customer(&app, "cust-first");
    let newer = customer(&app, "cust-second");
    let claim = |conv: i64, token: &str| {
        app.api.post(
            &format!("/api/v1/conversations/{conv}/claim"),
            token,
            json!({}),
        )
    };
    // Off by default: any order.
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"oldest_first_after_secs": 0}),
        )
        .expect(200);
    let r = claim(newer, &app.ana.token).expect_error(409, "oldest_first");
    assert_eq!(
        r["error"]["data"]["conversation_id"], oldest,
        "names the one to take"
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&oldest.to_string()),
        "{r}"
    );
    // Managers are exempt; the agent's next turn is then the one left.
    let third = customer(&app, "cust-third");
    claim(newer, &app.manager.token).expect(200);
    claim(third, &app.ana.token).expect_error(409, "oldest_first");
    claim(oldest, &app.ana.token).expect(200);
    claim(third, &app.ana.token).expect(200);
    // Not overdue yet under a long threshold: any order again.
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"oldest_first_after_secs": 3600}),
        )
        .expect(200);
    let a = customer(&app, "cust-a");
    let b = customer(&app, "cust-b");
    claim(b, &app.bruno.token).expect(200);
    claim(a, &app.bruno.token).expect(200);
}
