//! Who may see and do what, over HTTP: the role × holding × `agent_visibility` matrix (every
//! action on every kind of conversation, checked against `domain::policy`) and the queue views
//! each role gets.

use serde_json::{Value, json};

use crate::support::scenario::{Scenario, Table, Who};
use crate::support::{FakeCallback, Staff, TestApp};

/// What a row expects back.
#[derive(Debug, Clone, Copy)]
enum Out {
    /// 200 (201 for a note or reply).
    Ok,
    /// 404 `not_found`: not visible, answered as if it did not exist.
    Hid,
    /// 403 `forbidden`: visible, but the role does not allow it.
    Forb,
    /// 409 `not_owner`: only the assignee replies.
    NotOwner,
    /// 409 `already_assigned`, naming who holds it.
    Taken,
}
use Out::{Forb, Hid, NotOwner, Ok as OK, Taken};

/// Something done to a conversation, as a request.
#[derive(Debug, Clone, Copy)]
enum Act {
    View,
    Timeline,
    Note,
    Tag,
    Reply,
    Claim,
    Assign,
    Status,
}

/// The columns of [`MATRIX`], in order.
const ACTS: [Act; 8] = [
    Act::View,
    Act::Timeline,
    Act::Note,
    Act::Tag,
    Act::Reply,
    Act::Claim,
    Act::Assign,
    Act::Status,
];

/// Who holds a conversation, seen from the caller.
#[derive(Debug, Clone, Copy)]
enum Rel {
    /// Assigned to the caller.
    Own,
    /// Assigned to Bruno (Sales).
    Bruno,
    /// Unassigned in Sales' pool (Ana's team).
    SalesPool,
    /// Unassigned in Support's pool (not Ana's team).
    SupportPool,
}

/// Who holds a conversation: a person (with their team, none for owner and manager) or a pool
/// (`None`: no team, everyone's pool).
#[derive(Debug, Clone, Copy)]
enum Held {
    To(&'static str),
    Pool(Option<&'static str>),
}

const OWN: &str = "own";
const POOL: &str = "own_and_pool";
const ALL_RO: &str = "all_read_only";

/// The policy as rows: setting × role × holding → one outcome per action of [`ACTS`]
/// (view, timeline, note, tag, reply, claim, assign, status). Owner and manager act alike in
/// every setting; Ana stands for any agent of Sales. Taken from `src/domain/policy.rs` and API.md.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, Rel, [Out; 8])] = &[
    //                                    view  tline note  tag   reply     claim  assign status
    (OWN,    "owner",   Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (OWN,    "owner",   Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (OWN,    "owner",   Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (OWN,    "owner",   Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (OWN,    "manager", Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (OWN,    "manager", Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (OWN,    "manager", Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (OWN,    "manager", Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (OWN,    "ana",     Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (OWN,    "ana",     Rel::Bruno,       [Hid, Hid,  Hid,  Hid,  Hid,      Hid,   Hid,   Hid]),
    (OWN,    "ana",     Rel::SalesPool,   [Hid, Hid,  Hid,  Hid,  Hid,      Hid,   Hid,   Hid]),
    (OWN,    "ana",     Rel::SupportPool, [Hid, Hid,  Hid,  Hid,  Hid,      Hid,   Hid,   Hid]),
    (POOL,   "owner",   Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (POOL,   "owner",   Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (POOL,   "owner",   Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (POOL,   "owner",   Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (POOL,   "manager", Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (POOL,   "manager", Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (POOL,   "manager", Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (POOL,   "manager", Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (POOL,   "ana",     Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    // Bruno's is in Ana's pool scope (her team), so a lost claim race says who won.
    (POOL,   "ana",     Rel::Bruno,       [Hid, Hid,  Hid,  Hid,  Hid,      Taken, Hid,   Hid]),
    (POOL,   "ana",     Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    Forb,  Forb]),
    (POOL,   "ana",     Rel::SupportPool, [Hid, Hid,  Hid,  Hid,  Hid,      Hid,   Hid,   Hid]),
    (ALL_RO, "owner",   Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (ALL_RO, "owner",   Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (ALL_RO, "owner",   Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (ALL_RO, "owner",   Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (ALL_RO, "manager", Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (ALL_RO, "manager", Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, OK,    OK]),
    (ALL_RO, "manager", Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (ALL_RO, "manager", Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, OK,    OK,    OK]),
    (ALL_RO, "ana",     Rel::Own,         [OK,  OK,   OK,   OK,   OK,       OK,    OK,    OK]),
    (ALL_RO, "ana",     Rel::Bruno,       [OK,  OK,   OK,   OK,   NotOwner, Taken, Forb,  Forb]),
    (ALL_RO, "ana",     Rel::SalesPool,   [OK,  OK,   OK,   OK,   NotOwner, OK,    Forb,  Forb]),
    (ALL_RO, "ana",     Rel::SupportPool, [OK,  OK,   OK,   OK,   NotOwner, Forb,  Forb,  Forb]),
];

/// Single checks beyond the matrix: other agents, other teams, the no-team pool.
/// (setting, caller, holding, action, outcome).
#[rustfmt::skip]
const MORE: &[(&str, &str, Held, Act, Out)] = &[
    (POOL,   "bruno",   Held::To("ana"),            Act::View,     Hid),
    (POOL,   "carla",   Held::To("ana"),            Act::Timeline, Hid),
    (POOL,   "bruno",   Held::To("ana"),            Act::Note,     Hid),
    // Bruno's lost claim names the owner rather than hiding the conversation.
    (POOL,   "bruno",   Held::To("ana"),            Act::Claim,    Taken),
    // Carla is not in Sales: Ana's conversation is not in her pool scope.
    (POOL,   "carla",   Held::To("ana"),            Act::Claim,    Hid),
    (POOL,   "manager", Held::To("ana"),            Act::View,     OK),
    (POOL,   "ana",     Held::Pool(Some("support")), Act::Claim,   Hid),
    (POOL,   "carla",   Held::Pool(Some("support")), Act::Claim,   OK),
    // Unassigned without a team is everyone's pool, but not in strict mode.
    (POOL,   "carla",   Held::Pool(None),           Act::Claim,    OK),
    (OWN,    "carla",   Held::Pool(None),           Act::View,     Hid),
    (OWN,    "carla",   Held::Pool(Some("support")), Act::View,    Hid),
    (ALL_RO, "bruno",   Held::To("ana"),            Act::Reply,    NotOwner),
    (ALL_RO, "bruno",   Held::To("ana"),            Act::Status,   Forb),
    (ALL_RO, "bruno",   Held::Pool(Some("support")), Act::Claim,   Forb),
    (ALL_RO, "carla",   Held::To("ana"),            Act::Assign,   Forb),
];

/// A server with an API channel that makes one fresh conversation per row.
struct Cases {
    app: TestApp,
    _cb: FakeCallback,
    ch: i64,
    secret: String,
    made: usize,
}

impl Cases {
    fn new() -> Cases {
        let app = TestApp::spawn();
        let cb = FakeCallback::start(&[]);
        let (ch, secret) = app.api_channel(&cb.url);
        Cases {
            app,
            _cb: cb,
            ch,
            secret,
            made: 0,
        }
    }

    fn staff(&self, who: &str) -> &Staff {
        Who::named(who).staff(&self.app).expect("staff")
    }

    fn team(&self, name: &str) -> i64 {
        match name {
            "sales" => self.app.sales,
            "support" => self.app.support,
            other => panic!("unknown team {other}"),
        }
    }

    /// A new conversation held as `held` (put there by the manager); returns its id.
    fn conversation(&mut self, held: Held) -> i64 {
        self.made += 1;
        let n = self.made;
        let ident = format!("cust-{n}");
        let landed = self
            .app
            .inbound(self.ch, &self.secret, &format!("m{n}"), &ident, "Hello")
            .expect(201);
        let conv = landed["conversation_id"].as_i64().expect("id");
        let body = match held {
            Held::To(who) => {
                let team = match who {
                    "ana" | "bruno" => json!(self.app.sales),
                    "carla" => json!(self.app.support),
                    _ => Value::Null,
                };
                json!({"assignee_id": self.staff(who).id, "team_id": team})
            }
            Held::Pool(None) => return conv,
            Held::Pool(Some(team)) => json!({"assignee_id": null, "team_id": self.team(team)}),
        };
        let path = format!("/api/v1/conversations/{conv}/assign");
        self.app
            .api
            .post(&path, &self.app.manager.token, body)
            .expect(200);
        conv
    }

    /// The row: `who` does `act` on a fresh conversation held as `held`, under `setting`.
    fn row(&mut self, setting: &str, who: &str, held: Held, act: Act, out: Out) -> Scenario {
        let conv = self.conversation(held);
        let base = format!("/api/v1/conversations/{conv}");
        let (method, path, body, ok) = match act {
            Act::View => ("GET", base, None, 200),
            Act::Timeline => ("GET", format!("{base}/timeline"), None, 200),
            Act::Note => (
                "POST",
                format!("{base}/notes"),
                Some(json!({"text": "row"})),
                201,
            ),
            Act::Tag => (
                "POST",
                format!("{base}/tags"),
                Some(json!({"add": ["row"]})),
                200,
            ),
            Act::Reply => (
                "POST",
                format!("{base}/messages"),
                Some(json!({"text": "hi"})),
                201,
            ),
            Act::Claim => ("POST", format!("{base}/claim"), None, 200),
            Act::Assign => {
                let to = json!({"assignee_id": self.app.carla.id, "team_id": self.app.support});
                ("POST", format!("{base}/assign"), Some(to), 200)
            }
            Act::Status => {
                let body = json!({"status": "pending"});
                ("POST", format!("{base}/status"), Some(body), 200)
            }
        };
        let mut s = Scenario::new(method, path, Who::named(who))
            .named(format!("{setting}: {who} {act:?} on {held:?} → {out:?}"));
        if let Some(b) = body {
            s = s.json(b);
        }
        let holder = match held {
            Held::To(h) => json!(self.staff(h).id),
            Held::Pool(_) => Value::Null,
        };
        match out {
            Out::Ok => s.status(ok),
            Out::Hid => s.error(404, "not_found"),
            Out::Forb => s.error(403, "forbidden"),
            Out::NotOwner => s.error(409, "not_owner"),
            Out::Taken => s
                .error(409, "already_assigned")
                .field("/error/data/assignee/id", holder),
        }
    }
}

fn set_visibility(setting: &str) -> Scenario {
    Scenario::new("PATCH", "/api/v1/settings", Who::Owner)
        .json(json!({"agent_visibility": setting}))
        .field("/agent_visibility", json!(setting))
}

#[test]
fn who_may_do_what_by_role_holding_and_visibility() {
    let mut cases = Cases::new();
    let mut rows = Vec::new();
    for setting in [OWN, POOL, ALL_RO] {
        rows.push(set_visibility(setting));
        for &(s, who, rel, outs) in MATRIX.iter().filter(|r| r.0 == setting) {
            let held = match rel {
                Rel::Own => Held::To(who),
                Rel::Bruno => Held::To("bruno"),
                Rel::SalesPool => Held::Pool(Some("sales")),
                Rel::SupportPool => Held::Pool(Some("support")),
            };
            for (act, out) in ACTS.into_iter().zip(outs) {
                rows.push(cases.row(s, who, held, act, out));
            }
        }
        for &(s, who, held, act, out) in MORE.iter().filter(|r| r.0 == setting) {
            rows.push(cases.row(s, who, held, act, out));
        }
    }
    assert_eq!(rows.len(), 3 + MATRIX.len() * ACTS.len() + MORE.len());
    let mut t = Table::new(&cases.app);
    for r in rows {
        t.push(r);
    }
    t.check();
}

/// The ids a list answer holds, newest first, must be `want`.
fn ids_are(want: Vec<i64>) -> impl Fn(&Value) -> Result<(), String> {
    move |body| {
        let got: Vec<i64> = body["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
            .unwrap_or_default();
        (got == want)
            .then_some(())
            .ok_or(format!("expected ids {want:?}, got {got:?}"))
    }
}

#[test]
fn queue_views_list_what_each_role_may_see() {
    let mut cases = Cases::new();
    // Oldest first: Ana's, Bruno's (both Sales), Sales' pool, Support's pool.
    let ana = cases.conversation(Held::To("ana"));
    let bruno = cases.conversation(Held::To("bruno"));
    let sales = cases.conversation(Held::Pool(Some("sales")));
    let support = cases.conversation(Held::Pool(Some("support")));
    let everything = vec![support, sales, bruno, ana];
    #[rustfmt::skip]
    let rows: Vec<(&str, &str, &str, Vec<i64>)> = vec![
        (POOL,   "ana",     "mine",       vec![ana]),
        // Support's pool is not Ana's.
        (POOL,   "ana",     "unassigned", vec![sales]),
        (POOL,   "ana",     "all",        vec![sales, ana]),
        (POOL,   "carla",   "unassigned", vec![support]),
        (POOL,   "carla",   "all",        vec![support]),
        (POOL,   "bruno",   "all",        vec![sales, bruno]),
        (POOL,   "manager", "all",        everything.clone()),
        (POOL,   "owner",   "unassigned", vec![support, sales]),
        // Strict mode: agents see only their own.
        (OWN,    "carla",   "unassigned", vec![]),
        (OWN,    "ana",     "all",        vec![ana]),
        (OWN,    "manager", "all",        everything.clone()),
        // Read-only: everything visible.
        (ALL_RO, "bruno",   "all",        everything.clone()),
        (ALL_RO, "carla",   "mine",       vec![]),
        (ALL_RO, "carla",   "unassigned", vec![support, sales]),
    ];
    let mut t = Table::new(&cases.app);
    let mut setting = "";
    for (s, who, view, want) in rows {
        if s != setting {
            t.push(set_visibility(s));
            setting = s;
        }
        let path = format!("/api/v1/conversations?view={view}");
        let name = format!("{s}: {who} lists {view} → {want:?}");
        t.push(
            Scenario::new("GET", path, Who::named(who))
                .named(name)
                .check(ids_are(want)),
        );
    }
    t.check();
}
