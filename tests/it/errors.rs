//! Errors and request ids over real HTTP: every response names its request in `X-Request-Id`
//! (a sane incoming id is kept, anything else replaced), a 500 hides its cause but names the
//! request in the JSON and on the page, and a webhook that cannot be stored is a 503.

use reqwest::Method;
use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderValue;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::support::{FakeCallback, PASSWORD, TestApp};
use crate::whatsapp::{SECRET, VERIFY, post_hook};
use teaminbox::channels::whatsapp::webhook::sign;

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The response's request id.
#[track_caller]
fn id_of(r: &Response) -> String {
    r.headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id on {} {}", r.status(), r.url()))
        .to_str()
        .expect("ascii")
        .to_string()
}

fn is_new_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Makes every insert into `table` fail inside the database, as a full disk would.
fn break_inserts(app: &TestApp, table: &str) {
    let sql = format!(
        "CREATE TRIGGER broken_{table} BEFORE INSERT ON {table} \
         BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END;"
    );
    app.store
        .write_blocking(move |c| {
            c.execute_batch(&sql)
                .map_err(teaminbox::store::StoreError::from)
        })
        .expect("trigger");
}

#[test]
fn every_response_names_its_request() {
    let app = TestApp::spawn();
    let base = &app.api.base;
    let c = client();
    let token = format!("Bearer {}", app.owner.token);
    let cases: Vec<(&str, reqwest::blocking::RequestBuilder, u16)> = vec![
        (
            "an API call",
            c.get(format!("{base}/api/v1/me"))
                .header("Authorization", &token),
            200,
        ),
        (
            "an unknown path",
            c.get(format!("{base}/api/v1/nothing")),
            404,
        ),
        ("no credentials", c.get(format!("{base}/api/v1/me")), 401),
        ("a page", c.get(format!("{base}/login")), 200),
        (
            "a page that needs a session",
            c.get(format!("{base}/")),
            303,
        ),
        (
            "an asset",
            c.get(format!("{base}/assets/manifest.webmanifest")),
            200,
        ),
        (
            "a compressed asset",
            c.get(format!("{base}/assets/app.js"))
                .header("Accept-Encoding", "gzip"),
            200,
        ),
        (
            "a bad body",
            c.post(format!("{base}/api/v1/conversations/1/notes"))
                .header("Authorization", &token)
                .header("Content-Type", "application/json")
                .body("{not json"),
            0,
        ),
    ];
    let mut seen = Vec::new();
    for (what, req, status) in cases {
        let r = req.send().expect(what);
        if status != 0 {
            assert_eq!(r.status().as_u16(), status, "{what}");
        }
        assert!(!r.status().is_server_error(), "{what}: {}", r.status());
        let id = id_of(&r);
        assert!(is_new_id(&id), "{what}: {id}");
        seen.push(id);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "ids differ: {seen:?}");
}

#[test]
fn a_sane_incoming_id_is_kept_and_anything_else_replaced() {
    let app = TestApp::spawn();
    let base = &app.api.base;
    let c = client();
    for kept in ["edge-7f3a.b_C", "a".repeat(64).as_str(), "1"] {
        let r = c
            .get(format!("{base}/api/v1/nothing"))
            .header("X-Request-Id", kept)
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 404);
        assert_eq!(id_of(&r), kept);
    }
    let replaced: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&"a".repeat(65)).expect("value"),
        HeaderValue::from_bytes(b"tab\there").expect("value"),
        HeaderValue::from_bytes(b"not\xffascii").expect("value"),
        HeaderValue::from_static("a b"),
        HeaderValue::from_static("../../etc/passwd"),
        HeaderValue::from_static("id\"quoted"),
        HeaderValue::from_static(""),
    ];
    for bad in replaced {
        let r = c
            .get(format!("{base}/login"))
            .header("X-Request-Id", bad.clone())
            .send()
            .expect("get");
        assert_eq!(r.status().as_u16(), 200, "{bad:?}");
        let id = id_of(&r);
        assert!(is_new_id(&id), "{bad:?} gave {id}");
    }
}

/// Logs in through the form; returns (session cookie, CSRF token of `page`).
fn session(app: &TestApp, email: &str, page: &str) -> (String, String) {
    let c = client();
    let r = c
        .post(format!("{}/login", app.api.base))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .expect("login");
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let html = c
        .get(format!("{}{page}", app.api.base))
        .header("Cookie", &cookie)
        .send()
        .expect("page")
        .text()
        .expect("html");
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    (cookie, html[i..i + 40].to_string())
}

#[test]
fn a_fault_of_ours_hides_its_cause_and_names_the_request_in_json_and_html() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let (cookie, csrf) = session(&app, "olga@shop.test", &format!("/c/{conv}"));
    break_inserts(&app, "notes");
    let base = &app.api.base;
    let c = client();

    let r = c
        .post(format!("{base}/api/v1/conversations/{conv}/notes"))
        .bearer_auth(&app.owner.token)
        .json(&json!({"text": "a note"}))
        .header("X-Request-Id", "support-ticket-42")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(id_of(&r), "support-ticket-42");
    let body: Value = r.json().expect("json");
    assert_eq!(body["error"]["code"], "internal", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("(request support-ticket-42)"), "{message}");
    assert!(
        !body.to_string().contains("fire"),
        "the cause stays in the log: {body}"
    );

    let r = c
        .post(format!("{base}/c/{conv}/note"))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("text", "a note from the page")])
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 500);
    let id = id_of(&r);
    let html = r.text().expect("html");
    assert!(html.contains(&format!("(request {id})")), "{html}");
    assert!(!html.contains("fire"), "the cause stays in the log");
    assert_eq!(app.count("notes"), 0);
}

#[test]
fn a_webhook_that_cannot_be_stored_is_503_unavailable() {
    let app = TestApp::spawn();
    app.api
        .post(
            "/api/v1/channels",
            &app.owner.token,
            json!({"kind": "whatsapp", "name": "WhatsApp", "config": {
                "phone_number_id": "106540352242922", "waba_id": "419561257915477",
                "access_token": "EAAG-test-token", "app_secret": SECRET, "verify_token": VERIFY,
                "graph_api_base": "http://127.0.0.1:9"}}),
        )
        .expect(201);
    break_inserts(&app, "wa_webhooks");
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let r = post_hook(&app, body, Some(&sign(SECRET, body)));
    assert!(r.headers.contains_key("x-request-id"));
    let err = r.expect_error(503, "unavailable");
    assert_eq!(
        err["error"]["message"],
        "the webhook could not be stored; try again"
    );
    // Still 401 before anything is stored when unsigned: the order of checks is unchanged.
    let r = app.api.raw(
        Method::POST,
        "/webhooks/whatsapp",
        None,
        Some(body.to_vec()),
    );
    r.expect_error(401, "unauthenticated");
}
