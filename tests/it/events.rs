//! Typed events as clients see them: a failed send keeps the provider's code and words, and the
//! `message.status` event's `error` has one shape whichever path wrote it (the outbox's answer
//! from the Graph API, or a status webhook).

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::whatsapp::{
    Answer, FakeGraph, conversation_on, deliver, for_number, messages_of, sample, wa_channel,
};

/// Meta's answer to a free-form message outside the 24-hour window (PROTOCOL.md §2.d, §9).
fn window_closed_answer() -> Answer {
    Answer::Json(
        400,
        json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "fbtrace_id": "Afake"}}),
    )
}

/// A WhatsApp conversation on a channel of its own with one inbound text, claimed by Ana.
fn claimed(app: &TestApp, graph: &FakeGraph, number: &str) -> i64 {
    let ch = wa_channel(app, graph, number);
    let mut body: Value = serde_json::from_slice(&sample("01_text.json")).expect("json");
    let msg = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
    msg["id"] = json!(format!("wamid.in.{number}"));
    msg["timestamp"] = json!((teaminbox::domain::time::now_ms() / 1000).to_string());
    deliver(
        app,
        &for_number(&serde_json::to_vec(&body).expect("json"), number),
    );
    let conv = conversation_on(app, ch)["id"].as_i64().expect("id");
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/claim"),
            &app.ana.token,
            json!({}),
        )
        .expect(200);
    conv
}

fn message(app: &TestApp, conv: i64, id: i64) -> Value {
    messages_of(app, conv)
        .into_iter()
        .find(|m| m["id"] == id)
        .expect("message in timeline")
}

fn wait_status(app: &TestApp, conv: i64, id: i64, status: &str) {
    app.wait_until(&format!("message {id} {status}"), || {
        message(app, conv, id)["status"] == status
    });
}

/// The `error` of the stored `message.status` event that failed message `id`.
fn failed_event_error(app: &TestApp, id: i64) -> Value {
    app.event_data("message.status")
        .into_iter()
        .find(|d| d["message_id"] == id && d["status"] == "failed")
        .expect("a failed message.status event")["error"]
        .clone()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn a_closed_window_keeps_whatsapps_code_and_words_beside_ours() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![window_closed_answer()]);
    let conv = claimed(&app, &graph, "9100");
    let id = app.reply(conv, &app.ana, "Hello again");
    wait_status(&app, conv, id, "failed");
    let meta = "(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.";
    let expected = json!({
        "code": "131047",
        "message": "the 24-hour window is closed: send a template",
        "provider_message": meta,
    });
    assert_eq!(message(&app, conv, id)["error"], expected);
    assert_eq!(failed_event_error(&app, id), expected);
}

#[test]
fn the_status_error_has_one_shape_from_the_outbox_and_from_a_webhook() {
    let app = TestApp::spawn();
    let status_hook: Value =
        serde_json::from_slice(&sample("10_status_failed.json")).expect("json");
    let failed_wamid = status_hook["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
        .as_str()
        .expect("wamid")
        .to_string();
    let graph = FakeGraph::start(vec![
        window_closed_answer(),
        Answer::accepted(&failed_wamid),
    ]);
    // Refused by the Graph API: the outbox writes the failure.
    let by_outbox_conv = claimed(&app, &graph, "9200");
    let by_outbox = app.reply(by_outbox_conv, &app.ana, "Hello again");
    wait_status(&app, by_outbox_conv, by_outbox, "failed");
    // Accepted, then failed by a status webhook.
    let by_hook_conv = claimed(&app, &graph, "9300");
    let by_hook = app.reply(by_hook_conv, &app.ana, "Still there?");
    wait_status(&app, by_hook_conv, by_hook, "sent");
    deliver(
        &app,
        &for_number(&serde_json::to_vec(&status_hook).expect("json"), "9300"),
    );
    wait_status(&app, by_hook_conv, by_hook, "failed");

    let from_outbox = failed_event_error(&app, by_outbox);
    let from_hook = failed_event_error(&app, by_hook);
    assert_eq!(keys(&from_outbox), ["code", "message", "provider_message"]);
    assert_eq!(keys(&from_hook), keys(&from_outbox));
    for e in [&from_outbox, &from_hook] {
        assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
        assert!(e["provider_message"].is_string(), "{e}");
    }
    assert_eq!(from_hook["code"], "131049");
    assert!(
        from_hook["provider_message"]
            .as_str()
            .unwrap_or("")
            .starts_with(
                "This message was not delivered to maintain healthy ecosystem engagement."
            ),
        "{from_hook}"
    );
    // The message carries the same error as its event, on both paths.
    assert_eq!(
        message(&app, by_outbox_conv, by_outbox)["error"],
        from_outbox
    );
    assert_eq!(message(&app, by_hook_conv, by_hook)["error"], from_hook);
}
