//! A recording stand-in for an integrator's callback URL (the API channel's outbound side), and
//! the bare HTTP/1.1 request reader that the loopback stand-ins share.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

use super::WAIT;

/// What the fake callback does with a request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Keep the connection open without answering until released.
    Hang,
}

/// A request the fake received: lower-cased headers, body, and the status it answered (0: hung).
pub type Recorded = (Vec<(String, String)>, Vec<u8>, u16);

#[derive(Default)]
struct FakeState {
    script: VecDeque<Reply>,
    requests: Vec<Recorded>,
    released: bool,
}

/// A recording stand-in for an integrator's callback URL: answers from a script, then 200.
#[derive(Clone)]
pub struct FakeCallback {
    pub url: String,
    state: Arc<(Mutex<FakeState>, Condvar)>,
}

impl FakeCallback {
    pub fn start(script: &[Reply]) -> FakeCallback {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind"), script)
    }

    pub fn start_on(listener: TcpListener, script: &[Reply]) -> FakeCallback {
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new((
            Mutex::new(FakeState {
                script: script.iter().copied().collect(),
                ..FakeState::default()
            }),
            Condvar::new(),
        ));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || handle(stream, s));
            }
        });
        FakeCallback {
            url: format!("http://{addr}/callback"),
            state,
        }
    }

    /// Requests answered so far with this status.
    pub fn answered(&self, status: u16) -> usize {
        let st = self.state.0.lock().expect("lock");
        st.requests.iter().filter(|r| r.2 == status).count()
    }

    /// Every request: headers and body.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.0.lock().expect("lock").requests.clone()
    }

    /// Waits until at least `n` requests arrived (answered or hanging).
    #[track_caller]
    pub fn wait_for(&self, n: usize) {
        let (lock, cv) = &*self.state;
        let guard = lock.lock().expect("lock");
        let (_g, timeout) = cv
            .wait_timeout_while(guard, WAIT, |st| st.requests.len() < n)
            .expect("wait");
        assert!(
            !timeout.timed_out(),
            "timed out waiting for {n} callback requests"
        );
    }

    /// Lets hanging requests finish (with a 200).
    pub fn release(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().expect("lock").released = true;
        cv.notify_all();
    }
}

/// One HTTP/1.1 request read off a loopback stand-in's socket.
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads a request (request line, headers, Content-Length body); `None` if the peer went away.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn handle(stream: TcpStream, state: Arc<(Mutex<FakeState>, Condvar)>) {
    let Some(Request { headers, body, .. }) = read_request(&stream) else {
        return;
    };
    let (lock, cv) = &*state;
    let mut st = lock.lock().expect("lock");
    let reply = st.script.pop_front().unwrap_or(Reply::Status(200));
    let status = match reply {
        Reply::Status(s) => s,
        Reply::Hang => 0,
    };
    st.requests.push((headers, body, status));
    cv.notify_all();
    if let Reply::Hang = reply {
        let _st = cv.wait_while(st, |st| !st.released).expect("wait");
        return;
    }
    drop(st);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}
