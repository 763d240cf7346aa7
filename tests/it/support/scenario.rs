//! PocketBase-style scenario tables: one request per row (method, path, caller, body) and what it
//! must get back (status, error code, fields of the answer). A table runs every row, then fails
//! once listing every row that went wrong; it can also check that nothing changed.

use reqwest::Method;
use serde_json::Value;

use super::{Staff, TestApp};

/// Who sends a scenario's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// No credentials at all.
    Guest,
    /// A seeded staff member.
    Owner,
    Manager,
    Ana,
    Bruno,
    Carla,
    /// Any bearer token or channel secret (or a bogus one); the label names it in reports.
    Token {
        label: String,
        token: String,
    },
}

impl Who {
    /// The caller named in a table: `guest` (or `none`), `owner`, `manager`, `ana`, `bruno`, `carla`.
    #[track_caller]
    pub fn named(name: &str) -> Who {
        match name {
            "guest" | "none" => Who::Guest,
            "owner" => Who::Owner,
            "manager" => Who::Manager,
            "ana" => Who::Ana,
            "bruno" => Who::Bruno,
            "carla" => Who::Carla,
            other => panic!("unknown caller {other:?}"),
        }
    }

    /// A token sent as-is, shown in reports as `label`.
    pub fn token(label: &str, token: &str) -> Who {
        Who::Token {
            label: label.to_string(),
            token: token.to_string(),
        }
    }

    /// The seeded staff member this is, if any.
    pub fn staff<'a>(&self, app: &'a TestApp) -> Option<&'a Staff> {
        match self {
            Who::Owner => Some(&app.owner),
            Who::Manager => Some(&app.manager),
            Who::Ana => Some(&app.ana),
            Who::Bruno => Some(&app.bruno),
            Who::Carla => Some(&app.carla),
            Who::Guest | Who::Token { .. } => None,
        }
    }

    fn bearer(&self, app: &TestApp) -> Option<String> {
        match self {
            Who::Guest => None,
            Who::Token { token, .. } => Some(token.clone()),
            staff => staff.staff(app).map(|s| s.token.clone()),
        }
    }

    fn label(&self) -> String {
        match self {
            Who::Token { label, .. } => label.clone(),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// A check of a whole answer body: `Err` says what is wrong.
pub type Check = Box<dyn Fn(&Value) -> Result<(), String>>;

/// One request and what it must get back.
pub struct Scenario {
    /// Shown when the row fails; by default method, path, caller and body.
    pub name: String,
    pub method: Method,
    /// The path, e.g. `/api/v1/conversations/7/claim`.
    pub path: String,
    pub who: Who,
    /// Sent as `application/json` when present.
    pub body: Option<Vec<u8>>,
    /// Any of these statuses passes (never a 5xx).
    pub status: Vec<u16>,
    /// For an error status: the error code, or "" for any (the error shape is always checked).
    pub code: &'static str,
    /// Fields of the answer, by JSON pointer, that must equal these values.
    pub fields: Vec<(String, Value)>,
    /// Further checks of the answer body.
    pub checks: Vec<Check>,
    /// Headers of the answer that must have these values.
    pub headers: Vec<(String, String)>,
}

impl Scenario {
    /// A request expecting 200, without a body.
    pub fn new(method: &str, path: impl Into<String>, who: Who) -> Scenario {
        let path = path.into();
        Scenario {
            name: String::new(),
            method: method.parse().expect("method"),
            path,
            who,
            body: None,
            status: vec![200],
            code: "",
            fields: Vec::new(),
            checks: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sends this JSON.
    pub fn json(self, body: Value) -> Scenario {
        self.raw(body.to_string())
    }

    /// Sends these bytes as the body (none when empty).
    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Scenario {
        let body: Vec<u8> = body.into();
        self.body = (!body.is_empty()).then_some(body);
        self
    }

    /// Expects this status.
    pub fn status(self, status: u16) -> Scenario {
        self.any_of(&[status])
    }

    /// Expects any of these statuses.
    pub fn any_of(mut self, status: &[u16]) -> Scenario {
        self.status = status.to_vec();
        self
    }

    /// Expects an error with this status and code ("" for any code).
    pub fn error(mut self, status: u16, code: &'static str) -> Scenario {
        self.status = vec![status];
        self.code = code;
        self
    }

    /// Expects this error code when the status is an error ("" for any).
    pub fn code(mut self, code: &'static str) -> Scenario {
        self.code = code;
        self
    }

    /// Expects the field at JSON pointer `pointer` (e.g. `/error/data/assignee/id`) to be `value`.
    pub fn field(mut self, pointer: &str, value: Value) -> Scenario {
        self.fields.push((pointer.to_string(), value));
        self
    }

    /// Checks the answer body with `check`.
    pub fn check(mut self, check: impl Fn(&Value) -> Result<(), String> + 'static) -> Scenario {
        self.checks.push(Box::new(check));
        self
    }

    /// Names the row in reports.
    pub fn named(mut self, name: impl Into<String>) -> Scenario {
        self.name = name.into();
        self
    }

    /// The answer must carry header `name` with exactly `value`.
    pub fn header(mut self, name: &str, value: &str) -> Scenario {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn title(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        let body = match &self.body {
            None => "no body".to_string(),
            Some(b) if b.len() > 200 => format!("a {} byte body", b.len()),
            Some(b) => format!("body {}", String::from_utf8_lossy(b)),
        };
        format!(
            "{} {} as {} with {body}",
            self.method,
            self.path,
            self.who.label()
        )
    }

    /// Sends the request; returns what is wrong with the answer, if anything.
    pub fn run(&self, app: &TestApp) -> Option<String> {
        let api = &app.api;
        let mut req = api
            .client
            .request(self.method.clone(), format!("{}{}", api.base, self.path));
        if let Some(t) = self.who.bearer(app) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &self.body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.clone());
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => return Some(format!("{}: transport error {e}", self.title())),
        };
        let status = resp.status().as_u16();
        let wrong_header = self.headers.iter().find_map(|(name, want)| {
            let got = resp
                .headers()
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            (got != Some(want.as_str()))
                .then(|| format!("expected header {name}: {want}, got {got:?}"))
        });
        let body: Value =
            serde_json::from_str(&resp.text().unwrap_or_default()).unwrap_or(Value::Null);
        let err = &body["error"];
        let problem = if status >= 500 || !self.status.contains(&status) {
            format!("expected {:?}, got {status}", self.status)
        } else if status >= 400 && !(err["code"].is_string() && err["message"].is_string()) {
            "not the {\"error\":{\"code\",\"message\"}} shape".to_string()
        } else if status >= 400 && !self.code.is_empty() && err["code"] != self.code {
            format!("expected code {}, got {}", self.code, err["code"])
        } else if let Some(wrong) = wrong_header {
            wrong
        } else if let Some((p, want)) = self
            .fields
            .iter()
            .find(|(p, want)| body.pointer(p) != Some(want))
        {
            format!("expected {p} = {want}, got {:?}", body.pointer(p))
        } else {
            self.checks.iter().find_map(|c| c(&body).err())?
        };
        Some(format!("{}: {problem}; answer {body}", self.title()))
    }
}

/// Rows run in order against one server.
pub struct Table<'a> {
    app: &'a TestApp,
    rows: Vec<Scenario>,
}

impl<'a> Table<'a> {
    pub fn new(app: &'a TestApp) -> Table<'a> {
        Table {
            app,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Scenario) -> &mut Self {
        self.rows.push(row);
        self
    }

    /// Runs every row in order; returns one line per row that went wrong.
    pub fn run(&self) -> Vec<String> {
        self.rows.iter().filter_map(|s| s.run(self.app)).collect()
    }

    /// Runs every row, then fails once listing every problem.
    #[track_caller]
    pub fn check(self) {
        let failures = self.run();
        report(&failures, self.rows.len());
    }

    /// Runs every row, then checks that nothing changed since `before`; fails once, listing
    /// every problem.
    #[track_caller]
    pub fn check_unchanged(self, before: &Snapshot) {
        let mut failures = self.run();
        failures.extend(before.diff(&self.app.snapshot(&before.views_taken())));
        report(&failures, self.rows.len());
    }
}

/// Fails, listing every problem, if there are any.
#[track_caller]
pub fn report(failures: &[String], rows: usize) {
    assert!(rows > 0, "a table without rows checks nothing");
    assert!(
        failures.is_empty(),
        "{} problems in {rows} scenarios:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every table of the database, for "nothing changed".
#[rustfmt::skip]
pub const TABLES: &[&str] = &[
    "messages", "notes", "events", "outbox", "users", "teams", "memberships", "conversations",
    "conversation_tags", "tags", "channels", "contacts", "contact_identities", "cycles", "tokens",
    "settings",
];

/// Row counts of every table and the answers of some GET requests, to compare before and after.
#[derive(Debug)]
pub struct Snapshot {
    counts: Vec<(&'static str, i64)>,
    /// (path, token, answer).
    views: Vec<(String, String, Value)>,
}

impl Snapshot {
    fn views_taken(&self) -> Vec<(String, String)> {
        self.views
            .iter()
            .map(|(p, t, _)| (p.clone(), t.clone()))
            .collect()
    }

    /// What differs in `after`, one line each.
    pub fn diff(&self, after: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for ((table, b), (_, a)) in self.counts.iter().zip(&after.counts) {
            if a != b {
                out.push(format!("table {table} went from {b} to {a} rows"));
            }
        }
        for ((path, _, b), (_, _, a)) in self.views.iter().zip(&after.views) {
            if a != b {
                out.push(format!("GET {path} changed from {b} to {a}"));
            }
        }
        out
    }
}

impl TestApp {
    /// Counts every table and GETs each (path, token), each expected to answer 200.
    pub fn snapshot(&self, views: &[(String, String)]) -> Snapshot {
        let counts = TABLES.iter().map(|t| (*t, self.count(t))).collect();
        let views = views
            .iter()
            .map(|(p, t)| (p.clone(), t.clone(), self.api.get(p, t).expect(200)))
            .collect();
        Snapshot { counts, views }
    }
}
