//! The event stream (`GET /api/v1/events`) as a test reads it: frames parsed on a thread and
//! handed over a channel, so a test awaits the frame it needs instead of polling.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, channel};

use serde_json::Value;

use super::{Api, WAIT};

/// One SSE frame: id (if any), event kind and parsed data.
#[derive(Debug)]
pub struct Frame {
    pub id: Option<i64>,
    pub kind: String,
    pub data: Value,
}

/// Opens a stream as `token` (replaying after `last_event_id` when given) and reads its frames
/// on a thread; the receiver disconnects when the server ends the stream.
#[track_caller]
pub fn open(api: &Api, token: &str, last_event_id: Option<i64>) -> Receiver<Frame> {
    let client = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .expect("client");
    let mut req = client
        .get(format!("{}/api/v1/events", api.base))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.send().expect("stream");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream"),
        "content type"
    );
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(resp).lines();
        let (mut id, mut kind, mut data) = (None, String::new(), String::new());
        while let Some(Ok(line)) = lines.next() {
            if line.is_empty() {
                if !kind.is_empty() {
                    let frame = Frame {
                        id,
                        kind: kind.clone(),
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    };
                    if tx.send(frame).is_err() {
                        return;
                    }
                }
                (id, kind, data) = (None, String::new(), String::new());
            } else if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                kind = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    });
    rx
}

/// The next frame of `kind`, skipping others; the skipped kinds are returned too.
#[track_caller]
pub fn next_of(rx: &Receiver<Frame>, kind: &str) -> (Frame, Vec<String>) {
    next_where(rx, kind, |_| true)
}

/// The next frame of `kind` whose data satisfies `pred`, skipping others; the skipped kinds are
/// returned too. Fails after [`WAIT`] without one.
#[track_caller]
pub fn next_where(
    rx: &Receiver<Frame>,
    kind: &str,
    pred: impl Fn(&Value) -> bool,
) -> (Frame, Vec<String>) {
    let mut skipped = Vec::new();
    // One deadline for the whole wait: a stream that keeps sending other frames must not keep
    // a test waiting forever.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let f = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no matching {kind} event; saw {skipped:?}"));
        if f.kind == kind && pred(&f.data) {
            return (f, skipped);
        }
        skipped.push(f.kind);
    }
}
