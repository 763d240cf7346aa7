//! Working on many conversations at once (`POST /api/v1/conversations/bulk`, managers and
//! owners, all or nothing, through the same operations and events) and a channel's default team
//! (`default_team_id`, used when a customer's message starts a new conversation).

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

/// `n` fresh conversations on one API channel; returns their ids.
fn conversations(app: &TestApp, n: usize) -> Vec<i64> {
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    (0..n)
        .map(|i| {
            app.inbound(ch, &secret, &format!("m{i}"), &format!("cust-{i}"), "Hello")
                .expect(201)["conversation_id"]
                .as_i64()
                .expect("id")
        })
        .collect()
}

/// (status, assignee id, tags) of a conversation, as the owner sees it.
fn state(app: &TestApp, id: i64) -> (Value, Value, Value) {
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200);
    (
        c["status"].clone(),
        c["assignee"]["id"].clone(),
        c["tags"].clone(),
    )
}

#[test]
fn bulk_actions_by_role_all_or_nothing_with_their_events() {
    let app = TestApp::spawn();
    let ids = conversations(&app, 4);
    let (a, b) = (ids[0], ids[1]);
    let bulk = |token: &str, body: Value| app.api.post("/api/v1/conversations/bulk", token, body);

    // Roles: agents may not; managers and owners may.
    bulk(
        &app.ana.token,
        json!({"conversation_ids": [a], "status": "resolved"}),
    )
    .expect_error(403, "forbidden");
    let before = (app.count("events"), state(&app, a), state(&app, b));

    // All or nothing: one bad id or one bad target and nothing changes; the error names it.
    // (case, body, status, code, words the message must contain)
    let refused: Vec<(&str, Value, u16, &str, String)> = vec![
        (
            "unknown conversation",
            json!({"conversation_ids": [a, 999_999], "status": "resolved"}),
            422,
            "unknown_conversation",
            "999999".into(),
        ),
        (
            "unknown assignee",
            json!({"conversation_ids": [a, b], "assign": {"assignee_id": 424_242}}),
            422,
            "invalid_assignee",
            format!("conversation {a}"),
        ),
        (
            "unknown team",
            json!({"conversation_ids": [a], "assign": {"assignee_id": null, "team_id": 77}}),
            422,
            "unknown_team",
            format!("conversation {a}"),
        ),
        (
            "too many ids",
            json!({"conversation_ids": (1..=201).collect::<Vec<i64>>(), "status": "open"}),
            422,
            "too_many",
            "200".into(),
        ),
        (
            "no ids",
            json!({"conversation_ids": [], "status": "open"}),
            422,
            "empty",
            String::new(),
        ),
        (
            "nothing to do",
            json!({"conversation_ids": [a]}),
            400,
            "invalid_field",
            String::new(),
        ),
        (
            "snooze needs an end",
            json!({"conversation_ids": [a], "status": "snoozed"}),
            422,
            "invalid_status",
            String::new(),
        ),
        (
            "a bad tag after a good status",
            json!({"conversation_ids": [a, b], "status": "resolved",
            "tags": {"add": ["x".repeat(51)]}}),
            422,
            "too_long",
            format!("conversation {a}"),
        ),
    ];
    for (case, body, status, code, words) in refused {
        let err = bulk(&app.manager.token, body).expect_error(status, code);
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&words), "{case}: {message}");
        assert_eq!(
            (app.count("events"), state(&app, a), state(&app, b)),
            before,
            "{case}: something changed"
        );
    }

    // The manager resolves two at once: both resolved, one event each, the others untouched.
    let resolved =
        app.count_kind(a, "conversation.status") + app.count_kind(b, "conversation.status");
    let r = bulk(
        &app.manager.token,
        json!({"conversation_ids": [a, b, a], "status": "resolved"}),
    )
    .expect(200);
    assert_eq!(r, json!({"updated": [a, b]}));
    assert_eq!(state(&app, a).0, "resolved");
    assert_eq!(state(&app, b).0, "resolved");
    assert_eq!(state(&app, ids[2]).0, "open");
    assert_eq!(
        app.count_kind(a, "conversation.status") + app.count_kind(b, "conversation.status"),
        resolved + 2
    );

    // The owner assigns two to Bruno in Sales and tags them: the one assignment writer's events.
    let (c, d) = (ids[2], ids[3]);
    let r = bulk(
        &app.owner.token,
        json!({"conversation_ids": [c, d],
        "assign": {"assignee_id": app.bruno.id, "team_id": app.sales},
        "tags": {"add": ["vip", "refund"], "remove": []}}),
    )
    .expect(200);
    assert_eq!(r["updated"], json!([c, d]));
    for id in [c, d] {
        let (status, assignee, tags) = state(&app, id);
        assert_eq!((status, assignee), (json!("open"), json!(app.bruno.id)));
        let mut tags: Vec<String> = serde_json::from_value(tags).expect("tags");
        tags.sort();
        assert_eq!(tags, ["refund", "vip"]);
        assert_eq!(app.count_kind(id, "conversation.assigned"), 1);
        assert_eq!(app.count_kind(id, "conversation.tagged"), 1);
    }
    let assigned = app.event_data("conversation.assigned");
    let last = assigned.last().expect("event");
    assert_eq!(last["by"]["name"], "Olga");
    assert_eq!(last["team"]["id"], app.sales);
}

#[test]
fn a_channels_default_team_receives_its_new_conversations() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let ch = app
        .api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "api", "name": "Shop chat",
            "config": {"callback_url": cb.url}, "default_team_id": app.sales}),
        )
        .expect(201);
    assert_eq!(ch["default_team_id"], app.sales);
    let (id, secret) = (
        ch["id"].as_i64().expect("id"),
        ch["secret"].as_str().expect("secret"),
    );
    let listed = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200);
    assert_eq!(listed["items"][0]["default_team_id"], app.sales);

    let landed = |ext: &str, who: &str| {
        app.inbound(id, secret, ext, who, "Hi, is this in stock?")
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("id")
    };
    let first = landed("m1", "cust-1");
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{first}"), &app.owner.token)
        .expect(200);
    assert_eq!(c["team"]["id"], app.sales);
    // In Sales' tab, for Ana (Sales), in the browser as in the API.
    let tab = app
        .session(&app.ana)
        .page(&format!("/?view=all&team={}", app.sales));
    assert!(tab.contains("Customer cust-1"), "not in the Sales tab");
    let pool = app
        .api
        .get(
            &format!("/api/v1/conversations?view=unassigned&team={}", app.sales),
            &app.ana.token,
        )
        .expect(200);
    assert_eq!(pool["items"][0]["id"], first);

    // Unknown team: a clear 422, nothing changes.
    let path = format!("/api/v1/channels/{id}");
    app.api
        .patch(&path, &app.owner.token, json!({"default_team_id": 9999}))
        .expect_error(422, "unknown_team");
    app.api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "api", "name": "X",
            "config": {"callback_url": cb.url}, "default_team_id": 9999}),
        )
        .expect_error(422, "unknown_team");
    assert_eq!(
        app.api
            .get("/api/v1/channels", &app.owner.token)
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .len(),
        1
    );
    // Managers may not change channels.
    app.api
        .patch(
            &path,
            &app.manager.token,
            json!({"default_team_id": app.support}),
        )
        .expect_error(403, "forbidden");

    // Another team: the next new customer lands there; the existing conversation stays put.
    let r = app
        .api
        .patch(
            &path,
            &app.owner.token,
            json!({"default_team_id": app.support}),
        )
        .expect(200);
    assert_eq!(r["default_team_id"], app.support);
    let second = landed("m2", "cust-2");
    let team = |conv: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
            .expect(200)["team"]["id"]
            .clone()
    };
    assert_eq!(team(second), app.support);
    landed("m3", "cust-1");
    assert_eq!(team(first), app.sales);
    // null clears it: no team.
    let r = app
        .api
        .patch(&path, &app.owner.token, json!({"default_team_id": null}))
        .expect(200);
    assert_eq!(r["default_team_id"], Value::Null);
    assert_eq!(team(landed("m4", "cust-3")), Value::Null);
}

#[test]
fn without_javascript_the_list_form_resolves_and_settings_set_the_default_team() {
    let app = TestApp::spawn();
    let ids = conversations(&app, 3);
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    let manager = app.session(&app.manager);
    let page = manager.page("/?view=all");
    assert!(
        page.contains(r#"form id="bulk" method="post" action="/bulk""#),
        "no bulk form"
    );
    assert!(
        page.contains(&format!(r#"name="ids" value="{a}""#)),
        "no checkbox"
    );
    // An agent's list has no checkboxes, and the route refuses an agent.
    let ana = app.session(&app.ana);
    assert!(!ana.page("/?view=unassigned").contains(r#"name="ids""#));
    let r = ana.form("/bulk", &[("ids", &a), ("do", "resolve"), ("back", "/")]);
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(state(&app, ids[0]).0, "open");

    let r = manager.form(
        "/bulk",
        &[
            ("ids", &a),
            ("ids", &b),
            ("do", "resolve"),
            ("back", "/?view=all"),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/?view=all");
    assert_eq!(state(&app, ids[0]).0, "resolved");
    assert_eq!(state(&app, ids[1]).0, "resolved");
    assert_eq!(state(&app, ids[2]).0, "open");
    // Assign and tag from the same bar; a bad target changes nothing and says why.
    let c = ids[2].to_string();
    let to = format!("user:{}", app.bruno.id);
    let r = manager.form(
        "/bulk",
        &[
            ("ids", &c),
            ("assign", &to),
            ("tag", "vip"),
            ("do", "apply"),
            ("back", "//evil.test"),
        ],
    );
    assert_eq!(
        r.headers()["location"],
        "/",
        "only a local page to go back to"
    );
    assert_eq!(
        state(&app, ids[2]),
        (json!("open"), json!(app.bruno.id), json!(["vip"]))
    );
    let r = manager.form(
        "/bulk",
        &[("ids", &c), ("assign", "user:4242"), ("do", "apply")],
    );
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(state(&app, ids[2]).1, json!(app.bruno.id));

    // Settings: the channel's team select.
    let channel = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200)["items"][0]["id"]
        .as_i64()
        .expect("channel");
    let owner = app.session(&app.owner);
    assert!(
        owner
            .page("/settings")
            .contains(&format!(r#"id="default-team-{channel}""#))
    );
    let sales = app.sales.to_string();
    let r = owner.form(
        &format!("/settings/channels/{channel}"),
        &[("default_team", &sales)],
    );
    assert_eq!(r.status().as_u16(), 303);
    let listed = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200);
    assert_eq!(listed["items"][0]["default_team_id"], app.sales);
    owner.form(
        &format!("/settings/channels/{channel}"),
        &[("default_team", "")],
    );
    let listed = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200);
    assert_eq!(listed["items"][0]["default_team_id"], Value::Null);
}
