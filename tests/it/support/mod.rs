//! Test harness: a real server on 127.0.0.1:0 over a real SQLite file in a temp dir, seeded
//! staff with tokens, a blocking JSON client, and a recording fake for API-channel callbacks.
//! Submodules: scenario tables ([`scenario`]), browser sessions per role ([`session`]) and the
//! event-stream reader ([`sse`]).

mod callback;
pub mod releases;
pub mod scenario;
pub mod session;
pub mod sse;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use callback::{FakeCallback, Reply, Request, read_request};
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
            // Never ask a real release server from tests (tests/it/update.rs points it at one).
            update_check: Some(false),
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
