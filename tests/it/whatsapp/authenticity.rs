//! Webhook authenticity per channel (a body speaks only for the channels whose app secret signed
//! it) and replays (identical bytes kept once). Only HTTP and SQL: these run on any version.

use serde_json::{Value, json};

use super::send::{claimed_conversation, message, reply};
use super::*;
use crate::support::TestApp;

/// The app secret of a second Meta app ("A"); the other channels use [`SECRET`].
const SECRET_A: &str = "app secret of A";
const OUR_WAMID: &str = "wamid.our.reply.1";

/// POSTs `body` signed with `secret`; returns the status and the `received` id (200 only).
fn post_signed(app: &TestApp, body: &[u8], secret: &str) -> (u16, Option<i64>) {
    let r = post_hook(app, body, Some(&sign(secret, body)));
    (r.status.as_u16(), r.body["received"].as_i64())
}

#[track_caller]
fn wait_sent(app: &TestApp, conv: i64, id: i64) {
    app.wait_until("our reply sent", || {
        message(app, conv, id)["status"] == "sent"
    });
}

#[test]
fn a_body_signed_with_another_channels_secret_is_refused_and_nothing_kept() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::accepted(OUR_WAMID)]);
    wa_channel_of_app(&app, &graph, "8100", "waba-a", SECRET_A);
    // B has a conversation with one reply of ours, sent.
    let (b, conv, _) = claimed_conversation(&app, &graph, "8101");
    let sent = reply(&app, conv, json!({"text": "It comes in blue."}));
    wait_sent(&app, conv, sent);
    let (kept, msgs) = (app.count("wa_webhooks"), app.count("messages"));
    let b_waba = "419561257915477";
    // (case, body, signed with): each one names only B (a number or its account) and is not
    // signed by B's app secret.
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "B's message signed by A",
            hook_of(&[text_entry(b_waba, "8101", "w.b.1", "1555", "hi")]),
            SECRET_A,
        ),
        (
            "B's message in A's account entry, signed by A",
            hook_of(&[text_entry("waba-a", "8101", "w.b.2", "1555", "hi")]),
            SECRET_A,
        ),
        (
            "a status of B's message signed by A",
            hook_of(&[status_entry(b_waba, "8101", OUR_WAMID, "read")]),
            SECRET_A,
        ),
        (
            "B's account-level change signed by A",
            hook_of(&[
                json!({"id": b_waba, "changes": [{"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION"}}]}),
            ]),
            SECRET_A,
        ),
        (
            "B's message signed by no channel's secret",
            hook_of(&[text_entry(b_waba, "8101", "w.b.3", "1555", "hi")]),
            "a stranger's secret",
        ),
    ];
    for (case, body, secret) in cases {
        let r = post_hook(&app, body, Some(&sign(secret, body)));
        assert_eq!(r.status.as_u16(), 401, "{case}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "unauthenticated", "{case}");
    }
    assert_eq!(app.count("wa_webhooks"), kept, "nothing kept");
    assert_eq!(app.count("messages"), msgs, "nothing processed");
    assert_eq!(message(&app, conv, sent)["status"], "sent");
    // The same status signed with B's own secret moves B's message.
    let own = hook_of(&[status_entry(b_waba, "8101", OUR_WAMID, "read")]);
    deliver(&app, &own);
    assert_eq!(message(&app, conv, sent)["status"], "read");
    let own = hook_of(&[text_entry(b_waba, "8101", "w.b.1", "1555", "hi")]);
    deliver(&app, &own);
    assert!(has_message(&app, "w.b.1"));
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM messages WHERE channel_id = ?1",
            b
        ),
        3
    );
}

#[test]
fn a_mixed_body_acts_only_on_the_channel_whose_secret_signed_it() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![Answer::accepted(OUR_WAMID)]);
    let a = wa_channel_of_app(&app, &graph, "8200", "waba-a", SECRET_A);
    let (b, conv, _) = claimed_conversation(&app, &graph, "8201");
    let sent = reply(&app, conv, json!({"text": "It comes in blue."}));
    wait_sent(&app, conv, sent);
    // Entries for A and B (a message each, and a status of B's message), signed with A's secret.
    let mixed = hook_of(&[
        text_entry("waba-a", "8200", "w.mix.a", "1555", "for A"),
        text_entry("419561257915477", "8201", "w.mix.b", "1556", "for B"),
        status_entry("419561257915477", "8201", OUR_WAMID, "delivered"),
    ]);
    let (status, id) = post_signed(&app, &mixed, SECRET_A);
    assert_eq!(status, 200);
    wait_processed(&app);
    assert!(has_message(&app, "w.mix.a"), "A's message lands");
    assert!(!has_message(&app, "w.mix.b"), "B's message does not");
    assert_eq!(
        message(&app, conv, sent)["status"],
        "sent",
        "B's delivery status does not move"
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM conversations WHERE channel_id = ?1",
            b
        ),
        1
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM conversations WHERE channel_id = ?1",
            a
        ),
        1
    );
    // Kept exactly as signed.
    let stored: Vec<u8> = app
        .store
        .read_blocking(move |c| {
            c.query_row(
                "SELECT body FROM wa_webhooks WHERE id = ?1",
                [id.expect("id")],
                |r| r.get(0),
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("body");
    assert_eq!(stored, mixed);
    // A body naming only numbers we do not know, signed by A: kept, 200, nothing done.
    let stranger = hook_of(&[text_entry("waba-x", "9999", "w.x", "1557", "?")]);
    assert_eq!(post_signed(&app, &stranger, SECRET_A).0, 200);
    wait_processed(&app);
    assert!(!has_message(&app, "w.x"));
}

#[test]
fn two_numbers_of_one_app_share_its_secret() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let a = wa_channel_of_app(&app, &graph, "8300", "waba-s", SECRET_A);
    let b = wa_channel_of_app(&app, &graph, "8301", "waba-s", SECRET_A);
    // Another app's channel beside them changes nothing.
    wa_channel(&app, &graph, "8302");
    let both = hook_of(&[
        text_entry("waba-s", "8300", "w.s.a", "1555", "to A"),
        text_entry("waba-s", "8301", "w.s.b", "1555", "to B"),
    ]);
    assert_eq!(post_signed(&app, &both, SECRET_A).0, 200);
    wait_processed(&app);
    for ch in [a, b] {
        assert_eq!(
            query_i64(
                &app,
                "SELECT COUNT(*) FROM messages WHERE channel_id = ?1",
                ch
            ),
            1
        );
    }
    // And each alone.
    let one = hook_of(&[text_entry("waba-s", "8301", "w.s.b2", "1555", "B again")]);
    assert_eq!(post_signed(&app, &one, SECRET_A).0, 200);
    wait_processed(&app);
    assert!(has_message(&app, "w.s.b2"));
}

#[test]
fn the_same_bytes_signed_by_each_of_two_apps_reach_both_channels() {
    let mut app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    wa_channel_of_app(&app, &graph, "8400", "waba-t", SECRET_A);
    wa_channel_of_app(&app, &graph, "8401", "waba-t", SECRET);
    let both = hook_of(&[
        text_entry("waba-t", "8400", "w.t.a", "1555", "to A"),
        text_entry("waba-t", "8401", "w.t.b", "1555", "to B"),
    ]);
    let (status, first) = post_signed(&app, &both, SECRET_A);
    assert_eq!(status, 200);
    wait_processed(&app);
    assert!(has_message(&app, "w.t.a") && !has_message(&app, "w.t.b"));
    // The second app's copy: same bytes, same row, now verified for B as well.
    let (status, second) = post_signed(&app, &both, SECRET);
    assert_eq!((status, second), (200, first));
    assert_eq!(app.count("wa_webhooks"), 1);
    // The sweep (it runs at start) processes it again, from what the row records.
    app.restart();
    app.wait_until("B's message lands", || has_message(&app, "w.t.b"));
    assert_eq!(count_sql(&app, "SELECT COUNT(*) FROM messages"), 2);
}

#[test]
fn a_replayed_body_is_kept_once() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    let ch = wa_channel(&app, &graph, "8500");
    let body = for_number(&sample("01_text.json"), "8500");
    let mut ids = Vec::new();
    for _ in 0..100 {
        let (status, id) = post_signed(&app, &body, SECRET);
        assert_eq!(status, 200);
        ids.push(id.expect("received id"));
    }
    wait_processed(&app);
    ids.dedup();
    assert_eq!(ids.len(), 1, "every replay answers with the first one's id");
    assert_eq!(app.count("wa_webhooks"), 1);
    let on_channel = |sql| query_i64(&app, sql, ch);
    assert_eq!(
        on_channel("SELECT COUNT(*) FROM messages WHERE channel_id = ?1"),
        1
    );
    // The same content in other bytes (pretty-printed) is another body, but still one message:
    // messages are deduplicated on their wamid.
    let value: Value = serde_json::from_slice(&body).expect("json");
    let pretty = serde_json::to_vec_pretty(&value).expect("json");
    assert_ne!(pretty, body);
    for _ in 0..3 {
        assert_eq!(post_signed(&app, &pretty, SECRET).0, 200);
    }
    wait_processed(&app);
    assert_eq!(app.count("wa_webhooks"), 2);
    assert_eq!(
        on_channel("SELECT COUNT(*) FROM messages WHERE channel_id = ?1"),
        1
    );
    assert_eq!(
        on_channel("SELECT COUNT(*) FROM conversations WHERE channel_id = ?1"),
        1
    );
}
