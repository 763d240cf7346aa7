//! Inbound: handshake, signatures, samples, spec examples, hostile bodies, restart, media.

use serde_json::{Value, json};

use super::*;
use crate::support::TestApp;

#[test]
fn handshake_answers_the_challenge_only_for_our_token() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel(&app, &graph, "3000");
    let get = |q: &str| {
        app.api
            .client
            .get(format!("{}/webhooks/whatsapp?{q}", app.api.base))
            .send()
            .expect("request")
    };
    let ok = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me");
    assert_eq!(ok.status().as_u16(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    assert_eq!(ok.text().expect("body"), "1158201444");
    assert_eq!(
        get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope")
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        get("hub.mode=subscribe&hub.challenge=1").status().as_u16(),
        400
    );
    assert_eq!(get("").status().as_u16(), 400);
}

/// Whitespace outside strings removed: Python's `json.dumps(…, separators=(',', ':'))` of an
/// ASCII file whose keys keep their order.
fn compact(pretty: &[u8]) -> Vec<u8> {
    let (mut out, mut in_str, mut esc) = (Vec::new(), false, false);
    for &b in pretty {
        if in_str {
            out.push(b);
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else if !b.is_ascii_whitespace() {
            in_str = b == b'"';
            out.push(b);
        }
    }
    out
}

#[test]
fn signature_known_answers_and_refusals() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, SAMPLE_NUMBER);
    let pretty = sample("01_text.json");
    // PROTOCOL.md §3.
    assert_eq!(
        sign(SECRET, &pretty),
        "sha256=bec51913f460e445f1596819524b4c58d79a001bcb2c0cb0ef1e09b2cb9fe031"
    );
    let small = compact(&pretty);
    assert_eq!(small.len(), 499);
    assert_eq!(
        sign(SECRET, &small),
        "sha256=05425dca287e36f60b5b42254ae7fa13f010d6f9febd93f65d1dd83d79ad0484"
    );
    // Refused, and nothing kept: no header, a wrong one, another key, a valid one for other bytes.
    post_hook(&app, &pretty, None).expect_error(401, "unauthenticated");
    post_hook(&app, &pretty, Some("sha256=00")).expect_error(401, "unauthenticated");
    post_hook(&app, &pretty, Some(&sign("other secret", &pretty))).expect_error(401, "");
    post_hook(&app, &pretty, Some(&sign(SECRET, &small))).expect_error(401, "");
    post_hook(&app, &pretty, Some(&sign(SECRET, &pretty)[7..])).expect_error(401, "");
    assert_eq!(app.count("wa_webhooks"), 0);
    assert_eq!(app.count("messages"), 0);
    // The vector's exact header is accepted, over the exact bytes.
    post_hook(
        &app,
        &pretty,
        Some("sha256=bec51913f460e445f1596819524b4c58d79a001bcb2c0cb0ef1e09b2cb9fe031"),
    )
    .expect(200);
    wait_processed(&app);
    let conv = conversation_on(&app, ch);
    assert_eq!(conv["contact"]["name"], "Sheena Nelson");
}

#[test]
fn every_inbound_sample_lands_as_the_right_message() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    // (sample, kind, text, phone: the wa_id in the canonical form)
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "01_text.json",
            "text",
            "Does it come in another color?",
            Some("+16505551234"),
        ),
        (
            "02_text_bsuid_username_no_phone.json",
            "text",
            "Does it come in another color?",
            None,
        ),
        (
            "03_image.json",
            "image",
            "[photo] Taj Mahal",
            Some("+16505551234"),
        ),
        (
            "04_document.json",
            "document",
            "[document: receipt.pdf] my receipt",
            Some("+16505551234"),
        ),
        (
            "05_audio_voice.json",
            "audio",
            "[voice message]",
            Some("+972987654321"),
        ),
        (
            "06_interactive_button_reply.json",
            "interactive",
            "Cancel",
            Some("+16505551234"),
        ),
        (
            "07_interactive_list_reply.json",
            "interactive",
            "Priority Mail Express — Next Day to 2 Days",
            Some("+16505551234"),
        ),
    ];
    for (i, (file, kind, text, phone)) in cases.iter().enumerate() {
        let number = format!("1000{i}");
        let ch = wa_channel(&app, &graph, &number);
        deliver(&app, &for_number(&sample(file), &number));
        let conv = conversation_on(&app, ch);
        assert_eq!(conv["status"], "open", "{file}");
        assert_eq!(conv["channel"]["kind"], "whatsapp");
        assert_eq!(conv["contact"]["phone"].as_str(), *phone, "{file}");
        let name = if file.starts_with("05") {
            "Test Name"
        } else {
            "Sheena Nelson"
        };
        assert_eq!(conv["contact"]["name"], name, "{file}");
        let msgs = messages_of(&app, conv["id"].as_i64().expect("id"));
        assert_eq!(msgs.len(), 1, "{file}");
        let m = &msgs[0];
        assert_eq!(
            (m["direction"].as_str(), m["status"].as_str()),
            (Some("in"), Some("received"))
        );
        assert_eq!(m["content_type"], *kind, "{file}");
        assert_eq!(m["text"], *text, "{file}");
        // The window runs from the provider's timestamp.
        let ts = m["payload"]["whatsapp"]["timestamp"].as_str().expect("ts");
        assert_eq!(m["at"], app_time(ts.parse::<i64>().expect("secs") * 1000));
        assert_eq!(
            conv["window_closes_at"],
            app_time(ts.parse::<i64>().expect("secs") * 1000 + 86_400_000)
        );
        let contact = app
            .api
            .get(
                &format!("/api/v1/contacts/{}", conv["contact"]["id"]),
                &app.owner.token,
            )
            .expect(200);
        let kinds: Vec<&str> = contact["identities"]
            .as_array()
            .expect("identities")
            .iter()
            .filter_map(|i| i["kind"].as_str())
            .collect();
        match *file {
            f if f.starts_with("02") => assert_eq!(kinds, ["bsuid"]),
            f if f.starts_with("05") => assert_eq!(kinds, ["bsuid", "wa_id"]),
            _ => assert_eq!(kinds, ["wa_id"]),
        }
        if file.starts_with("06") {
            assert_eq!(
                m["payload"]["reply_to"]["external_id"],
                "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"
            );
        }
    }
    // The media of 03, 04 and 05 was fetched through the media flow.
    app.wait_until("media stored", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM wa_media WHERE state = 'done' AND ?1 = ?1",
            0,
        ) == 3
    });
    let lookups: Vec<String> = graph
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/v23.0/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(lookups.len(), 3, "{lookups:?}");
    assert!(
        graph
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer EAAG-test-token"))
    );
}

/// How the API spells a time in ms.
pub fn app_time(ms: i64) -> Value {
    serde_json::to_value(teaminbox::domain::time::Ts(ms)).expect("ts")
}

#[test]
fn every_webhook_example_of_the_spec_is_accepted() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let expected: &[(&str, Option<&str>)] = &[
        ("Text Message", Some("Does it come in another color?")),
        (
            "Text Message with Context (Product Inquiry)",
            Some("Is this still available?"),
        ),
        (
            "Text Message from Click to WhatsApp Ad",
            Some("Hello! Can I get more info on this?"),
        ),
        ("Reaction Message", Some("[reaction 👍]")),
        ("Image Message", Some("[photo] Taj Mahal")),
        (
            "Location Message",
            Some(
                "[location] Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 (37.44221496582, -122.16165924072)",
            ),
        ),
        (
            "Contact Sharing Message",
            Some("[contact] Lucía Gómez +1 (983) 555-2319"),
        ),
        (
            "Unsupported Message",
            Some(
                "[unsupported message, not shown here (Message type unknown: Message type is currently not supported.)]",
            ),
        ),
        ("Button Message", Some("Unsubscribe")),
        (
            "Interactive List Reply Message",
            Some("Priority Mail Express — Next Day to 2 Days"),
        ),
        ("Interactive Button Reply Message", Some("Cancel")),
        (
            "Order Message",
            Some("[order] 2 × di9ozbzfi4, 1 × nqryix03ez"),
        ),
        (
            "System Message",
            Some("User Sheena Nelson changed from 16505551234 to 12195555358"),
        ),
        ("Group Create Message", None),
        ("Group Settings Update", None),
        ("Group Remove Participants", None),
    ];
    let examples = schema::webhook_examples();
    assert_eq!(
        examples.len(),
        expected.len(),
        "the spec's examples changed"
    );
    for (i, (name, text)) in expected.iter().enumerate() {
        let body = examples
            .get(*name)
            .unwrap_or_else(|| panic!("no example {name}"));
        let number = format!("2000{i}");
        let ch = wa_channel(&app, &graph, &number);
        deliver(
            &app,
            &for_number(&serde_json::to_vec(body).expect("json"), &number),
        );
        let n = query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE channel_id = ?1",
            ch,
        );
        match text {
            Some(t) => {
                assert_eq!(n, 1, "{name}");
                let conv = conversation_on(&app, ch);
                let msgs = messages_of(&app, conv["id"].as_i64().expect("id"));
                assert_eq!(msgs[0]["text"], *t, "{name}");
            }
            None => assert_eq!(n, 0, "{name}"),
        }
    }
    // The number change follows the customer: the new number is one of their identities.
    let outcomes = app
        .store
        .read_blocking(|c| {
            let mut s = c.prepare("SELECT outcome FROM wa_webhooks ORDER BY id")?;
            let rows = s.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("outcomes");
    assert!(
        outcomes[13].contains("ignored: field group_lifecycle_update"),
        "{}",
        outcomes[13]
    );
    let changed = query_i64(
        &app,
        "SELECT COUNT(*) FROM contact_identities WHERE kind = 'wa_id' AND identifier = '12195555358' AND ?1 = ?1",
        0,
    );
    assert_eq!(changed, 1);
}

fn text_message(number: &str, wamid: &str, from: &str, text: &str, ts: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": number},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": ts.to_string(), "type": "text", "text": {"body": text}}]}}]}]})
}

#[test]
fn hostile_and_odd_bodies_are_kept_never_5xx() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "4000");
    let now = teaminbox::domain::time::now_ms() / 1000;
    let signed = |b: &[u8]| post_hook(&app, b, Some(&sign(SECRET, b)));
    // Truncated JSON, not WhatsApp, not UTF-8: kept and acknowledged, nothing else.
    let truncated =
        &serde_json::to_vec(&text_message("4000", "w.t", "1555", "hi", now)).expect("json")[..60];
    for body in [
        truncated,
        br#"{"hello": 1}"#.as_slice(),
        b"\xff\xfe\x00garbage".as_slice(),
        b"".as_slice(),
    ] {
        signed(body).expect(200);
    }
    wait_processed(&app);
    assert_eq!(app.count("wa_webhooks"), 4);
    assert_eq!(app.count("messages"), 0);
    // Over the 4 MiB limit: 413, not kept.
    let huge = vec![b' '; (4 << 20) + 1];
    post_hook(&app, &huge, Some(&sign(SECRET, &huge))).expect_error(413, "payload_too_large");
    assert_eq!(app.count("wa_webhooks"), 4);
    // 3 MB, most of it in a field we do not know.
    let mut big = text_message("4000", "w.big", "1555", "big one", now);
    big["entry"][0]["changes"][0]["value"]["padding"] = json!("x".repeat(3_000_000));
    deliver(&app, &serde_json::to_vec(&big).expect("json"));
    // Unknown types and fields, an unknown field of the change, a status for a message not ours.
    let mut odd = text_message("4000", "w.odd", "1555", "", now);
    odd["entry"][0]["changes"][0]["value"]["messages"][0] = json!({"from": "1555", "id": "w.odd", "timestamp": now.to_string(), "type": "hologram", "hologram": {"x": 1}, "new_field": [1]});
    odd["entry"][0]["changes"][0]["value"]["statuses"] =
        json!([{"id": "wamid.not-ours", "status": "read", "timestamp": "1"}]);
    odd["entry"][0]["changes"]
        .as_array_mut()
        .expect("changes")
        .push(json!({"field": "account_update", "value": {"event": "X"}}));
    odd["entry"][0]["future"] = json!({"a": null});
    deliver(&app, &serde_json::to_vec(&odd).expect("json"));
    // Duplicate delivery, five times.
    let dup =
        serde_json::to_vec(&text_message("4000", "w.dup", "1666", "again?", now)).expect("json");
    for _ in 0..5 {
        deliver(&app, &dup);
    }
    // 1000 messages in one POST, from 50 customers.
    let mut bulk = text_message("4000", "w.0", "1700", "", now);
    let value = &mut bulk["entry"][0]["changes"][0]["value"];
    value["contacts"] = json!(
        (0..50)
            .map(
                |c| json!({"profile": {"name": format!("Bulk {c}")}, "wa_id": format!("17{c:03}")})
            )
            .collect::<Vec<_>>()
    );
    value["messages"] = json!(
        (0..1000)
            .map(
                |i| json!({"from": format!("17{:03}", i % 50), "id": format!("w.bulk.{i}"),
        "timestamp": now.to_string(), "type": "text", "text": {"body": format!("bulk {i}")}})
            )
            .collect::<Vec<_>>()
    );
    deliver(&app, &serde_json::to_vec(&bulk).expect("json"));
    // An image whose media is gone.
    let mut gone = text_message("4000", "w.gone", "1555", "", now);
    gone["entry"][0]["changes"][0]["value"]["messages"][0] = json!({"from": "1555", "id": "w.gone", "timestamp": now.to_string(), "type": "image", "image": {"id": "gone", "mime_type": "image/jpeg", "sha256": "x"}});
    deliver(&app, &serde_json::to_vec(&gone).expect("json"));

    let on_channel = |sql| query_i64(&app, sql, ch);
    assert_eq!(
        on_channel("SELECT COUNT(*) FROM messages WHERE channel_id = ?1"),
        1 + 1 + 1 + 1000 + 1
    );
    assert_eq!(
        on_channel("SELECT COUNT(*) FROM messages WHERE channel_id = ?1 AND external_id = 'w.dup'"),
        1
    );
    assert_eq!(
        on_channel("SELECT COUNT(DISTINCT contact_id) FROM conversations WHERE channel_id = ?1"),
        1 + 1 + 50
    );
    let odd_text: String = app
        .store
        .read_blocking(|c| {
            c.query_row(
                "SELECT text FROM messages WHERE external_id = 'w.odd'",
                [],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("odd");
    assert_eq!(odd_text, "[hologram message, not shown here]");
    app.wait_until("gone media given up", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM wa_media WHERE state = 'failed' AND ?1 = ?1",
            0,
        ) == 1
    });
    let gone_id = query_i64(
        &app,
        "SELECT id FROM messages WHERE external_id = 'w.gone' AND ?1 = ?1",
        0,
    );
    app.api
        .get(
            &format!("/api/v1/messages/{gone_id}/media"),
            &app.owner.token,
        )
        .expect_error(422, "media_unavailable");
    // Every body was kept; the unreadable ones say why.
    let not_understood = query_i64(
        &app,
        "SELECT COUNT(*) FROM wa_webhooks WHERE outcome LIKE 'not understood%' AND ?1 = ?1",
        0,
    );
    assert_eq!(not_understood, 4);
}

#[test]
fn a_kept_body_is_processed_after_a_restart() {
    let mut app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "5000");
    let body = for_number(&sample("01_text.json"), "5000");
    // As if the process died right after answering 200.
    app.store
        .write_blocking(move |c| {
            let verified = [teaminbox::domain::ChannelId(ch)];
            teaminbox::service::webhooks::accept(c, &body, &verified, 0)
        })
        .expect("accept");
    app.restart();
    wait_processed(&app);
    let conv = conversation_on(&app, ch);
    assert_eq!(messages_of(&app, conv["id"].as_i64().expect("id")).len(), 1);
}

#[test]
fn media_is_stored_and_served_only_to_staff_who_see_the_conversation() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "6000");
    deliver(&app, &for_number(&sample("03_image.json"), "6000"));
    app.wait_until("media stored", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM wa_media WHERE state = 'done' AND channel_id = ?1",
            ch,
        ) == 1
    });
    let conv = conversation_on(&app, ch);
    let id = conv["id"].as_i64().expect("id");
    let mid = messages_of(&app, id)[0]["id"].as_i64().expect("message id");
    app.claim(id, &app.ana);
    let fetch = |token: &str| {
        app.api
            .client
            .get(format!("{}/api/v1/messages/{mid}/media", app.api.base))
            .bearer_auth(token)
            .send()
            .expect("request")
    };
    let ok = fetch(&app.ana.token);
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.headers()["content-type"], "image/jpeg");
    assert_eq!(
        ok.bytes().expect("bytes").to_vec(),
        fake::media_bytes("1003383421387256")
    );
    assert_eq!(fetch(&app.owner.token).status().as_u16(), 200);
    // Bruno sees only his own and the pool; Ana owns this one.
    assert_eq!(fetch(&app.bruno.token).status().as_u16(), 404);
    assert_eq!(fetch("not a token").status().as_u16(), 401);
    let on_disk = app.dir.path().join(format!("media/{ch}/{mid}.jpg"));
    assert_eq!(
        std::fs::read(on_disk).expect("file"),
        fake::media_bytes("1003383421387256")
    );
}

#[test]
fn the_queue_flags_windows_closing_within_two_hours() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "7000");
    let now = teaminbox::domain::time::now_ms() / 1000;
    deliver(
        &app,
        &serde_json::to_vec(&text_message("7000", "w.1", "1888", "old", now - 23 * 3600))
            .expect("json"),
    );
    let conv = conversation_on(&app, ch);
    assert_eq!(conv["window_closing"], true, "{conv}");
    let listed = app
        .api
        .get("/api/v1/conversations?view=all", &app.owner.token)
        .expect(200);
    assert_eq!(listed["items"][0]["window_closing"], true);
    deliver(
        &app,
        &serde_json::to_vec(&text_message("7000", "w.2", "1888", "new", now - 60)).expect("json"),
    );
    assert_eq!(conversation_on(&app, ch)["window_closing"], false);
}

#[test]
fn a_body_that_cannot_be_processed_does_not_hold_up_the_next() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel(&app, &graph, "4100");
    let now = teaminbox::domain::time::now_ms() / 1000;
    let first =
        serde_json::to_vec(&text_message("4100", "w.stuck", "1555", "one", now)).expect("json");
    let second =
        serde_json::to_vec(&text_message("4100", "w.next", "1556", "two", now)).expect("json");
    // The first body can never be marked processed (as a corrupt row or a failing disk page
    // would make it); the one after it must land all the same.
    app.store
        .write_blocking(|c| {
            c.execute_batch(
                "CREATE TRIGGER stuck BEFORE UPDATE OF processed_at ON wa_webhooks
                 WHEN NEW.id = (SELECT MIN(id) FROM wa_webhooks)
                 BEGIN SELECT RAISE(ABORT, 'this body cannot be processed'); END;",
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("trigger");
    for body in [&first, &second] {
        post_hook(&app, body, Some(&sign(SECRET, body))).expect(200);
    }
    app.wait_until("the second body's message lands", || {
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'w.next' AND ?1 = ?1",
            0,
        ) == 1
    });
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'w.stuck' AND ?1 = ?1",
            0
        ),
        0,
        "the failed body's work was rolled back"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM wa_webhooks WHERE processed_at IS NULL AND ?1 = ?1",
            0
        ),
        1,
        "the failed body stays kept for the sweep"
    );
}
