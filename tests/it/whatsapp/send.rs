//! Outbound: statuses of our messages, retries, refusals, lost answers, read receipts.

use serde_json::{Value, json};

use super::*;
use crate::support::TestApp;

/// A WhatsApp conversation with one inbound text, claimed by Ana: (channel, conversation, the
/// inbound message's wamid).
pub fn claimed_conversation(app: &TestApp, graph: &FakeGraph, number: &str) -> (i64, i64, String) {
    let ch = wa_channel(app, graph, number);
    let mut body: Value = serde_json::from_slice(&sample("01_text.json")).expect("json");
    let wamid = format!("wamid.in.{number}");
    let now = teaminbox::domain::time::now_ms() / 1000;
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = json!(wamid);
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!(now.to_string());
    deliver(
        app,
        &for_number(&serde_json::to_vec(&body).expect("json"), number),
    );
    let conv = conversation_on(app, ch)["id"].as_i64().expect("id");
    app.claim(conv, &app.ana);
    (ch, conv, wamid)
}

/// Sends as Ana; returns the message id.
pub fn reply(app: &TestApp, conv: i64, body: Value) -> i64 {
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &app.ana.token,
            body,
        )
        .expect(201)["id"]
        .as_i64()
        .expect("id")
}

/// A message of the timeline by id.
pub fn message(app: &TestApp, conv: i64, id: i64) -> Value {
    messages_of(app, conv)
        .into_iter()
        .find(|m| m["id"] == id)
        .expect("message in timeline")
}

#[track_caller]
fn wait_status(app: &TestApp, conv: i64, id: i64, status: &str) {
    app.wait_until(&format!("message {id} {status}"), || {
        message(app, conv, id)["status"] == status
    });
}

fn status_hook(number: &str, sample_file: &str, status: Option<&str>) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&sample(sample_file)).expect("json");
    if let Some(s) = status {
        v["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = json!(s);
    }
    for_number(&serde_json::to_vec(&v).expect("json"), number)
}

const SENT_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
const FAILED_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA";

#[test]
fn status_samples_move_delivery_forward_only() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![
        Answer::accepted(SENT_WAMID),
        Answer::accepted(FAILED_WAMID),
    ]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8000");
    let id = reply(&app, conv, json!({"text": "It comes in blue and red."}));
    wait_status(&app, conv, id, "sent");
    deliver(&app, &status_hook("8000", "08_status_sent.json", None));
    assert_eq!(message(&app, conv, id)["status"], "sent");
    deliver(
        &app,
        &status_hook("8000", "09_status_delivered_bsuid.json", None),
    );
    assert_eq!(message(&app, conv, id)["status"], "delivered");
    // A late "sent" changes nothing; read moves on; a late "delivered" never undoes read.
    deliver(&app, &status_hook("8000", "08_status_sent.json", None));
    assert_eq!(message(&app, conv, id)["status"], "delivered");
    deliver(
        &app,
        &status_hook("8000", "09_status_delivered_bsuid.json", Some("read")),
    );
    assert_eq!(message(&app, conv, id)["status"], "read");
    deliver(
        &app,
        &status_hook("8000", "09_status_delivered_bsuid.json", None),
    );
    deliver(&app, &status_hook("8000", "10_status_failed.json", None));
    assert_eq!(message(&app, conv, id)["status"], "read");
    // The second reply gets the failed sample's wamid: failed, with Meta's code and text. (A
    // new notification, so other bytes: the same bytes again would be a replay, kept once.)
    let second = reply(&app, conv, json!({"text": "Still there?"}));
    wait_status(&app, conv, second, "sent");
    let mut failed: Value =
        serde_json::from_slice(&status_hook("8000", "10_status_failed.json", None)).expect("json");
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = json!("1750263800");
    deliver(&app, &serde_json::to_vec(&failed).expect("json"));
    let m = message(&app, conv, second);
    assert_eq!(m["status"], "failed");
    assert_eq!(m["error"]["code"], "131049");
    assert!(
        m["error"]["message"].as_str().unwrap_or("").starts_with(
            "This message was not delivered to maintain healthy ecosystem engagement."
        ),
        "{m}"
    );
    assert_eq!(graph.sends().len(), 2);
}

#[test]
fn server_errors_are_retried_and_the_message_sent_once() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![
        Answer::Json(500, json!({})),
        Answer::error(500, 2, "Service temporarily unavailable"),
        Answer::accepted("wamid.after.retries"),
    ]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8100");
    let id = reply(&app, conv, json!({"text": "Your order shipped"}));
    wait_status(&app, conv, id, "sent");
    let sends = graph.sends();
    assert_eq!(
        sends.len(),
        3,
        "two failures and one success, nothing after"
    );
    assert!(
        sends.iter().all(|s| *s == sends[0]),
        "every attempt sends the same body"
    );
    let oid = query_i64(&app, "SELECT id FROM outbox WHERE message_id = ?1", id);
    assert_eq!(
        sends[0]["biz_opaque_callback_data"],
        format!("teaminbox-outbox:{oid}")
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'wamid.after.retries' AND id = ?1",
            id
        ),
        1
    );
}

#[test]
fn a_closed_window_fails_at_once_with_the_reason_and_closes_the_window() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::error(400, 131047, "Re-engagement message")]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8200");
    let before = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    assert!(before["window_closes_at"].is_string());
    let id = reply(&app, conv, json!({"text": "Hello again"}));
    wait_status(&app, conv, id, "failed");
    let m = message(&app, conv, id);
    assert_eq!(m["error"]["code"], "131047");
    assert_eq!(
        m["error"]["message"],
        "the 24-hour window is closed: send a template"
    );
    assert_eq!(graph.sends().len(), 1, "no retry");
    // Our clock said open; WhatsApp said closed, and it wins.
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &app.ana.token,
            json!({"text": "?"}),
        )
        .expect_error(422, "window_closed");
    reply(
        &app,
        conv,
        json!({"template": {"name": "follow_up", "language": "en_US", "params": ["Sheena"]}}),
    );
    graph.wait_sends(2);
    assert_eq!(graph.sends()[1]["type"], "template");
}

#[test]
fn a_lost_answer_is_settled_by_the_status_that_echoes_our_outbox_id() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::Drop]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8300");
    let id = reply(&app, conv, json!({"text": "Did this arrive?"}));
    graph.wait_sends(1);
    let oid = query_i64(&app, "SELECT id FROM outbox WHERE message_id = ?1", id);
    app.wait_until("the outbox waits for a status", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE id = ?1 AND state = 'pending' AND last_error LIKE '%waiting for a delivery status%'",
            oid,
        ) == 1
    });
    assert_eq!(message(&app, conv, id)["status"], "queued");
    let mut hook: Value = serde_json::from_slice(&sample("08_status_sent.json")).expect("json");
    let st = &mut hook["entry"][0]["changes"][0]["value"]["statuses"][0];
    st["id"] = json!("wamid.lost.answer");
    st["biz_opaque_callback_data"] = json!(format!("teaminbox-outbox:{oid}"));
    deliver(
        &app,
        &for_number(&serde_json::to_vec(&hook).expect("json"), "8300"),
    );
    assert_eq!(message(&app, conv, id)["status"], "sent");
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE id = ?1 AND state = 'done'",
            oid
        ),
        1,
        "the dispatcher will not send it again"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE id = ?1 AND external_id = 'wamid.lost.answer'",
            id
        ),
        1
    );
    assert_eq!(graph.sends().len(), 1);
}

#[test]
fn an_expired_token_fails_the_message_and_alerts_the_owner() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::error(
        401,
        190,
        "Error validating access token: Session has expired",
    )]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8400");
    let id = reply(&app, conv, json!({"text": "hi"}));
    wait_status(&app, conv, id, "failed");
    let m = message(&app, conv, id);
    assert_eq!(m["error"]["code"], "190");
    assert!(
        m["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("access token"),
        "{m}"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'channel.alert' AND conversation_id IS NULL AND ?1 = ?1",
            0
        ),
        1
    );
    assert_eq!(graph.sends().len(), 1);
}

#[test]
fn the_owner_opening_the_conversation_marks_it_read() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let (_, conv, wamid) = claimed_conversation(&app, &graph, "8500");
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    let is_read = |r: &fake::Request| r.json()["status"] == "read";
    graph.wait("a read receipt", |rs| rs.iter().any(is_read));
    let reads: Vec<Value> = graph
        .requests()
        .iter()
        .filter(|r| is_read(r))
        .map(|r| r.json())
        .collect();
    assert_eq!(
        reads,
        [json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})]
    );
    app.wait_until("read mark recorded", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM wa_read_marks WHERE conversation_id = ?1",
            conv,
        ) == 1
    });
}

#[test]
fn a_lost_answer_with_no_status_is_sent_again_after_the_wait() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::Drop, Answer::accepted("wamid.second.try")]);
    let (_, conv, _) = claimed_conversation(&app, &graph, "8600");
    let id = reply(&app, conv, json!({"text": "Is anyone there?"}));
    // No status names the first try: after waiting (twice the send time limit) it goes again.
    graph.wait_sends(2);
    wait_status(&app, conv, id, "sent");
    let sends = graph.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(
        sends[0], sends[1],
        "the same message, with the same outbox id"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE id = ?1 AND external_id = 'wamid.second.try'",
            id
        ),
        1
    );
}

#[test]
fn templates_are_listed_from_the_business_account() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "8700");
    let list = app
        .api
        .get(&format!("/api/v1/channels/{ch}/templates"), &app.ana.token)
        .expect(200);
    assert_eq!(
        list["items"],
        json!([
            {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "body": "Hi {{1}}, order {{2}} shipped", "params": 2},
            {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "body": "Hello World", "params": 0}
        ])
    );
    let paths: Vec<String> = graph.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths[0].starts_with("/v23.0/419561257915477/message_templates?"),
        "{paths:?}"
    );
    app.api
        .get("/api/v1/channels/999/templates", &app.ana.token)
        .expect_error(404, "not_found");
    app.api
        .get(&format!("/api/v1/channels/{ch}/templates"), "nope")
        .expect_error(401, "unauthenticated");
    // WhatsApp out of reach is a fault upstream, not the caller's: 503, not 422.
    let unreachable = app
        .api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "whatsapp", "name": "WhatsApp unreachable", "config": {
                "phone_number_id": "8701", "waba_id": "419561257915477",
                "access_token": "EAAG-test-token", "app_secret": "s", "verify_token": "v",
                "graph_api_base": "http://127.0.0.1:1/v23.0"}}),
        )
        .expect(201)["id"]
        .as_i64()
        .expect("channel id");
    let err = app
        .api
        .get(
            &format!("/api/v1/channels/{unreachable}/templates"),
            &app.ana.token,
        )
        .expect_error(503, "unavailable");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("WhatsApp did not list the templates")),
        "{err}"
    );
}
