//! Test harness: a real server on 127.0.0.1:0 over a real SQLite file in a temp dir, seeded
//! staff with tokens, a blocking JSON client, and a recording fake for API-channel callbacks.
//! Submodules: scenario tables ([`scenario`]), browser sessions per role ([`session`]) and the
//! event-stream reader ([`sse`]).

pub mod scenario;
pub mod session;
pub mod sse;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use teaminbox::config::{Config, Overrides};
use teaminbox::domain::time::now_ms;
use teaminbox::domain::{Role, TeamId};
use teaminbox::service;
use teaminbox::store::tokens::TokenKind;
use teaminbox::store::users::{NewUser, User};
use teaminbox::store::{Store, teams};

/// Longest any test waits for an event before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// Longest a test client keeps an idle connection (below the server's 5 s keep-alive).
pub const IDLE: Duration = Duration::from_secs(2);

/// A password every seeded user has.
pub const PASSWORD: &str = "correct horse battery";

/// An HTTP answer: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an API error with this status (and code, unless empty).
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        let err = &self.body["error"];
        assert!(
            err["code"].is_string() && err["message"].is_string(),
            "not the error shape: {}",
            self.body
        );
        if !code.is_empty() {
            assert_eq!(err["code"], code, "body: {}", self.body);
        }
        self.body
    }
}

/// A blocking JSON client for one base URL.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        teaminbox::install_crypto();
        Api {
            base: base.trim_end_matches('/').to_string(),
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                // Never reuse a connection the server may be closing: its keep-alive is 5 s, and a
                // request sent on a connection as the server drops it fails (IncompleteMessage).
                .pool_idle_timeout(IDLE)
                .build()
                .expect("client"),
        }
    }

    /// `POST /api/v1/auth/token` with these credentials, as typed (no trimming here).
    pub fn login(&self, email: &str, password: &str) -> Resp {
        self.raw(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": email, "password": password})
                    .to_string()
                    .into_bytes(),
            ),
        )
    }

    /// Sends a request with an optional bearer token and raw body.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().expect("request failed");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().unwrap_or_default();
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.raw(Method::GET, path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.raw(
            Method::POST,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
    }

    pub fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.raw(
            Method::PATCH,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.raw(
            Method::PUT,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.raw(Method::DELETE, path, Some(token), None)
    }
}

/// A seeded staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub token: String,
}

/// A running server with seeded staff: owner, manager, agents Ana and Bruno (team Sales) and
/// Carla (team Support).
pub struct TestApp {
    pub api: Api,
    pub store: Store,
    pub dir: Arc<tempfile::TempDir>,
    pub sales: i64,
    pub support: i64,
    pub owner: Staff,
    pub manager: Staff,
    pub ana: Staff,
    pub bruno: Staff,
    pub carla: Staff,
    server: Option<teaminbox::server::Background>,
}

/// Test configuration: fast outbox retries.
pub fn test_config(data: PathBuf) -> Config {
    Config::load(
        data,
        Overrides {
            bind: Some("127.0.0.1:0".into()),
            workers: Some(2),
            log: Some("warn".into()),
            outbox_retry_base_ms: Some(20),
            outbox_max_attempts: Some(4),
            outbox_timeout_ms: Some(5_000),
            ..Overrides::default()
        },
    )
    .expect("config")
}

/// Starts the server of `config` on its own thread and actix system.
pub fn start_server(config: Config) -> teaminbox::server::Background {
    teaminbox::server::spawn_background(config).expect("server start")
}

fn seed_user(store: &Store, name: &str, role: Role, teams: &[i64]) -> Staff {
    let email = format!("{}@shop.test", name.to_lowercase());
    let hash = service::auth::hash_password(PASSWORD).expect("hash");
    let (email2, name, teams) = (email.clone(), name.to_string(), teams.to_vec());
    let (user, token): (User, String) = store
        .write_blocking(move |c| {
            let ids: Vec<TeamId> = teams.iter().map(|t| TeamId(*t)).collect();
            let user = service::users::create_user(
                c,
                NewUser {
                    email: email2,
                    name,
                    role,
                    password_hash: hash,
                },
                &ids,
            )?;
            let token = service::auth::issue_token(c, &user, TokenKind::Api, None)?;
            Ok::<_, service::Error>((user, token))
        })
        .expect("seed user");
    Staff {
        id: user.id.0,
        email,
        token,
    }
}

impl TestApp {
    /// A fresh server in a fresh data dir.
    pub fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {})
    }

    /// [`TestApp::spawn`] with the test configuration changed by `tweak` first (a restart goes
    /// back to the plain test configuration).
    pub fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut config = test_config(dir.path().to_path_buf());
        tweak(&mut config);
        let server = start_server(config);
        let store = server.store.clone();
        let (sales, support) = store
            .write_blocking(|c| {
                let s = teams::insert_team(c, "Sales", now_ms())?;
                let p = teams::insert_team(c, "Support", now_ms())?;
                Ok::<_, teaminbox::store::StoreError>((s.0, p.0))
            })
            .expect("teams");
        let owner = seed_user(&store, "Olga", Role::Owner, &[]);
        let manager = seed_user(&store, "Mario", Role::Manager, &[]);
        let ana = seed_user(&store, "Ana", Role::Agent, &[sales]);
        let bruno = seed_user(&store, "Bruno", Role::Agent, &[sales]);
        let carla = seed_user(&store, "Carla", Role::Agent, &[support]);
        TestApp {
            api: Api::new(&format!("http://{}", server.addr)),
            store,
            dir,
            sales,
            support,
            owner,
            manager,
            ana,
            bruno,
            carla,
            server: Some(server),
        }
    }

    /// Stops the server and waits for it, keeping the data dir.
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }

    /// Stops and starts the server again over the same data dir.
    pub fn restart(&mut self) {
        self.stop();
        let server = start_server(test_config(self.dir.path().to_path_buf()));
        self.api = Api::new(&format!("http://{}", server.addr));
        self.store = server.store.clone();
        self.server = Some(server);
    }

    /// Creates an API channel with `callback_url`; returns (id, secret).
    pub fn api_channel(&self, callback_url: &str) -> (i64, String) {
        let ch = self
            .api
            .post(
                "/api/v1/channels",
                &self.owner.token,
                json!({"kind": "api", "name": "Web chat", "config": {"callback_url": callback_url}}),
            )
            .expect(201);
        (
            ch["id"].as_i64().expect("id"),
            ch["secret"].as_str().expect("secret").to_string(),
        )
    }

    /// Sends an inbound message through an API channel.
    pub fn inbound(
        &self,
        channel: i64,
        secret: &str,
        external_id: &str,
        identifier: &str,
        text: &str,
    ) -> Resp {
        self.api.raw(
            Method::POST,
            &format!("/api/v1/channels/{channel}/inbound"),
            Some(secret),
            Some(
                json!({"external_id": external_id, "contact": {"identifier": identifier, "name": format!("Customer {identifier}")}, "text": text})
                    .to_string()
                    .into_bytes(),
            ),
        )
    }

    /// A channel plus one inbound conversation; returns (channel id, secret, conversation id).
    pub fn conversation(&self, callback_url: &str) -> (i64, String, i64) {
        let (ch, secret) = self.api_channel(callback_url);
        let landed = self
            .inbound(ch, &secret, "first", "cust-1", "Hello!")
            .expect(201);
        (
            ch,
            secret,
            landed["conversation_id"].as_i64().expect("conversation id"),
        )
    }

    /// Waits (on commit notifications, not by sleeping) until `check` holds.
    #[track_caller]
    pub fn wait_until(&self, what: &str, mut check: impl FnMut() -> bool) {
        let mut rx = self.store.subscribe();
        let deadline = Instant::now() + WAIT;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        loop {
            if check() {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            let _ = rt.block_on(async { tokio::time::timeout(left, rx.changed()).await });
        }
    }

    /// `staff` claims `conv` ("Ana claims it"); returns the conversation as the claim answers it.
    #[track_caller]
    pub fn claim(&self, conv: i64, staff: &Staff) -> Value {
        self.api
            .post(
                &format!("/api/v1/conversations/{conv}/claim"),
                &staff.token,
                json!({}),
            )
            .expect(200)
    }

    /// `staff` replies `text` on conversation `conv` (which they own); returns the message id.
    #[track_caller]
    pub fn reply(&self, conv: i64, staff: &Staff, text: &str) -> i64 {
        self.api
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                &staff.token,
                json!({"text": text}),
            )
            .expect(201)["id"]
            .as_i64()
            .expect("message id")
    }

    /// How many timeline items of conversation `conv` are events of `kind`.
    pub fn count_kind(&self, conv: i64, kind: &str) -> usize {
        self.timeline(conv)
            .iter()
            .filter(|i| i["kind"] == kind)
            .count()
    }

    /// The timeline items of a conversation, as the owner sees them.
    pub fn timeline(&self, conv: i64) -> Vec<Value> {
        self.api
            .get(
                &format!("/api/v1/conversations/{conv}/timeline?limit=200"),
                &self.owner.token,
            )
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .clone()
    }

    /// The data of every stored event of `kind`, oldest first.
    pub fn event_data(&self, kind: &'static str) -> Vec<Value> {
        self.store
            .read_blocking(move |c| {
                let mut stmt = c.prepare("SELECT data FROM events WHERE kind = ?1 ORDER BY id")?;
                let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(teaminbox::store::StoreError::from)
            })
            .expect("events")
            .into_iter()
            .map(|d| serde_json::from_str(&d).expect("json"))
            .collect()
    }

    /// The id of the newest stored event (0 when none). Opening a stream with it as
    /// `Last-Event-ID` starts "from now" without racing the stream's own start.
    pub fn last_event_id(&self) -> i64 {
        self.store
            .read_blocking(|c| {
                c.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
                    .map_err(teaminbox::store::StoreError::from)
            })
            .expect("last event id")
    }

    /// Counts rows of a table through a read-only connection (the tests' view of "nothing changed").
    pub fn count(&self, table: &'static str) -> i64 {
        self.store
            .read_blocking(|c| {
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                    .map_err(teaminbox::store::StoreError::from)
            })
            .expect("count")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

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

/// Runs `teaminbox user add` on data dir `data` (password [`PASSWORD`] on standard input, the
/// email as the name) and returns what it printed; fails the test if the command fails.
#[track_caller]
pub fn cli_add_user(data: &std::path::Path, email: &str, role: &str, teams: &[&str]) -> String {
    let mut args = vec![
        "user", "add", "--email", email, "--name", email, "--role", role,
    ];
    for t in teams {
        args.extend(["--team", t]);
    }
    args.push("--password-stdin");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(&args)
        .env("TEAMINBOX_DATA", data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("teaminbox user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "user add {email} failed");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A loopback port that was free a moment ago (for a server started as a separate process).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
