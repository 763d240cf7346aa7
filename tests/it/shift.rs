//! End of shift and the clocks around it, through the API: per-conversation handoff notes, a
//! handoff of 20 conversations all or nothing, pending auto-resolve with a fast scheduler tick,
//! and the validation of business hours, holidays and the time zone.

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

/// `n` conversations of Ana's, each from its own customer; answers the channel, its secret and
/// the conversation ids.
fn anas(app: &TestApp, n: usize) -> (i64, String, Vec<i64>) {
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ids = (0..n)
        .map(|i| {
            let id = app
                .inbound(ch, &secret, &format!("m{i}"), &format!("cust-{i}"), "Hello")
                .expect(201)["conversation_id"]
                .as_i64()
                .expect("id");
            app.claim(id, &app.ana);
            id
        })
        .collect();
    (ch, secret, ids)
}

fn conv(app: &TestApp, id: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)
}

/// The note text the `conversation.assigned` event of `id` points at (None: no note).
fn handoff_note(app: &TestApp, id: i64) -> Option<String> {
    let tl = app.timeline(id);
    let assigned = tl
        .iter()
        .rfind(|i| i["kind"] == "conversation.assigned")
        .expect("an assigned event");
    let note_id = assigned["data"]["note_id"].as_i64()?;
    let note = tl
        .iter()
        .find(|i| i["type"] == "note" && i["id"] == note_id)
        .expect("the note the event names is on the conversation");
    Some(note["text"].as_str().expect("text").to_string())
}

#[test]
fn each_conversation_gets_its_own_note_and_the_rest_the_shared_one() {
    let app = TestApp::spawn();
    let (_, _, ids) = anas(&app, 4);
    let notes = json!({
        ids[0].to_string(): "Wants the blue one in size M, pays cash",
        ids[1].to_string(): "Waiting for the courier's tracking number",
        // Blank: this one goes without a note, even though there is a shared note.
        ids[2].to_string(): "  ",
    });
    let r = app
        .api
        .post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": app.bruno.id}, "note": "Shift over", "notes": notes}),
        )
        .expect(200);
    assert_eq!(r["moved"].as_array().map(Vec::len), Some(4));
    let expected = [
        Some("Wants the blue one in size M, pays cash"),
        Some("Waiting for the courier's tracking number"),
        None,
        Some("Shift over"),
    ];
    for (id, want) in ids.iter().zip(expected) {
        assert_eq!(conv(&app, *id)["assignee"]["id"], app.bruno.id);
        assert_eq!(
            handoff_note(&app, *id).as_deref(),
            want,
            "conversation {id}"
        );
        let notes_here = app
            .timeline(*id)
            .iter()
            .filter(|i| i["type"] == "note")
            .count();
        assert_eq!(notes_here, usize::from(want.is_some()), "one note at most");
    }
}

#[test]
fn twenty_conversations_move_with_their_notes_or_none_does() {
    let app = TestApp::spawn();
    let (_, _, ids) = anas(&app, 20);
    let cb = FakeCallback::start(&[]);
    let (_, _, brunos) = app.conversation(&cb.url);
    app.claim(brunos, &app.bruno);
    let notes: serde_json::Map<String, Value> = ids
        .iter()
        .map(|id| (id.to_string(), json!(format!("about {id}"))))
        .collect();

    // (what, extra notes, status, code): every refusal moves nothing at all.
    let refusals: Vec<(&str, Value, u16, &str)> = vec![
        (
            "a note for Bruno's conversation",
            json!({ brunos.to_string(): "not mine" }),
            403,
            "not_owner",
        ),
        (
            "a note for a conversation that does not exist",
            json!({"999999": "nobody's"}),
            403,
            "not_owner",
        ),
        (
            "a note that is not text",
            json!({ ids[0].to_string(): 5 }),
            400,
            "invalid_field",
        ),
        (
            "a key that is not an id",
            json!({"first": "which one?"}),
            400,
            "invalid_field",
        ),
        (
            "a note too long",
            json!({ ids[3].to_string(): "x".repeat(5000) }),
            422,
            "too_long",
        ),
    ];
    let before = app.count("events");
    for (what, extra, status, code) in refusals {
        let mut all = notes.clone();
        if let Value::Object(extra) = extra {
            all.extend(extra);
        }
        let r = app.api.post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": app.carla.id}, "notes": all, "go_offline": true}),
        );
        assert_eq!(r.status.as_u16(), status, "{what}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{what}");
        assert_eq!(app.count("events"), before, "{what}: nothing recorded");
        for id in &ids {
            assert_eq!(conv(&app, *id)["assignee"]["id"], app.ana.id, "{what}");
        }
        let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
        assert_eq!(me["status"], "available", "{what}: still on shift");
    }

    let r = app
        .api
        .post(
            "/api/v1/me/handoff",
            &app.ana.token,
            json!({"to": {"assignee_id": app.carla.id}, "notes": notes, "go_offline": true}),
        )
        .expect(200);
    assert_eq!(r["moved"].as_array().map(Vec::len), Some(20));
    for id in &ids {
        assert_eq!(conv(&app, *id)["assignee"]["id"], app.carla.id);
        assert_eq!(
            handoff_note(&app, *id),
            Some(format!("about {id}")),
            "conversation {id} carries its own note"
        );
    }
    let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
    assert_eq!(me["status"], "offline");
}

fn set(app: &TestApp, patch: Value) {
    app.api
        .patch("/api/v1/settings", &app.owner.token, patch)
        .expect(200);
}

fn resolved_events(app: &TestApp, id: i64) -> Vec<Value> {
    app.timeline(id)
        .into_iter()
        .filter(|i| i["kind"] == "conversation.status" && i["data"]["to"] == "resolved")
        .collect()
}

#[test]
fn a_quiet_pending_conversation_resolves_once_and_one_the_customer_answered_stays() {
    let app = TestApp::spawn();
    set(&app, json!({"scheduler_tick_ms": 20}));
    let (ch, secret, ids) = anas(&app, 4);
    let (quiet, answered, still_open, witness) = (ids[0], ids[1], ids[2], ids[3]);
    // Set up while auto-resolve is off, so no tick can win a race with the setup.
    for id in [quiet, answered] {
        app.reply(id, &app.ana, "Here is the price list");
        assert_eq!(conv(&app, id)["status"], "pending");
    }
    // The customer wrote back: waiting on us again, however long the quiet period.
    app.inbound(ch, &secret, "m1-again", "cust-1", "Thanks, one question")
        .expect(201);
    assert_eq!(conv(&app, answered)["status"], "open");

    set(&app, json!({"auto_resolve_pending_secs": 1}));
    app.wait_until("the quiet conversation to resolve", || {
        conv(&app, quiet)["status"] == "resolved"
    });
    // A later one resolving proves ticks ran past the first one's moment again.
    app.reply(witness, &app.ana, "Anything else?");
    app.wait_until("the witness to resolve", || {
        conv(&app, witness)["status"] == "resolved"
    });

    let events = resolved_events(&app, quiet);
    assert_eq!(events.len(), 1, "resolved once: {events:?}");
    assert_eq!(events[0]["actor"], Value::Null, "the scheduler did it");
    assert_eq!(events[0]["data"]["from"], "pending");
    assert_eq!(conv(&app, quiet)["assignee"]["id"], app.ana.id);
    let open_cycles: i64 = app
        .store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM cycles WHERE conversation_id = ?1 AND resolved_at IS NULL",
                [quiet],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("cycles");
    assert_eq!(open_cycles, 0, "its cycle is closed");

    for id in [answered, still_open] {
        assert_eq!(conv(&app, id)["status"], "open", "conversation {id}");
        assert!(resolved_events(&app, id).is_empty());
    }
}

#[test]
fn auto_resolve_is_off_by_default_and_validated() {
    let app = TestApp::spawn();
    let s = app
        .api
        .get("/api/v1/settings", &app.owner.token)
        .expect(200);
    assert_eq!(s["auto_resolve_pending_secs"], Value::Null);
    for bad in [json!(0), json!(-5), json!("1h"), json!(1.5)] {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({ "auto_resolve_pending_secs": bad }),
            )
            .expect_error(422, "invalid_setting");
    }
    // Managers may set it (a routing/SLA key); agents may not.
    let s = app
        .api
        .patch(
            "/api/v1/settings",
            &app.manager.token,
            json!({"auto_resolve_pending_secs": 86_400}),
        )
        .expect(200);
    assert_eq!(s["auto_resolve_pending_secs"], 86_400);
    app.api
        .patch(
            "/api/v1/settings",
            &app.ana.token,
            json!({"auto_resolve_pending_secs": null}),
        )
        .expect_error(403, "forbidden");
}

#[test]
fn business_hours_holidays_and_time_zone_are_validated() {
    let app = TestApp::spawn();
    // (what, patch, accepted, words the refusal must contain)
    let cases: Vec<(&str, Value, bool, &str)> = vec![
        (
            "two ranges with a lunch break",
            json!({"business_hours": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}}),
            true,
            "",
        ),
        (
            "ranges that touch",
            json!({"business_hours": {"tue": [["09:00", "12:00"], ["12:00", "24:00"]]}}),
            true,
            "",
        ),
        (
            "closed on Sunday",
            json!({"business_hours": {"sun": []}}),
            true,
            "",
        ),
        (
            "closes before it opens",
            json!({"business_hours": {"mon": [["18:00", "09:00"]]}}),
            false,
            "closes before it opens",
        ),
        (
            "opens and closes at once",
            json!({"business_hours": {"wed": [["09:00", "09:00"]]}}),
            false,
            "closes before it opens",
        ),
        (
            "overlapping ranges",
            json!({"business_hours": {"fri": [["09:00", "13:00"], ["12:00", "18:00"]]}}),
            false,
            "12:00–18:00 overlaps 09:00–13:00",
        ),
        (
            "overlap given out of order",
            json!({"business_hours": {"sat": [["14:00", "18:00"], ["10:00", "15:00"]]}}),
            false,
            "overlaps",
        ),
        (
            "not a time",
            json!({"business_hours": {"mon": [["9am", "18:00"]]}}),
            false,
            "HH:MM",
        ),
        (
            "past midnight",
            json!({"business_hours": {"mon": [["09:00", "24:30"]]}}),
            false,
            "HH:MM",
        ),
        (
            "not a weekday",
            json!({"business_hours": {"monday": [["09:00", "18:00"]]}}),
            false,
            "weekdays are",
        ),
        (
            "holidays",
            json!({"holidays": ["2026-12-25", "2027-01-01"]}),
            true,
            "",
        ),
        (
            "a day that does not exist",
            json!({"holidays": ["2026-02-30"]}),
            false,
            "2026-02-30",
        ),
        (
            "a date in another format",
            json!({"holidays": ["25/12/2026"]}),
            false,
            "25/12/2026",
        ),
        (
            "an IANA zone",
            json!({"timezone": "Europe/Lisbon"}),
            true,
            "",
        ),
        (
            "a zone that does not exist",
            json!({"timezone": "Europe/Atlantis"}),
            false,
            "Europe/Atlantis",
        ),
        (
            "an offset is not a zone",
            json!({"timezone": "+02:00"}),
            false,
            "IANA",
        ),
    ];
    for (what, patch, ok, words) in cases {
        let before = app
            .api
            .get("/api/v1/settings", &app.owner.token)
            .expect(200);
        let r = app.api.patch("/api/v1/settings", &app.owner.token, patch);
        if ok {
            assert_eq!(r.status.as_u16(), 200, "{what}: {:?}", r.body);
            continue;
        }
        assert_eq!(r.status.as_u16(), 422, "{what}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], "invalid_setting", "{what}");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{what}: {message}");
        let after = app
            .api
            .get("/api/v1/settings", &app.owner.token)
            .expect(200);
        assert_eq!(before, after, "{what}: nothing changed");
    }
}
