//! Inbound through the API channel (idempotency, durability, timestamps, contacts), queue and
//! timeline paging, and conversations the business starts.

use serde_json::{Value, json};

use crate::support::{FakeCallback, TestApp};

#[test]
fn inbound_is_idempotent_and_survives_restart() {
    let mut app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let first = app
        .inbound(ch, &secret, "ext-42", "cust-9", "Do you deliver?")
        .expect(201);
    for _ in 0..4 {
        let again = app
            .inbound(ch, &secret, "ext-42", "cust-9", "Do you deliver?")
            .expect(200);
        assert_eq!(again, first);
    }
    assert_eq!(app.count("messages"), 1);
    assert_eq!(app.count("conversations"), 1);
    app.inbound(ch, "wrong secret", "ext-43", "cust-9", "x")
        .expect_error(401, "unauthenticated");
    app.inbound(999, &secret, "ext-43", "cust-9", "x")
        .expect_error(401, "unauthenticated");
    let conv = first["conversation_id"].as_i64().expect("id");
    app.claim(conv, &app.bruno);
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/notes"),
            &app.bruno.token,
            json!({"text": "remember me"}),
        )
        .expect(201);
    let before = app.timeline(conv);
    app.restart();
    let after = app.timeline(conv);
    assert_eq!(before, after);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.bruno.token)
        .expect(200);
    assert_eq!(c["assignee"]["name"], "Bruno");
    // Still idempotent after the restart.
    app.inbound(ch, &secret, "ext-42", "cust-9", "Do you deliver?")
        .expect(200);
    assert_eq!(app.count("messages"), 1);
}

#[test]
fn inbound_timestamp_contact_and_paging() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let post = |body: Value| {
        app.api.raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{ch}/inbound"),
            Some(&secret),
            Some(body.to_string().into_bytes()),
        )
    };
    let landed = post(json!({"external_id": "t1", "contact": {"identifier": "c1", "name": "<script>alert(1)</script>", "phone": "+44 20 7946 0958"},
        "text": "Old message", "timestamp": 1_700_000_000}))
    .expect(201);
    let conv = landed["conversation_id"].as_i64().expect("id");
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    assert_eq!(c["last_message_at"], "2023-11-14T22:13:20.000Z");
    assert_eq!(
        c["contact"]["name"], "<script>alert(1)</script>",
        "stored as given; escaping is the renderer's job"
    );
    assert_eq!(c["contact"]["phone"], "+442079460958");
    assert_eq!(
        c["window_closes_at"],
        Value::Null,
        "API channels have no service window"
    );
    post(json!({"external_id": "t2", "contact": {"identifier": "c1"}, "text": "x", "timestamp": "yesterday"}))
        .expect_error(422, "invalid_timestamp");
    let contact = app
        .api
        .get(
            &format!("/api/v1/contacts/{}", c["contact"]["id"]),
            &app.ana.token,
        )
        .expect(200);
    assert_eq!(contact["identities"][0]["identifier"], "c1");
    assert_eq!(contact["conversations"][0]["id"], conv);
    let patched = app
        .api
        .patch(
            &format!("/api/v1/contacts/{}", c["contact"]["id"]),
            &app.ana.token,
            json!({"name": "Maria", "attributes": {"tier": "gold"}}),
        )
        .expect(200);
    assert_eq!(patched["name"], "Maria");
    assert_eq!(patched["attributes"]["tier"], "gold");
    // Many conversations page through with a cursor and no repeats.
    for i in 0..7 {
        post(json!({"external_id": format!("p{i}"), "contact": {"identifier": format!("pc{i}")}, "text": format!("hello {i}")})).expect(201);
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/conversations?view=unassigned&limit=3".to_string();
    loop {
        let page = app.api.get(&url, &app.ana.token).expect(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["id"].as_i64().expect("id")));
        match page["next"].as_str() {
            Some(n) => url = format!("/api/v1/conversations?view=unassigned&limit=3&before={n}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);
    assert_eq!(seen.len(), 8);
    let found = app
        .api
        .get("/api/v1/conversations?view=all&q=hello%204", &app.ana.token)
        .expect(200);
    assert_eq!(found["items"].as_array().expect("items").len(), 1);
    app.api
        .get("/api/v1/conversations?view=everything", &app.ana.token)
        .expect_error(400, "invalid_view");
    app.api
        .get("/api/v1/conversations?before=garbage", &app.ana.token)
        .expect_error(400, "invalid_cursor");
    let clamp = app
        .api
        .get("/api/v1/conversations?limit=100000", &app.ana.token)
        .expect(200);
    assert_eq!(clamp["items"].as_array().expect("items").len(), 8);
}

#[test]
fn timeline_pages_back_in_time() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    for i in 0..9 {
        app.inbound(
            ch,
            &secret,
            &format!("tl{i}"),
            "cust-1",
            &format!("line {i}"),
        )
        .expect(201);
    }
    let mut collected: Vec<Value> = Vec::new();
    let mut url = format!("/api/v1/conversations/{conv}/timeline?limit=4");
    loop {
        let page = app.api.get(&url, &app.ana.token).expect(200);
        let mut items = page["items"].as_array().expect("items").clone();
        items.extend(collected);
        collected = items;
        match page["next"].as_str() {
            Some(n) => url = format!("/api/v1/conversations/{conv}/timeline?limit=4&before={n}"),
            None => break,
        }
    }
    assert_eq!(
        collected,
        app.timeline(conv),
        "pages join up into the whole timeline"
    );
    let texts: Vec<_> = collected
        .iter()
        .filter(|i| i["type"] == "message")
        .map(|i| i["text"].clone())
        .collect();
    assert_eq!(texts.len(), 10);
    assert_eq!(texts[0], "Hello!");
    assert_eq!(texts[9], "line 8");
}

#[test]
fn start_outbound_makes_the_starter_owner() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, _) = app.api_channel(&cb.url);
    let c = app
        .api
        .post(
            "/api/v1/conversations",
            &app.carla.token,
            json!({"contact": {"phone": "+351 912 000 111", "name": "Rui"}, "channel_id": ch,
                   "template": {"name": "order_ready", "language": "pt_PT", "params": ["Rui", "#77"]}}),
        )
        .expect(201);
    assert_eq!(c["assignee"]["id"], app.carla.id);
    assert_eq!(c["contact"]["name"], "Rui");
    cb.wait_for(1);
    let (_, body, _) = cb.requests().remove(0);
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["message"]["template"]["name"], "order_ready");
    assert_eq!(body["contact"]["identifier"], "351912000111");
    // Someone else who may not see Carla's conversation learns nothing from the phone number
    // (#8: this was a 409 naming her); starting with a known customer obeys the claim rule, see
    // `starting_with_a_known_customer_obeys_the_claim_rule`.
    app.api
        .post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": "351912000111"}, "channel_id": ch, "text": "hello"}),
        )
        .expect_error(404, "not_found");
    app.api
        .post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": "12"}, "channel_id": ch, "text": "x"}),
        )
        .expect_error(422, "invalid_phone");
    app.api
        .post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": "351912000999"}, "channel_id": 999, "text": "x"}),
        )
        .expect_error(422, "unknown_channel");
}

#[test]
fn starting_with_a_known_customer_obeys_the_claim_rule() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    // One conversation per customer, each held a different way.
    let conv_of = |ext: &str, who: &str| -> i64 {
        app.inbound(ch, &secret, ext, who, "hi").expect(201)["conversation_id"]
            .as_i64()
            .expect("conversation id")
    };
    let carlas = conv_of("e1", "351900000001");
    app.claim(carlas, &app.carla);
    let resolved = conv_of("e2", "351900000002");
    app.claim(resolved, &app.carla);
    app.api
        .post(
            &format!("/api/v1/conversations/{resolved}/status"),
            &app.carla.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
    let support_pool = conv_of("e3", "351900000003");
    app.api
        .post(
            &format!("/api/v1/conversations/{support_pool}/assign"),
            &app.manager.token,
            json!({"assignee_id": null, "team_id": app.support}),
        )
        .expect(200);
    let pool = conv_of("e4", "351900000004");
    let taken_over = conv_of("e5", "351900000005");
    app.claim(taken_over, &app.carla);
    let start = |token: &str, phone: &str| {
        app.api.post(
            "/api/v1/conversations",
            token,
            json!({"contact": {"phone": phone}, "channel_id": ch, "text": "hello"}),
        )
    };
    let visibility = |v: &str| {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"agent_visibility": v}),
            )
            .expect(200);
    };
    let holder = |conv: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
            .expect(200)["assignee"]["id"]
            .clone()
    };
    // own_and_pool (the default): what Ana may not see is not found, whoever holds it.
    for phone in ["351900000001", "351900000002", "351900000003"] {
        start(&app.ana.token, phone).expect_error(404, "not_found");
    }
    // The pool is hers to claim, as with a claim.
    assert_eq!(
        start(&app.ana.token, "351900000004").expect(201)["id"],
        pool
    );
    assert_eq!(holder(pool), app.ana.id);
    // Seeing everything is not owning it: someone holds it, resolved included.
    visibility("all_read_only");
    start(&app.bruno.token, "351900000001").expect_error(409, "already_assigned");
    start(&app.bruno.token, "351900000002").expect_error(409, "already_assigned");
    // In `own`, even the pool is out of sight.
    visibility("own");
    start(&app.bruno.token, "351900000003").expect_error(404, "not_found");
    // A manager takes over, and it is recorded, not silent.
    let before = app.count_kind(taken_over, "conversation.assigned");
    start(&app.manager.token, "351900000005").expect(201);
    assert_eq!(holder(taken_over), app.manager.id);
    assert_eq!(
        app.count_kind(taken_over, "conversation.assigned"),
        before + 1
    );
    // Nothing changed hands on the refused attempts.
    assert_eq!(holder(carlas), app.carla.id);
    assert_eq!(holder(resolved), app.carla.id);
}
