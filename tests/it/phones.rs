//! Phone numbers: one canonical form (E.164 with `+`) from every door — a provider's webhook,
//! an API channel, a person typing — shown the same everywhere; what cannot be a number is a
//! 422 where typed and kept out of the phone column where a provider sent it; a known customer
//! with another number is a recorded change.

use serde_json::{Value, json};

use crate::support::{FakeCallback, Resp, TestApp};
use crate::whatsapp::{FakeGraph, deliver, for_number, sample, wa_channel};

fn inbound(app: &TestApp, ch: i64, secret: &str, ext: &str, contact: Value) -> Resp {
    app.api.raw(
        reqwest::Method::POST,
        &format!("/api/v1/channels/{ch}/inbound"),
        Some(secret),
        Some(
            json!({"external_id": ext, "contact": contact, "text": format!("message {ext}")})
                .to_string()
                .into_bytes(),
        ),
    )
}

fn contact_of(app: &TestApp, conv: i64) -> Value {
    app.api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200)["contact"]
        .clone()
}

const GERMAN: &str = "+4915123456789";

#[test]
fn one_number_in_every_spelling_is_stored_and_shown_alike() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    // An API channel, in the spellings systems send.
    let spellings = [
        "4915123456789",
        "+4915123456789",
        "+49 151 2345 6789",
        "0049-151-23456789",
        "(+49) 151 23456789",
    ];
    for (i, given) in spellings.iter().enumerate() {
        let landed = inbound(
            &app,
            ch,
            &secret,
            &format!("p{i}"),
            json!({"identifier": format!("c{i}"), "phone": given}),
        );
        let conv = landed.expect(201)["conversation_id"].as_i64().expect("id");
        assert_eq!(contact_of(&app, conv)["phone"], GERMAN, "{given}");
    }
    // A WhatsApp wa_id (digits, no "+").
    let graph = FakeGraph::start(vec![]);
    let wa = wa_channel(&app, &graph, "400000001");
    let mut body: Value = serde_json::from_slice(&sample("01_text.json")).expect("json");
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = json!("4915123456789");
    body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = json!("4915123456789");
    deliver(
        &app,
        &for_number(&serde_json::to_vec(&body).expect("json"), "400000001"),
    );
    let conv = crate::whatsapp::conversation_on(&app, wa);
    assert_eq!(conv["contact"]["phone"], GERMAN);
    // Typed by a person: starting a conversation and editing a contact.
    let started = app
        .api
        .post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": " 0049 (151) 2345.6789 "}, "channel_id": ch, "text": "hi"}),
        )
        .expect(201);
    assert_eq!(started["contact"]["phone"], GERMAN);
    let contact = started["contact"]["id"].as_i64().expect("id");
    let patched = app
        .api
        .patch(
            &format!("/api/v1/contacts/{contact}"),
            &app.owner.token,
            json!({"phone": "+49 151 2345-0000"}),
        )
        .expect(200);
    assert_eq!(patched["phone"], "+4915123450000");
    // Shown so on the page too.
    let page = app.session(&app.owner).page(&format!("/c/{}", conv["id"]));
    assert!(page.contains(GERMAN), "the page shows {GERMAN}");
}

#[test]
fn what_cannot_be_a_number_is_refused_where_typed() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, _, conv) = app.conversation(&cb.url);
    let contact = contact_of(&app, conv)["id"].as_i64().expect("id");
    for typed in [
        "0151 23456789",
        "+49 151 2345 ext 12",
        "12",
        "+1234567890123456",
        "call me",
    ] {
        let start = app.api.post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": typed}, "channel_id": ch, "text": "hi"}),
        );
        let e = start.expect_error(422, "invalid_phone");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("country code")),
            "{typed}: {e}"
        );
        app.api
            .patch(
                &format!("/api/v1/contacts/{contact}"),
                &app.owner.token,
                json!({"phone": typed}),
            )
            .expect_error(422, "invalid_phone");
    }
}

#[test]
fn an_odd_phone_from_a_channel_stays_out_of_the_phone_column() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    for (i, odd) in ["call me maybe", "+49 151 2345 6789 (mobile)", "555"]
        .iter()
        .enumerate()
    {
        let conv = inbound(
            &app,
            ch,
            &secret,
            &format!("o{i}"),
            json!({"identifier": format!("odd{i}"), "phone": odd}),
        )
        .expect(201)["conversation_id"]
            .as_i64()
            .expect("the message landed");
        let c = contact_of(&app, conv);
        assert_eq!(c["phone"], Value::Null, "{odd}");
        let full = app
            .api
            .get(&format!("/api/v1/contacts/{}", c["id"]), &app.owner.token)
            .expect(200);
        assert_eq!(full["attributes"]["phone_as_given"], *odd, "kept as given");
    }
}

/// The case: an inbound with a known identifier and another phone no longer replaces
/// the contact's phone silently.
#[test]
fn a_known_identifier_with_another_phone_is_recorded() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let send = |ext: &str, phone: &str| {
        inbound(
            &app,
            ch,
            &secret,
            ext,
            json!({"identifier": "cust-1", "phone": phone}),
        )
        .expect(201)["conversation_id"]
            .as_i64()
            .expect("id")
    };
    let conv = send("a1", "+1 555 0001");
    assert_eq!(send("a2", "+1 555 0002"), conv);
    // The same new number again, in another spelling: nothing more to record.
    assert_eq!(send("a3", "+1-555-0002"), conv);
    let contact = contact_of(&app, conv);
    assert_eq!(
        contact["phone"], "+15550002",
        "the customer's current number"
    );
    let kind = "contact.phone_changed";
    let changes: Vec<Value> = app
        .timeline(conv)
        .into_iter()
        .filter(|i| i["kind"] == kind)
        .collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        changes[0]["data"],
        json!({"contact_id": contact["id"], "from": "+15550001", "to": "+15550002", "source": "inbound"})
    );
    // Staff change it: recorded too, with who did it.
    app.api
        .patch(
            &format!("/api/v1/contacts/{}", contact["id"]),
            &app.owner.token,
            json!({"phone": "+1 555 0003"}),
        )
        .expect(200);
    let data = app.event_data(kind);
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["from"], "+15550002");
    assert_eq!(data[1]["to"], "+15550003");
    assert_eq!(data[1]["source"], "staff");
    let page = app.session(&app.owner).page(&format!("/c/{conv}"));
    assert!(
        page.contains("The customer wrote from another number: +15550001 is now +15550002"),
        "timeline in words"
    );
    assert!(
        page.contains("changed the phone number from +15550002 to +15550003"),
        "timeline in words"
    );
}
