//! The durable outbox: signed callbacks, retries with backoff, bounded failure, exactly-once
//! after success, and delivery after the process is killed (with the real binary).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::sse::{next_where, open};
use crate::support::{Api, FakeCallback, PASSWORD, Reply, TestApp, WAIT, cli_add_user, free_port};

fn message_status(app: &TestApp, conv: i64, id: i64) -> Value {
    app.timeline(conv)
        .into_iter()
        .find(|i| i["type"] == "message" && i["id"] == id)
        .expect("message in timeline")
}

fn claim_and_reply(app: &TestApp, conv: i64, text: &str) -> i64 {
    app.claim(conv, &app.ana);
    app.reply(conv, &app.ana, text)
}

#[test]
fn retries_5xx_then_delivers_exactly_once_signed() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[Reply::Status(500), Reply::Status(500)]);
    let (_, secret, conv) = app.conversation(&cb.url);
    let id = claim_and_reply(&app, conv, "Your order shipped");
    cb.wait_for(3);
    app.wait_until("delivered status", || {
        message_status(&app, conv, id)["status"] == "delivered"
    });
    assert_eq!(cb.answered(500), 2);
    assert_eq!(cb.answered(200), 1);
    let requests = cb.requests();
    assert_eq!(requests.len(), 3, "no send after the success");
    for (headers, body, _) in &requests {
        let sig = headers
            .iter()
            .find(|(k, _)| k == "x-teaminbox-signature")
            .map(|(_, v)| v.clone())
            .expect("signed");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(body);
        assert_eq!(
            sig,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        let v: Value = serde_json::from_slice(body).expect("json body");
        assert_eq!(v["message"]["text"], "Your order shipped");
        assert_eq!(v["contact"]["identifier"], "cust-1");
        assert_eq!(v["author"]["name"], "Ana");
    }
    let ids: Vec<_> = requests
        .iter()
        .map(|(h, _, _)| {
            h.iter()
                .find(|(k, _)| k == "x-teaminbox-delivery")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert!(
        ids.iter().all(|i| i.is_some() && *i == ids[0]),
        "one delivery id for every attempt"
    );
    assert_eq!(
        app.count_kind(conv, "message.status"),
        0,
        "status events are not shown in the timeline (the message carries its status)"
    );
}

#[test]
fn gives_up_after_the_bound_with_a_reason() {
    let app = TestApp::spawn();
    // The test config allows 4 attempts.
    let cb = FakeCallback::start(&[Reply::Status(503); 10]);
    let (_, _, conv) = app.conversation(&cb.url);
    let id = claim_and_reply(&app, conv, "Anyone there?");
    app.wait_until("failed status", || {
        message_status(&app, conv, id)["status"] == "failed"
    });
    let m = message_status(&app, conv, id);
    let reason = m["error"]["message"].as_str().expect("reason");
    assert!(
        reason.contains("4 attempts") && reason.contains("503"),
        "{reason}"
    );
    assert_eq!(cb.requests().len(), 4);
}

#[test]
fn unreachable_callback_is_retried_not_lost() {
    let app = TestApp::spawn();
    // Reserve a port, then free it: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (_, _, conv) = app.conversation(&format!("http://127.0.0.1:{port}/cb"));
    let id = claim_and_reply(&app, conv, "hello?");
    app.wait_until("failed status", || {
        message_status(&app, conv, id)["status"] == "failed"
    });
    let reason = message_status(&app, conv, id)["error"]["message"]
        .as_str()
        .expect("reason")
        .to_string();
    assert!(reason.contains("could not be reached"), "{reason}");
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(data: &std::path::Path, port: u16) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("TEAMINBOX_DATA", data)
        .env("TEAMINBOX_OUTBOX_RETRY_BASE_MS", "20")
        .env("TEAMINBOX_OUTBOX_MAX_ATTEMPTS", "50")
        .env("TEAMINBOX_OUTBOX_TIMEOUT_MS", "60000")
        .env("TEAMINBOX_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start teaminbox");
    Proc(child)
}

fn wait_healthy(api: &Api) {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = api.client.get(format!("{}/healthz", api.base)).send()
            && r.status().is_success()
        {
            return;
        }
        // The process gives no readiness signal we can await; poll its health endpoint.
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("teaminbox did not become healthy");
}

#[test]
fn a_killed_process_delivers_after_restart_and_the_cli_manages_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let add = |email: &str, role: &str| cli_add_user(dir.path(), email, role, &["Sales"]);
    assert!(add("owner@shop.test", "owner").contains("created"));
    add("ana@shop.test", "agent");
    let list = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(["user", "list", "--data"])
        .arg(dir.path())
        .output()
        .expect("list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("ana@shop.test") && list.contains("Sales"),
        "{list}"
    );

    let cb = FakeCallback::start(&[Reply::Hang]);
    let port = free_port();
    let api = Api::new(&format!("http://127.0.0.1:{port}"));
    let first = binary(dir.path(), port);
    wait_healthy(&api);
    let login = |email: &str| {
        api.raw(
            reqwest::Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": email, "password": PASSWORD})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect(201)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let owner = login("owner@shop.test");
    let ana = login("ana@shop.test");
    let ch = api
        .post(
            "/api/v1/channels",
            &owner,
            json!({"kind": "api", "name": "Web", "config": {"callback_url": cb.url}}),
        )
        .expect(201);
    let secret = ch["secret"].as_str().expect("secret");
    let conv = api
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{}/inbound", ch["id"]),
            Some(secret),
            Some(
                json!({"external_id": "k1", "contact": {"identifier": "c"}, "text": "hi"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    api.post(
        &format!("/api/v1/conversations/{conv}/claim"),
        &ana,
        json!({}),
    )
    .expect(200);
    let reply = api
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &ana,
            json!({"text": "queued before the crash"}),
        )
        .expect(201)["id"]
        .clone();
    // The first attempt is in flight (the callback holds it) when the process dies.
    cb.wait_for(1);
    drop(first);
    cb.release();
    let second = binary(dir.path(), port);
    wait_healthy(&api);
    cb.wait_for(2);
    // The stream replays every event after id 0, so a status that landed before it opened
    // still arrives; the wait is on the `message.status` frame, not a poll of the timeline.
    let events = open(&api, &ana, Some(0));
    let (delivered, _) = next_where(&events, "message.status", |d| {
        d["data"]["message_id"] == reply && d["data"]["status"] == "delivered"
    });
    assert_eq!(delivered.data["conversation_id"], conv);
    let out = api
        .get(&format!("/api/v1/conversations/{conv}/timeline"), &ana)
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["direction"] == "out")
        .cloned()
        .expect("reply");
    assert_eq!(out["status"], "delivered", "{out}");
    assert_eq!(cb.answered(200), 1, "delivered exactly once");
    // Disabling through the CLI signs the user out at once.
    let st = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(["user", "disable", "--email", "ana@shop.test"])
        .env("TEAMINBOX_DATA", dir.path())
        .status()
        .expect("disable");
    assert!(st.success());
    api.get("/api/v1/me", &ana)
        .expect_error(401, "unauthenticated");
    drop(second);
}
