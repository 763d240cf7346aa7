//! The pages of #10 without JavaScript (plain form posts): End my shift refusing in words with
//! nothing moved, managers ending someone else's shift, Settings → Business hours and
//! Settings → SLA policies saving through the same services as the API.

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

/// Form fields as posted, repeated names kept.
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn assignee(app: &TestApp, id: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)["assignee"]["id"]
        .clone()
}

/// Two conversations of Ana's.
fn two_of_anas(app: &TestApp) -> (i64, i64) {
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let mut ids = (0..2).map(|i| {
        let id = app
            .inbound(ch, &secret, &format!("m{i}"), &format!("c{i}"), "Hello")
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("id");
        app.claim(id, &app.ana);
        id
    });
    (ids.next().expect("one"), ids.next().expect("two"))
}

#[test]
fn the_shift_screen_refuses_in_words_and_moves_nothing() {
    let app = TestApp::spawn();
    let (first, second) = two_of_anas(&app);
    let ana = app.session(&app.ana);
    let page = ana.page("/shift");
    assert!(
        page.contains("End my shift")
            && page.contains("Customer c0")
            && page.contains("Customer c1")
    );
    assert!(
        page.contains("Last message: “Hello” — waiting"),
        "a suggested note"
    );

    let (a, b) = (first.to_string(), second.to_string());
    let (na, nb) = (format!("note_{first}"), format!("note_{second}"));
    let bruno = format!("user:{}", app.bruno.id);
    // (what, before the submit, the form, status, words on the page)
    type Before = Box<dyn Fn(&TestApp)>;
    let cases: Vec<(&str, Before, Fields, u16, &str)> = vec![
        (
            "no target chosen",
            Box::new(|_| {}),
            vec![("c", &a), ("c", &b), (&na, "x"), ("to", "")],
            422,
            "Choose who takes the conversations",
        ),
        (
            "the colleague was disabled meanwhile",
            Box::new(|app| {
                app.api
                    .patch(
                        &format!("/api/v1/users/{}", app.bruno.id),
                        &app.owner.token,
                        json!({"disabled": true}),
                    )
                    .expect(200);
            }),
            vec![
                ("c", &a),
                ("c", &b),
                (&na, "x"),
                ("to", &bruno),
                ("go_offline", "1"),
            ],
            422,
            "Nothing was moved: Bruno is disabled",
        ),
        (
            "a conversation was taken meanwhile",
            Box::new(move |app| {
                app.api
                    .patch(
                        &format!("/api/v1/users/{}", app.bruno.id),
                        &app.owner.token,
                        json!({"disabled": false}),
                    )
                    .expect(200);
                app.api
                    .post(
                        &format!("/api/v1/conversations/{second}/assign"),
                        &app.manager.token,
                        json!({"assignee_id": app.carla.id}),
                    )
                    .expect(200);
            }),
            vec![
                ("c", &a),
                ("c", &b),
                (&na, "mine"),
                (&nb, "was mine"),
                ("to", &bruno),
                ("go_offline", "1"),
            ],
            403,
            "changed hands or was resolved meanwhile, so nothing was moved",
        ),
    ];
    for (what, before, form, status, words) in cases {
        before(&app);
        let events = app.count("events");
        let r = ana.form("/shift", &form);
        assert_eq!(r.status().as_u16(), status, "{what}");
        let html = r.text().expect("html");
        assert!(html.contains(words), "{what}: {html}");
        assert_eq!(assignee(&app, first), app.ana.id, "{what}: nothing moved");
        assert_eq!(app.count("events"), events, "{what}: nothing recorded");
        let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
        assert_eq!(me["status"], "available", "{what}: not offline");
    }
    // The screen now lists only what is still hers, and hands that over.
    let page = ana.page("/shift");
    assert!(page.contains("Customer c0") && !page.contains("Customer c1"));
    let r = ana.form("/shift", &[("c", &a), (&na, "mine"), ("to", &bruno)]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(assignee(&app, first), app.bruno.id);
}

#[test]
fn managers_end_someone_elses_shift_and_agents_may_not() {
    let app = TestApp::spawn();
    let (first, second) = two_of_anas(&app);
    let carla = app.session(&app.carla);
    assert_eq!(
        carla
            .get(&format!("/shift?user={}", app.ana.id))
            .status()
            .as_u16(),
        403
    );
    let r = carla.form(
        &format!("/shift?user={}", app.ana.id),
        &[("c", &first.to_string()), ("to", "pool")],
    );
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(assignee(&app, first), app.ana.id);

    // The owner finds it in Staff (a section only owners see); managers by its address.
    let settings = app.session(&app.owner).page("/settings");
    assert!(
        settings.contains(&format!("/shift?user={}", app.ana.id)),
        "a link from Staff"
    );
    let mario = app.session(&app.manager);
    let page = mario.page(&format!("/shift?user={}", app.ana.id));
    assert!(
        page.contains("End <span dir=\"auto\">Ana</span>'s shift"),
        "{page}"
    );
    let sales = format!("team:{}", app.sales);
    let r = mario.form(
        &format!("/shift?user={}", app.ana.id),
        &[
            ("c", &first.to_string()),
            ("c", &second.to_string()),
            ("to", &sales),
            ("go_offline", "1"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    for id in [first, second] {
        let c = app
            .api
            .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
            .expect(200);
        assert_eq!(c["assignee"], Value::Null);
        assert_eq!(c["team"]["id"], app.sales);
    }
    let ana = app.api.get("/api/v1/me", &app.ana.token).expect(200);
    assert_eq!(ana["status"], "offline");
}

fn settings(app: &TestApp) -> Value {
    app.api
        .get("/api/v1/settings", &app.owner.token)
        .expect(200)
}

#[test]
fn the_hours_page_saves_through_the_settings_service() {
    let app = TestApp::spawn();
    let owner = app.session(&app.owner);
    let page = owner.page("/settings/hours");
    assert!(
        page.contains("<option value=\"Europe/Lisbon\""),
        "zones to choose from"
    );
    let r = owner.form(
        "/settings/hours/hours",
        &[
            ("timezone", "America/Sao_Paulo"),
            ("mon_open", "09:00"),
            ("mon_close", "13:00"),
            ("mon_open", "14:00"),
            ("mon_close", "18:00"),
            ("mon_open", ""),
            ("mon_close", ""),
            ("sat_open", "10:00"),
            ("sat_close", "14:00"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let s = settings(&app);
    assert_eq!(s["timezone"], "America/Sao_Paulo");
    assert_eq!(
        s["business_hours"],
        json!({"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "sat": [["10:00", "14:00"]]})
    );
    // (what, form, words); each leaves the settings as they were.
    let refusals: Vec<(&str, &str, Fields, &str)> = vec![
        (
            "half a range",
            "hours",
            vec![("tue_open", "09:00"), ("tue_close", "")],
            "Tuesday: give both the opening and the closing time",
        ),
        (
            "closes before it opens",
            "hours",
            vec![("wed_open", "18:00"), ("wed_close", "09:00")],
            "Wednesday: 18:00–09:00 closes before it opens",
        ),
        (
            "an unknown zone",
            "hours",
            vec![("timezone", "Mars/Olympus")],
            "Mars/Olympus",
        ),
        (
            "a day that does not exist",
            "holiday_add",
            vec![("date", "2026-02-30")],
            "2026-02-30 is not a date",
        ),
        (
            "a quiet period that is not a number",
            "auto_resolve",
            vec![("value", "soon"), ("unit", "h")],
            "is not a whole number",
        ),
    ];
    for (what, action, form, words) in refusals {
        let before = settings(&app);
        let r = owner.form(&format!("/settings/hours/{action}"), &form);
        assert!(r.status().is_client_error(), "{what}: {}", r.status());
        let html = r.text().expect("html");
        assert!(html.contains(words), "{what}: {html}");
        assert_eq!(settings(&app), before, "{what}: nothing saved");
    }
    for date in ["2026-12-25", "2026-12-24", "2026-12-25"] {
        assert_eq!(
            owner
                .form("/settings/hours/holiday_add", &[("date", date)])
                .status()
                .as_u16(),
            303
        );
    }
    assert_eq!(
        settings(&app)["holidays"],
        json!(["2026-12-24", "2026-12-25"])
    );
    owner.form("/settings/hours/holiday_remove", &[("date", "2026-12-24")]);
    assert_eq!(settings(&app)["holidays"], json!(["2026-12-25"]));
    owner.form(
        "/settings/hours/auto_resolve",
        &[("value", "2"), ("unit", "d")],
    );
    assert_eq!(settings(&app)["auto_resolve_pending_secs"], 172_800);
    owner.form(
        "/settings/hours/auto_resolve",
        &[("value", ""), ("unit", "h")],
    );
    assert_eq!(settings(&app)["auto_resolve_pending_secs"], Value::Null);

    // A manager edits the hours but not the zone (its select is disabled for them).
    let mario = app.session(&app.manager);
    assert!(
        mario
            .page("/settings/hours")
            .contains("Only the owner changes the time zone")
    );
    let r = mario.form(
        "/settings/hours/hours",
        &[("fri_open", "08:00"), ("fri_close", "12:00")],
    );
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        settings(&app)["business_hours"],
        json!({"fri": [["08:00", "12:00"]]})
    );
    let r = mario.form("/settings/hours/hours", &[("timezone", "UTC")]);
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(settings(&app)["timezone"], "America/Sao_Paulo");
    assert_eq!(
        app.session(&app.ana)
            .get("/settings/hours")
            .status()
            .as_u16(),
        403
    );
}

#[test]
fn the_sla_page_creates_and_edits_policies() {
    let app = TestApp::spawn();
    let mario = app.session(&app.manager);
    assert!(mario.page("/settings").contains("href=\"/settings/sla\""));
    let sales = app.sales.to_string();
    let r = mario.form(
        "/settings/sla",
        &[
            ("name", "Sales, urgent"),
            ("team", &sales),
            ("priority", "urgent"),
            ("first_response_value", "15"),
            ("first_response_unit", "min"),
            ("next_response_value", ""),
            ("next_response_unit", "h"),
            ("resolution_value", "8"),
            ("resolution_unit", "h"),
            ("warn_pct", "75"),
            ("business_hours", "1"),
            ("pause_when_pending", "1"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let list = app
        .api
        .get("/api/v1/sla-policies", &app.manager.token)
        .expect(200);
    let p = &list["items"][0];
    assert_eq!(
        (
            p["name"].clone(),
            p["team_id"].clone(),
            p["priority"].clone()
        ),
        (json!("Sales, urgent"), json!(app.sales), json!("urgent"))
    );
    assert_eq!(p["first_response_secs"], 900);
    assert_eq!(p["next_response_secs"], Value::Null);
    assert_eq!(p["resolution_secs"], 28_800);
    assert_eq!(p["warn_at"], 0.75);
    assert_eq!(
        (p["business_hours"].clone(), p["pause_when_pending"].clone()),
        (json!(true), json!(true))
    );
    let id = p["id"].as_i64().expect("id");
    let page = mario.page("/settings/sla");
    assert!(
        page.contains("Sales, urgent") && page.contains("first 15 min"),
        "{page}"
    );

    // Edit: any team, next response 2 h, no resolution target, boxes unticked.
    let r = mario.form(
        &format!("/settings/sla/{id}"),
        &[
            ("name", "Everyone"),
            ("team", ""),
            ("priority", ""),
            ("first_response_value", "1"),
            ("first_response_unit", "h"),
            ("next_response_value", "2"),
            ("next_response_unit", "h"),
            ("resolution_value", ""),
            ("resolution_unit", "h"),
            ("warn_pct", "80"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let p = app
        .api
        .get("/api/v1/sla-policies", &app.manager.token)
        .expect(200)["items"][0]
        .clone();
    assert_eq!(p["name"], "Everyone");
    assert_eq!(
        (p["team_id"].clone(), p["priority"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        (
            p["first_response_secs"].clone(),
            p["next_response_secs"].clone(),
            p["resolution_secs"].clone()
        ),
        (json!(3600), json!(7200), Value::Null)
    );
    assert_eq!(
        (p["business_hours"].clone(), p["pause_when_pending"].clone()),
        (json!(false), json!(false))
    );

    // Refusals in words, nothing saved.
    let cases: Vec<(&str, Fields, &str)> = vec![
        (
            "no target",
            vec![("name", "Empty"), ("warn_pct", "80")],
            "at least one target",
        ),
        (
            "warn at 100 %",
            vec![
                ("name", "Late"),
                ("first_response_value", "5"),
                ("first_response_unit", "min"),
                ("warn_pct", "100"),
            ],
            "warn_at",
        ),
        (
            "not a number",
            vec![
                ("name", "Words"),
                ("first_response_value", "five"),
                ("first_response_unit", "min"),
                ("warn_pct", "80"),
            ],
            "First response: five is not a whole number",
        ),
    ];
    for (what, form, words) in cases {
        let r = mario.form("/settings/sla", &form);
        assert!(r.status().is_client_error(), "{what}: {}", r.status());
        let html = r.text().expect("html");
        assert!(html.contains(words), "{what}: {html}");
    }
    let n = app
        .api
        .get("/api/v1/sla-policies", &app.manager.token)
        .expect(200)["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(n, Some(1));
    let ana = app.session(&app.ana);
    assert_eq!(ana.get("/settings/sla").status().as_u16(), 403);
    let r = ana.form(
        "/settings/sla",
        &[
            ("name", "Mine"),
            ("first_response_value", "1"),
            ("first_response_unit", "min"),
            ("warn_pct", "80"),
        ],
    );
    assert_eq!(r.status().as_u16(), 403);
}
