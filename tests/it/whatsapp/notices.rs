//! Webhook items that are not a customer writing (reactions added or removed, system notices,
//! edits, withdrawals) and messages that arrive out of their provider order: only a customer
//! writing moves a conversation, and everything "latest" follows the provider's time.

use serde_json::{Value, json};

use super::*;
use crate::support::TestApp;

/// A webhook body with one customer message object `m` from `from` to `number`.
fn body(number: &str, from: &str, m: Value) -> Vec<u8> {
    let mut m = m;
    m["from"] = json!(from);
    serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": number},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [m]}}]}]}),
    )
    .expect("json")
}

fn text(id: &str, ts: i64, words: &str) -> Value {
    json!({"id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": words}})
}

/// The conversation's row facts that a notice must leave alone.
fn facts(app: &TestApp, conv: i64) -> (String, String, i64, String, Value) {
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    let list = app
        .api
        .get(
            "/api/v1/conversations?view=all&status=all",
            &app.owner.token,
        )
        .expect(200);
    let preview = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == conv)
        .map(|i| i["preview"].clone())
        .unwrap_or(Value::Null);
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["last_message_at"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        query_i64(
            app,
            "SELECT COUNT(*) FROM cycles WHERE conversation_id = ?1",
            conv,
        ),
        c["window_closes_at"].to_string(),
        preview,
    )
}

#[test]
fn only_a_customer_writing_reopens_a_resolved_conversation() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel(&app, &graph, "5100");
    let now = teaminbox::domain::time::now_ms() / 1000;
    // (case, the item, messages it adds, whether it reopens)
    let react = |emoji: Option<&str>| {
        let mut r = json!({"message_id": "wamid.ours"});
        if let Some(e) = emoji {
            r["emoji"] = json!(e);
        }
        r
    };
    let cases: Vec<(&str, Value, i64, bool)> = vec![
        (
            "reaction removed, empty emoji",
            json!({"type": "reaction", "reaction": react(Some(""))}),
            0,
            false,
        ),
        (
            "reaction removed, no emoji",
            json!({"type": "reaction", "reaction": react(None)}),
            0,
            false,
        ),
        (
            "reaction added",
            json!({"type": "reaction", "reaction": react(Some("👍"))}),
            1,
            false,
        ),
        (
            "edit",
            json!({"type": "edit", "edit": {"original_message_id": "wamid.first",
                "message": {"type": "text", "text": {"body": "hello, corrected"}}}}),
            1,
            false,
        ),
        (
            "revoke",
            json!({"type": "revoke", "revoke": {"original_message_id": "wamid.first"}}),
            1,
            false,
        ),
        (
            "customer_identity_changed",
            json!({"type": "system", "system": {"body": "Security code changed",
                "type": "customer_identity_changed"}}),
            1,
            false,
        ),
        (
            "a text (control: this one reopens)",
            text("", 0, "one more question"),
            1,
            true,
        ),
    ];
    for (i, (case, item, added, reopens)) in cases.into_iter().enumerate() {
        let from = format!("4917000{i:04}");
        let first = format!("wamid.first.{i}");
        deliver(
            &app,
            &body("5100", &from, text(&first, now - 120, "hello, I need help")),
        );
        let conv = query_i64(
            &app,
            "SELECT conversation_id FROM messages WHERE external_id = (SELECT external_id FROM messages WHERE id = ?1)",
            query_i64(&app, "SELECT MAX(id) FROM messages WHERE ?1 = ?1", 0),
        );
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/status"),
                &app.owner.token,
                json!({"status": "resolved"}),
            )
            .expect(200);
        let before = facts(&app, conv);
        let messages_before = messages_of(&app, conv).len() as i64;
        let mut item = item;
        item["id"] = json!(format!("wamid.item.{i}"));
        item["timestamp"] = json!((now - 10).to_string());
        deliver(&app, &body("5100", &from, item));
        let after = facts(&app, conv);
        let msgs = messages_of(&app, conv);
        assert_eq!(
            msgs.len() as i64 - messages_before,
            added,
            "{case}: messages added"
        );
        if reopens {
            assert_eq!(after.0, "open", "{case}");
            assert_eq!(after.2, before.2 + 1, "{case}: a new cycle");
            continue;
        }
        assert_eq!(
            after, before,
            "{case}: status, time, cycles, window, preview"
        );
        if added == 1 {
            let last = msgs.last().expect("the notice");
            assert_eq!(last["notice"], true, "{case}: marked as a notice: {last}");
            assert_eq!(last["direction"], "in", "{case}");
        }
    }
}

#[test]
fn the_latest_follows_the_provider_time_not_the_arrival() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "5200");
    let now = teaminbox::domain::time::now_ms() / 1000;
    // The case: B (now−60 s) then A, delivered later, sent at now−180 s.
    deliver(
        &app,
        &body("5200", "4915100001", text("w.b", now - 60, "text B")),
    );
    deliver(
        &app,
        &body("5200", "4915100001", text("w.a", now - 180, "text A")),
    );
    let conv = conversation_on(&app, ch);
    let id = conv["id"].as_i64().expect("id");
    let list = app
        .api
        .get("/api/v1/conversations?view=all", &app.owner.token)
        .expect(200);
    let row = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == id)
        .cloned()
        .expect("listed");
    assert_eq!(row["preview"], "text B", "{row}");
    let b_time = teaminbox::domain::time::format_ms((now - 60) * 1000);
    assert_eq!(conv["last_message_at"], b_time.as_str());
    // The customer has waited since their earliest message, and the cycle (the base of first
    // response time) started then too.
    let a_time = teaminbox::domain::time::format_ms((now - 180) * 1000);
    assert_eq!(conv["waiting_since"], a_time.as_str(), "{conv}");
    assert_eq!(
        query_i64(
            &app,
            "SELECT started_at FROM cycles WHERE conversation_id = ?1",
            id
        ),
        (now - 180) * 1000
    );
    // The timeline is in provider order.
    let texts: Vec<_> = messages_of(&app, id)
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(texts, ["text A", "text B"]);
}

#[test]
fn an_api_channel_message_sent_earlier_but_posted_later_is_not_the_preview() {
    let app = TestApp::spawn();
    let (ch, secret) = app.api_channel("http://127.0.0.1:9/none");
    let now = teaminbox::domain::time::now_ms();
    let post = |ext: &str, text: &str, at_ms: i64| {
        app.api
            .raw(
                reqwest::Method::POST,
                &format!("/api/v1/channels/{ch}/inbound"),
                Some(&secret),
                Some(
                    json!({"external_id": ext, "contact": {"identifier": "web-1"}, "text": text,
                        "timestamp": at_ms})
                    .to_string()
                    .into_bytes(),
                ),
            )
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("conversation id")
    };
    let preview = || {
        app.api
            .get("/api/v1/conversations?view=all", &app.owner.token)
            .expect(200)["items"][0]["preview"]
            .clone()
    };
    let conv = post("e2", "second", now - 5_000);
    post("e1", "first", now - 50_000);
    assert_eq!(preview(), "second");
    // A clock ahead of ours does not pin the conversation to the top for ever.
    post("e3", "from the future", now + 3_600_000);
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    let last = teaminbox::domain::time::parse_rfc3339(c["last_message_at"].as_str().expect("time"))
        .expect("rfc3339");
    assert!(last <= teaminbox::domain::time::now_ms(), "{c}");
    assert_eq!(preview(), "from the future");
}

#[test]
fn a_notice_from_a_customer_without_a_conversation_opens_nothing() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "5300");
    let now = teaminbox::domain::time::now_ms() / 1000;
    for (i, item) in [
        json!({"type": "reaction", "reaction": {"message_id": "wamid.gone", "emoji": "❤️"}}),
        json!({"type": "system", "system": {"body": "User changed from 4917100000 to 4917100001",
            "wa_id": "4917100001", "type": "user_changed_number"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut item = item;
        item["id"] = json!(format!("wamid.lone.{i}"));
        item["timestamp"] = json!((now - 5).to_string());
        deliver(&app, &body("5300", &format!("491710000{i}"), item));
        let c = conversation_on(&app, ch);
        let conv = c["id"].as_i64().expect("id");
        assert_eq!(c["status"], "resolved", "{i}: {c}");
        assert_eq!(c["window_closes_at"], Value::Null, "{i}: no window");
        assert_eq!(c["waiting_since"], Value::Null, "{i}: nobody waits");
        assert_eq!(
            query_i64(
                &app,
                "SELECT COUNT(*) FROM cycles WHERE conversation_id = ?1",
                conv
            ),
            0,
            "{i}: no cycle"
        );
        let msgs = messages_of(&app, conv);
        assert_eq!(msgs.len(), 1, "{i}: kept");
        assert_eq!(msgs[0]["notice"], true);
        let unassigned = app
            .api
            .get("/api/v1/conversations?view=unassigned", &app.owner.token)
            .expect(200);
        assert_eq!(unassigned["items"].as_array().map(Vec::len), Some(0), "{i}");
    }
}
