//! The queue side of #10 through the API: "Take next" (`POST /api/v1/conversations/next`), the
//! Unassigned view by waiting time (`sort=waiting`), the SLA of every list row and the "SLA at
//! risk" view (`view=at_risk`), each with the visibility rules of the other views.
//!
//! Waits are set with the inbound message's own `timestamp` (the provider's time, which the
//! waiting time and the SLA clocks count from), so no test waits for a clock to run.

use serde_json::{Value, json};

use crate::support::{FakeCallback, Staff, TestApp};

/// Unix seconds `mins` minutes ago.
fn mins_ago(mins: i64) -> i64 {
    teaminbox::domain::time::now_ms() / 1000 - mins * 60
}

/// A customer `who` writes `text` on their own API channel, sent `mins` minutes ago; answers
/// the conversation id.
fn customer_at(app: &TestApp, ch: (i64, &str), who: &str, mins: i64) -> i64 {
    write_at(app, ch, who, &format!("m-{who}-{mins}"), mins)
}

fn write_at(app: &TestApp, ch: (i64, &str), who: &str, external_id: &str, mins: i64) -> i64 {
    let body = json!({"external_id": external_id, "contact": {"identifier": who, "name": format!("Customer {who}")},
                      "text": "Hello?", "timestamp": mins_ago(mins)});
    let r = app.api.raw(
        reqwest::Method::POST,
        &format!("/api/v1/channels/{}/inbound", ch.0),
        Some(ch.1),
        Some(body.to_string().into_bytes()),
    );
    assert!(r.status.is_success(), "inbound: {} {}", r.status, r.body);
    r.body["conversation_id"].as_i64().expect("conversation id")
}

/// The manager puts `conv` in `team`'s pool (nobody owns it).
fn to_pool(app: &TestApp, conv: i64, team: Option<i64>) {
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/assign"),
            &app.manager.token,
            json!({"assignee_id": null, "team_id": team}),
        )
        .expect(200);
}

/// The manager hands `conv` to `staff`.
fn give(app: &TestApp, conv: i64, staff: &Staff) {
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/assign"),
            &app.manager.token,
            json!({"assignee_id": staff.id}),
        )
        .expect(200);
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}

fn list(app: &TestApp, query: &str, staff: &Staff) -> Vec<i64> {
    ids(&app
        .api
        .get(&format!("/api/v1/conversations?{query}"), &staff.token)
        .expect(200))
}

fn take_next(app: &TestApp, staff: &Staff) -> reqwest::StatusCode {
    app.api
        .post("/api/v1/conversations/next", &staff.token, json!({}))
        .status
}

#[test]
fn take_next_claims_the_longest_waiting_the_caller_may_claim_then_says_nothing_waits() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // Waits: Support's pool 90 min, Bruno's own 80, the general pool 60 and 20, Sales' pool 30,
    // one waiting on the customer (not waiting on us) 100.
    let support = customer_at(&app, ch, "support", 90);
    let bruno_own = customer_at(&app, ch, "bruno-own", 80);
    let general_old = customer_at(&app, ch, "general-old", 60);
    let sales = customer_at(&app, ch, "sales", 30);
    let general_new = customer_at(&app, ch, "general-new", 20);
    let pending = customer_at(&app, ch, "pending", 100);
    to_pool(&app, support, Some(app.support));
    give(&app, bruno_own, &app.bruno);
    to_pool(&app, sales, Some(app.sales));
    app.api
        .post(
            &format!("/api/v1/conversations/{pending}/status"),
            &app.manager.token,
            json!({"status": "pending"}),
        )
        .expect(200);

    // Ana (Sales): the general pool and Sales', longest waiting first; never Support's, never
    // Bruno's, never one waiting on the customer.
    let mut taken = Vec::new();
    for _ in 0..3 {
        let c = app
            .api
            .post("/api/v1/conversations/next", &app.ana.token, json!({}))
            .expect(200);
        assert_eq!(c["assignee"]["id"], app.ana.id, "{c}");
        taken.push(c["id"].as_i64().expect("id"));
    }
    assert_eq!(taken, vec![general_old, sales, general_new]);
    let e = app
        .api
        .post("/api/v1/conversations/next", &app.ana.token, json!({}))
        .expect_error(404, "nothing_waiting");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("waiting"),
        "{e}"
    );
    // It went through the claim: recorded as a claim, like one by id.
    assert_eq!(app.count_kind(general_old, "conversation.claimed"), 1);

    // Carla (Support) gets Support's; then nothing either.
    let c = app
        .api
        .post("/api/v1/conversations/next", &app.carla.token, json!({}))
        .expect(200);
    assert_eq!(c["id"], support);
    assert_eq!(take_next(&app, &app.carla), 404);
    // The pending one and Bruno's stay as they were.
    let get = |id: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
            .expect(200)
    };
    assert_eq!(get(pending)["assignee"], Value::Null);
    assert_eq!(get(bruno_own)["assignee"]["id"], app.bruno.id);
}

#[test]
fn take_next_for_managers_spans_every_pool_and_agents_who_see_only_their_own_get_nothing() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    let general = customer_at(&app, ch, "general", 10);
    let support = customer_at(&app, ch, "support", 50);
    to_pool(&app, support, Some(app.support));

    // Strict mode: agents see (and claim) only what is theirs; Take next finds nothing for them.
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"agent_visibility": "own"}),
        )
        .expect(200);
    for agent in [&app.ana, &app.carla] {
        app.api
            .post("/api/v1/conversations/next", &agent.token, json!({}))
            .expect_error(404, "nothing_waiting");
    }
    // A manager takes from any pool, longest waiting first (Support's before the general one).
    let first = app
        .api
        .post("/api/v1/conversations/next", &app.manager.token, json!({}))
        .expect(200);
    assert_eq!(first["id"], support);
    let second = app
        .api
        .post("/api/v1/conversations/next", &app.owner.token, json!({}))
        .expect(200);
    assert_eq!(second["id"], general);
    assert_eq!(second["assignee"]["id"], app.owner.id);
    assert_eq!(take_next(&app, &app.manager), 404);
}

#[test]
fn take_next_keeps_the_oldest_first_rule_that_a_claim_by_id_enforces() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    let newer = customer_at(&app, ch, "newer", 15);
    let older = customer_at(&app, ch, "older", 45);
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"oldest_first_after_secs": 60}),
        )
        .expect(200);
    // Picking the newer one by hand is refused, naming the one to take ...
    let e = app
        .api
        .post(
            &format!("/api/v1/conversations/{newer}/claim"),
            &app.ana.token,
            json!({}),
        )
        .expect_error(409, "oldest_first");
    assert_eq!(e["error"]["data"]["conversation_id"], older, "{e}");
    // ... and Take next takes exactly that one, then the next.
    let c = app
        .api
        .post("/api/v1/conversations/next", &app.ana.token, json!({}))
        .expect(200);
    assert_eq!(c["id"], older);
    let c = app
        .api
        .post("/api/v1/conversations/next", &app.bruno.token, json!({}))
        .expect(200);
    assert_eq!(c["id"], newer);
}

#[test]
fn sort_waiting_lists_the_longest_waiting_first_page_by_page() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // `first` waits since 60 min ago but wrote again a minute ago: newest activity, longest wait.
    let first = customer_at(&app, ch, "first", 60);
    let middle = customer_at(&app, ch, "middle", 30);
    let last = customer_at(&app, ch, "last", 10);
    assert_eq!(write_at(&app, ch, "first", "again", 1), first);
    let other_team = customer_at(&app, ch, "support", 90);
    to_pool(&app, other_team, Some(app.support));

    let table: &[(&str, &Staff, Vec<i64>)] = &[
        ("view=unassigned", &app.ana, vec![first, last, middle]),
        (
            "view=unassigned&sort=recent",
            &app.ana,
            vec![first, last, middle],
        ),
        (
            "view=unassigned&sort=waiting",
            &app.ana,
            vec![first, middle, last],
        ),
        (
            "view=unassigned&sort=waiting",
            &app.manager,
            vec![other_team, first, middle, last],
        ),
        (
            "view=unassigned&sort=waiting",
            &app.carla,
            vec![other_team, first, middle, last],
        ),
        (
            &format!("view=unassigned&sort=waiting&team={}", app.support),
            &app.manager,
            vec![other_team],
        ),
    ];
    for (query, who, want) in table {
        assert_eq!(&list(&app, query, who), want, "{query} as {}", who.email);
        // One row a page, following the cursor, gives the same order.
        let mut paged = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut q = format!("{query}&limit=1");
            if let Some(n) = &next {
                q.push_str(&format!("&before={n}"));
            }
            let page = app
                .api
                .get(&format!("/api/v1/conversations?{q}"), &who.token)
                .expect(200);
            paged.extend(ids(&page));
            match page["next"].as_str() {
                Some(n) => next = Some(n.to_string()),
                None => break,
            }
            assert!(
                paged.len() <= want.len(),
                "{query}: the cursor loops: {paged:?}"
            );
        }
        assert_eq!(&paged, want, "{query} as {} by pages", who.email);
    }
    for bad in ["sort=oldest", "sort=WAITING", "view=unassigned&sort=1"] {
        app.api
            .get(&format!("/api/v1/conversations?{bad}"), &app.ana.token)
            .expect_error(400, "invalid_sort");
    }
}

/// A policy for every conversation: first response in 10 min (warning at half), resolution in
/// an hour.
fn policy(app: &TestApp) {
    app.api
        .post(
            "/api/v1/sla-policies",
            &app.manager.token,
            json!({"name": "Everyone", "first_response_secs": 600, "resolution_secs": 3600,
                   "warn_at": 0.5}),
        )
        .expect(201);
}

/// A target done after its due time is a breach even when the scheduler had not noticed yet
/// (it ticks every few seconds; the answer can come first): the state says breached,
/// `sla.breached` is recorded once, and the report does not count the cycle as met. Cases: a
/// first response late by 30 min, one late by a minute, one in time; and a resolution late.
#[test]
fn a_target_done_late_is_a_breach_even_before_the_scheduler_noticed() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    policy(&app);
    // (customer wrote minutes ago, resolve too, first response, resolution)
    let table: &[(i64, bool, &str, &str)] = &[
        (40, false, "breached", "running"),
        (11, false, "breached", "running"),
        (2, false, "met", "running"),
        (70, true, "breached", "breached"),
        (3, true, "met", "met"),
    ];
    let mut late_targets = 0;
    for (i, (mins, resolve, first, resolution)) in table.iter().enumerate() {
        let conv = customer_at(&app, ch, &format!("late-{i}"), *mins);
        app.claim(conv, &app.bruno);
        app.reply(conv, &app.bruno, "Here I am");
        if *resolve {
            app.api
                .post(
                    &format!("/api/v1/conversations/{conv}/status"),
                    &app.bruno.token,
                    json!({"status": "resolved"}),
                )
                .expect(200);
        }
        let sla = &app
            .api
            .get(&format!("/api/v1/conversations/{conv}"), &app.manager.token)
            .expect(200)["sla"];
        let case = format!("customer {mins} min ago, resolved {resolve}: {sla}");
        assert_eq!(sla["first_response"]["state"], *first, "{case}");
        // The reply makes it wait on the customer: the resolution clock is paused until then.
        let resolution_now = sla["resolution"]["state"].as_str().unwrap_or_default();
        if *resolve {
            assert_eq!(resolution_now, *resolution, "{case}");
        }
        let breaches: Vec<Value> = app
            .timeline(conv)
            .into_iter()
            .filter(|e| e["kind"] == "sla.breached")
            .collect();
        let want =
            usize::from(*first == "breached") + usize::from(*resolve && *resolution == "breached");
        assert_eq!(breaches.len(), want, "{case}: {breaches:?}");
        late_targets += usize::from(*first == "breached");
    }
    assert_eq!(late_targets, 3);
    // Two of the five cycles met every target: the report says 40 %.
    let from = teaminbox::domain::time::format_ms(teaminbox::domain::time::now_ms() - 86_400_000);
    let summary = app
        .api
        .get(
            &format!("/api/v1/reports/summary?from={}", &from[..10]),
            &app.manager.token,
        )
        .expect(200);
    assert_eq!(summary["sla_met_ratio"], json!(0.4), "{summary}");
}

#[test]
fn list_rows_carry_their_sla_and_at_risk_lists_what_breaches_first() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // Before any policy: no SLA, and nothing at risk.
    let before_policy = customer_at(&app, ch, "before", 5);
    policy(&app);
    // First response due 10 min after the customer wrote: 25 min ago → breached 15 min ago;
    // 12 → breached 2 min ago; 7 → at risk (due in 3); 1 → running (due in 9).
    let late = customer_at(&app, ch, "late", 25);
    let just_late = customer_at(&app, ch, "just-late", 12);
    let at_risk = customer_at(&app, ch, "at-risk", 7);
    let running = customer_at(&app, ch, "running", 1);
    // Answered: first response met; the resolution clock runs (due about 20 min from now, at
    // risk since half its hour passed).
    let answered = customer_at(&app, ch, "answered", 40);
    app.claim(answered, &app.bruno);
    app.reply(answered, &app.bruno, "On it");
    // The reply made it wait on the customer (resolution paused); Bruno reopens it.
    app.api
        .post(
            &format!("/api/v1/conversations/{answered}/status"),
            &app.bruno.token,
            json!({"status": "open"}),
        )
        .expect(200);
    // Resolved: no clock runs.
    let resolved = customer_at(&app, ch, "resolved", 30);
    app.api
        .post(
            &format!("/api/v1/conversations/{resolved}/status"),
            &app.manager.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
    // In Support's pool, breached 10 min ago: not Ana's to see.
    let support = customer_at(&app, ch, "support", 20);
    to_pool(&app, support, Some(app.support));

    // Every row of every view carries its sla; the badge's target is the one due first.
    let rows = app
        .api
        .get(
            "/api/v1/conversations?view=all&status=all",
            &app.manager.token,
        )
        .expect(200);
    let row = |id: i64| -> Value {
        rows["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("conversation {id} listed: {rows}"))
    };
    let table: &[(i64, &str, &str)] = &[
        (late, "first_response", "breached"),
        (just_late, "first_response", "breached"),
        (at_risk, "first_response", "at_risk"),
        (running, "first_response", "running"),
        (answered, "resolution", "at_risk"),
    ];
    for (id, target, state) in table {
        let sla = &row(*id)["sla"];
        assert_eq!(sla["next"]["target"], *target, "{id}: {sla}");
        assert_eq!(sla["next"]["state"], *state, "{id}: {sla}");
        assert_eq!(sla["next"]["due_at"], sla["next_due_at"], "{id}: {sla}");
        assert_eq!(sla[*target]["state"], *state, "{id}: {sla}");
        // The row says what the conversation itself says.
        let one = app
            .api
            .get(&format!("/api/v1/conversations/{id}"), &app.manager.token)
            .expect(200);
        assert_eq!(one["sla"]["next"], sla["next"], "{id}");
    }
    assert_eq!(row(before_policy)["sla"], Value::Null);
    assert_eq!(row(resolved)["sla"]["next"], Value::Null);
    // Its customer wrote 40 min ago and the first response was due in 10: late, a breach
    // whether or not the scheduler noticed before the reply.
    assert_eq!(row(answered)["sla"]["first_response"]["state"], "breached");

    // At risk: breached first (longest overdue first), then the soonest due; once each, even
    // with two clocks running; nothing without a running target.
    let everyone = vec![late, support, just_late, at_risk, running, answered];
    let table: &[(&Staff, Vec<i64>)] = &[
        (&app.manager, everyone.clone()),
        (&app.owner, everyone.clone()),
        // Ana: the general pool and Sales' (not Support's, not Bruno's).
        (&app.ana, vec![late, just_late, at_risk, running]),
        (
            &app.bruno,
            vec![late, just_late, at_risk, running, answered],
        ),
        (&app.carla, vec![late, support, just_late, at_risk, running]),
    ];
    for (who, want) in table {
        assert_eq!(&list(&app, "view=at_risk", who), want, "as {}", who.email);
        assert_eq!(
            &list(&app, "view=at_risk&sort=waiting", who),
            want,
            "at_risk keeps its order, as {}",
            who.email
        );
    }
    // Page by page, the same order.
    let mut paged = Vec::new();
    let mut q = "view=at_risk&limit=2".to_string();
    loop {
        let page = app
            .api
            .get(&format!("/api/v1/conversations?{q}"), &app.manager.token)
            .expect(200);
        paged.extend(ids(&page));
        match page["next"].as_str() {
            Some(n) => q = format!("view=at_risk&limit=2&before={n}"),
            None => break,
        }
        assert!(paged.len() <= everyone.len(), "the cursor loops: {paged:?}");
    }
    assert_eq!(paged, everyone);
    // A team filter narrows it like any view.
    assert_eq!(
        list(
            &app,
            &format!("view=at_risk&team={}", app.support),
            &app.manager
        ),
        vec![support]
    );
    // Strict mode: an agent sees only their own at risk.
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"agent_visibility": "own"}),
        )
        .expect(200);
    assert_eq!(list(&app, "view=at_risk", &app.bruno), vec![answered]);
    assert_eq!(list(&app, "view=at_risk", &app.ana), Vec::<i64>::new());
}

/// The first `<time datetime="…">text</time>` of a page: (instant, text shown).
fn first_time(html: &str) -> (String, String) {
    let i = html
        .find("<time datetime=\"")
        .expect("a <time> on the page")
        + 16;
    let rest = &html[i..];
    let at = rest[..rest.find('"').expect("end of datetime")].to_string();
    let text_start = rest.find('>').expect("tag end") + 1;
    let text_end = rest.find("</time>").expect("closing tag");
    (at, rest[text_start..text_end].to_string())
}

#[test]
fn pages_show_times_and_read_typed_times_in_the_shops_zone() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    app.claim(conv, &app.ana);
    let ana = app.session(&app.ana);
    // (zone, a snooze typed into the "until" field, the UTC instant it means).
    let table: &[(&str, &str, &str)] = &[
        (
            "Asia/Kolkata",
            "2030-01-15T09:30",
            "2030-01-15T04:00:00.000Z",
        ),
        (
            "America/Sao_Paulo",
            "2030-01-15T09:30",
            "2030-01-15T12:30:00.000Z",
        ),
        // Europe/Lisbon in summer time (+01:00).
        (
            "Europe/Lisbon",
            "2030-07-01T18:00",
            "2030-07-01T17:00:00.000Z",
        ),
        ("UTC", "2030-01-15T09:30", "2030-01-15T09:30:00.000Z"),
    ];
    for (zone, typed, want) in table {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"timezone": zone}),
            )
            .expect(200);
        // The zone travels with every page, for app.js.
        for path in ["/", "/?view=at_risk", &format!("/c/{conv}")] {
            let html = ana.page(path);
            assert!(
                html.contains(&format!("data-tz=\"{zone}\"")),
                "{zone} {path}"
            );
        }
        // The timeline's times are the shop's wall clock.
        let (at, shown) = first_time(&ana.page(&format!("/c/{conv}")));
        let ms = teaminbox::domain::time::parse_rfc3339(&at).expect("instant");
        let tz = jiff::tz::TimeZone::get(zone).expect("zone");
        assert_eq!(shown, teaminbox::domain::snooze::clock(ms, &tz), "{zone}");
        // A snooze time typed in is the shop's wall clock too, whatever the phone's zone.
        let r = ana.form(
            &format!("/c/{conv}/status"),
            &[
                ("status", "snoozed"),
                ("until", typed),
                ("tz_offset_min", "300"),
            ],
        );
        assert_eq!(r.status().as_u16(), 303, "{zone}");
        let got = app
            .api
            .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
            .expect(200);
        assert_eq!(got["snoozed_until"], *want, "{zone}: {typed}");
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/status"),
                &app.ana.token,
                json!({"status": "open"}),
            )
            .expect(200);
    }
}
