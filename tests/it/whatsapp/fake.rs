//! A loopback stand-in for Meta's Graph API: records every request and answers sends from a
//! script (then 200 with a fresh wamid), media lookups with a URL on itself, and downloads with
//! a few known bytes. An accepted send names its recipient as Meta does
//! (`contacts[0].input` echoes `to`, `contacts[0].wa_id` its digits unless scripted otherwise),
//! and a scripted answer can be held back until the test releases it.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::{Value, json};

use crate::support::{self, WAIT, read_request};

/// How the fake answers a send.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status and JSON body.
    Json(u16, Value),
    /// Read the request, then close the connection without a word (a lost answer).
    Drop,
    /// This answer, given only once the test calls [`FakeGraph::release`] (a slow answer).
    Held(Box<Answer>),
}

impl Answer {
    /// Meta's error envelope with `code`.
    pub fn error(http: u16, code: i64, message: &str) -> Answer {
        Answer::Json(
            http,
            json!({"error": {"message": message, "type": "OAuthException", "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message}, "fbtrace_id": "Afake"}}),
        )
    }

    /// An accepted send with this wamid (the recipient's `wa_id` is the digits of `to`).
    pub fn accepted(wamid: &str) -> Answer {
        Answer::Json(
            200,
            json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}),
        )
    }

    /// An accepted send whose recipient WhatsApp knows as `wa_id` (Brazil's number without the
    /// ninth digit, say), whatever `to` was.
    pub fn accepted_as(wamid: &str, wa_id: &str) -> Answer {
        Answer::Json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"wa_id": wa_id}],
                "messages": [{"id": wamid}]}),
        )
    }
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A message send (not a read receipt).
    pub fn is_send(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/messages") && self.json()["status"].is_null()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    requests: Vec<Request>,
    sent: usize,
    released: bool,
}

/// The fake server.
#[derive(Clone)]
pub struct FakeGraph {
    /// `http://127.0.0.1:<port>/v23.0`: the channel's `graph_api_base`.
    pub base: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

/// What a downloaded media file contains.
pub fn media_bytes(media_id: &str) -> Vec<u8> {
    format!("fake media {media_id}").into_bytes()
}

impl FakeGraph {
    pub fn start(script: Vec<Answer>) -> FakeGraph {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let root = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new((
            Mutex::new(State {
                script: script.into(),
                ..State::default()
            }),
            Condvar::new(),
        ));
        let (s, r) = (state.clone(), root.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, r) = (s.clone(), r.clone());
                std::thread::spawn(move || handle(stream, s, &r));
            }
        });
        FakeGraph {
            base: format!("{root}/v23.0"),
            state,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.0.lock().expect("lock").requests.clone()
    }

    /// The bodies of message sends (`POST …/messages`, read receipts left out), in order.
    pub fn sends(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|r| r.is_send())
            .map(Request::json)
            .collect()
    }

    /// Waits until `check` holds for the recorded requests.
    #[track_caller]
    pub fn wait(&self, what: &str, check: impl Fn(&[Request]) -> bool) {
        let (lock, cv) = &*self.state;
        let guard = lock.lock().expect("lock");
        let (_g, t) = cv
            .wait_timeout_while(guard, WAIT, |st| !check(&st.requests))
            .expect("wait");
        assert!(!t.timed_out(), "timed out waiting for {what}");
    }

    /// Lets held answers go (and every later one at once).
    pub fn release(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().expect("lock").released = true;
        cv.notify_all();
    }

    /// Waits for `n` message sends.
    #[track_caller]
    pub fn wait_sends(&self, n: usize) {
        self.wait(&format!("{n} sends"), |rs| {
            rs.iter().filter(|r| r.is_send()).count() >= n
        });
    }
}

/// An accepted send's `contacts[0]` as Meta gives it: `input` echoes `to`, `wa_id` is its
/// digits unless the script named another.
fn name_recipient(answer: Answer, request: &[u8]) -> Answer {
    let to = serde_json::from_slice::<Value>(request)
        .ok()
        .and_then(|v| v["to"].as_str().map(str::to_string));
    match (answer, to) {
        (Answer::Json(status, mut v), Some(to)) if (200..300).contains(&status) => {
            let digits: String = to.chars().filter(char::is_ascii_digit).collect();
            if v["contacts"][0].is_null() {
                v["contacts"] = json!([{}]);
            }
            let c = &mut v["contacts"][0];
            c["input"] = json!(to);
            if c["wa_id"].is_null() {
                c["wa_id"] = json!(digits);
            }
            Answer::Json(status, v)
        }
        (Answer::Held(inner), _) => Answer::Held(Box::new(name_recipient(*inner, request))),
        (answer, _) => answer,
    }
}

fn handle(stream: TcpStream, state: Arc<(Mutex<State>, Condvar)>, root: &str) {
    let Some(support::Request {
        method,
        path,
        headers,
        body,
    }) = read_request(&stream)
    else {
        return;
    };
    let (lock, cv) = &*state;
    let mut st = lock.lock().expect("lock");
    let answer = if method == "POST" && path.ends_with("/messages") {
        let is_read = serde_json::from_slice::<Value>(&body)
            .map(|v| v["status"] == "read")
            .unwrap_or(false);
        if is_read {
            Answer::Json(200, json!({"success": true}))
        } else {
            st.sent += 1;
            let n = st.sent;
            let answer = st
                .script
                .pop_front()
                .unwrap_or_else(|| Answer::accepted(&format!("wamid.fake.{n}")));
            name_recipient(answer, &body)
        }
    } else if let Some(id) = path.strip_prefix("/download/") {
        let mut s = stream;
        let bytes = media_bytes(id);
        st.requests.push(Request {
            method,
            path: path.clone(),
            headers,
            body,
        });
        cv.notify_all();
        drop(st);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bytes.len()
        );
        let _ = s.write_all(&bytes);
        return;
    } else if method == "GET" && path.contains("/message_templates") {
        if path.contains("after=page2") {
            Answer::Json(
                200,
                json!({"data": [{"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                    "components": [{"type": "BODY", "text": "Hello World"}]}], "paging": {}}),
            )
        } else {
            Answer::Json(
                200,
                json!({"data": [{"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                    "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped"}], "id": "1"}],
                    "paging": {"next": format!("{root}/v23.0/419561257915477/message_templates?after=page2")}}),
            )
        }
    } else if method == "GET" {
        // GET /v23.0/{media-id}?phone_number_id=…
        let id = path
            .trim_start_matches("/v23.0/")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        if id == "gone" {
            Answer::error(404, 100, "media not found")
        } else {
            Answer::Json(
                200,
                json!({"messaging_product": "whatsapp", "url": format!("{root}/download/{id}"),
                    "mime_type": "image/jpeg", "sha256": "x", "file_size": media_bytes(&id).len().to_string(), "id": id}),
            )
        }
    } else {
        Answer::error(404, 100, "unknown path")
    };
    st.requests.push(Request {
        method,
        path,
        headers,
        body,
    });
    cv.notify_all();
    drop(st);
    let mut stream = stream;
    let answer = match answer {
        Answer::Held(inner) => {
            let (lock, cv) = &*state;
            let guard = lock.lock().expect("lock");
            let _released = cv.wait_while(guard, |st| !st.released).expect("wait");
            *inner
        }
        other => other,
    };
    match answer {
        Answer::Drop => {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Answer::Held(_) => unreachable!("a held answer is unwrapped above"),
        Answer::Json(status, v) => {
            let b = v.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                b.len()
            );
        }
    }
}
