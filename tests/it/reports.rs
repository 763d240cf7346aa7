//! Reports (#11): a scripted fortnight with figures worked out by hand, the CSV exports, who may
//! see reports, the live board's JSON and the SLA met ratio.
//!
//! The clock: customer messages carry their scripted time (`timestamp` on API inbound); every
//! staff step runs for real and is then pinned to its scripted moment by [`at`], which moves
//! every time the step wrote (between the instants just before and after it) to that moment.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use teaminbox::domain::time::{format_ms, now_ms};
use teaminbox::domain::{ChannelId, ConversationId, DeliveryStatus, Direction};
use teaminbox::store::messages::{NewMessage, insert_message};

use crate::support::{Staff, TestApp};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Every stored time a staff step may write.
const TIMES: &[(&str, &str)] = &[
    ("messages", "created_at"),
    ("notes", "created_at"),
    ("events", "created_at"),
    ("cycles", "started_at"),
    ("cycles", "first_response_at"),
    ("cycles", "resolved_at"),
    ("staff_replies", "at"),
    ("staff_replies", "waited_from"),
    ("conversations", "created_at"),
    ("conversations", "updated_at"),
    ("conversations", "last_message_at"),
    ("conversations", "last_inbound_at"),
    ("conversations", "waiting_since"),
    ("conversations", "assigned_at"),
];

/// Runs `step` and moves every time it wrote to `t` (UTC ms).
fn at<T>(app: &TestApp, t: i64, step: impl FnOnce() -> T) -> T {
    let before = now_ms();
    let out = step();
    let after = now_ms();
    app.store
        .write_blocking(move |c| {
            for (table, col) in TIMES {
                c.execute(
                    &format!("UPDATE {table} SET {col} = ?1 WHERE {col} BETWEEN ?2 AND ?3"),
                    [t, before, after],
                )?;
            }
            Ok::<_, teaminbox::store::StoreError>(())
        })
        .expect("pin time");
    out
}

/// A customer message at `t` (UTC ms); returns the conversation id.
fn customer(app: &TestApp, ch: i64, secret: &str, who: &str, name: &str, t: i64) -> i64 {
    let id = format!("m-{who}-{t}");
    app.api
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{ch}/inbound"),
            Some(secret),
            Some(
                json!({"external_id": id, "contact": {"identifier": who, "name": name},
                       "text": "hello", "timestamp": t / 1000})
                .to_string()
                .into_bytes(),
            ),
        )
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("conversation id")
}

fn post(app: &TestApp, path: String, who: &Staff, body: Value) {
    app.api.post(&path, &who.token, body).expect(200);
}

fn resolve(app: &TestApp, conv: i64, who: &Staff) {
    post(
        app,
        format!("/api/v1/conversations/{conv}/status"),
        who,
        json!({"status": "resolved"}),
    );
}

/// The current cycle of a conversation.
fn cycle_of(app: &TestApp, conv: i64) -> i64 {
    app.store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT cycle_id FROM conversations WHERE id = ?1",
                [conv],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("cycle")
}

pub(crate) fn text(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let r = app
        .api
        .client
        .get(format!("{}{path}", app.api.base))
        .bearer_auth(token)
        .send()
        .expect("request");
    (r.status().as_u16(), r.text().expect("body"))
}

/// CSV rows as maps of header → cell.
pub(crate) fn csv_rows(body: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The Monday 00:00 UTC at least three weeks before now: the scripted fortnight lies wholly in
/// the past (customer timestamps may not be in the future).
fn base_monday() -> i64 {
    let mut day = now_ms() / DAY - 21;
    // Day 0 (1970-01-01) was a Thursday.
    while (day + 3) % 7 != 0 {
        day -= 1;
    }
    day * DAY
}

pub(crate) fn date(ms: i64) -> String {
    format_ms(ms)[..10].to_string()
}

/// The fortnight, business hours Monday–Friday 09:00–17:00 UTC. Figures by hand (seconds):
///
/// | cycle | started      | first response           | resolved            | FRT (business) | resolution (business) |
/// | 1a    | Mon 09:00    | Ana Mon 09:10            | Bruno Mon 10:00     | 600 (600)       | 3600 (3600)    |
/// | 1b    | Tue 09:00    | Bruno Tue 09:30          | Bruno Tue 10:00     | 1800 (1800)     | 3600 (3600)    |
/// | 3     | Wed 14:00    | —                        | —                   |                 |                |
/// | 4     | Thu 10:00    | Carla Thu 10:02          | Carla Thu 10:05     | 120 (120)       | 300 (300)      |
/// | 2     | Fri 16:00    | Ana next Mon 10:00       | Ana next Mon 11:00  | 237600 (7200)   | 241200 (10800) |
///
/// Conversation 1: Ana claims at 09:05, writes a note at 09:06 (never a response), replies
/// 09:10; the customer writes 09:20; Ana hands it to Bruno at 09:30 (mid-cycle); Bruno replies
/// 09:50 and resolves 10:00. Tuesday 09:00 the customer writes again: a new cycle (the reopen);
/// an automated message at 09:01 (no author) is never a response; Bruno replies 09:30, resolves
/// 10:00. Conversation 2 spans the weekend: Fri 16:00 → Mon 10:00 is 66 h on the wall, but
/// only Fri 16–17 and Mon 9–10 are business hours (7200 s). Conversation 3 (a customer named
/// like a spreadsheet formula) waits unassigned. Conversation 4: the manager gives it to Carla
/// in team Support at 10:01.
///
/// FRT sample [120, 600, 1800, 237600]: median = index round(3 × 0.5) = 2 → 1800, mean 60030,
/// p90 = index round(2.7) = 3 → 237600. Business: [120, 600, 1800, 7200] → 1800, 2430, 7200.
/// Resolution [300, 3600, 3600, 241200] → 3600, 62175, 241200; business [300, 3600, 3600,
/// 10800] → 3600, 4575, 10800. Replies (each answer − the oldest unanswered customer message):
/// Ana 600, Bruno 1800 (09:20 → 09:50), Bruno 1800, Ana 237600, Carla 120 → [120, 600, 1800,
/// 1800, 237600]: median index 2 → 1800, mean 241920 / 5 = 48384, p90 index round(3.6) = 4 →
/// 237600; business [120, 600, 1800, 1800, 7200] → 1800, 2304, 7200. 5 cycles started, 4
/// resolved: rate 0.8. CSAT 5 on 1a (Bruno), 4 on cycle 4 (Carla): 2 answers, mean 4.5.
///
/// Per agent: Ana — conversations 2 (claimed 1 and 2), messages 2, resolved 1, FRT median of
/// [600, 237600] = index round(0.5) = 1 → 237600. Bruno — 1 (the transfer), 2, 2, [1800] →
/// 1800, CSAT 5.0. Carla — 1, 1, 1, 120, CSAT 4.0. The manager only acted: not listed.
pub(crate) struct Fortnight {
    pub(crate) app: TestApp,
    pub(crate) base: i64,
    conv3: i64,
}

pub(crate) fn fortnight() -> Fortnight {
    let app = TestApp::spawn();
    let b = base_monday();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"timezone": "UTC", "business_hours": {
                "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
                "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}}),
        )
        .expect(200);
    let (ch, secret) = app.api_channel("http://127.0.0.1:9/cb");
    let (ana, bruno, carla, mario) = (
        app.ana.clone(),
        app.bruno.clone(),
        app.carla.clone(),
        app.manager.clone(),
    );

    // Conversation 1, cycle 1a.
    let c1 = customer(&app, ch, &secret, "cust-1", "Customer One", b + 9 * HOUR);
    at(&app, b + 9 * HOUR + 5 * MIN, || app.claim(c1, &ana));
    at(&app, b + 9 * HOUR + 6 * MIN, || {
        app.api
            .post(
                &format!("/api/v1/conversations/{c1}/notes"),
                &ana.token,
                json!({"text": "checking the stock"}),
            )
            .expect(201)
    });
    at(&app, b + 9 * HOUR + 10 * MIN, || app.reply(c1, &ana, "Hi!"));
    customer(
        &app,
        ch,
        &secret,
        "cust-1",
        "Customer One",
        b + 9 * HOUR + 20 * MIN,
    );
    at(&app, b + 9 * HOUR + 30 * MIN, || {
        post(
            &app,
            format!("/api/v1/conversations/{c1}/assign"),
            &ana,
            json!({"assignee_id": bruno.id, "note": "Bruno knows this one"}),
        )
    });
    at(&app, b + 9 * HOUR + 50 * MIN, || {
        app.reply(c1, &bruno, "On it")
    });
    at(&app, b + 10 * HOUR, || resolve(&app, c1, &bruno));
    let cycle_1a = cycle_of(&app, c1);

    // Conversation 1 again on Tuesday: cycle 1b, with an automated message first.
    customer(
        &app,
        ch,
        &secret,
        "cust-1",
        "Customer One",
        b + DAY + 9 * HOUR,
    );
    let automated_at = b + DAY + 9 * HOUR + MIN;
    app.store
        .write_blocking(move |c| {
            insert_message(
                c,
                &NewMessage {
                    conversation: ConversationId(c1),
                    channel: ChannelId(ch),
                    direction: Direction::Out,
                    kind: "text",
                    text: "We got your message",
                    payload: None,
                    author: None,
                    status: DeliveryStatus::Sent,
                    external_id: None,
                    created_at: automated_at,
                },
            )
        })
        .expect("automated message");
    at(&app, b + DAY + 9 * HOUR + 30 * MIN, || {
        app.reply(c1, &bruno, "Again?")
    });
    at(&app, b + DAY + 10 * HOUR, || resolve(&app, c1, &bruno));

    // Conversation 3: a formula for a name, never answered.
    let conv3 = customer(
        &app,
        ch,
        &secret,
        "cust-3",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        b + 2 * DAY + 14 * HOUR,
    );

    // Conversation 4: team Support, Carla.
    let c4 = customer(
        &app,
        ch,
        &secret,
        "cust-4",
        "Customer Four",
        b + 3 * DAY + 10 * HOUR,
    );
    at(&app, b + 3 * DAY + 10 * HOUR + MIN, || {
        post(
            &app,
            format!("/api/v1/conversations/{c4}/assign"),
            &mario,
            json!({"assignee_id": carla.id, "team_id": app.support}),
        )
    });
    at(&app, b + 3 * DAY + 10 * HOUR + 2 * MIN, || {
        app.reply(c4, &carla, "Hello")
    });
    at(&app, b + 3 * DAY + 10 * HOUR + 5 * MIN, || {
        resolve(&app, c4, &carla)
    });
    let cycle_4 = cycle_of(&app, c4);

    // Conversation 2 spans the weekend.
    let c2 = customer(
        &app,
        ch,
        &secret,
        "cust-2",
        "Customer Two",
        b + 4 * DAY + 16 * HOUR,
    );
    at(&app, b + 4 * DAY + 16 * HOUR + 30 * MIN, || {
        app.claim(c2, &ana)
    });
    at(&app, b + 7 * DAY + 10 * HOUR, || {
        app.reply(c2, &ana, "Back on Monday")
    });
    at(&app, b + 7 * DAY + 11 * HOUR, || resolve(&app, c2, &ana));

    // CSAT answers, as #13 records them.
    app.store
        .write_blocking(move |c| {
            let a = teaminbox::store::reports::update_cycle_csat(c, cycle_1a, 5, b + 11 * HOUR)?;
            let d = teaminbox::store::reports::update_cycle_csat(
                c,
                cycle_4,
                4,
                b + 3 * DAY + 11 * HOUR,
            )?;
            assert!(a && d, "both cycles are resolved");
            Ok::<_, teaminbox::store::StoreError>(())
        })
        .expect("csat");
    Fortnight {
        app,
        base: b,
        conv3,
    }
}

fn stats(count: i64, median: i64, mean: f64, p90: i64) -> Value {
    json!({"count": count, "median": median, "mean": mean, "p90": p90})
}

#[test]
fn the_scripted_fortnight_gives_the_figures_worked_by_hand() {
    let f = fortnight();
    let app = &f.app;
    let b = f.base;
    let period = format!("from={}&to={}", date(b), date(b + 13 * DAY));
    let before = now_ms();
    let s = app
        .api
        .get(
            &format!("/api/v1/reports/summary?{period}"),
            &app.manager.token,
        )
        .expect(200);
    let after = now_ms();

    assert_eq!(s["from"], format_ms(b));
    assert_eq!(s["to"], format_ms(b + 14 * DAY));
    assert_eq!(s["first_response_secs"], stats(4, 1800, 60030.0, 237_600));
    assert_eq!(s["resolution_secs"], stats(4, 3600, 62175.0, 241_200));
    assert_eq!(s["reply_secs"], stats(5, 1800, 48384.0, 237_600));
    assert_eq!(
        s["business_hours"]["first_response_secs"],
        stats(4, 1800, 2430.0, 7200)
    );
    assert_eq!(
        s["business_hours"]["resolution_secs"],
        stats(4, 3600, 4575.0, 10_800)
    );
    assert_eq!(
        s["business_hours"]["reply_secs"],
        stats(5, 1800, 2304.0, 7200)
    );
    assert_eq!(s["cycles_started"], 5);
    assert_eq!(s["cycles_resolved"], 4);
    assert_eq!(s["resolution_rate"], 0.8);
    assert_eq!(s["sla_met_ratio"], Value::Null);
    assert_eq!(s["csat"], json!({"responses": 2, "mean": 4.5}));

    let person = |s: &Staff, name: &str| json!({"id": s.id, "name": name});
    let want_agents = json!([
        {"user": person(&app.ana, "Ana"), "conversations": 2, "messages_sent": 2, "resolved": 1,
         "first_response_median_secs": 237_600, "sla_met_ratio": null, "csat_mean": null, "csat_responses": 0},
        {"user": person(&app.bruno, "Bruno"), "conversations": 1, "messages_sent": 2, "resolved": 2,
         "first_response_median_secs": 1800, "sla_met_ratio": null, "csat_mean": 5.0, "csat_responses": 1},
        {"user": person(&app.carla, "Carla"), "conversations": 1, "messages_sent": 1, "resolved": 1,
         "first_response_median_secs": 120, "sla_met_ratio": null, "csat_mean": 4.0, "csat_responses": 1},
    ]);
    assert_eq!(s["per_agent"], want_agents);

    // The queue now: conversation 3 waits unassigned since Wednesday 14:00.
    let since = b + 2 * DAY + 14 * HOUR;
    let oldest = s["queue"]["oldest_unassigned_secs"]
        .as_i64()
        .expect("oldest");
    assert!(
        ((before - since) / 1000..=(after - since) / 1000).contains(&oldest),
        "oldest unassigned {oldest}"
    );
    assert_eq!(s["queue"]["unassigned"], 1);
    assert_eq!(s["queue"]["open_by_agent"], json!([]));

    // Trend and heatmap: one cycle started each weekday of the first week.
    let daily = s["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 14);
    let started: Vec<i64> = daily
        .iter()
        .map(|d| d["started"].as_i64().unwrap_or(-1))
        .collect();
    let resolved: Vec<i64> = daily
        .iter()
        .map(|d| d["resolved"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(started, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(resolved, [1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let cells: Vec<(usize, usize, i64)> = s["heatmap"]
        .as_array()
        .expect("heatmap")
        .iter()
        .enumerate()
        .flat_map(|(d, row)| {
            row.as_array()
                .expect("row")
                .iter()
                .enumerate()
                .filter(|(_, n)| n.as_i64() != Some(0))
                .map(move |(h, n)| (d, h, n.as_i64().unwrap_or(-1)))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        cells,
        [(0, 9, 1), (1, 9, 1), (2, 14, 1), (3, 10, 1), (4, 16, 1)]
    );

    // A manager filtered to team Support sees conversation 4 only.
    let t = app
        .api
        .get(
            &format!("/api/v1/reports/summary?{period}&team={}", app.support),
            &app.manager.token,
        )
        .expect(200);
    assert_eq!(t["cycles_started"], 1);
    assert_eq!(t["first_response_secs"], stats(1, 120, 120.0, 120));
    assert_eq!(t["resolution_rate"], 1.0);
    assert_eq!(t["queue"]["unassigned"], 0);
    assert_eq!(t["per_agent"], json!([want_agents[2]]));

    // One agent: Bruno's share.
    let one = app
        .api
        .get(
            &format!("/api/v1/reports/summary?{period}&agent={}", app.bruno.id),
            &app.owner.token,
        )
        .expect(200);
    assert_eq!(one["cycles_started"], 2, "1a and 1b were resolved by Bruno");
    assert_eq!(one["per_agent"][0]["user"]["name"], "Bruno");

    // A period ending before the weekend reply: conversation 2 is started, not yet answered.
    let week = app
        .api
        .get(
            &format!(
                "/api/v1/reports/summary?from={}&to={}",
                date(b),
                date(b + 6 * DAY)
            ),
            &app.owner.token,
        )
        .expect(200);
    assert_eq!(week["first_response_secs"], stats(3, 600, 840.0, 1800));
    assert_eq!(week["cycles_resolved"], 3);
    assert_eq!(week["resolution_rate"], 0.6);
    let _ = f.conv3;
}

#[test]
fn csv_rows_match_the_figures_and_neutralise_formulas() {
    let f = fortnight();
    let app = &f.app;
    let b = f.base;
    let period = format!("from={}&to={}", date(b), date(b + 13 * DAY));
    let (status, body) = text(
        app,
        &format!("/api/v1/reports/cycles.csv?{period}"),
        &app.owner.token,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("conversation_id,cycle_id,contact,"),
        "{body}"
    );
    assert!(body.contains("\r\n"), "RFC 4180 lines end in CRLF");
    let rows = csv_rows(&body);
    let got: Vec<(String, String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["started"].clone(),
                r["first_responder"].clone(),
                r["resolver"].clone(),
                r["first_response_secs"].clone(),
                r["resolution_secs"].clone(),
                r["csat"].clone(),
            )
        })
        .collect();
    let row = |t: i64, fr: &str, rs: &str, frt: &str, res: &str, csat: &str| {
        (
            format_ms(t),
            fr.to_string(),
            rs.to_string(),
            frt.to_string(),
            res.to_string(),
            csat.to_string(),
        )
    };
    assert_eq!(
        got,
        [
            row(b + 9 * HOUR, "Ana", "Bruno", "600", "3600", "5"),
            row(b + DAY + 9 * HOUR, "Bruno", "Bruno", "1800", "3600", ""),
            row(b + 2 * DAY + 14 * HOUR, "", "", "", "", ""),
            row(b + 3 * DAY + 10 * HOUR, "Carla", "Carla", "120", "300", "4"),
            row(
                b + 4 * DAY + 16 * HOUR,
                "Ana",
                "Ana",
                "237600",
                "241200",
                ""
            ),
        ]
    );
    let formula = &rows[2];
    assert_eq!(formula["conversation_id"], f.conv3.to_string());
    assert_eq!(
        formula["contact"], "'=HYPERLINK(\"http://evil.example\",\"click\")",
        "a formula in a customer's name is neutralised"
    );
    assert_eq!(rows[3]["team"], "Support");
    assert_eq!(rows[0]["sla_met"], "", "no SLA policy applied");

    let (status, body) = text(
        app,
        &format!("/api/v1/reports/agents.csv?{period}"),
        &app.manager.token,
    );
    assert_eq!(status, 200, "{body}");
    let agents: Vec<(String, String, String, String, String)> = csv_rows(&body)
        .iter()
        .map(|r| {
            (
                r["name"].clone(),
                r["conversations"].clone(),
                r["messages_sent"].clone(),
                r["resolved"].clone(),
                r["first_response_median_secs"].clone(),
            )
        })
        .collect();
    let a = |n: &str, c: &str, m: &str, r: &str, frt: &str| {
        (n.into(), c.into(), m.into(), r.into(), frt.into())
    };
    assert_eq!(
        agents,
        [
            a("Ana", "2", "2", "1", "237600"),
            a("Bruno", "1", "2", "2", "1800"),
            a("Carla", "1", "1", "1", "120"),
        ]
    );
}

#[test]
fn reports_are_for_managers_and_owners_and_refuse_bad_periods() {
    let app = TestApp::spawn();
    let paths = [
        "/api/v1/reports/summary",
        "/api/v1/reports/now",
        "/api/v1/reports/cycles.csv",
        "/api/v1/reports/agents.csv",
    ];
    for path in paths {
        assert_eq!(
            app.api.raw(Method::GET, path, None, None).status,
            401,
            "{path} without a token"
        );
        app.api
            .get(path, &app.ana.token)
            .expect_error(403, "forbidden");
        // 403 comes before the period is read.
        app.api
            .get(&format!("{path}?from=yesterday"), &app.carla.token)
            .expect_error(403, "forbidden");
        assert_eq!(
            text(&app, path, &app.manager.token).0,
            200,
            "{path} as manager"
        );
        assert_eq!(text(&app, path, &app.owner.token).0, 200, "{path} as owner");
    }
    let bad = [
        ("from=yesterday", 400, "invalid_period"),
        ("to=2026-13-45", 400, "invalid_period"),
        ("from=2026-05-02&to=2026-05-01", 400, "invalid_period"),
        ("from=2024-01-01&to=2026-01-01", 400, "invalid_period"),
        ("team=999999", 422, "unknown_team"),
        ("team=abc", 400, "invalid_query"),
    ];
    for (q, status, code) in bad {
        let r = app
            .api
            .get(&format!("/api/v1/reports/summary?{q}"), &app.manager.token);
        assert_eq!(r.status.as_u16(), status, "{q}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{q}");
    }
}

#[test]
fn the_now_board_follows_claims_and_statuses() {
    let app = TestApp::spawn();
    let (ch, secret, conv) = app.conversation("http://127.0.0.1:9/cb");
    let board = |token: &str| app.api.get("/api/v1/reports/now", token).expect(200);
    let agent = |b: &Value, s: &Staff| -> Value {
        b["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .find(|a| a["user"]["id"] == s.id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let b0 = board(&app.manager.token);
    assert_eq!(b0["queue"]["unassigned"], 1);
    assert!(b0["queue"]["oldest_unassigned_secs"].is_i64());
    assert_eq!(agent(&b0, &app.ana)["open"], 0);
    assert_eq!(agent(&b0, &app.ana)["status"], "available");
    assert_eq!(
        b0["agents"].as_array().map(Vec::len),
        Some(5),
        "every staff member"
    );

    app.claim(conv, &app.ana);
    app.inbound(ch, &secret, "second", "cust-2", "Hi")
        .expect(201);
    app.api
        .put(
            "/api/v1/me/status",
            &app.ana.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    let b1 = board(&app.owner.token);
    let ana = agent(&b1, &app.ana);
    assert_eq!(ana["status"], "busy");
    assert_eq!(ana["open"], 1);
    assert_eq!(ana["waiting_on_us"], 1);
    assert!(ana["oldest_waiting_secs"].is_i64(), "{ana}");
    assert_eq!(b1["queue"]["unassigned"], 1, "the second customer waits");
    assert_eq!(
        b1["queue"]["open_by_agent"],
        json!([{"user": {"id": app.ana.id, "name": "Ana"}, "open": 1}])
    );
    app.reply(conv, &app.ana, "Hello");
    let b2 = board(&app.owner.token);
    assert_eq!(
        agent(&b2, &app.ana)["waiting_on_us"],
        0,
        "answered: pending"
    );
    assert_eq!(agent(&b2, &app.ana)["oldest_waiting_secs"], Value::Null);

    // A team's board lists its members only.
    let sales = app
        .api
        .get(
            &format!("/api/v1/reports/now?team={}", app.sales),
            &app.manager.token,
        )
        .expect(200);
    let names: Vec<&str> = sales["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["user"]["name"].as_str())
        .collect();
    assert_eq!(names, ["Ana", "Bruno"]);
}

#[test]
fn sla_met_ratio_counts_cycles_without_a_breach() {
    let app = TestApp::spawn();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"scheduler_tick_ms": 50}),
        )
        .expect(200);
    // Conversations without a team: first response within 1 s (missed). Team Sales: a year.
    for (team, secs) in [(Value::Null, 1), (json!(app.sales), 366 * 24 * 3600)] {
        app.api
            .post(
                "/api/v1/sla-policies",
                &app.owner.token,
                json!({"name": format!("p{secs}"), "team_id": team, "first_response_secs": secs,
                       "next_response_secs": secs, "resolution_secs": secs}),
            )
            .expect(201);
    }
    let (ch, secret, late) = app.conversation("http://127.0.0.1:9/cb");
    // A second channel whose conversations start in team Sales, under the one-year policy.
    let (sales_ch, sales_secret) = app.api_channel("http://127.0.0.1:9/cb");
    app.api
        .patch(
            &format!("/api/v1/channels/{sales_ch}"),
            &app.owner.token,
            json!({"default_team_id": app.sales}),
        )
        .expect(200);
    let quick = app
        .inbound(sales_ch, &sales_secret, "q", "cust-q", "Hi")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    app.inbound(ch, &secret, "p", "cust-p", "Hi").expect(201);
    app.wait_until("both conversations without a team breach", || {
        app.store
            .read_blocking(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM cycles WHERE sla_breached = 1",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(teaminbox::store::StoreError::from)
            })
            .expect("count")
            >= 2
    });
    app.claim(quick, &app.bruno);
    app.claim(late, &app.ana);
    app.reply(late, &app.ana, "sorry");
    resolve(&app, late, &app.ana);
    app.reply(quick, &app.bruno, "fast");
    resolve(&app, quick, &app.bruno);
    let s = app
        .api
        .get("/api/v1/reports/summary", &app.manager.token)
        .expect(200);
    // Three cycles, all under a policy; two breached (late, plain), one met (quick).
    assert_eq!(s["sla_met_ratio"], 0.3333);
    let ratio = |name: &str| {
        s["per_agent"]
            .as_array()
            .expect("per agent")
            .iter()
            .find(|a| a["user"]["name"] == name)
            .map(|a| a["sla_met_ratio"].clone())
    };
    assert_eq!(ratio("Ana"), Some(json!(0.0)));
    assert_eq!(ratio("Bruno"), Some(json!(1.0)));
    let (_, body) = text(&app, "/api/v1/reports/cycles.csv", &app.owner.token);
    let met: Vec<String> = csv_rows(&body)
        .iter()
        .map(|r| r["sla_met"].clone())
        .collect();
    assert_eq!(met, ["no", "yes", "no"]);
}

#[test]
fn managers_land_on_the_now_board_and_see_the_reports_page() {
    let f = fortnight();
    let app = &f.app;
    let b = f.base;
    let mario = app.session(&app.manager);
    let landing = mario.get("/");
    assert_eq!(landing.status().as_u16(), 303);
    assert_eq!(
        landing
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/now")
    );
    let board = mario.page("/now");
    assert!(board.contains("id=\"now-unassigned\""), "{board}");
    assert!(
        board.contains("data-count=\"1\""),
        "one unassigned: {board}"
    );
    // Agents keep landing on their inbox and get no reports.
    let ana = app.session(&app.ana);
    assert_eq!(ana.get("/").status().as_u16(), 200);
    assert_eq!(ana.get("/now").status().as_u16(), 403);
    assert_eq!(ana.get("/reports").status().as_u16(), 403);

    let page = mario.page(&format!(
        "/reports?from={}&to={}&team=&agent=&channel=",
        date(b),
        date(b + 13 * DAY)
    ));
    for want in [
        "<svg class=\"chart\" id=\"trend\"",
        "<svg class=\"chart\" id=\"heatmap\"",
        "30 min",         // median first response, 1800 s
        "80 %",           // resolution rate
        "4.5",            // CSAT mean
        "Business hours", // business-hours variants are on
        "First response time",
        "cycles.csv?from=",
    ] {
        assert!(page.contains(want), "the Reports page shows {want:?}");
    }
    // Carla's row: 1 conversation, 1 message, 1 resolved, 2 min.
    assert!(page.contains(&format!("data-agent=\"{}\"", app.carla.id)));
}

/// `(name, labels, value)` of every sample line of a Prometheus text exposition; panics on a
/// line that is not `name{labels} value` or a `# HELP` / `# TYPE` comment.
fn exposition(body: &str) -> Vec<(String, String, f64)> {
    body.lines()
        .filter(|l| !l.is_empty())
        .filter(|l| {
            if l.starts_with('#') {
                assert!(l.starts_with("# HELP ") || l.starts_with("# TYPE "), "{l}");
                false
            } else {
                true
            }
        })
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value: {l}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {l}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "metric name {name}"
            );
            (name.to_string(), labels.to_string(), value)
        })
        .collect()
}

#[test]
fn metrics_need_their_token_and_expose_every_series() {
    // No token configured: 404 whatever is sent.
    let plain = TestApp::spawn();
    for auth in [None, Some("anything")] {
        let r = plain.api.raw(Method::GET, "/metrics", auth, None);
        assert_eq!(r.status.as_u16(), 404, "{auth:?}");
    }
    let app = TestApp::spawn_with(|c| c.metrics_token = Some("scrape-me".into()));
    for auth in [None, Some("wrong"), Some(app.owner.token.as_str())] {
        let r = app.api.raw(Method::GET, "/metrics", auth, None);
        assert_eq!(
            r.status.as_u16(),
            404,
            "{auth:?}: a wrong token learns nothing"
        );
    }
    let (_, _, conv) = app.conversation("http://127.0.0.1:9/cb");
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    let (status, body) = text(&app, "/metrics", "scrape-me");
    assert_eq!(status, 200, "{body}");
    let samples = exposition(&body);
    let has = |name: &str| samples.iter().any(|(n, _, _)| n == name);
    for name in [
        "teaminbox_http_requests_total",
        "teaminbox_http_request_duration_seconds_bucket",
        "teaminbox_http_request_duration_seconds_count",
        "teaminbox_queue_unassigned",
        "teaminbox_queue_oldest_unassigned_seconds",
        "teaminbox_outbox_backlog",
        "teaminbox_webhook_lag_seconds",
        "teaminbox_sse_clients",
        "teaminbox_sla_breaches_total",
        "teaminbox_sla_breached_conversations",
    ] {
        assert!(has(name), "{name} in\n{body}");
    }
    let value = |name: &str| {
        samples
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|s| s.2)
            .unwrap_or(-1.0)
    };
    assert_eq!(value("teaminbox_queue_unassigned"), 1.0);
    // Requests are labelled by route pattern, not by the id in the path.
    assert!(
        samples
            .iter()
            .any(|(n, l, v)| n == "teaminbox_http_requests_total"
                && l.contains("route=\"/api/v1/conversations/{id}\"")
                && l.contains("status=\"200\"")
                && *v >= 1.0),
        "{body}"
    );
    assert!(!body.contains(&format!("/api/v1/conversations/{conv}\"")));
}

/// Per cycle of the fortnight, oldest first (1a, 1b, 3, 4, 2): the business-hours times stored
/// on the row, (first response, resolution) seconds.
fn stored_business_secs(app: &TestApp) -> Vec<(Option<i64>, Option<i64>)> {
    app.store
        .read_blocking(|c| {
            c.prepare(
                "SELECT first_response_business_secs, resolution_business_secs FROM cycles
                  ORDER BY started_at, id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("stored figures")
}

/// The summary of the fortnight without `queue` (its ages run with the clock).
pub(crate) fn fortnight_summary(f: &Fortnight) -> Value {
    let period = format!("from={}&to={}", date(f.base), date(f.base + 13 * DAY));
    let mut s = f
        .app
        .api
        .get(
            &format!("/api/v1/reports/summary?{period}"),
            &f.app.manager.token,
        )
        .expect(200);
    s.as_object_mut().expect("object").remove("queue");
    s
}

/// The figures each cycle row carries (migration 020) are the ones worked by hand above, and
/// the summary that reads them equals the summary computed from the cycles' times. Pinning the
/// scripted times cleared the stored business-hours times (they were written at the real
/// time); the writer that fills cycles lacking them writes the hand-worked values.
#[test]
fn the_stored_cycle_figures_equal_the_figures_worked_by_hand() {
    let f = fortnight();
    let app = &f.app;
    let computed = fortnight_summary(&f);
    assert_eq!(
        computed["business_hours"]["first_response_secs"],
        stats(4, 1800, 2430.0, 7200)
    );
    let filled = app
        .store
        .write_blocking(|c| teaminbox::store::cycles::update_business_secs(c, None))
        .expect("fill");
    assert_eq!(filled, 4, "the four answered cycles");
    assert_eq!(
        stored_business_secs(app),
        vec![
            (Some(600), Some(3600)),
            (Some(1800), Some(3600)),
            (None, None),
            (Some(120), Some(300)),
            (Some(7200), Some(10_800)),
        ]
    );
    assert_eq!(fortnight_summary(&f), computed);

    // Each row carries its conversation's channel, team and assignee as they are now.
    let drift: i64 = app
        .store
        .read_blocking(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM cycles y JOIN conversations c ON c.id = y.conversation_id
                  WHERE y.channel_id IS NOT c.channel_id OR y.team_id IS NOT c.team_id
                     OR y.assignee_id IS NOT c.assignee_id",
                [],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("mirrors");
    assert_eq!(drift, 0);
    // The team filter reads the mirror: conversation 4 is Support's.
    let period = format!("from={}&to={}", date(f.base), date(f.base + 13 * DAY));
    let support = app
        .api
        .get(
            &format!("/api/v1/reports/summary?{period}&team={}", app.support),
            &app.manager.token,
        )
        .expect(200);
    assert_eq!(support["cycles_started"], 1);
    assert_eq!(support["first_response_secs"], stats(1, 120, 120.0, 120));
    assert_eq!(support["per_agent"][0]["conversations"], 1);
}

/// A change of the business calendar writes every cycle's business-hours times again and the
/// report follows; wall-clock figures do not move. Hands-on figures (cycles 1a, 1b, 3, 4, 2):
///
/// - open 10:00–17:00: 1a and 1b fall before opening (0, 0); 4 stays (120, 300); 2 is Friday
///   16:00–17:00 then Monday 10:00 → (3600, 7200). FRT [0, 0, 120, 3600] → median 120, mean
///   930, p90 3600; resolution [0, 0, 300, 7200] → 300, 1875, 7200; replies (live) Ana 0,
///   Bruno 0, Bruno 0, Ana 3600, Carla 120 → median 0, mean 744, p90 3600.
/// - 09:00–17:00 with the Friday a holiday: 2 counts Monday 09:00–10:00 only → (3600, 7200).
///   FRT [120, 600, 1800, 3600] → 1800, 1530, 3600; resolution [300, 3600, 3600, 7200] → 3600,
///   3675, 7200; replies [120, 600, 1800, 1800, 3600] → 1800, 1584, 3600.
/// - the zone moved to UTC+1 (Africa/Lagos, no DST), hours as first set: every cycle starts an
///   hour later in shop time. 1a Mon 10:00 → 10:10, 11:00 (600, 3600); 1b (1800, 3600); 4 (120,
///   300); 2 Fri 17:00 (closed) → Mon 11:00 (7200: 09:00–11:00), resolved 12:00 (10800).
#[test]
fn a_change_of_business_hours_changes_the_reported_figures() {
    let f = fortnight();
    let app = &f.app;
    let weekdays = |open: &str| {
        json!({"mon": [[open, "17:00"]], "tue": [[open, "17:00"]], "wed": [[open, "17:00"]],
               "thu": [[open, "17:00"]], "fri": [[open, "17:00"]]})
    };
    let friday = date(f.base + 4 * DAY);
    let wall = fortnight_summary(&f)["first_response_secs"].clone();
    type Row = (Option<i64>, Option<i64>);
    let cases: Vec<(&str, Value, Vec<Row>, [Value; 3])> = vec![
        (
            "open from 10:00",
            json!({"business_hours": weekdays("10:00"), "holidays": []}),
            vec![
                (Some(0), Some(0)),
                (Some(0), Some(0)),
                (None, None),
                (Some(120), Some(300)),
                (Some(3600), Some(7200)),
            ],
            [
                stats(4, 120, 930.0, 3600),
                stats(4, 300, 1875.0, 7200),
                stats(5, 0, 744.0, 3600),
            ],
        ),
        (
            "the Friday a holiday",
            json!({"business_hours": weekdays("09:00"), "holidays": [friday]}),
            vec![
                (Some(600), Some(3600)),
                (Some(1800), Some(3600)),
                (None, None),
                (Some(120), Some(300)),
                (Some(3600), Some(7200)),
            ],
            [
                stats(4, 1800, 1530.0, 3600),
                stats(4, 3600, 3675.0, 7200),
                stats(5, 1800, 1584.0, 3600),
            ],
        ),
        (
            "the shop an hour east",
            json!({"timezone": "Africa/Lagos", "holidays": []}),
            vec![
                (Some(600), Some(3600)),
                (Some(1800), Some(3600)),
                (None, None),
                (Some(120), Some(300)),
                (Some(7200), Some(10_800)),
            ],
            [
                stats(4, 1800, 2430.0, 7200),
                stats(4, 3600, 4575.0, 10_800),
                stats(5, 1800, 2304.0, 7200),
            ],
        ),
    ];
    for (name, patch, rows, [frt, res, reply]) in cases {
        app.api
            .patch("/api/v1/settings", &app.owner.token, patch)
            .expect(200);
        assert_eq!(stored_business_secs(app), rows, "{name}: stored");
        let s = fortnight_summary(&f);
        assert_eq!(s["business_hours"]["first_response_secs"], frt, "{name}");
        assert_eq!(s["business_hours"]["resolution_secs"], res, "{name}");
        assert_eq!(s["business_hours"]["reply_secs"], reply, "{name}");
        assert_eq!(s["first_response_secs"], wall, "{name}: wall clock");
    }
}
