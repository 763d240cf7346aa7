//! The conversation page over plain HTTP (no script): a conversation that changed hands says who
//! has it now to those who held it or saw it in their pool, and to nobody else; a refused reply
//! keeps its text; a claim race names the winner; resolve and transfer can be undone for a few
//! seconds, and the undo is refused cleanly once someone else changed the conversation; the
//! handoff note shows once; snooze presets; availability in the transfer picker.

use serde_json::json;

use crate::support::{FakeCallback, TestApp};

fn assign(app: &TestApp, conv: i64, token: &str, body: serde_json::Value) {
    app.api
        .post(&format!("/api/v1/conversations/{conv}/assign"), token, body)
        .expect(200);
}

fn conversation(app: &TestApp, conv: i64) -> serde_json::Value {
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200)
}

#[test]
fn a_conversation_out_of_sight_says_who_has_it_to_those_who_had_it_only() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    let ana = app.session(&app.ana);
    let carla = app.session(&app.carla);

    // Ana held it and handed it to Bruno: her page says so, and shows nothing else of it.
    app.claim(conv, &app.ana);
    assign(
        &app,
        conv,
        &app.ana.token,
        json!({"assignee_id": app.bruno.id}),
    );
    let r = ana.get(&format!("/c/{conv}"));
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().expect("html");
    assert!(html.contains("You handed this to Bruno at"), "{html}");
    assert!(!html.contains("does not exist"), "{html}");
    assert!(
        !html.contains("Customer cust-1"),
        "no more than the API shows: {html}"
    );

    // Carla (Support) never saw it: for her it stays "not found", and Bruno's name is not shown.
    let r = carla.get(&format!("/c/{conv}"));
    assert_eq!(r.status().as_u16(), 404);
    let html = r.text().expect("html");
    assert!(
        html.contains("does not exist or is not yours to see"),
        "{html}"
    );
    assert!(!html.contains("Bruno"), "{html}");

    // A second conversation in the general pool: Bruno claims it; Ana saw it in her pool, so her
    // page names the winner. Then the manager moves it on to Carla: that is no longer Ana's
    // business (the last change did not come from her pool or her hands).
    let two = app
        .inbound(ch, &secret, "second", "cust-2", "Is it in stock?")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    app.claim(two, &app.bruno);
    let html = ana.get(&format!("/c/{two}")).text().expect("html");
    assert!(html.contains("Bruno took this at"), "{html}");
    assign(
        &app,
        two,
        &app.manager.token,
        json!({"assignee_id": app.carla.id}),
    );
    let html = ana.get(&format!("/c/{two}")).text().expect("html");
    assert!(
        html.contains("does not exist or is not yours to see"),
        "{html}"
    );
    assert!(!html.contains("Carla"), "{html}");
}

#[test]
fn a_refused_reply_keeps_its_text_and_a_lost_claim_names_the_winner() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    let ana = app.session(&app.ana);
    app.claim(conv, &app.ana);
    let page = ana.page(&format!("/c/{conv}"));
    assert!(page.contains("id=\"reply\""), "Ana may reply");
    // The manager hands it to Bruno while Ana's page still shows the reply box.
    assign(
        &app,
        conv,
        &app.manager.token,
        json!({"assignee_id": app.bruno.id}),
    );
    let text = "Yes, size 40 — مقاس ٤٠ متوفر 👟";
    let r = ana.form(&format!("/c/{conv}/reply"), &[("text", text)]);
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().expect("html");
    assert!(
        html.contains("Not sent: Bruno has this conversation now."),
        "{html}"
    );
    assert!(html.contains("Mario handed this to Bruno at"), "{html}");
    assert!(
        html.contains(&maud::html!((text)).into_string()),
        "the text stays: {html}"
    );

    // Visible but not hers (a manager took it over while Ana looked at it, all_read_only does
    // the same): the refused reply comes back in the note box with the owner named.
    let mine = app
        .inbound(ch, &secret, "m2", "cust-9", "Hi again")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    app.claim(mine, &app.manager);
    // Ana saw it in her pool a moment ago: her refused note names the manager and stays.
    let r = ana.form(&format!("/c/{mine}/note"), &[("text", "Call her after 5")]);
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().expect("html");
    assert!(
        html.contains("Not sent: Mario has this conversation now."),
        "{html}"
    );
    assert!(html.contains(">Call her after 5</textarea>"), "{html}");
    let r = app
        .session(&app.owner)
        .form(&format!("/c/{mine}/reply"), &[("text", "Owner's words")]);
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().expect("html");
    assert!(html.contains("Mario owns this conversation"), "{html}");
    assert!(
        html.contains(">Owner&#39;s words</textarea>")
            || html.contains(">Owner's words</textarea>"),
        "{html}"
    );

    // A claim race: Bruno wins, Ana's claim from her stale page names him.
    let race = app
        .inbound(ch, &secret, "m3", "cust-3", "Anyone?")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    assert!(ana.page(&format!("/c/{race}")).contains("/claim\""));
    app.claim(race, &app.bruno);
    let r = ana.form(&format!("/c/{race}/claim"), &[]);
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().expect("html");
    assert!(
        html.contains("Bruno already owns this conversation"),
        "{html}"
    );
    assert!(!html.contains("Not found"), "{html}");
}

#[test]
fn resolve_and_transfer_undo_through_the_same_rules() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let ana = app.session(&app.ana);
    app.claim(conv, &app.ana);

    // Resolve lands on the page with its Undo; the undo reopens, recorded as an event.
    let r = ana.form(&format!("/c/{conv}/status"), &[("status", "resolved")]);
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let event = to
        .split("undo=")
        .nth(1)
        .expect("an undo in the address")
        .to_string();
    let html = ana.page(&to);
    assert!(
        html.contains("id=\"undo\"") && html.contains("Resolved"),
        "{html}"
    );
    let before = app.count_kind(conv, "conversation.status");
    let r = ana.form(&format!("/c/{conv}/undo"), &[("event", &event)]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(conversation(&app, conv)["status"], "open");
    assert_eq!(app.count_kind(conv, "conversation.status"), before + 1);
    // Undoing twice: the change is no longer the latest.
    let r = ana.form(&format!("/c/{conv}/undo"), &[("event", &event)]);
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().expect("html").contains("nothing was undone"));

    // Transfer: Ana lands on the page that says whom she handed it to, with Undo.
    let r = ana.form(
        &format!("/c/{conv}/assign"),
        &[
            ("to", &format!("user:{}", app.bruno.id)),
            ("note", "She pays cash"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let event = to.split("undo=").nth(1).expect("undo").to_string();
    let html = ana.get(&to).text().expect("html");
    assert!(
        html.contains("You handed this to Bruno at") && html.contains("id=\"undo\""),
        "{html}"
    );
    // Someone else's change cannot be undone by Bruno.
    let bruno = app.session(&app.bruno);
    let r = bruno.form(&format!("/c/{conv}/undo"), &[("event", &event)]);
    assert_eq!(r.status().as_u16(), 403);
    let r = ana.form(&format!("/c/{conv}/undo"), &[("event", &event)]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(conversation(&app, conv)["assignee"]["id"], app.ana.id);

    // Changed meanwhile: Ana hands it over, Bruno passes it on at once; her undo is refused.
    let r = ana.form(
        &format!("/c/{conv}/assign"),
        &[("to", &format!("user:{}", app.bruno.id))],
    );
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let event = to.split("undo=").nth(1).expect("undo").to_string();
    assign(
        &app,
        conv,
        &app.bruno.token,
        json!({"assignee_id": app.carla.id}),
    );
    let r = ana.form(&format!("/c/{conv}/undo"), &[("event", &event)]);
    assert_eq!(r.status().as_u16(), 409);
    assert_eq!(conversation(&app, conv)["assignee"]["id"], app.carla.id);

    // Too late: the same undo 31 s after the change (the clock passed in, not slept).
    let (_, _, other) = app.conversation(&cb.url);
    app.claim(other, &app.ana);
    let r = ana.form(&format!("/c/{other}/status"), &[("status", "resolved")]);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let event: i64 = to.split("undo=").nth(1).expect("undo").parse().expect("id");
    let actor = teaminbox::domain::policy::Actor {
        id: teaminbox::domain::UserId(app.ana.id),
        role: teaminbox::domain::Role::Agent,
        teams: vec![teaminbox::domain::TeamId(app.sales)],
    };
    let late = app.store.write_blocking(move |c| {
        let now =
            teaminbox::domain::time::now_ms() + teaminbox::service::ownership_news::UNDO_MS + 1_000;
        teaminbox::service::ownership_news::undo(
            c,
            &actor,
            teaminbox::domain::ConversationId(other),
            event,
            now,
        )
        .map(|_| ())
    });
    assert!(
        matches!(
            late,
            Err(teaminbox::service::Error::Conflict {
                code: "undo_expired",
                ..
            })
        ),
        "{late:?}"
    );
}

#[test]
fn the_page_shows_a_handoff_note_once_phones_with_plus_and_availability() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    app.claim(conv, &app.ana);
    app.api
        .put(
            "/api/v1/me/status",
            &app.bruno.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    let contact = conversation(&app, conv)["contact"]["id"]
        .as_i64()
        .expect("contact");
    app.api
        .patch(
            &format!("/api/v1/contacts/{contact}"),
            &app.owner.token,
            json!({"phone": "351 910 000 000"}),
        )
        .expect(200);
    let html = app.session(&app.ana).page(&format!("/c/{conv}"));
    assert!(
        html.contains("Bruno · busy"),
        "availability in the picker: {html}"
    );
    assert!(html.contains("Carla · available"), "{html}");
    assert!(html.contains("+351910000000"), "{html}");
    assert!(html.contains("class=\"msg\" dir=\"auto\""), "{html}");

    assign(
        &app,
        conv,
        &app.ana.token,
        json!({"assignee_id": app.bruno.id, "note": "Wants the blue one"}),
    );
    let html = app.session(&app.bruno).page(&format!("/c/{conv}"));
    assert_eq!(html.matches("Wants the blue one").count(), 1, "{html}");
    assert!(
        html.contains("Ana handed this to Bruno: Wants the blue one"),
        "{html}"
    );
    // A plain note still shows as a note.
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/notes"),
            &app.bruno.token,
            json!({"text": "Called her back"}),
        )
        .expect(201);
    let html = app.session(&app.bruno).page(&format!("/c/{conv}"));
    assert_eq!(html.matches("Called her back").count(), 1, "{html}");
    assert!(html.contains("Private note"), "{html}");
}

#[test]
fn snooze_presets_answer_in_the_shops_time_zone() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    app.claim(conv, &app.ana);
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"timezone": "Asia/Kolkata"}),
        )
        .expect(200);
    let ana = app.session(&app.ana);
    let html = ana.page(&format!("/c/{conv}"));
    for p in ["1h", "tomorrow", "next_week"] {
        assert!(
            html.contains(&format!("name=\"preset\" value=\"{p}\"")),
            "{p}: {html}"
        );
    }
    for (preset, hour) in [("tomorrow", "09:00"), ("next_week", "09:00")] {
        let r = ana.form(
            &format!("/c/{conv}/status"),
            &[("status", "snoozed"), ("preset", preset)],
        );
        assert_eq!(r.status().as_u16(), 303, "{preset}");
        let until = conversation(&app, conv)["snoozed_until"]
            .as_str()
            .expect("until")
            .to_string();
        let ms = teaminbox::domain::time::parse_rfc3339(&until).expect("time");
        let tz = jiff::tz::TimeZone::get("Asia/Kolkata").expect("zone");
        assert_eq!(
            teaminbox::domain::snooze::clock(ms, &tz),
            hour,
            "{preset}: {until}"
        );
        let html = ana.page(&format!("/c/{conv}"));
        assert!(html.contains(" until ") && html.contains(hour), "{html}");
    }
    let r = ana.form(
        &format!("/c/{conv}/status"),
        &[("status", "snoozed"), ("preset", "someday")],
    );
    assert_eq!(r.status().as_u16(), 400);
}
