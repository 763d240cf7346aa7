//! Every request body the channel sends, validated against the request schema of
//! `POST /{Version}/{Phone-Number-ID}/messages` in Meta's OpenAPI spec (loaded from
//! `../shared/whatsapp/`), and the spec's webhook examples for the ingest tests.
//!
//! Two readings of the spec are needed, both applied to the loaded document, not to our bodies:
//! - Its message schemas are `allOf: [BaseMessageProperties, {additionalProperties: false, …}]`.
//!   Read literally, JSON Schema then refuses `to` and `messaging_product` (not declared in the
//!   second branch), so no body at all — not even the spec's own examples — could validate. The
//!   intent is "no properties beyond those of the combined object", which JSON Schema 2020-12
//!   spells `unevaluatedProperties: false` on the `allOf` itself; that is what we check.
//! - `biz_opaque_callback_data` is a documented send field (Meta echoes it in status webhooks,
//!   PROTOCOL.md §2.d) that v23.0 models only on calls; it is added to `BaseMessageProperties`
//!   with the same definition (string, at most 512 characters).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::send::{claimed_conversation, reply};
use super::*;
use crate::support::TestApp;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text =
            std::fs::read_to_string(shared("facebook-openapi_business-messaging-api_v23.0.yaml"))
                .expect("Meta's OpenAPI spec in ../shared/whatsapp/");
        serde_norway::from_str(&text).expect("the spec parses as YAML")
    })
}

/// The spec's webhook examples by name.
pub fn webhook_examples() -> BTreeMap<String, Value> {
    spec()["paths"]["/whatsapp/webhooks"]["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .expect("webhook examples")
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect()
}

fn messages_op() -> &'static Value {
    &spec()["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]["requestBody"]["content"]["application/json"]
}

/// `allOf` branches that forbid extra properties → `unevaluatedProperties: false` on the `allOf`.
fn intended(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut closed = false;
            if let Some(Value::Array(branches)) = map.get_mut("allOf") {
                for b in branches.iter_mut() {
                    if b.get("additionalProperties") == Some(&Value::Bool(false))
                        && let Some(o) = b.as_object_mut()
                    {
                        o.remove("additionalProperties");
                        closed = true;
                    }
                }
            }
            if closed {
                map.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(intended);
        }
        Value::Array(items) => items.iter_mut().for_each(intended),
        _ => {}
    }
}

pub(crate) fn validator() -> jsonschema::Validator {
    build_validator(true)
}

fn build_validator(as_intended: bool) -> jsonschema::Validator {
    let mut components = spec()["components"].clone();
    if as_intended {
        intended(&mut components);
    }
    components["schemas"]["BaseMessageProperties"]["properties"]["biz_opaque_callback_data"] =
        json!({"type": "string", "maxLength": 512});
    let request = messages_op()["schema"].clone();
    assert_eq!(request, json!({"$ref": "#/components/schemas/Message"}));
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/components/schemas/Message",
        "components": components,
    });
    jsonschema::draft202012::new(&root).expect("the spec's schemas compile")
}

pub(crate) fn errors(v: &jsonschema::Validator, body: &Value) -> Vec<String> {
    v.iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_reading_of_the_schema_accepts_the_specs_own_examples() {
    let v = validator();
    let examples = messages_op()["examples"].as_object().expect("examples");
    let mut checked = 0;
    for (name, ex) in examples {
        let body = &ex["value"];
        // The read receipt is not a Message (no `to`/`type`): see the test below.
        if body.get("status").is_some() {
            continue;
        }
        // Not the template examples: they omit `language.policy`, which the spec's own
        // LanguageObject requires (our template bodies carry it and are checked below).
        let kind = body["type"].as_str().unwrap_or_default();
        if ["text", "image", "document", "audio", "video", "sticker"].contains(&kind) {
            let errs = errors(&v, body);
            assert!(errs.is_empty(), "spec example \"{name}\": {errs:?}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} examples checked");
    // Read literally, the same schema refuses even the spec's own plain text example.
    let literal = build_validator(false);
    let text = &examples["Send Text Message"]["value"];
    assert!(errors(&v, text).is_empty());
    assert!(
        !errors(&literal, text).is_empty(),
        "the literal reading accepts {text}"
    );
    // And it still refuses what it should.
    for bad in [
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+1", "type": "text", "text": {"body": "x"}, "extra": 1}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+1", "type": "text", "text": {"body": "x", "bold": true}}),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+1", "type": "template", "template": {"name": "x", "language": {"code": "en"}}}),
    ] {
        assert!(!errors(&v, &bad).is_empty(), "accepted {bad}");
    }
}

#[test]
fn every_request_body_we_send_validates_against_the_spec() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let (_, conv, wamid) = claimed_conversation(&app, &graph, "9000");
    let inbound = messages_of(&app, conv)[0]["id"]
        .as_i64()
        .expect("inbound id");
    let bodies = [
        json!({"text": "Hello! It comes in blue."}),
        json!({"text": "Quoting you", "reply_to": inbound}),
        json!({"template": {"name": "order_update", "language": "en_US", "params": ["Sheena", "#1234"]}}),
        json!({"template": {"name": "hello_world", "language": "en_US"}}),
        json!({"media": {"type": "image", "link": "https://shop.example/blue.jpg", "caption": "Blue"}}),
        json!({"media": {"type": "document", "link": "https://shop.example/a.pdf", "filename": "a.pdf", "caption": "Invoice"}}),
        json!({"media": {"type": "audio", "id": "1234567890"}}),
        json!({"media": {"type": "sticker", "link": "https://shop.example/s.webp", "caption": "dropped"}}),
        json!({"media": {"type": "video", "id": "987", "caption": "How to"}}),
    ];
    for b in &bodies {
        reply(&app, conv, b.clone());
    }
    graph.wait_sends(bodies.len());
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.ana.token)
        .expect(200);
    graph.wait("a read receipt", |rs| {
        rs.iter().any(|r| r.json()["status"] == "read")
    });
    let v = validator();
    let sends: Vec<Value> = graph
        .sends()
        .into_iter()
        .filter(|s| s["status"].is_null())
        .collect();
    assert_eq!(sends.len(), bodies.len());
    for body in &sends {
        let errs = errors(&v, body);
        assert!(
            errs.is_empty(),
            "{body} does not fit Meta's schema: {errs:?}"
        );
        assert_eq!(body["to"], "+16505551234");
        assert!(
            body["biz_opaque_callback_data"]
                .as_str()
                .unwrap_or("")
                .starts_with("teaminbox-outbox:")
        );
    }
    assert_eq!(sends[1]["context"], json!({"message_id": wamid}));
    assert_eq!(
        sends[2]["template"]["components"],
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "#1234"}]}])
    );
    assert!(sends[3]["template"].get("components").is_none());
    assert!(sends[7]["sticker"].get("caption").is_none());
    // The read receipt has exactly the keys of the spec's own example (it is not a Message).
    let example = &messages_op()["examples"]["Send typing indicator and read receipt"]["value"];
    let read = graph
        .requests()
        .iter()
        .map(|r| r.json())
        .find(|b| b["status"] == "read")
        .expect("read");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.retain(|k| k != "typing_indicator");
        k
    };
    assert_eq!(keys(&read), keys(example));
    assert_eq!(read["message_id"], wamid);
    for r in graph.requests().iter().filter(|r| r.method == "POST") {
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.path, "/v23.0/9000/messages");
    }
}
