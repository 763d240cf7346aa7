//! The WhatsApp Cloud API channel against a loopback Graph API: webhook handshake, signatures,
//! every sample and spec example, bad bodies, statuses, sending with retries and refusals, lost
//! answers, read receipts, media, and request bodies checked against Meta's OpenAPI spec.

mod authenticity;
pub(crate) mod fake;
mod identity;
mod ingest;
mod notices;
mod retention;
pub(crate) mod schema;
mod send;

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Resp, TestApp};
pub use fake::{Answer, FakeGraph};
use teaminbox::channels::whatsapp::webhook::sign;

/// The app secret every test channel has (the one of PROTOCOL.md's known-answer vector).
pub const SECRET: &str = "test_app_secret";
/// The verify token every test channel has.
pub const VERIFY: &str = "verify-me";
/// The phone number id of the samples.
pub const SAMPLE_NUMBER: &str = "106540352242922";

/// A file of `shared/whatsapp/`.
pub fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/whatsapp")
        .join(path)
}

/// The exact bytes of a sample.
pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(shared(&format!("samples/{name}"))).expect("sample file")
}

/// Creates a WhatsApp channel for `phone_number_id` talking to `graph`; returns its id.
pub fn wa_channel(app: &TestApp, graph: &FakeGraph, phone_number_id: &str) -> i64 {
    wa_channel_of_app(app, graph, phone_number_id, "419561257915477", SECRET)
}

/// Creates a WhatsApp channel for `phone_number_id` in business account `waba_id`, whose
/// webhooks are signed with `app_secret`; returns its id.
pub fn wa_channel_of_app(
    app: &TestApp,
    graph: &FakeGraph,
    phone_number_id: &str,
    waba_id: &str,
    app_secret: &str,
) -> i64 {
    app.api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "whatsapp", "name": format!("WhatsApp {phone_number_id}"), "config": {
                "phone_number_id": phone_number_id, "waba_id": waba_id,
                "access_token": "EAAG-test-token", "app_secret": app_secret, "verify_token": VERIFY,
                "graph_api_base": graph.base}}),
        )
        .expect(201)["id"]
        .as_i64()
        .expect("channel id")
}

/// The body with every change addressed to `phone_number_id` (samples share wamids, so each
/// test gets its own number and channel).
pub fn for_number(body: &[u8], phone_number_id: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).expect("json");
    for entry in v["entry"].as_array_mut().into_iter().flatten() {
        for change in entry["changes"].as_array_mut().into_iter().flatten() {
            if change["value"]["metadata"].is_object() {
                change["value"]["metadata"]["phone_number_id"] = json!(phone_number_id);
            }
        }
    }
    serde_json::to_vec(&v).expect("json")
}

/// POSTs a webhook body with this `X-Hub-Signature-256` (none if `None`).
pub fn post_hook(app: &TestApp, body: &[u8], signature: Option<&str>) -> Resp {
    let mut req = app
        .api
        .client
        .request(Method::POST, format!("{}/webhooks/whatsapp", app.api.base))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    let resp = req.send().expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().unwrap_or_default();
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

/// Signs and POSTs a body, expects 200, and waits until the body is processed.
pub fn deliver(app: &TestApp, body: &[u8]) {
    let id = post_hook(app, body, Some(&sign(SECRET, body))).expect(200)["received"]
        .as_i64()
        .expect("received id");
    app.wait_until("the webhook processed", || {
        query_i64(
            app,
            "SELECT COUNT(*) FROM wa_webhooks WHERE id = ?1 AND processed_at IS NOT NULL",
            id,
        ) == 1
    });
}

/// A number from a SQL query on a reader.
pub fn query_i64(app: &TestApp, sql: &'static str, arg: i64) -> i64 {
    app.store
        .read_blocking(|c| {
            c.query_row(sql, [arg], |r| r.get(0))
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("query")
}

/// Waits until no kept webhook is left unprocessed (set-aside ones aside).
pub fn wait_processed(app: &TestApp) {
    app.wait_until("webhooks processed", || {
        query_i64(
            app,
            "SELECT COUNT(*) FROM wa_webhooks WHERE processed_at IS NULL AND set_aside_at IS NULL AND ?1 = ?1",
            0,
        ) == 0
    });
}

/// A count from a SQL query without parameters.
pub fn count_sql(app: &TestApp, sql: &'static str) -> i64 {
    app.store
        .read_blocking(|c| {
            c.query_row(sql, [], |r| r.get(0))
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("query")
}

/// Whether a message with this wamid was stored.
pub fn has_message(app: &TestApp, wamid: &str) -> bool {
    let wamid = wamid.to_string();
    app.store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM messages WHERE external_id = ?1",
                [&wamid],
                |r| r.get::<_, i64>(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("query")
        > 0
}

/// A customer's text message to `number` (one entry of account `waba`).
pub fn text_entry(waba: &str, number: &str, wamid: &str, from: &str, text: &str) -> Value {
    let ts = (teaminbox::domain::time::now_ms() / 1000).to_string();
    json!({"id": waba, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": number},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": ts, "type": "text", "text": {"body": text}}]}}]})
}

/// A delivery status of our message `wamid` sent from `number` (one entry of account `waba`).
pub fn status_entry(waba: &str, number: &str, wamid: &str, status: &str) -> Value {
    let ts = (teaminbox::domain::time::now_ms() / 1000).to_string();
    json!({"id": waba, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": number},
        "statuses": [{"id": wamid, "status": status, "timestamp": ts, "recipient_id": "16505551234"}]}}]})
}

/// A webhook body of these entries.
pub fn hook_of(entries: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": entries}))
        .expect("json")
}

/// The newest conversation on a channel, as the owner sees it.
pub fn conversation_on(app: &TestApp, channel: i64) -> Value {
    let id = query_i64(
        app,
        "SELECT COALESCE(MAX(id), 0) FROM conversations WHERE channel_id = ?1",
        channel,
    );
    assert!(id > 0, "no conversation on channel {channel}");
    app.api
        .get(&format!("/api/v1/conversations/{id}"), &app.owner.token)
        .expect(200)
}

/// The messages of a conversation's timeline.
pub fn messages_of(app: &TestApp, conv: i64) -> Vec<Value> {
    app.timeline(conv)
        .into_iter()
        .filter(|i| i["type"] == "message")
        .collect()
}
