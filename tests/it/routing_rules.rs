//! Routing rules (#10): each condition and action through the API, their order, who may edit
//! them, bad bodies, and the Settings → Routing page.

use serde_json::{Value, json};

use crate::routing::{conv, resolve, rule_to_support, sales_desk, write};
use crate::support::{FakeCallback, TestApp};

#[test]
fn rules_match_on_each_condition() {
    // Fixed calendars whatever the clock says: open around the clock every day in UTC, or the
    // same hours with yesterday, today and tomorrow as holidays (closed).
    let day = json!([["00:00", "24:00"]]);
    let week =
        json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day});
    let date = |days: i64| {
        teaminbox::domain::time::format_ms(teaminbox::domain::time::now_ms() + days * 86_400_000)
            [..10]
            .to_string()
    };
    let always = json!({"business_hours": week, "holidays": []});
    let closed = json!({"business_hours": week, "holidays": [date(-1), date(0), date(1)]});
    // (what, conditions, business hours, customer's tag, message, routed to Support)
    type Case = (
        &'static str,
        Value,
        Value,
        Option<&'static str>,
        &'static str,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "channel",
            json!({"channel_id": "CH"}),
            json!({}),
            None,
            "hi",
            true,
        ),
        (
            "other channel",
            json!({"channel_id": "OTHER"}),
            json!({}),
            None,
            "hi",
            false,
        ),
        (
            "keyword",
            json!({"keywords": ["refund"]}),
            json!({}),
            None,
            "I want a REFUND!",
            true,
        ),
        (
            "keyword is a whole word",
            json!({"keywords": ["refund"]}),
            json!({}),
            None,
            "refunded already",
            false,
        ),
        (
            "phrase",
            json!({"keywords": ["price list"]}),
            json!({}),
            None,
            "Your Price List?",
            true,
        ),
        (
            "non-ASCII",
            json!({"keywords": ["größe"]}),
            json!({}),
            None,
            "GRÖSSE? nein: Größe 42",
            true,
        ),
        (
            "Arabic",
            json!({"keywords": ["استرجاع"]}),
            json!({}),
            None,
            "أريد استرجاع المبلغ",
            true,
        ),
        (
            "any of several",
            json!({"keywords": ["broken", "refund"]}),
            json!({}),
            None,
            "it is broken",
            true,
        ),
        (
            "contact tag",
            json!({"contact_tag": "VIP"}),
            json!({}),
            Some("vip"),
            "hi",
            true,
        ),
        (
            "contact tag missing",
            json!({"contact_tag": "VIP"}),
            json!({}),
            None,
            "hi",
            false,
        ),
        (
            "inside hours",
            json!({"business_hours": "inside"}),
            always.clone(),
            None,
            "hi",
            true,
        ),
        (
            "inside hours, closed",
            json!({"business_hours": "inside"}),
            closed.clone(),
            None,
            "hi",
            false,
        ),
        (
            "outside hours",
            json!({"business_hours": "outside"}),
            closed.clone(),
            None,
            "hi",
            true,
        ),
        (
            "outside hours, open",
            json!({"business_hours": "outside"}),
            always.clone(),
            None,
            "hi",
            false,
        ),
        (
            "all at once",
            json!({"channel_id": "CH", "keywords": ["refund"], "business_hours": "inside"}),
            always.clone(),
            None,
            "refund",
            true,
        ),
    ];
    for (what, mut conditions, calendar, tag, text, to_support) in cases {
        let app = TestApp::spawn();
        let cb = FakeCallback::start(&[]);
        let (ch, secret) = sales_desk(&app, &cb, "manual");
        let (other, _) = app.api_channel(&cb.url);
        for (k, v) in [("CH", ch), ("OTHER", other)] {
            if conditions["channel_id"] == k {
                conditions["channel_id"] = json!(v);
            }
        }
        if calendar != json!({}) {
            let mut settings = calendar.clone();
            settings["timezone"] = json!("UTC");
            app.api
                .patch("/api/v1/settings", &app.owner.token, settings)
                .expect(200);
        }
        rule_to_support(&app, 10, conditions);
        if let Some(tag) = tag {
            // The customer was tagged on an earlier visit (contact's `tags` attribute).
            let first = write(&app, (ch, &secret), "cust", "m0", "first visit");
            let contact = conv(&app, first)["contact"]["id"]
                .as_i64()
                .expect("contact");
            app.api
                .patch(
                    &format!("/api/v1/contacts/{contact}"),
                    &app.owner.token,
                    json!({"attributes": {"tags": [tag]}}),
                )
                .expect(200);
            resolve(&app, &app.owner, first);
        }
        let id = write(&app, (ch, &secret), "cust", "m1", text);
        let team = conv(&app, id)["team"]["id"].as_i64();
        let want = if to_support { app.support } else { app.sales };
        assert_eq!(team, Some(want), "{what}");
    }
}

#[test]
fn the_first_matching_rule_sets_team_tags_and_priority_and_beats_the_channel_default() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = sales_desk(&app, &cb, "manual");
    app.api
        .patch(
            &format!("/api/v1/teams/{}", app.support),
            &app.manager.token,
            json!({"assignment": "round_robin", "members": [app.carla.id]}),
        )
        .expect(200);
    // Same position: the older rule (lower id) is tried first.
    let first = app
        .api
        .post(
            "/api/v1/routing-rules",
            &app.manager.token,
            json!({"position": 5, "conditions": {"keywords": ["broken"]},
                "actions": {"team_id": app.support, "tags": ["repair"], "priority": "high"}}),
        )
        .expect(201);
    rule_to_support(&app, 5, json!({"keywords": ["broken", "refund"]}));
    app.api
        .post(
            "/api/v1/routing-rules",
            &app.owner.token,
            json!({"position": 1, "conditions": {"keywords": ["invoice"]}, "actions": {"priority": "low"}}),
        )
        .expect(201);
    let list = app
        .api
        .get("/api/v1/routing-rules", &app.manager.token)
        .expect(200);
    let order: Vec<i64> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["position"].as_i64().expect("position"))
        .collect();
    assert_eq!(order, vec![1, 5, 5]);
    assert_eq!(list["items"][1]["id"], first["id"], "ties by id");

    let id = write(&app, (ch, &secret), "c1", "m1", "My phone is broken");
    let c = conv(&app, id);
    assert_eq!(c["team"]["id"], app.support, "the rule's team beats Sales");
    assert_eq!(c["tags"], json!(["repair"]));
    assert_eq!(c["priority"], "high");
    assert_eq!(
        c["assignee"]["id"], app.carla.id,
        "Support routes round robin"
    );
    let tagged: Vec<Value> = app
        .timeline(id)
        .into_iter()
        .filter(|i| i["kind"] == "conversation.tagged")
        .collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["actor"], Value::Null);

    // A rule without a team keeps the channel's default.
    let id = write(&app, (ch, &secret), "c2", "m2", "about my invoice");
    let c = conv(&app, id);
    assert_eq!(c["team"]["id"], app.sales);
    assert_eq!(c["priority"], "low");
    // No rule matches: the channel's default.
    let id = write(&app, (ch, &secret), "c3", "m3", "hello");
    assert_eq!(conv(&app, id)["team"]["id"], app.sales);
    assert_eq!(conv(&app, id)["priority"], "normal");

    // Deleted, it no longer applies.
    app.api
        .delete(
            &format!("/api/v1/routing-rules/{}", first["id"]),
            &app.manager.token,
        )
        .expect(204);
    let id = write(&app, (ch, &secret), "c4", "m4", "broken again");
    assert_eq!(conv(&app, id)["tags"], json!([]));
    assert_eq!(conv(&app, id)["team"]["id"], app.support, "the next rule");
}

#[test]
fn rules_are_for_managers_and_bad_bodies_say_what_is_wrong() {
    let app = TestApp::spawn();
    let good = json!({"conditions": {"keywords": ["refund"]}, "actions": {"team_id": app.support}});
    // Agents may neither read nor write rules.
    app.api
        .get("/api/v1/routing-rules", &app.ana.token)
        .expect_error(403, "forbidden");
    app.api
        .post("/api/v1/routing-rules", &app.ana.token, good.clone())
        .expect_error(403, "forbidden");
    let rule = app
        .api
        .post("/api/v1/routing-rules", &app.owner.token, good.clone())
        .expect(201);
    let path = format!("/api/v1/routing-rules/{}", rule["id"]);
    app.api
        .delete(&path, &app.ana.token)
        .expect_error(403, "forbidden");
    app.api
        .patch(&path, &app.ana.token, json!({"position": 3}))
        .expect_error(403, "forbidden");
    assert_eq!(rule["position"], 10, "without a position it goes last");

    // (body, status, code)
    let cases = [
        (json!({"actions": {"team_id": 999}}), 422, "unknown_team"),
        (
            json!({"conditions": {"channel_id": 999}, "actions": {"priority": "high"}}),
            422,
            "unknown_channel",
        ),
        (
            json!({"conditions": {"keywords": []}, "actions": {"priority": "high"}}),
            422,
            "empty_list",
        ),
        (
            json!({"conditions": {"keywords": ["  "]}, "actions": {"priority": "high"}}),
            422,
            "empty",
        ),
        (
            json!({"conditions": {"keywords": ["?!"]}, "actions": {"priority": "high"}}),
            422,
            "invalid_keyword",
        ),
        (
            json!({"conditions": {"contact_tag": ""}, "actions": {"priority": "high"}}),
            422,
            "empty",
        ),
        (json!({"actions": {"tags": []}}), 422, "empty_list"),
        (
            json!({"conditions": {"keywords": ["x"]}, "actions": {}}),
            422,
            "no_action",
        ),
        (
            json!({"position": -1, "actions": {"priority": "high"}}),
            422,
            "invalid_position",
        ),
        (
            json!({"actions": {"priority": "asap"}}),
            400,
            "invalid_field",
        ),
        (
            json!({"conditions": {"business_hours": "lunch"}, "actions": {"priority": "low"}}),
            400,
            "invalid_field",
        ),
        (
            json!({"conditions": {"colour": "red"}, "actions": {"priority": "low"}}),
            400,
            "invalid_field",
        ),
        (
            json!({"conditions": {"keywords": "refund"}, "actions": {"priority": "low"}}),
            400,
            "invalid_field",
        ),
        (
            json!({"position": "first", "actions": {"priority": "low"}}),
            400,
            "invalid_field",
        ),
        (
            json!({"position": null, "actions": {"priority": "low"}}),
            400,
            "invalid_field",
        ),
    ];
    for (body, status, code) in cases {
        let r = app
            .api
            .post("/api/v1/routing-rules", &app.manager.token, body.clone());
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {:?}",
            r.body
        );
    }
    assert_eq!(app.count("routing_rules"), 1, "nothing stored");
    // Editing and deleting.
    let changed = app
        .api
        .patch(&path, &app.manager.token, json!({"position": 3}))
        .expect(200);
    assert_eq!(changed["position"], 3);
    assert_eq!(changed["conditions"], json!({"keywords": ["refund"]}));
    app.api
        .patch(
            &path,
            &app.manager.token,
            json!({"actions": {"team_id": 999}}),
        )
        .expect_error(422, "unknown_team");
    app.api.delete(&path, &app.manager.token).expect(204);
    app.api
        .delete(&path, &app.manager.token)
        .expect_error(404, "not_found");
    app.api
        .patch(
            "/api/v1/routing-rules/77",
            &app.manager.token,
            json!({"position": 1}),
        )
        .expect_error(404, "not_found");
}

#[test]
fn the_routing_page_adds_and_deletes_rules_and_sets_team_modes_without_javascript() {
    let app = TestApp::spawn();
    let s = app.session(&app.manager);
    let page = s.page("/settings");
    assert!(
        page.contains("href=\"/settings/routing\""),
        "linked from Settings"
    );
    let page = s.page("/settings/routing");
    assert!(page.contains("No rules yet"), "{page}");
    let sales = app.sales.to_string();
    let support = app.support.to_string();
    let r = s.form(
        "/settings/routing",
        &[
            ("keywords", "refund, broken "),
            ("business_hours", "outside"),
            ("team_id", &support),
            ("tags", "refund"),
            ("priority", "high"),
            ("position", ""),
            ("channel_id", ""),
            ("contact_tag", ""),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let rules = app
        .api
        .get("/api/v1/routing-rules", &app.manager.token)
        .expect(200);
    let rule = &rules["items"][0];
    assert_eq!(
        (&rule["conditions"], &rule["actions"]),
        (
            &json!({"keywords": ["refund", "broken"], "business_hours": "outside"}),
            &json!({"team_id": app.support, "tags": ["refund"], "priority": "high"})
        )
    );
    let page = s.page("/settings/routing");
    assert!(
        page.contains("When first message says refund or broken and outside business hours"),
        "{page}"
    );
    // A refusal is shown on the page, and nothing is stored.
    let r = s.form("/settings/routing", &[("team_id", "999999")]);
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().expect("html").contains("there is no team 999999"));
    // Team mode and stickiness.
    let r = s.form(
        &format!("/settings/routing/teams/{sales}"),
        &[("assignment", "least_loaded")],
    );
    assert_eq!(r.status().as_u16(), 303);
    let team = app
        .api
        .get(&format!("/api/v1/teams/{sales}"), &app.manager.token)
        .expect(200);
    assert_eq!(team["assignment"], "least_loaded");
    let r = s.form("/settings/routing/sticky", &[("sticky_owner", "on")]);
    assert_eq!(r.status().as_u16(), 303);
    let settings = app
        .api
        .get("/api/v1/settings", &app.manager.token)
        .expect(200);
    assert_eq!(settings["sticky_owner"], true);
    // Delete.
    let r = s.form(&format!("/settings/routing/{}/delete", rule["id"]), &[]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(app.count("routing_rules"), 0);
    // Agents may not.
    let agent = app.session(&app.ana);
    assert_eq!(agent.get("/settings/routing").status().as_u16(), 403);
    let r = agent.form("/settings/routing", &[("priority", "low")]);
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(app.count("routing_rules"), 0);
}
