//! Who a WhatsApp customer is: the id Meta reports may differ from the number we hold (Brazil's
//! ninth digit, Mexico's 521), a customer who changes number stays one contact with the change
//! on record, and numbers are kept in one canonical form (`+` and digits).

use serde_json::{Value, json};

use super::*;
use crate::support::TestApp;

/// A text from `wa_id` to `number`, quoting our message `quoting` when given.
fn text_from(number: &str, wa_id: &str, wamid: &str, quoting: Option<&str>) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&sample("01_text.json")).expect("json");
    let value = &mut v["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!(wa_id);
    let m = &mut value["messages"][0];
    m["from"] = json!(wa_id);
    m["id"] = json!(wamid);
    m["timestamp"] = json!((teaminbox::domain::time::now_ms() / 1000).to_string());
    m["text"]["body"] = json!(format!("reply from {wa_id}"));
    if let Some(q) = quoting {
        m["context"] = json!({"from": "15550783881", "id": q});
    }
    for_number(&serde_json::to_vec(&v).expect("json"), number)
}

/// Ana starts a conversation on `channel` with `phone` (a template); returns the conversation.
fn start(app: &TestApp, channel: i64, phone: &str) -> Value {
    app.api
        .post(
            "/api/v1/conversations",
            &app.ana.token,
            json!({"contact": {"phone": phone}, "channel_id": channel,
                   "template": {"name": "order_ready", "language": "pt_BR", "params": ["#77"]}}),
        )
        .expect(201)
}

/// The conversation an inbound message landed in.
fn landed_in(app: &TestApp, wamid: &str) -> i64 {
    let wamid = wamid.to_string();
    app.store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT conversation_id FROM messages WHERE external_id = ?1",
                [&wamid],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("the reply was stored")
}

fn contacts_on(app: &TestApp, channel: i64) -> i64 {
    query_i64(
        app,
        "SELECT COUNT(DISTINCT contact_id) FROM contact_identities WHERE channel_id = ?1",
        channel,
    )
}

/// A start and a reply: (case, number typed, the wa_id Meta's answer names (`None`: the digits
/// of what we sent), answer held until the reply is in, the wa_id the reply comes from, the
/// reply lands in the started conversation).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    &'static str,
    bool,
);

#[test]
fn a_reply_from_the_id_whatsapp_knows_lands_in_the_agents_conversation() {
    let app = TestApp::spawn();
    let cases: &[Case] = &[
        // The scenario: Meta's answer names the id without the ninth digit.
        (
            "brazil, learnt from the answer",
            "+55 11 98765-4321",
            Some("551187654321"),
            false,
            "551187654321",
            true,
        ),
        // Meta knows the number under an id that is no form of it we can derive: only the
        // answer tells, and the number typed stays the one shown.
        (
            "another id in the answer",
            "+49 151 23456789",
            Some("4915199999999"),
            false,
            "4915199999999",
            true,
        ),
        // The reply comes before the answer is recorded: only the equivalence can tell.
        (
            "brazil, reply before the answer",
            "+55 21 96418-0266",
            Some("552164180266"),
            true,
            "552164180266",
            true,
        ),
        // Typed in the old form, the account has the ninth digit.
        (
            "brazil, the other way",
            "+55 82 8213-6275",
            None,
            false,
            "5582982136275",
            true,
        ),
        // Mexico's mobile prefix, from an account of before 2020.
        (
            "mexico 521",
            "+52 55 1234 5678",
            None,
            false,
            "5215512345678",
            true,
        ),
        // The same digits elsewhere, and a Brazilian landline, are other people.
        (
            "not brazil",
            "+57 11 98765 4321",
            None,
            false,
            "571187654321",
            false,
        ),
        (
            "brazilian landline",
            "+55 11 3265-4321",
            None,
            false,
            "5511932654321",
            false,
        ),
    ];
    for (i, &(case, typed, answer_wa_id, held, reply_from, same)) in cases.iter().enumerate() {
        let out_wamid = format!("wamid.out.{i}");
        let answer = match answer_wa_id {
            Some(w) => Answer::accepted_as(&out_wamid, w),
            None => Answer::accepted(&out_wamid),
        };
        let answer = if held {
            Answer::Held(Box::new(answer))
        } else {
            answer
        };
        let graph = FakeGraph::start(vec![answer]);
        let number = format!("20000000{i}");
        let ch = wa_channel(&app, &graph, &number);
        let conv = start(&app, ch, typed);
        let conv_id = conv["id"].as_i64().expect("id");
        let canonical: String = typed.chars().filter(|c| c.is_ascii_digit()).collect();
        graph.wait_sends(1);
        assert_eq!(graph.sends()[0]["to"], format!("+{canonical}"), "{case}");
        if !held {
            app.wait_until(&format!("{case}: the send recorded"), || {
                messages_of(&app, conv_id)[0]["status"] == "sent"
            });
        }
        let in_wamid = format!("wamid.reply.{i}");
        deliver(
            &app,
            &text_from(&number, reply_from, &in_wamid, Some(&out_wamid)),
        );
        let landed = landed_in(&app, &in_wamid);
        assert_eq!(landed == conv_id, same, "{case}: landed in {landed}");
        assert_eq!(conv["contact"]["phone"], format!("+{canonical}"), "{case}");
        if same {
            assert_eq!(contacts_on(&app, ch), 1, "{case}");
            let c = app
                .api
                .get(
                    &format!("/api/v1/conversations/{conv_id}"),
                    &app.owner.token,
                )
                .expect(200);
            assert_eq!(c["assignee"]["id"], app.ana.id, "{case}");
            // The number staff typed is still the one shown: the reply's id is another form.
            assert_eq!(c["contact"]["phone"], format!("+{canonical}"), "{case}");
            let ids = app
                .api
                .get(
                    &format!("/api/v1/contacts/{}", c["contact"]["id"]),
                    &app.owner.token,
                )
                .expect(200)["identities"]
                .clone();
            assert!(
                ids.as_array()
                    .expect("identities")
                    .iter()
                    .any(|i| i["kind"] == "wa_id" && i["identifier"] == reply_from),
                "{case}: {ids}"
            );
        } else {
            assert_eq!(contacts_on(&app, ch), 2, "{case}");
            let c = app
                .api
                .get(&format!("/api/v1/conversations/{landed}"), &app.owner.token)
                .expect(200);
            assert_eq!(c["assignee"], Value::Null, "{case}");
        }
        if held {
            graph.release();
            app.wait_until(&format!("{case}: the send recorded"), || {
                messages_of(&app, conv_id)
                    .iter()
                    .any(|m| m["direction"] == "out" && m["status"] == "sent")
            });
            assert_eq!(contacts_on(&app, ch), 1, "{case}: still one contact");
        }
    }
}

/// A customer of a conversation staff started has the id Meta's answer reported, so a later
/// start to the number in the other form finds the same customer (no second contact).
#[test]
fn the_id_from_the_answer_is_kept_for_the_contact() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::accepted_as("wamid.out.k", "551187654321")]);
    let ch = wa_channel(&app, &graph, "300000001");
    let conv = start(&app, ch, "+5511987654321")["id"]
        .as_i64()
        .expect("id");
    app.wait_until("the answer recorded", || {
        messages_of(&app, conv)[0]["status"] == "sent"
    });
    let again = start(&app, ch, "551187654321");
    assert_eq!(again["id"], conv);
    assert_eq!(contacts_on(&app, ch), 1);
}

#[test]
fn a_changed_number_is_recorded_not_overwritten() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "300000002";
    let ch = wa_channel(&app, &graph, number);
    deliver(&app, &text_from(number, "16505551234", "wamid.c1", None));
    let conv = landed_in(&app, "wamid.c1");
    // The spec's "System Message" example: Sheena changed from 16505551234 to 12195555358.
    let mut system: Value =
        serde_json::from_slice(&text_from(number, "16505551234", "wamid.c2", None)).expect("json");
    let m = &mut system["entry"][0]["changes"][0]["value"]["messages"][0];
    m["type"] = json!("system");
    m["system"] = json!({"body": "User Sheena Nelson changed from 16505551234 to 12195555358",
                         "wa_id": "12195555358", "type": "user_changed_number"});
    m.as_object_mut().expect("message").remove("text");
    deliver(&app, &serde_json::to_vec(&system).expect("json"));
    let changed = app.event_data("contact.phone_changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["from"], "+16505551234");
    assert_eq!(changed[0]["to"], "+12195555358");
    assert_eq!(changed[0]["source"], "user_changed_number");
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    assert_eq!(c["contact"]["phone"], "+12195555358");
    assert_eq!(app.count_kind(conv, "contact.phone_changed"), 1);
    // From the new number: the same customer and conversation, nothing more to record.
    deliver(&app, &text_from(number, "12195555358", "wamid.c3", None));
    assert_eq!(landed_in(&app, "wamid.c3"), conv);
    assert_eq!(contacts_on(&app, ch), 1);
    assert_eq!(app.count_kind(conv, "contact.phone_changed"), 1);
    // The page says it in words.
    let page = app.session(&app.owner).page(&format!("/c/{conv}"));
    assert!(
        page.contains("changed their WhatsApp number from +16505551234 to +12195555358"),
        "{page}"
    );
}

/// The new number wrote before Meta's notice of the change arrived, so it is a contact of its own:
/// the notice must not point the old contact at that number too (staff replies from the old
/// conversation would go to a number whose answers land in the other one).
#[test]
fn a_changed_number_that_already_wrote_is_not_taken_over() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "300000012";
    let ch = wa_channel(&app, &graph, number);
    deliver(&app, &text_from(number, "16505551234", "wamid.d1", None));
    let old = landed_in(&app, "wamid.d1");
    deliver(&app, &text_from(number, "12195555358", "wamid.d2", None));
    let new = landed_in(&app, "wamid.d2");
    assert_ne!(old, new);
    let mut system: Value =
        serde_json::from_slice(&text_from(number, "16505551234", "wamid.d3", None)).expect("json");
    let m = &mut system["entry"][0]["changes"][0]["value"]["messages"][0];
    m["type"] = json!("system");
    m["system"] = json!({"body": "User changed from 16505551234 to 12195555358",
                         "wa_id": "12195555358", "type": "user_changed_number"});
    m.as_object_mut().expect("message").remove("text");
    deliver(&app, &serde_json::to_vec(&system).expect("json"));
    let phone_of = |conv: i64| {
        app.api
            .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
            .expect(200)["contact"]["phone"]
            .clone()
    };
    assert_eq!(
        phone_of(old),
        "+16505551234",
        "the old contact keeps its number"
    );
    assert_eq!(phone_of(new), "+12195555358");
    assert_eq!(app.count_kind(old, "contact.phone_changed"), 0);
    assert_eq!(contacts_on(&app, ch), 2);
    // The new number's messages still reach the conversation it started.
    deliver(&app, &text_from(number, "12195555358", "wamid.d4", None));
    assert_eq!(landed_in(&app, "wamid.d4"), new);
}

/// A BSUID-keyed customer whose messages come with another number: the number is replaced on
/// the record (an API channel does the same: see `inbound::a_known_identifier_with_another_phone`).
#[test]
fn a_known_user_id_with_another_number_records_the_change() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let number = "300000003";
    let ch = wa_channel(&app, &graph, number);
    let with_user = |wa_id: &str, wamid: &str| {
        let mut v: Value =
            serde_json::from_slice(&text_from(number, wa_id, wamid, None)).expect("json");
        let value = &mut v["entry"][0]["changes"][0]["value"];
        value["contacts"][0]["user_id"] = json!("US.13491208655302741918");
        value["messages"][0]["from_user_id"] = json!("US.13491208655302741918");
        serde_json::to_vec(&v).expect("json")
    };
    deliver(&app, &with_user("16505551234", "wamid.u1"));
    deliver(&app, &with_user("16505559999", "wamid.u2"));
    let conv = landed_in(&app, "wamid.u1");
    assert_eq!(landed_in(&app, "wamid.u2"), conv);
    assert_eq!(contacts_on(&app, ch), 1);
    let changed = app.event_data("contact.phone_changed");
    assert_eq!(
        changed,
        vec![
            json!({"contact_id": changed[0]["contact_id"], "from": "+16505551234",
                    "to": "+16505559999", "source": "inbound"})
        ]
    );
    assert_eq!(app.count_kind(conv, "contact.phone_changed"), 1);
}
