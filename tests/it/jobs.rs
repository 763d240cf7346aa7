//! The server's lifecycle with its background jobs: a stop ends every open event stream cleanly
//! (so a restart or an update does not wait out a timeout) and the process exits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Api, PASSWORD, WAIT, cli_add_user, free_port};

/// Opens `GET /api/v1/events` over a bare socket (no compression, so the chunked framing of
/// the response is visible) and reads until the stream says it is connected.
fn open_stream(port: u16, token: &str) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(
        s,
        "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(": connected") {
        let n = s.read(&mut buf).expect("read the stream's start");
        assert!(n > 0, "the stream closed before it connected");
        seen.extend_from_slice(&buf[..n]);
    }
    (s, seen)
}

#[test]
fn sigterm_ends_open_event_streams_cleanly_and_the_process_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_teaminbox");
    cli_add_user(dir.path(), "olga@shop.test", "owner", &[]);

    let port = free_port();
    let mut server = Command::new(bin)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("TEAMINBOX_DATA", dir.path())
        .env("TEAMINBOX_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let api = Api::new(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + WAIT;
    let token = loop {
        // The process gives no readiness signal to await; ask until it answers.
        if let Ok(r) = api
            .client
            .post(format!("{}/api/v1/auth/token", api.base))
            .json(&json!({"email": "olga@shop.test", "password": PASSWORD}))
            .send()
            && r.status().as_u16() == 201
        {
            let v: serde_json::Value = r.json().expect("json");
            break v["token"].as_str().expect("token").to_string();
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(25));
    };
    let (mut stream, mut seen) = open_stream(port, &token);

    let term = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // Read to the end: a stream the server ended finishes with the last chunk ("0\r\n\r\n"); one
    // cut off when a shutdown timeout runs out ends without it (or with a reset).
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "the event stream was cut off instead of ended: {e}; got {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.ends_with("0\r\n\r\n"),
        "the event stream did not end cleanly: {text:?}"
    );
    let status = server.wait().expect("wait");
    eprintln!("stopped {:?} after SIGTERM", term.elapsed());
    assert!(status.success(), "teaminbox exited with {status}");
}
