//! Routing (#10) through the API: rules sort new and reopened conversations, team modes hand
//! them to available agents within capacity, a returning customer sticks to an available owner,
//! and a waiting pool is re-offered when someone becomes available or gets room.

use serde_json::{Value, json};

use crate::support::sse;
use crate::support::{FakeCallback, Staff, TestApp};

/// Sales with three agents (Ana, Bruno and Carla, ids in that order), in `mode`, and an API
/// channel whose new conversations land in Sales. Returns (channel, secret).
pub(crate) fn sales_desk(app: &TestApp, cb: &FakeCallback, mode: &str) -> (i64, String) {
    app.api
        .patch(
            &format!("/api/v1/users/{}", app.carla.id),
            &app.owner.token,
            json!({"teams": [app.sales]}),
        )
        .expect(200);
    app.api
        .patch(
            &format!("/api/v1/teams/{}", app.sales),
            &app.manager.token,
            json!({"assignment": mode}),
        )
        .expect(200);
    let ch = app
        .api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "api", "name": "Shop chat", "config": {"callback_url": cb.url},
                "default_team_id": app.sales}),
        )
        .expect(201);
    (
        ch["id"].as_i64().expect("id"),
        ch["secret"].as_str().expect("secret").to_string(),
    )
}

/// A customer `who` writes `text`; answers the conversation id.
pub(crate) fn write(app: &TestApp, ch: (i64, &str), who: &str, id: &str, text: &str) -> i64 {
    let r = app.inbound(ch.0, ch.1, id, who, text);
    assert!(r.status.is_success(), "inbound {id}: {:?}", r.body);
    r.body["conversation_id"].as_i64().expect("conversation id")
}

pub(crate) fn conv(app: &TestApp, id: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)
}

fn assignee(app: &TestApp, id: i64) -> Option<i64> {
    conv(app, id)["assignee"]["id"].as_i64()
}

fn set_status(app: &TestApp, who: &Staff, status: &str) {
    app.api
        .put("/api/v1/me/status", &who.token, json!({"status": status}))
        .expect(200);
}

fn set_capacity(app: &TestApp, who: &Staff, capacity: Option<i64>) {
    app.api
        .patch(
            &format!("/api/v1/users/{}", who.id),
            &app.owner.token,
            json!({"capacity": capacity}),
        )
        .expect(200);
}

/// Unresolved conversations per assignee id (0: the pool), read from the database.
fn load(app: &TestApp) -> std::collections::BTreeMap<i64, i64> {
    app.store
        .read_blocking(|c| {
            let mut st = c.prepare(
                "SELECT COALESCE(assignee_id, 0), COUNT(*) FROM conversations
                  WHERE status <> 'resolved' GROUP BY 1",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("load")
}

pub(crate) fn resolve(app: &TestApp, who: &Staff, id: i64) {
    app.api
        .post(
            &format!("/api/v1/conversations/{id}/status"),
            &who.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
}

#[test]
fn round_robin_and_least_loaded_spread_a_hundred_conversations() {
    // (what, mode, (Ana, Bruno, Carla) as (status, capacity), expected (Ana, Bruno, Carla, pool))
    type Setup = [(&'static str, Option<i64>); 3];
    let all_free: Setup = [("available", None); 3];
    let cases: [(&str, &str, Setup, [i64; 4]); 6] = [
        (
            "round robin, all free",
            "round_robin",
            all_free,
            [34, 33, 33, 0],
        ),
        (
            "least loaded, all free",
            "least_loaded",
            all_free,
            [34, 33, 33, 0],
        ),
        (
            "round robin skips busy Bruno",
            "round_robin",
            [("available", None), ("busy", None), ("available", None)],
            [50, 0, 50, 0],
        ),
        (
            "least loaded skips offline Carla, Ana full at 10",
            "least_loaded",
            [
                ("available", Some(10)),
                ("available", None),
                ("offline", None),
            ],
            [10, 90, 0, 0],
        ),
        (
            "capacity 20 each: the overflow waits in the pool",
            "round_robin",
            [("available", Some(20)); 3],
            [20, 20, 20, 40],
        ),
        (
            "manual: everything waits",
            "manual",
            all_free,
            [0, 0, 0, 100],
        ),
    ];
    for (what, mode, setup, want) in cases {
        let app = TestApp::spawn();
        let cb = FakeCallback::start(&[]);
        let (ch, secret) = sales_desk(&app, &cb, mode);
        let staff = [app.ana.clone(), app.bruno.clone(), app.carla.clone()];
        for (who, (status, capacity)) in staff.iter().zip(setup) {
            set_status(&app, who, status);
            set_capacity(&app, who, capacity);
        }
        for i in 0..100 {
            write(
                &app,
                (ch, &secret),
                &format!("c{i}"),
                &format!("m{i}"),
                "hello",
            );
        }
        let l = load(&app);
        let got = [
            l.get(&app.ana.id).copied().unwrap_or(0),
            l.get(&app.bruno.id).copied().unwrap_or(0),
            l.get(&app.carla.id).copied().unwrap_or(0),
            l.get(&0).copied().unwrap_or(0),
        ];
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn routed_assignment_is_recorded_with_no_actor_and_the_team() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = sales_desk(&app, &cb, "round_robin");
    let id = write(&app, (ch, &secret), "c1", "m1", "hi");
    assert_eq!(assignee(&app, id), Some(app.ana.id));
    let ev: Vec<Value> = app
        .timeline(id)
        .into_iter()
        .filter(|i| i["kind"] == "conversation.assigned")
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["actor"], Value::Null, "routing did it");
    assert_eq!(ev[0]["data"]["to"]["id"], app.ana.id);
    assert_eq!(ev[0]["data"]["from"], Value::Null);
    assert_eq!(ev[0]["data"]["team"]["id"], app.sales);
}

#[test]
fn a_waiting_pool_is_offered_when_an_agent_becomes_available_or_gets_room() {
    // (what, mode, how Bruno comes back, expected Bruno's conversations, left in the pool)
    let cases = [
        ("PUT /me/status", "round_robin", "api", 3, 0),
        ("the UI's status control", "least_loaded", "ui", 3, 0),
        ("the auto-offline restore", "round_robin", "stream", 3, 0),
        ("manual keeps its pool", "manual", "api", 0, 5),
    ];
    for (what, mode, how, bruno_gets, pool) in cases {
        let app = TestApp::spawn();
        let cb = FakeCallback::start(&[]);
        let (ch, secret) = sales_desk(&app, &cb, mode);
        set_status(&app, &app.carla, "offline");
        set_capacity(&app, &app.ana, Some(2));
        let mut ana_stream = None;
        match how {
            "stream" => {
                // Ana keeps a stream open so she stays present; Bruno has none.
                ana_stream = Some(sse::open(&app.api, &app.ana.token, None));
                app.api
                    .patch(
                        "/api/v1/settings",
                        &app.owner.token,
                        json!({"auto_offline_secs": 1, "scheduler_tick_ms": 50}),
                    )
                    .expect(200);
                let status =
                    || app.api.get("/api/v1/me", &app.bruno.token).expect(200)["status"].clone();
                app.wait_until("Bruno marked offline", || status() == "offline");
            }
            _ => set_status(&app, &app.bruno, "offline"),
        }
        let ids: Vec<i64> = (0..5)
            .map(|i| {
                write(
                    &app,
                    (ch, &secret),
                    &format!("c{i}"),
                    &format!("m{i}"),
                    "hi",
                )
            })
            .collect();
        let want_ana = if mode == "manual" { 0 } else { 2 };
        assert_eq!(
            load(&app).get(&0).copied().unwrap_or(0),
            5 - want_ana,
            "{what}: overflow waits"
        );
        let _stream;
        match how {
            "api" => set_status(&app, &app.bruno, "available"),
            "ui" => {
                let s = app.session(&app.bruno);
                let r = s.form("/me/status", &[("status", "available")]);
                assert_eq!(r.status().as_u16(), 303, "{what}");
            }
            _ => {
                _stream = sse::open(&app.api, &app.bruno.token, None);
                app.wait_until("Bruno back", || {
                    load(&app).get(&app.bruno.id).copied().unwrap_or(0) == bruno_gets
                });
            }
        }
        let l = load(&app);
        drop(ana_stream);
        assert_eq!(
            l.get(&app.bruno.id).copied().unwrap_or(0),
            bruno_gets,
            "{what}"
        );
        assert_eq!(l.get(&0).copied().unwrap_or(0), pool, "{what}");
        if mode != "manual" {
            // Oldest first: the first two went to Ana at arrival, the next three to Bruno.
            for id in &ids[2..] {
                assert_eq!(assignee(&app, *id), Some(app.bruno.id), "{what}: {id}");
            }
        }
    }
}

#[test]
fn room_under_capacity_takes_the_oldest_waiting_conversation() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = sales_desk(&app, &cb, "least_loaded");
    for who in [&app.bruno, &app.carla] {
        set_status(&app, who, "busy");
    }
    set_capacity(&app, &app.ana, Some(1));
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            write(
                &app,
                (ch, &secret),
                &format!("c{i}"),
                &format!("m{i}"),
                "hi",
            )
        })
        .collect();
    assert_eq!(assignee(&app, ids[0]), Some(app.ana.id));
    assert_eq!(assignee(&app, ids[1]), None, "Ana is full");
    // Resolving gives her room: the customer who has waited longest comes to her.
    resolve(&app, &app.ana, ids[0]);
    assert_eq!(assignee(&app, ids[1]), Some(app.ana.id));
    assert_eq!(assignee(&app, ids[2]), None);
    // Handing one to the pool gives room too, but the one she let go stays in the pool.
    app.api
        .post(
            &format!("/api/v1/conversations/{}/assign", ids[1]),
            &app.ana.token,
            json!({"assignee_id": null}),
        )
        .expect(200);
    assert_eq!(assignee(&app, ids[2]), Some(app.ana.id));
    assert_eq!(assignee(&app, ids[1]), None, "released, not bounced back");
    // Raising her capacity offers the rest.
    set_capacity(&app, &app.ana, Some(5));
    assert_eq!(assignee(&app, ids[1]), Some(app.ana.id));
}

#[test]
fn a_returning_customer_sticks_to_an_available_owner() {
    // (what, sticky_owner, Ana's status when the customer comes back, expected owner)
    let cases = [
        ("sticky, Ana available", true, "available", "ana"),
        ("sticky, Ana busy: the mode decides", true, "busy", "bruno"),
        (
            "sticky, Ana offline: the mode decides",
            true,
            "offline",
            "bruno",
        ),
        (
            "not sticky, Ana busy keeps her customer",
            false,
            "busy",
            "ana",
        ),
        (
            "not sticky, Ana offline: re-routed",
            false,
            "offline",
            "bruno",
        ),
    ];
    for (what, sticky, status, want) in cases {
        let app = TestApp::spawn();
        let cb = FakeCallback::start(&[]);
        let (ch, secret) = sales_desk(&app, &cb, "round_robin");
        set_status(&app, &app.carla, "offline");
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"sticky_owner": sticky}),
            )
            .expect(200);
        let id = write(&app, (ch, &secret), "x", "m1", "hi");
        assert_eq!(assignee(&app, id), Some(app.ana.id), "{what}");
        // Bruno's turn comes next; give Ana's turn away so stickiness is what decides.
        write(&app, (ch, &secret), "other", "m2", "hi");
        resolve(&app, &app.ana, id);
        set_status(&app, &app.ana, status);
        let again = write(&app, (ch, &secret), "x", "m3", "me again");
        assert_eq!(again, id, "{what}: the same conversation reopens");
        let want = if want == "ana" {
            app.ana.id
        } else {
            app.bruno.id
        };
        assert_eq!(assignee(&app, id), Some(want), "{what}");
        assert_eq!(conv(&app, id)["status"], "open");
    }
}

/// A rule from `conditions` to team Support, created by the manager.
pub(crate) fn rule_to_support(app: &TestApp, position: i64, conditions: Value) -> Value {
    app.api
        .post(
            "/api/v1/routing-rules",
            &app.manager.token,
            json!({"position": position, "conditions": conditions,
                "actions": {"team_id": app.support}}),
        )
        .expect(201)
}

#[test]
fn a_reopened_conversation_is_routed_again() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = sales_desk(&app, &cb, "round_robin");
    set_status(&app, &app.carla, "offline");
    let id = write(&app, (ch, &secret), "c1", "m1", "hello");
    assert_eq!(assignee(&app, id), Some(app.ana.id));
    resolve(&app, &app.ana, id);
    // Rules read the message that opens the new cycle.
    rule_to_support(&app, 1, json!({"keywords": ["refund"]}));
    app.api
        .patch(
            &format!("/api/v1/teams/{}", app.support),
            &app.manager.token,
            json!({"assignment": "least_loaded", "members": [app.bruno.id]}),
        )
        .expect(200);
    set_status(&app, &app.ana, "offline");
    write(&app, (ch, &secret), "c1", "m2", "now a refund please");
    let c = conv(&app, id);
    assert_eq!(c["status"], "open");
    assert_eq!(c["team"]["id"], app.support);
    assert_eq!(c["assignee"]["id"], app.bruno.id, "Ana is offline");
    let moved: Vec<Value> = app
        .timeline(id)
        .into_iter()
        .filter(|i| i["kind"] == "conversation.assigned")
        .collect();
    let last = moved.last().expect("an assignment");
    assert_eq!(last["data"]["from"]["id"], app.ana.id);
    assert_eq!(last["data"]["to"]["id"], app.bruno.id);
    assert_eq!(last["actor"], Value::Null);
    // A message inside the open cycle routes nothing.
    set_status(&app, &app.ana, "available");
    write(&app, (ch, &secret), "c1", "m3", "hello? refund?");
    assert_eq!(assignee(&app, id), Some(app.bruno.id));
}
