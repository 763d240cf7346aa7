//! Open event streams are capped and reaped: beyond a user's cap (or the server's) a stream gets
//! 429 with `Retry-After` and the JSON error, the cap is per user (other users and `/healthz` are
//! unaffected), and a client that closes its streams gets its slots back within seconds — not at
//! the next keep-alive write. Streams here are raw sockets, so a test decides exactly when one
//! closes and closes it cleanly (a FIN after reading everything, as a browser does).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use teaminbox::realtime::StreamLimits;

use crate::support::sse::{next_of, open};
use crate::support::{PASSWORD, TestApp, WAIT};

/// What the server answered to `GET /api/v1/events`, read off a raw socket.
struct Answer {
    status: u16,
    /// Header lines, names lower-cased: `name: value`.
    headers: Vec<String>,
    /// The body read so far (a 429's JSON; a stream's first frame).
    body: String,
    socket: TcpStream,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.headers
            .iter()
            .find_map(|h| h.strip_prefix(prefix.as_str()))
    }

    /// Closes the connection as a browser closing a tab does: everything sent has been read, so
    /// the close is a plain FIN (unread data would make it a reset, which any server notices).
    fn close(self) {
        drop(self.socket);
    }
}

/// Opens `GET /api/v1/events` as `token` on a fresh connection and reads the answer's head, then
/// the body up to the stream's first frame (`: connected`) or, for a refusal, to its end.
#[track_caller]
fn connect(app: &TestApp, token: &str) -> Answer {
    let addr = app.api.base.trim_start_matches("http://").to_string();
    let mut socket = TcpStream::connect(&addr).expect("connect");
    socket.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(
        socket,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let done = |got: &[u8]| {
        let text = String::from_utf8_lossy(got);
        match text.split_once("\r\n\r\n") {
            None => false,
            Some((head, body)) if head.starts_with("HTTP/1.1 200") => {
                // One chunk: `<size>\r\n: connected\nretry: …\n\n\r\n`.
                body.contains(": connected\n") && body.ends_with("\n\n\r\n")
            }
            // A refusal has a length (or closes): read it whole.
            Some((head, body)) => head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|n| n.trim().parse::<usize>().ok())
                .is_some_and(|n| body.len() >= n),
        }
    };
    while !done(&got) {
        let n = socket.read(&mut buf).expect("read the answer");
        assert!(
            n > 0,
            "connection closed early: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .map(|l| match l.split_once(':') {
            Some((n, v)) => format!("{}: {}", n.to_ascii_lowercase(), v.trim()),
            None => l.to_string(),
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
        socket,
    }
}

/// Opens `n` streams as `token`, each answered 200.
#[track_caller]
fn hold(app: &TestApp, token: &str, n: usize) -> Vec<Answer> {
    (0..n)
        .map(|i| {
            let a = connect(app, token);
            assert_eq!(a.status, 200, "stream {} of {n}: {}", i + 1, a.body);
            a
        })
        .collect()
}

/// Asserts the answer is the cap's refusal: 429, `Retry-After` in whole seconds, the JSON error
/// shape with `rate_limited`, and the connection closed after it. Returns the message.
#[track_caller]
fn assert_refused(a: &Answer) -> String {
    assert_eq!(
        a.status, 429,
        "expected the cap's refusal; body: {}",
        a.body
    );
    let retry = a.header("retry-after").expect("Retry-After");
    assert!(
        retry.parse::<u64>().is_ok_and(|s| s >= 1),
        "Retry-After is seconds: {retry}"
    );
    assert_eq!(a.header("connection"), Some("close"), "{:?}", a.headers);
    let body: Value = serde_json::from_str(&a.body).expect("JSON error");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    body["error"]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

/// Opens a stream as `token`, trying again while it is refused (429) until [`WAIT`] has passed:
/// the slot of a closed stream must come back. A refusal closes its connection, so retrying
/// holds nothing; the short pause only keeps the loop from spinning.
#[track_caller]
fn open_once_freed(app: &TestApp, token: &str) -> Answer {
    let deadline = Instant::now() + WAIT;
    loop {
        let a = connect(app, token);
        if a.status != 429 {
            assert_eq!(a.status, 200, "{}", a.body);
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's slot did not come back: {}",
            a.body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn per_user(n: usize) -> impl FnOnce(&mut teaminbox::config::Config) {
    move |c| {
        c.streams = StreamLimits {
            per_user: n,
            total: 100,
            ..StreamLimits::default()
        }
    }
}

#[test]
fn beyond_the_per_user_cap_a_stream_gets_429_with_retry_after() {
    // (configured cap: None for the default, the cap in force)
    for (configured, cap) in [(Some(3), 3), (None, StreamLimits::default().per_user)] {
        let app = match configured {
            Some(n) => TestApp::spawn_with(per_user(n)),
            None => TestApp::spawn(),
        };
        let held = hold(&app, &app.ana.token, cap);
        let message = assert_refused(&connect(&app, &app.ana.token));
        assert!(message.contains(&cap.to_string()), "{message}");
        // The cap is the person's, not the token's: a second token of Ana's is refused too.
        let second = app.api.login(&app.ana.email, PASSWORD).expect(201)["token"]
            .as_str()
            .expect("token")
            .to_string();
        assert_refused(&connect(&app, &second));
        // A refusal did not take a slot: one closed stream makes room for exactly one.
        let mut held = held;
        held.pop().expect("one").close();
        held.push(open_once_freed(&app, &second));
        assert_refused(&connect(&app, &app.ana.token));
    }
}

#[test]
fn closing_streams_frees_their_slots_within_seconds() {
    let app = TestApp::spawn_with(per_user(4));
    for _round in 0..2 {
        let held = hold(&app, &app.ana.token, 4);
        assert_refused(&connect(&app, &app.ana.token));
        for a in held {
            a.close();
        }
        // Every slot comes back (the client sent FIN and nothing else: no write has failed yet).
        let again: Vec<_> = (0..4)
            .map(|_| open_once_freed(&app, &app.ana.token))
            .collect();
        assert_refused(&connect(&app, &app.ana.token));
        for a in again {
            a.close();
        }
    }
}

#[test]
fn another_user_is_unaffected_by_one_users_cap() {
    let app = TestApp::spawn_with(per_user(2));
    let _ana = hold(&app, &app.ana.token, 2);
    assert_refused(&connect(&app, &app.ana.token));
    // Bruno (same team) and the owner open theirs, and Bruno's is live.
    let bruno = open(&app.api, &app.bruno.token, Some(app.last_event_id()));
    let _owner = hold(&app, &app.owner.token, 2);
    app.api
        .put(
            "/api/v1/me/status",
            &app.carla.token,
            json!({"status": "busy"}),
        )
        .expect(200);
    let (status, _) = next_of(&bruno, "user.status");
    assert_eq!(status.data["data"]["to"], "busy");
    assert_refused(&connect(&app, &app.owner.token));
}

#[test]
fn healthz_and_login_answer_while_a_user_holds_the_cap() {
    let app = TestApp::spawn_with(per_user(3));
    let _held = hold(&app, &app.ana.token, 3);
    // A runaway client keeps asking; every refusal closes its connection.
    for _ in 0..50 {
        assert_refused(&connect(&app, &app.ana.token));
    }
    assert_eq!(
        app.api.raw(Method::GET, "/healthz", None, None).expect(200)["status"],
        "ok"
    );
    app.api.login(&app.ana.email, PASSWORD).expect(201);
    app.api.login(&app.bruno.email, PASSWORD).expect(201);
    app.api.get("/api/v1/me", &app.ana.token).expect(200);
}

#[test]
fn the_server_wide_cap_holds_over_all_users_and_frees_too() {
    let app = TestApp::spawn_with(|c| {
        c.streams = StreamLimits {
            per_user: 2,
            total: 3,
            ..StreamLimits::default()
        }
    });
    let mut ana = hold(&app, &app.ana.token, 2);
    let _bruno = hold(&app, &app.bruno.token, 1);
    for who in [&app.carla, &app.owner] {
        let message = assert_refused(&connect(&app, &who.token));
        assert!(message.contains("server"), "{message}");
    }
    ana.pop().expect("one").close();
    let _carla = open_once_freed(&app, &app.carla.token);
    assert_refused(&connect(&app, &app.owner.token));
}

/// Reads `a`'s stream until its body holds `n` `ping` events, and returns the body (the chunk
/// sizes of the chunked encoding included: the frames are checked line by line).
#[track_caller]
fn read_pings(a: &mut Answer, n: usize) -> String {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    // Each frame is one chunk: the body is whole when it ends with a chunk's CRLF.
    while a.body.matches("event: ping\n").count() < n || !a.body.ends_with("\n\n\r\n") {
        let got = a.socket.read(&mut buf).expect("read the stream");
        assert!(got > 0, "the stream ended: {:?}", a.body);
        // Comment lines alone keep the socket busy: give up on the pings after WAIT.
        assert!(
            Instant::now() < deadline,
            "no {n} ping events: {:?}",
            a.body
        );
        a.body.push_str(&String::from_utf8_lossy(&buf[..got]));
    }
    a.body.clone()
}

/// The SSE frames (blank-line separated) in a chunked body that contain `event: ping`.
fn ping_frames(body: &str) -> Vec<Vec<String>> {
    body.split("\n\n")
        .map(|f| {
            f.lines()
                .map(str::to_string)
                // A chunk-size line (hex digits) or the chunk's trailing CRLF is not SSE.
                .filter(|l| !l.is_empty() && !l.trim().chars().all(|c| c.is_ascii_hexdigit()))
                .collect::<Vec<_>>()
        })
        .filter(|f| f.iter().any(|l| l == "event: ping"))
        .collect()
}

#[test]
fn every_stream_gets_a_ping_event_without_an_id_beside_the_comment_line() {
    // A short keep-alive so the test waits for frames, not for 15 s.
    let app = TestApp::spawn_with(|c| c.streams.keepalive = Duration::from_millis(150));
    // (what happens on the stream first, what the body must hold besides the pings)
    let cases: [(&str, Option<&str>); 2] = [
        ("nothing: a stream that has had no event yet", None),
        ("an event with an id, then quiet", Some("id: ")),
    ];
    for (case, before) in cases {
        let mut a = connect(&app, &app.ana.token);
        assert_eq!(a.status, 200, "{case}: {}", a.body);
        if before.is_some() {
            app.api
                .put(
                    "/api/v1/me/status",
                    &app.ana.token,
                    json!({"status": "busy"}),
                )
                .expect(200);
        }
        let body = read_pings(&mut a, 2);
        if let Some(line) = before {
            assert!(
                body.contains(line),
                "{case}: the event is missing: {body:?}"
            );
        }
        let pings = ping_frames(&body);
        assert!(pings.len() >= 2, "{case}: {body:?}");
        for f in pings {
            // The comment line of API.md stays; the ping carries data (or a browser ignores
            // it) and no id, so Last-Event-ID still names the newest real event.
            assert_eq!(
                f,
                [": keep-alive", "event: ping", "data: {}"],
                "{case}: a ping frame"
            );
        }
        a.close();
    }
}
