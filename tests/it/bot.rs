//! The bot (#13) through the real server: the menu on WhatsApp (reply buttons, a list, both
//! checked against Meta's spec) and on the API channel (numbered text); handoffs by a tapped
//! button, a typed number, a human keyword, a second miss and the timeout; the survey after a
//! resolve; the away message once per cycle; first response counted from the handoff; and the
//! automation endpoint's limits.

use serde_json::{Value, json};

use crate::routing::{conv, resolve, write};
use crate::support::{FakeCallback, TestApp};
use crate::whatsapp::schema::{errors, validator};
use crate::whatsapp::{FakeGraph, conversation_on, deliver, hook_of, messages_of, wa_channel};

pub(crate) const WABA: &str = "419561257915477";

/// Buy something (Sales, tag lead, high), Help with an order (Support), Something else.
fn shop_menu(app: &TestApp) -> Value {
    json!({
        "menu": {"enabled": true, "text": "Hi! What can we help you with?", "timeout_secs": 300,
            "human_keywords": ["agent", "human"],
            "options": [
                {"id": "sales", "title": "Buy something", "team_id": app.sales, "tags": ["lead"], "priority": "high"},
                {"id": "support", "title": "Help with an order", "team_id": app.support, "tags": [], "priority": null},
                {"id": "other", "title": "Something else"}]},
        "away": {"enabled": false, "text": "We are closed now; we answer from 9:00."},
        "csat": {"enabled": true, "text": "How did we do? Tap a number."}})
}

fn put_automation(app: &TestApp, ch: i64, body: Value) {
    app.api
        .put(
            &format!("/api/v1/channels/{ch}/automation"),
            &app.manager.token,
            body,
        )
        .expect(200);
}

/// A customer's tap on a reply button (`button_reply`) or list row (`list_reply`).
pub(crate) fn tap_entry(
    number: &str,
    wamid: &str,
    from: &str,
    kind: &str,
    id: &str,
    title: &str,
) -> Value {
    let ts = (teaminbox::domain::time::now_ms() / 1000).to_string();
    json!({"id": WABA, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": number},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": ts, "type": "interactive",
            "context": {"from": "1", "id": "wamid.menu"},
            "interactive": {"type": kind, kind: {"id": id, "title": title}}}]}}]})
}

fn text_in(app: &TestApp, number: &str, wamid: &str, from: &str, text: &str) {
    deliver(
        app,
        &hook_of(&[crate::whatsapp::text_entry(WABA, number, wamid, from, text)]),
    );
}

fn handoffs(app: &TestApp) -> Vec<Value> {
    app.event_data(teaminbox::domain::events::kind::BOT_HANDOFF)
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}

/// The views a person works from, as the manager and as an agent of the team.
fn in_human_views(app: &TestApp, id: i64) -> Vec<String> {
    let mut seen = Vec::new();
    for view in ["unassigned", "all", "pending", "mine"] {
        for who in [&app.manager, &app.ana] {
            let l = app
                .api
                .get(&format!("/api/v1/conversations?view={view}"), &who.token)
                .expect(200);
            if ids(&l).contains(&id) {
                seen.push(format!("{view} ({})", who.email));
            }
        }
    }
    seen
}

fn cycle_of(app: &TestApp, conv: i64) -> (i64, Option<i64>, Option<i64>, i64) {
    app.store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT y.id, y.csat_score, y.resolved_by, y.started_at FROM cycles y
                  WHERE y.conversation_id = ?1 ORDER BY y.id DESC LIMIT 1",
                [conv],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("cycle")
}

#[test]
fn a_whatsapp_customer_gets_the_menu_and_a_tapped_button_routes_to_sales() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "7100";
    let ch = wa_channel(&app, &graph, number);
    put_automation(&app, ch, shop_menu(&app));

    text_in(&app, number, "wamid.b1", "16505550001", "Hello!");
    let c = conversation_on(&app, ch);
    let id = c["id"].as_i64().expect("id");
    assert_eq!(c["bot"], true, "{c}");
    assert_eq!(c["assignee"], Value::Null);
    assert_eq!(
        c["status"], "open",
        "an automated message never makes it pending"
    );
    assert_eq!(c["waiting_since"], Value::Null);
    assert_eq!(in_human_views(&app, id), Vec::<String>::new());
    assert_eq!(app.count_kind(id, "bot.started"), 1);
    // Take next and the Now board do not see it either.
    app.api
        .post("/api/v1/conversations/next", &app.ana.token, json!({}))
        .expect(404);
    let now = app
        .api
        .get("/api/v1/reports/now", &app.manager.token)
        .expect(200);
    assert_eq!(now["queue"]["unassigned"], 0, "{now}");

    // The menu: three reply buttons, within Meta's schema, marked automated in the timeline.
    graph.wait_sends(1);
    let sent = graph.sends();
    let menu = &sent[0];
    let errs = errors(&validator(), menu);
    assert!(
        errs.is_empty(),
        "{menu} does not fit Meta's schema: {errs:?}"
    );
    assert_eq!(menu["type"], "interactive");
    assert_eq!(menu["interactive"]["type"], "button");
    assert_eq!(
        menu["interactive"]["action"]["buttons"][0]["reply"],
        json!({"id": "sales", "title": "Buy something"})
    );
    let out: Vec<Value> = messages_of(&app, id)
        .into_iter()
        .filter(|m| m["direction"] == "out")
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["automated"], true);
    assert_eq!(out[0]["author"], Value::Null);

    // The tap: its reply id (the title could be anything) hands it to Sales with tag lead.
    deliver(
        &app,
        &hook_of(&[tap_entry(
            number,
            "wamid.b2",
            "16505550001",
            "button_reply",
            "sales",
            "Buy it",
        )]),
    );
    let c = conv(&app, id);
    assert_eq!(c["bot"], false);
    assert_eq!(c["team"]["id"], app.sales, "{c}");
    assert_eq!(c["tags"], json!(["lead"]));
    assert_eq!(c["priority"], "high");
    assert_eq!(
        c["assignee"],
        Value::Null,
        "Sales is manual: it waits in Sales' pool"
    );
    assert!(c["waiting_since"].is_string());
    assert_eq!(
        handoffs(&app),
        vec![json!({"reason": "option", "option_id": "sales"})]
    );
    assert!(in_human_views(&app, id).contains(&format!("unassigned ({})", app.ana.email)));
    let now = app
        .api
        .get("/api/v1/reports/now", &app.manager.token)
        .expect(200);
    assert_eq!(now["queue"]["unassigned"], 1, "{now}");
    // The timeline says what the bot did and why it let go.
    let words: Vec<String> = app
        .timeline(id)
        .iter()
        .filter(|i| i["type"] == "event")
        .map(|i| i["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(words.contains(&"bot.started".into()) && words.contains(&"bot.handoff".into()));
}

#[test]
fn a_round_robin_team_gets_the_chosen_conversation_and_a_list_row_picks_an_option() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "7101";
    let ch = wa_channel(&app, &graph, number);
    app.api
        .patch(
            &format!("/api/v1/teams/{}", app.sales),
            &app.manager.token,
            json!({"assignment": "round_robin"}),
        )
        .expect(200);
    // Four options: a list message.
    let mut m = shop_menu(&app);
    m["menu"]["options"]
        .as_array_mut()
        .expect("options")
        .push(json!({"id": "jobs", "title": "Work with us at the shop"}));
    put_automation(&app, ch, m);
    text_in(&app, number, "wamid.l1", "16505550002", "hi");
    graph.wait_sends(1);
    let list = &graph.sends()[0];
    let errs = errors(&validator(), list);
    assert!(
        errs.is_empty(),
        "{list} does not fit Meta's schema: {errs:?}"
    );
    assert_eq!(list["interactive"]["type"], "list");
    assert_eq!(
        list["interactive"]["action"]["sections"][0]["rows"][3],
        json!({"id": "jobs", "title": "Work with us at the shop"})
    );
    deliver(
        &app,
        &hook_of(&[tap_entry(
            number,
            "wamid.l2",
            "16505550002",
            "list_reply",
            "sales",
            "Buy something",
        )]),
    );
    let c = conversation_on(&app, ch);
    assert_eq!(c["team"]["id"], app.sales);
    let who = c["assignee"]["id"].as_i64();
    assert!(
        who == Some(app.ana.id) || who == Some(app.bruno.id),
        "Sales' round robin gives it to Ana or Bruno: {c}"
    );
}

#[test]
fn typed_numbers_titles_keywords_misses_and_the_timeout_hand_over() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    put_automation(&app, ch, shop_menu(&app));
    let desk = (ch, secret.as_str());
    // (what the customer writes after the menu, expected handoff, team)
    let table: &[(&[&str], Value, Option<i64>)] = &[
        (
            &["2"],
            json!({"reason": "option", "option_id": "support"}),
            Some(app.support),
        ),
        (
            &["buy SOMETHING"],
            json!({"reason": "option", "option_id": "sales"}),
            Some(app.sales),
        ),
        (
            &["agent"],
            json!({"reason": "keyword", "option_id": null}),
            None,
        ),
        (
            &["can a Human help me?"],
            json!({"reason": "keyword", "option_id": null}),
            None,
        ),
        (
            &["what?", "I said hello"],
            json!({"reason": "no_match", "option_id": null}),
            None,
        ),
        (
            &["7", "nope"],
            json!({"reason": "no_match", "option_id": null}),
            None,
        ),
    ];
    for (n, (answers, want, team)) in table.iter().enumerate() {
        let who = format!("cust-{n}");
        let id = write(&app, desk, &who, &format!("{who}-0"), "Hello");
        assert_eq!(conv(&app, id)["bot"], true, "case {n}");
        for (k, a) in answers.iter().enumerate() {
            write(&app, desk, &who, &format!("{who}-{}", k + 1), a);
        }
        let c = conv(&app, id);
        assert_eq!(c["bot"], false, "case {n} {answers:?}");
        assert_eq!(handoffs(&app).last(), Some(want), "case {n} {answers:?}");
        assert_eq!(c["team"]["id"].as_i64(), *team, "case {n} {answers:?}");
    }
    // The API channel got the menu as numbered text, once per customer plus once per first miss.
    cb.wait_for(table.len() + 2);
    let first: Value = serde_json::from_slice(&cb.requests()[0].1).expect("json");
    assert_eq!(
        first["message"]["text"],
        "Hi! What can we help you with?\n\n1. Buy something\n2. Help with an order\n3. Something else"
    );
    assert_eq!(first["author"], Value::Null);

    // "agent" as the very first words: no menu to wait for.
    let id = write(&app, desk, "eager", "eager-0", "I need an agent");
    assert_eq!(conv(&app, id)["bot"], false);
    assert_eq!(
        handoffs(&app).last(),
        Some(&json!({"reason": "keyword", "option_id": null}))
    );

    // Silence: the scheduler's tick past the timeout hands it to the general pool.
    let id = write(&app, desk, "quiet", "quiet-0", "hello?");
    let until = crate::whatsapp::query_i64(
        &app,
        "SELECT bot_until FROM conversations WHERE id = ?1",
        id,
    );
    let early = app
        .store
        .write_blocking(move |c| teaminbox::service::bot::tick(c, until - 1))
        .expect("tick");
    assert_eq!(early, 0);
    assert_eq!(conv(&app, id)["bot"], true);
    let n = app
        .store
        .write_blocking(move |c| teaminbox::service::bot::tick(c, until))
        .expect("tick");
    assert_eq!(n, 1);
    let c = conv(&app, id);
    assert_eq!(
        (c["bot"].clone(), c["team"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(
        handoffs(&app).last(),
        Some(&json!({"reason": "timeout", "option_id": null}))
    );
}

#[test]
fn the_survey_after_a_resolve_is_stored_on_the_cycle_and_a_new_question_meets_the_menu() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "7102";
    let ch = wa_channel(&app, &graph, number);
    put_automation(&app, ch, shop_menu(&app));
    let from = "16505550003";
    // The customer wrote an hour ago, so the survey answer (now) moves the window on.
    let an_hour_ago = teaminbox::domain::time::now_ms() / 1000 - 3600;
    for (wamid, text) in [("wamid.c1", "Hello"), ("wamid.c2", "1")] {
        let mut e = crate::whatsapp::text_entry(WABA, number, wamid, from, text);
        e["changes"][0]["value"]["messages"][0]["timestamp"] = json!(an_hour_ago.to_string());
        deliver(&app, &hook_of(&[e]));
    }
    let id = conversation_on(&app, ch)["id"].as_i64().expect("id");
    let window = |app: &TestApp| {
        crate::whatsapp::query_i64(
            app,
            "SELECT window_closes_at FROM conversations WHERE id = ?1",
            id,
        )
    };
    assert_eq!(window(&app), (an_hour_ago + 86_400) * 1000);
    app.claim(id, &app.ana);
    app.reply(id, &app.ana, "Which size?");
    resolve(&app, &app.ana, id);
    graph.wait_sends(3);
    let survey = graph.sends()[2].clone();
    let errs = errors(&validator(), &survey);
    assert!(
        errs.is_empty(),
        "{survey} does not fit Meta's schema: {errs:?}"
    );
    assert_eq!(survey["interactive"]["type"], "list");
    let rows = &survey["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(rows.as_array().map(Vec::len), Some(5));
    assert_eq!(rows[4], json!({"id": "csat_5", "title": "5"}));

    // "5": on the resolved cycle, with Ana as the resolver; the conversation stays resolved.
    let (cycle, _, _, _) = cycle_of(&app, id);
    text_in(&app, number, "wamid.c3", from, "5");
    assert_eq!(
        cycle_of(&app, id),
        (cycle, Some(5), Some(app.ana.id), cycle_of(&app, id).3)
    );
    assert_eq!(conv(&app, id)["status"], "resolved");
    // The answer is a customer message: the 24 h window runs from it (Meta's rule).
    assert!(
        window(&app) >= (an_hour_ago + 3600 + 86_400) * 1000,
        "the survey answer did not move the customer service window"
    );
    assert_eq!(
        app.event_data(teaminbox::domain::events::kind::CSAT_RECEIVED),
        vec![json!({"score": 5, "cycle_id": cycle})]
    );
    let summary = app
        .api
        .get("/api/v1/reports/summary", &app.manager.token)
        .expect(200);
    assert_eq!(summary["csat"]["responses"], 1, "{summary}");

    // A new question reopens it and meets the menu again.
    text_in(&app, number, "wamid.c4", from, "One more thing");
    let c = conv(&app, id);
    assert_eq!(
        (c["status"].clone(), c["bot"].clone()),
        (json!("open"), json!(true))
    );
    assert_eq!(c["assignee"], Value::Null, "the bot holds it, nobody else");
    assert_eq!(app.count_kind(id, "bot.started"), 2);
    assert_ne!(cycle_of(&app, id).0, cycle);
    graph.wait_sends(4);
    assert_eq!(graph.sends()[3]["interactive"]["type"], "button");
}

#[test]
fn a_survey_answer_by_list_reply_counts_and_another_message_reopens() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let mut m = shop_menu(&app);
    m["menu"]["enabled"] = json!(false);
    put_automation(&app, ch, m);
    let desk = (ch, secret.as_str());
    let id = write(&app, desk, "s", "s-0", "Hello");
    app.claim(id, &app.bruno);
    resolve(&app, &app.bruno, id);
    cb.wait_for(1);
    let survey: Value = serde_json::from_slice(&cb.requests()[0].1).expect("json");
    assert_eq!(
        survey["message"]["text"],
        "How did we do? Tap a number.\n\n1 2 3 4 5"
    );
    // Not a score: the conversation reopens and the survey is withdrawn.
    write(&app, desk, "s", "s-1", "6 stars!");
    assert_eq!(conv(&app, id)["status"], "open");
    assert_eq!(cycle_of(&app, id).1, None);
    resolve(&app, &app.bruno, id);
    write(&app, desk, "s", "s-2", " 2 ");
    assert_eq!(conv(&app, id)["status"], "resolved");
    assert_eq!(cycle_of(&app, id).1, Some(2));
}

#[test]
fn away_text_goes_once_per_cycle_outside_business_hours() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let week = json!({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]});
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"timezone": "UTC", "business_hours": week, "holidays": ["2026-01-01"]}),
        )
        .expect(200);
    let mut m = shop_menu(&app);
    m["menu"]["enabled"] = json!(false);
    m["away"]["enabled"] = json!(true);
    put_automation(&app, ch, m);
    // Wednesday 2026-11-18 22:00 UTC and 22:05; Thursday 2026-01-01 (a holiday) 10:00;
    // Wednesday 10:00 (open).
    let send = |who: &str, ext: &str, ts: &str| {
        let r = app.api.raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{ch}/inbound"),
            Some(&secret),
            Some(
                json!({"external_id": ext, "contact": {"identifier": who}, "text": "hello", "timestamp": ts})
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert!(r.status.is_success(), "{:?}", r.body);
        r.body["conversation_id"].as_i64().expect("id")
    };
    let away_count = |id: i64| {
        messages_of(&app, id)
            .iter()
            .filter(|m| {
                m["automated"] == true && m["text"] == "We are closed now; we answer from 9:00."
            })
            .count()
    };
    let late = send("late", "late-1", "2026-11-18T22:00:00Z");
    send("late", "late-2", "2026-11-18T22:05:00Z");
    assert_eq!(away_count(late), 1, "once, not twice");
    let c = conv(&app, late);
    assert_eq!(
        (c["status"].clone(), c["assignee"].clone()),
        (json!("open"), Value::Null)
    );
    let holiday = send("holiday", "h-1", "2026-01-01T10:00:00Z");
    assert_eq!(away_count(holiday), 1);
    let open = send("open", "o-1", "2026-11-18T10:00:00Z");
    assert_eq!(away_count(open), 0);
}

#[test]
fn first_response_time_of_a_bot_handled_conversation_counts_from_the_handoff() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    put_automation(&app, ch, shop_menu(&app));
    // The customer wrote two hours ago (the provider's time); the choice comes now.
    let two_hours_ago = teaminbox::domain::time::now_ms() / 1000 - 7200;
    let r = app.api.raw(
        reqwest::Method::POST,
        &format!("/api/v1/channels/{ch}/inbound"),
        Some(&secret),
        Some(
            json!({"external_id": "f-0", "contact": {"identifier": "frt"}, "text": "Hello", "timestamp": two_hours_ago})
                .to_string()
                .into_bytes(),
        ),
    );
    let id = r.expect(201)["conversation_id"].as_i64().expect("id");
    let (_, _, _, started) = cycle_of(&app, id);
    assert_eq!(started, two_hours_ago * 1000);
    write(&app, (ch, &secret), "frt", "f-1", "1");
    let (_, _, _, started) = cycle_of(&app, id);
    assert!(
        started > two_hours_ago * 1000 + 7_000_000,
        "the cycle starts at the handoff, not at the greeting"
    );
    // The menu was no response; Ana's reply is.
    let answered = crate::whatsapp::query_i64(
        &app,
        "SELECT COUNT(*) FROM cycles WHERE conversation_id = ?1 AND first_response_at IS NOT NULL",
        id,
    );
    assert_eq!(answered, 0);
    app.claim(id, &app.ana);
    app.reply(id, &app.ana, "Hi, Ana here");
    let (status, body) =
        crate::reports::text(&app, "/api/v1/reports/cycles.csv", &app.manager.token);
    assert_eq!(status, 200, "{body}");
    let rows = crate::reports::csv_rows(&body);
    assert_eq!(rows.len(), 1, "{body}");
    let frt: i64 = rows[0]["first_response_secs"].parse().expect("FRT seconds");
    assert!(frt < 600, "FRT {frt}s counts from the greeting");
}

#[test]
fn the_automation_endpoint_checks_roles_and_metas_limits() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, _) = app.api_channel(&cb.url);
    let path = format!("/api/v1/channels/{ch}/automation");
    // Anyone on the staff reads it: all off until written.
    let a = app.api.get(&path, &app.carla.token).expect(200);
    assert_eq!(a["menu"]["enabled"], false);
    assert_eq!(a["menu"]["timeout_secs"], 300);
    let ok = shop_menu(&app);
    app.api
        .put(&path, &app.ana.token, ok.clone())
        .expect_error(403, "forbidden");
    app.api
        .put(
            "/api/v1/channels/9999/automation",
            &app.owner.token,
            ok.clone(),
        )
        .expect(404);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        f(&mut v);
        v
    };
    let opt = |i: usize, title: &str| json!({"id": format!("o{i}"), "title": title});
    let table: Vec<(Value, u16, &str)> = vec![
        (
            with(&|v| {
                v["menu"]["options"] = json!(
                    (0..11)
                        .map(|i| opt(i, &format!("t{i}")))
                        .collect::<Vec<_>>()
                )
            }),
            422,
            "too_many_options",
        ),
        (
            with(&|v| v["menu"]["options"] = json!([])),
            422,
            "no_options",
        ),
        (
            with(&|v| v["menu"]["options"][0]["title"] = json!("Buy something special")),
            422,
            "title_too_long",
        ),
        (
            with(&|v| {
                v["menu"]["options"] = json!(
                    (0..4)
                        .map(|i| opt(i, &format!("{i} is a title far too long")))
                        .collect::<Vec<_>>()
                )
            }),
            422,
            "title_too_long",
        ),
        (
            with(&|v| v["menu"]["text"] = json!("x".repeat(1025))),
            422,
            "text_too_long",
        ),
        (
            with(&|v| v["away"]["text"] = json!("y".repeat(1025))),
            422,
            "text_too_long",
        ),
        (
            with(&|v| v["menu"]["options"][1]["team_id"] = json!(4242)),
            422,
            "unknown_team",
        ),
        (
            with(&|v| v["menu"]["colour"] = json!("red")),
            400,
            "invalid_field",
        ),
        (
            with(&|v| v["menu"]["options"][0]["emoji"] = json!("x")),
            400,
            "invalid_field",
        ),
        (
            with(&|v| {
                v.as_object_mut().expect("object").remove("csat");
            }),
            400,
            "invalid_field",
        ),
    ];
    for (body, status, code) in &table {
        let r = app.api.put(&path, &app.manager.token, body.clone());
        assert_eq!(r.status.as_u16(), *status, "{code}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], *code, "{:?}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Nothing was kept; a 21-character title is fine as a list row; an owner may write too.
    assert_eq!(
        app.api.get(&path, &app.carla.token).expect(200)["menu"]["enabled"],
        false
    );
    let rows = with(&|v| {
        v["menu"]["options"] = json!(
            (0..4)
                .map(|i| opt(i, &format!("{i}: twenty-one chars!!")))
                .collect::<Vec<_>>()
        )
    });
    app.api.put(&path, &app.owner.token, rows).expect(200);
    let back = app.api.get(&path, &app.ana.token).expect(200);
    assert_eq!(back["menu"]["options"].as_array().map(Vec::len), Some(4));
}

/// A manager who assigns a conversation the bot still holds (by id: it is in no list) ends the
/// hold: it is no longer `bot`, it shows in the assignee's Mine, and the bot's timeout later
/// hands nothing over. Claiming it works the same way.
#[test]
fn a_person_who_takes_a_bot_held_conversation_ends_the_hold() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    put_automation(&app, ch, shop_menu(&app));
    let desk = (ch, secret.as_str());
    for (n, how) in ["assign", "claim"].iter().enumerate() {
        let who = format!("held-{n}");
        let id = write(&app, desk, &who, &format!("{who}-0"), "Hello");
        assert_eq!(conv(&app, id)["bot"], true, "{how}");
        match *how {
            "assign" => app
                .api
                .post(
                    &format!("/api/v1/conversations/{id}/assign"),
                    &app.manager.token,
                    json!({"assignee_id": app.ana.id}),
                )
                .expect(200),
            _ => app
                .api
                .post(
                    &format!("/api/v1/conversations/{id}/claim"),
                    &app.manager.token,
                    json!({}),
                )
                .expect(200),
        };
        let c = conv(&app, id);
        assert_eq!(c["bot"], false, "{how}: still held by the bot");
        let owner = if *how == "assign" {
            &app.ana
        } else {
            &app.manager
        };
        assert_eq!(c["assignee"]["id"].as_i64(), Some(owner.id), "{how}");
        let mine = app
            .api
            .get("/api/v1/conversations?view=mine", &owner.token)
            .expect(200);
        assert!(
            ids(&mine).contains(&id),
            "{how}: not in the assignee's Mine"
        );
    }
    let before = handoffs(&app).len();
    let later = teaminbox::domain::time::now_ms() + 3_600_000;
    let handed = app
        .store
        .write_blocking(move |c| teaminbox::service::bot::tick(c, later))
        .expect("tick");
    assert_eq!(
        handed, 0,
        "the timeout handed over a conversation a person holds"
    );
    assert_eq!(handoffs(&app).len(), before);
}
