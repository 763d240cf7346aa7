//! Bad input on every state-changing route (POST/PATCH/PUT of `teaminbox::web::api::ROUTES`):
//! always the JSON error shape with the status API.md names (never a 5xx), checks in the order
//! 401 → 403/404 → 400/422, 413 over the body limit, and nothing changes in the database.
//! Table-driven: every scenario runs, then one failure lists each scenario that went wrong.

use reqwest::Method;
use serde_json::json;
use teaminbox::web::api::ROUTES;

use crate::support::scenario::{Scenario, Snapshot, Table, Who};
use crate::support::{FakeCallback, TestApp};

const MALFORMED: &str = r#"{"text": "#;
/// Bodies that every route taking one refuses with 400 (and this code, unless empty).
#[rustfmt::skip]
const BAD_BODIES: &[(&[u8], &str)] = &[
    (MALFORMED.as_bytes(), "invalid_json"), (b"{\"text\":\"a\",}", "invalid_json"),
    (b"{'text':'a'}", "invalid_json"), (b"{\"\xff\xfe\":1}", "invalid_json"),
    (b"", "empty_body"), (b" \n ", "empty_body"),
    (b"[]", ""), (b"\"x\"", ""), (b"null", ""), (b"5", ""), (b"true", ""),
];
/// Bytes that are not UTF-8 are not JSON, even inside a field the route ignores.
const NOT_UTF8: &[u8] = b"{\"nickname\":\"\xff\"}";
const B: &[u16] = &[400];
const U: &[u16] = &[422];
const E: &[u16] = &[400, 422];
const N: &[u16] = &[404];
const F: &[u16] = &[403];
const C: &[u16] = &[409];

/// (method, path under /api/v1, caller, body, expected statuses, expected code or "" for any).
/// `{c}`, `{ana}`, `{bruno}`, `{sales}`, `{contact}`, `{channel}`, `{rule}` are filled in, in bodies
/// too.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [u16],
    &'static str,
);

#[rustfmt::skip]
const SPECIFIC: &[Row] = &[
    // Wrong types and shapes: 400.
    ("POST", "/conversations/{c}/notes", "ana", r#"{"text":5}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/notes", "ana", r#"{"text":null}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/notes", "ana", "{}", B, "invalid_field"),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":5}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/messages", "ana", "{}", B, "invalid_field"),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":"hi","template":{"name":"t","language":"en"}}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"template":{"name":1}}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":7}"#, B, ""),
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":["open"]}"#, B, ""),
    ("POST", "/conversations/{c}/status", "ana", "{}", B, "invalid_field"),
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":"open","until":5}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/assign", "ana", r#"{"assignee_id":"ana"}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/assign", "ana", "{}", B, "invalid_field"),
    ("POST", "/conversations/{c}/assign", "ana", r#"{"assignee_id":null,"team_id":"x"}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/tags", "ana", r#"{"add":"vip"}"#, B, "invalid_field"),
    ("POST", "/conversations/{c}/tags", "ana", r#"{"add":[5]}"#, B, "invalid_field"),
    ("PUT", "/me/status", "ana", r#"{"status":7}"#, B, ""),
    ("PUT", "/me/status", "ana", "{}", B, "invalid_field"),
    ("POST", "/users", "owner", r#"{"name":"Dora","email":"dora@shop.test","password":"long enough pw","role":5}"#, B, ""),
    ("POST", "/users", "owner", r#"{"name":"Dora","email":"dora@shop.test","password":"long enough pw","role":"agent","teams":"1"}"#, B, "invalid_field"),
    ("POST", "/users", "owner", r#"{"name":1}"#, B, "invalid_field"),
    ("PATCH", "/users/{ana}", "owner", r#"{"disabled":"yes"}"#, B, "invalid_field"),
    ("PATCH", "/users/{ana}", "owner", r#"{"capacity":"many"}"#, B, "invalid_field"),
    ("POST", "/teams", "owner", r#"{"name":["Ops"]}"#, B, "invalid_field"),
    ("PATCH", "/teams/{sales}", "owner", r#"{"members":"ana"}"#, B, "invalid_field"),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"attributes":[1,2]}"#, B, "invalid_field"),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"name":5}"#, B, "invalid_field"),
    ("POST", "/channels", "owner", r#"{"kind":"api"}"#, B, "invalid_field"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":1,"contact":{"identifier":"c9"},"text":"hi"}"#, B, "invalid_field"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x1","contact":"c9","text":"hi"}"#, B, "invalid_field"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x1","text":"hi"}"#, B, "invalid_field"),
    ("POST", "/conversations", "ana", r#"{"contact":"123","channel_id":1}"#, B, "invalid_field"),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678"},"channel_id":"1","text":"x"}"#, B, "invalid_field"),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678"},"channel_id":{channel}}"#, B, "invalid_field"),
    ("POST", "/auth/token", "none", r#"{"email":1,"password":2}"#, B, "invalid_field"),
    ("POST", "/setup", "none", r#"{"token":5}"#, B, "invalid_field"),
    // A top-level array is not the object the route takes, even when it lines up positionally.
    ("POST", "/conversations/{c}/notes", "ana", r#"["positional note"]"#, B, ""),
    ("POST", "/conversations/{c}/status", "ana", r#"["resolved",null]"#, B, ""),
    ("POST", "/conversations/{c}/tags", "ana", r#"[["positional"]]"#, B, ""),
    ("PUT", "/me/status", "ana", r#"["busy"]"#, B, ""),
    // Unknown values of enumerations and settings: 400 or 422.
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":"archived"}"#, E, ""),
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":"snoozed","until":"tomorrow"}"#, E, ""),
    ("PUT", "/me/status", "ana", r#"{"status":"on_holiday"}"#, E, ""),
    ("POST", "/users", "owner", r#"{"name":"Dora","email":"dora@shop.test","password":"long enough pw","role":"god"}"#, E, ""),
    ("PATCH", "/users/{ana}", "owner", r#"{"role":"god"}"#, E, ""),
    ("PATCH", "/teams/{sales}", "owner", r#"{"assignment":"random"}"#, E, ""),
    ("POST", "/channels", "owner", r#"{"kind":"fax","name":"Fax"}"#, E, ""),
    ("PATCH", "/settings", "owner", r#"{"agent_visibility":"everyone"}"#, E, ""),
    ("PATCH", "/settings", "owner", r#"{"unassigned_alert_secs":"soon"}"#, E, ""),
    ("PATCH", "/settings", "owner", r#"{"sticky_owner":"yes"}"#, E, ""),
    ("PATCH", "/settings", "owner", r#"{"no_such_setting":1}"#, U, "unknown_setting"),
    ("PATCH", "/settings", "owner", r#"{"scheduler_tick_ms":1}"#, U, "invalid_setting"),
    ("POST", "/routing-rules", "manager", r#"{"actions":{"priority":"asap"}}"#, E, ""),
    ("POST", "/routing-rules", "manager", r#"{"conditions":{"colour":"red"},"actions":{"priority":"low"}}"#, B, "invalid_field"),
    ("PATCH", "/routing-rules/{rule}", "manager", r#"{"conditions":{"business_hours":"lunch"}}"#, E, ""),
    // Valid JSON that is not allowed: 422.
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":"snoozed","until":"2000-01-01T00:00:00Z"}"#, U, "invalid_until"),
    ("POST", "/conversations/{c}/notes", "ana", r#"{"text":"   "}"#, U, "empty"),
    ("POST", "/conversations/{c}/tags", "ana", r#"{"add":[""]}"#, U, "empty"),
    ("POST", "/users", "owner", r#"{"name":"Dora","email":"d@shop.test","password":"x","role":"agent"}"#, U, "weak_password"),
    ("PATCH", "/users/{ana}", "owner", r#"{"capacity":-1}"#, U, "invalid_capacity"),
    ("POST", "/teams", "owner", r#"{"name":"  "}"#, U, "empty"),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"phone":"not a phone"}"#, U, "invalid_phone"),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"name":""}"#, U, "empty"),
    ("POST", "/routing-rules", "manager", r#"{"conditions":{"keywords":[]},"actions":{"priority":"low"}}"#, U, "empty_list"),
    ("POST", "/routing-rules", "manager", r#"{"conditions":{"keywords":["?!"]},"actions":{"priority":"low"}}"#, U, "invalid_keyword"),
    ("POST", "/routing-rules", "manager", r#"{"conditions":{"keywords":["refund"]},"actions":{}}"#, U, "no_action"),
    ("PATCH", "/routing-rules/{rule}", "manager", r#"{"position":-5}"#, U, "invalid_position"),
    ("POST", "/channels", "owner", r#"{"kind":"api","name":"Hook","config":{"callback_url":"ftp://x.test/cb"}}"#, U, "invalid_config"),
    ("POST", "/channels", "owner", r#"{"kind":"api","name":"Hook","config":"x"}"#, U, "invalid_config"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x2","contact":{"identifier":"c9"},"text":"hi","timestamp":"yesterday"}"#, U, "invalid_timestamp"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x2","contact":{"identifier":"c9"},"text":"hi","timestamp":[1]}"#, U, "invalid_timestamp"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x2","contact":{"identifier":"c9"},"text":"hi","timestamp":-5}"#, U, "invalid_timestamp"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":"x2","contact":{"identifier":"c9"},"text":"hi","timestamp":1e300}"#, U, "invalid_timestamp"),
    ("POST", "/channels/{channel}/inbound", "secret", r#"{"external_id":" ","contact":{"identifier":"c9"},"text":"hi"}"#, U, "empty"),
    // Unknown ids inside the body: 422, nothing half-done (the note, the new team, the rename).
    ("POST", "/conversations/{c}/assign", "ana", r#"{"assignee_id":999999,"note":"over to you"}"#, U, "invalid_assignee"),
    ("POST", "/conversations/{c}/assign", "ana", r#"{"assignee_id":null,"team_id":999999}"#, U, "unknown_team"),
    ("POST", "/users", "owner", r#"{"name":"Dora","email":"dora@shop.test","password":"long enough pw","role":"agent","teams":[999999]}"#, U, "unknown_team"),
    ("PATCH", "/users/{ana}", "owner", r#"{"name":"Renamed","teams":[999999]}"#, U, "unknown_team"),
    ("POST", "/teams", "owner", r#"{"name":"Ops","members":[999999]}"#, U, "unknown_user"),
    ("PATCH", "/teams/{sales}", "owner", r#"{"name":"Renamed","members":[999999]}"#, U, "unknown_user"),
    ("POST", "/routing-rules", "manager", r#"{"actions":{"team_id":999999}}"#, U, "unknown_team"),
    ("POST", "/routing-rules", "manager", r#"{"conditions":{"channel_id":999999},"actions":{"priority":"low"}}"#, U, "unknown_channel"),
    ("PATCH", "/routing-rules/{rule}", "manager", r#"{"position":1,"actions":{"team_id":999999}}"#, U, "unknown_team"),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678"},"channel_id":999999,"template":{"name":"hello","language":"en"}}"#, U, "unknown_channel"),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678"},"channel_id":999999,"text":"hi"}"#, U, "unknown_channel"),
    // Unknown ids in the path with a valid body: 404.
    ("POST", "/conversations/999999/notes", "owner", r#"{"text":"hi"}"#, N, "not_found"),
    ("POST", "/conversations/999999/messages", "owner", r#"{"text":"hi"}"#, N, "not_found"),
    ("POST", "/conversations/999999/claim", "owner", "", N, "not_found"),
    ("POST", "/conversations/999999/assign", "owner", r#"{"assignee_id":null}"#, N, "not_found"),
    ("POST", "/conversations/999999/status", "owner", r#"{"status":"resolved"}"#, N, "not_found"),
    ("POST", "/conversations/999999/tags", "owner", r#"{"add":["vip"]}"#, N, "not_found"),
    ("PATCH", "/users/999999", "owner", r#"{"name":"X"}"#, N, "not_found"),
    ("PATCH", "/teams/999999", "owner", r#"{"name":"X"}"#, N, "not_found"),
    ("PATCH", "/contacts/999999", "owner", r#"{"name":"X"}"#, N, "not_found"),
    ("PATCH", "/routing-rules/999999", "manager", r#"{"position":1}"#, N, "not_found"),
    // Not visible to the caller: 404 before 400.
    ("POST", "/conversations/{c}/notes", "bruno", MALFORMED, N, "not_found"),
    ("POST", "/conversations/{c}/notes", "carla", MALFORMED, N, "not_found"),
    ("POST", "/conversations/{c}/messages", "bruno", r#"{"text":"hi"}"#, N, "not_found"),
    ("PATCH", "/contacts/{contact}", "bruno", MALFORMED, N, "not_found"),
    // The role forbids: 403 before 400.
    ("PATCH", "/teams/{sales}", "ana", MALFORMED, F, ""),
    ("POST", "/teams", "ana", MALFORMED, F, ""),
    ("POST", "/users", "manager", MALFORMED, F, ""),
    ("PATCH", "/users/{bruno}", "ana", MALFORMED, F, ""),
    ("POST", "/channels", "ana", MALFORMED, F, ""),
    ("PATCH", "/settings", "ana", MALFORMED, F, ""),
    ("POST", "/routing-rules", "ana", MALFORMED, F, ""),
    ("PATCH", "/routing-rules/{rule}", "ana", MALFORMED, F, ""),
    // Conflicts with the current state: 409; wrong credentials in the body: 401.
    ("POST", "/teams", "owner", r#"{"name":"Sales"}"#, C, "name_taken"),
    ("PATCH", "/teams/{sales}", "owner", r#"{"name":"Support"}"#, C, "name_taken"),
    ("POST", "/conversations/{c}/messages", "manager", r#"{"text":"hi"}"#, C, "not_owner"),
    ("POST", "/setup", "none", r#"{"token":"nope","name":"X","email":"x@shop.test","password":"long enough pw"}"#, &[401], "unauthenticated"),
];

/// A server with an API channel, one inbound conversation claimed by Ana, and its contact.
struct World {
    app: TestApp,
    _callback: FakeCallback,
    conv: i64,
    channel: i64,
    secret: String,
    contact: i64,
    policy: i64,
    rule: i64,
}

impl World {
    fn new() -> World {
        let app = TestApp::spawn();
        let callback = FakeCallback::start(&[]);
        let (channel, secret, conv) = app.conversation(&callback.url);
        app.claim(conv, &app.ana);
        let path = format!("/api/v1/conversations/{conv}");
        let contact = app.api.get(&path, &app.owner.token).expect(200)["contact"]["id"].as_i64();
        let contact = contact.expect("contact id");
        let policy = app
            .api
            .post(
                "/api/v1/sla-policies",
                &app.manager.token,
                serde_json::json!({"name": "Everyone", "first_response_secs": 600}),
            )
            .expect(201)["id"]
            .as_i64()
            .expect("policy id");
        let rule = app
            .api
            .post(
                "/api/v1/routing-rules",
                &app.manager.token,
                serde_json::json!({"conditions": {"keywords": ["refund"]}, "actions": {"priority": "high"}}),
            )
            .expect(201)["id"]
            .as_i64()
            .expect("rule id");
        World {
            app,
            _callback: callback,
            conv,
            channel,
            secret,
            contact,
            policy,
            rule,
        }
    }

    /// Fills the placeholders of a table row.
    fn fill(&self, s: &str) -> String {
        s.replace("{c}", &self.conv.to_string())
            .replace("{ana}", &self.app.ana.id.to_string())
            .replace("{bruno}", &self.app.bruno.id.to_string())
            .replace("{sales}", &self.app.sales.to_string())
            .replace("{contact}", &self.contact.to_string())
            .replace("{channel}", &self.channel.to_string())
            .replace("{rule}", &self.rule.to_string())
    }

    /// The caller a table row names: a seeded user, `none`, or a (bad) token or channel secret.
    fn who(&self, who: &str) -> Who {
        match who {
            "bogus" => Who::token("bogus", "not-a-token-anyone-was-given"),
            "secret" => Who::token("secret", &self.secret),
            "badsecret" => Who::token("badsecret", "not-the-channel-secret"),
            named => Who::named(named),
        }
    }

    /// What the API shows of everything the scenarios aim at.
    fn snapshot(&self) -> Snapshot {
        let paths = [
            "/conversations/{c}",
            "/conversations/{c}/timeline?limit=200",
            "/contacts/{contact}",
            "/users/{ana}",
            "/teams/{sales}",
            "/users",
            "/teams",
            "/channels",
            "/settings",
            "/routing-rules",
        ];
        let owner = &self.app.owner.token;
        let mut views: Vec<(String, String)> = paths
            .iter()
            .map(|p| (format!("/api/v1{}", self.fill(p)), owner.clone()))
            .collect();
        views.push(("/api/v1/me".to_string(), self.app.ana.token.clone()));
        self.app.snapshot(&views)
    }

    /// A row: `who` names the caller (see [`World::who`]); an empty body sends none.
    fn row(
        &self,
        method: &str,
        path: &str,
        who: &str,
        body: impl Into<Vec<u8>>,
        expect: &[u16],
        code: &'static str,
    ) -> Scenario {
        Scenario::new(method, path, self.who(who))
            .raw(body)
            .any_of(expect)
            .code(code)
    }
}

/// The caller allowed on a route and the id of an existing target (0 when the path has none).
fn fixture(w: &World, method: &str, template: &str) -> (&'static str, i64) {
    match (method, template) {
        ("post", "/api/v1/auth/token" | "/api/v1/setup") => ("none", 0),
        ("put", "/api/v1/me/status") | ("post", "/api/v1/conversations") => ("ana", 0),
        ("post", "/api/v1/users" | "/api/v1/teams" | "/api/v1/channels") => ("owner", 0),
        ("patch", "/api/v1/settings") => ("owner", 0),
        ("post", "/api/v1/conversations/bulk") => ("owner", 0),
        ("post", "/api/v1/conversations/next") => ("ana", 0),
        ("post", "/api/v1/me/handoff") => ("ana", 0),
        ("post", "/api/v1/users/{id}/handoff") => ("owner", w.app.ana.id),
        ("post", "/api/v1/sla-policies") => ("manager", 0),
        ("patch", "/api/v1/sla-policies/{id}") => ("manager", w.policy),
        ("post", "/api/v1/routing-rules") => ("manager", 0),
        ("patch", "/api/v1/routing-rules/{id}") => ("manager", w.rule),
        ("patch", "/api/v1/users/{id}") => ("owner", w.app.ana.id),
        ("patch", "/api/v1/teams/{id}") => ("owner", w.app.sales),
        ("patch", "/api/v1/contacts/{id}") => ("owner", w.contact),
        ("post", "/api/v1/channels/{id}/inbound") => ("secret", w.channel),
        ("patch", "/api/v1/channels/{id}") => ("owner", w.channel),
        ("post", p) if p.starts_with("/api/v1/conversations/{id}/") => ("ana", w.conv),
        other => panic!("no bad-input fixture for {other:?}: add one to tests/it/bad_input.rs"),
    }
}

#[test]
fn every_state_changing_route_rejects_bad_bodies_ids_and_credentials() {
    let w = World::new();
    let before = w.snapshot();
    let big = format!("{{\"text\":\"{}\"}}", "a".repeat(2 << 20)).into_bytes();
    let nested = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let mut t = Table::new(&w.app);
    let mut covered = 0;
    for &(method, template) in ROUTES {
        if !matches!(method, "post" | "patch" | "put") {
            continue;
        }
        covered += 1;
        let (who, id) = fixture(&w, method, template);
        let m = method.to_uppercase();
        let path = template.replace("{id}", &id.to_string());
        // Claim and Take next take no body; every other state-changing route takes a JSON
        // object.
        let takes_body = !template.ends_with("/claim") && !template.ends_with("/next");
        let body = if takes_body { MALFORMED } else { "" };
        if takes_body {
            for &(bad, code) in BAD_BODIES {
                t.push(w.row(&m, &path, who, bad, B, code));
            }
            t.push(w.row(&m, &path, who, nested.as_str(), B, ""));
            t.push(w.row(&m, &path, who, big.clone(), &[413], "payload_too_large"));
        }
        if who == "none" {
            continue;
        }
        // 401 before anything else, whatever the body.
        let bad = if who == "secret" {
            "badsecret"
        } else {
            "bogus"
        };
        t.push(w.row(&m, &path, "none", body, &[401], "unauthenticated"));
        t.push(w.row(&m, &path, bad, body, &[401], "unauthenticated"));
        t.push(w.row(&m, &path, "none", big.clone(), &[401, 413], ""));
        if !template.contains("{id}") {
            continue;
        }
        // 401 before 404, even for an id that cannot exist.
        let abc = template.replace("{id}", "abc");
        t.push(w.row(&m, &abc, "none", body, &[401], "unauthenticated"));
        t.push(w.row(&m, &abc, bad, body, &[401], "unauthenticated"));
        if who == "secret" {
            // The secret of channel 1 proves nothing about channel 999999.
            let other = template.replace("{id}", "999999");
            t.push(w.row(&m, &other, who, body, &[401, 404], ""));
            continue;
        }
        // 404 before 400: unknown, negative, non-numeric and out-of-range ids.
        for bad_id in ["999999", "-1", "0", "abc", "1.5", "99999999999999999999"] {
            let unknown = template.replace("{id}", bad_id);
            t.push(w.row(&m, &unknown, who, body, N, "not_found"));
        }
    }
    assert!(covered >= 18, "only {covered} state-changing routes");
    t.check_unchanged(&before);
}

#[test]
fn wrong_types_unknown_values_and_unknown_ids_are_refused_and_change_nothing() {
    let w = World::new();
    let before = w.snapshot();
    let mut t = Table::new(&w.app);
    for &(method, path, who, body, expect, code) in SPECIFIC {
        let path = format!("/api/v1{}", w.fill(path));
        t.push(w.row(method, &path, who, w.fill(body), expect, code));
    }
    let ana = format!("/api/v1/users/{}", w.app.ana.id);
    t.push(w.row("PATCH", &ana, "owner", NOT_UTF8, B, "invalid_json"));
    let tags = format!("/api/v1/conversations/{}/tags", w.conv);
    let long_tag = json!({"add": ["t".repeat(51)]}).to_string();
    t.push(w.row("POST", &tags, "ana", long_tag, U, "too_long"));
    let many: Vec<String> = (0..51).map(|i| format!("tag{i}")).collect();
    let many = json!({ "add": many }).to_string();
    t.push(w.row("POST", &tags, "ana", many, U, "too_many_tags"));
    let inbound = format!("/api/v1/channels/{}/inbound", w.channel);
    let name = "n".repeat(201);
    let long =
        json!({"external_id": "x4", "contact": {"identifier": "c9", "name": name}, "text": "hi"});
    t.push(w.row("POST", &inbound, "secret", long.to_string(), U, "too_long"));
    t.check_unchanged(&before);
}

#[test]
fn script_in_names_is_kept_verbatim_unknown_fields_are_ignored_and_bad_queries_are_400() {
    let w = World::new();
    let (app, owner, ana) = (&w.app, w.app.owner.token.as_str(), w.app.ana.token.as_str());
    let script = "<img src=x onerror=alert(1)>";
    let contact = json!({"identifier": "xss-1", "name": script});
    let body = json!({"external_id": "xss", "contact": contact, "text": "<script>x</script>"});
    let path = format!("/api/v1/channels/{}/inbound", w.channel);
    let body = Some(body.to_string().into_bytes());
    let landed = app
        .api
        .raw(Method::POST, &path, Some(&w.secret), body)
        .expect(201);
    let conv = landed["conversation_id"].as_i64().expect("conversation id");
    let shown = app.api.get(&format!("/api/v1/conversations/{conv}"), owner);
    let ct = shown.headers.get("content-type").map(|v| v.as_bytes());
    assert!(
        ct.is_some_and(|v| v.starts_with(b"application/json")),
        "{ct:?}"
    );
    let shown = shown.expect(200);
    assert_eq!(
        shown["contact"]["name"], script,
        "the name comes back as the same text"
    );
    let timeline = app.timeline(conv);
    let text = timeline
        .iter()
        .find(|i| i["type"] == "message")
        .map(|m| &m["text"]);
    assert_eq!(text, Some(&json!("<script>x</script>")));
    let contact = format!("/api/v1/contacts/{}", shown["contact"]["id"]);
    let renamed = json!({"name": "\"quoted\" </script><b>bold</b> 'x' & \\ \u{0}"});
    let patched = app.api.patch(&contact, owner, renamed.clone()).expect(200);
    assert_eq!(patched["name"], renamed["name"]);
    assert_eq!(
        app.api.get(&contact, owner).expect(200)["name"],
        renamed["name"]
    );

    // Unknown fields are ignored, at the top and nested, and never pick what they name.
    let notes = format!("/api/v1/conversations/{}/notes", w.conv);
    let note = json!({"text": "hi", "bogus": {"x": [1]}, "author_id": app.owner.id});
    let note = app.api.post(&notes, ana, note).expect(201);
    assert_eq!(
        (&note["text"], &note["author"]["id"]),
        (&json!("hi"), &json!(app.ana.id))
    );
    let tags = format!("/api/v1/conversations/{}/tags", w.conv);
    let tagged = app
        .api
        .post(&tags, ana, json!({"add": ["vip"], "colour": "red"}));
    assert_eq!(tagged.expect(200)["tags"], json!(["vip"]));
    let me = json!({"status": "busy", "role": "owner"});
    let me = app.api.put("/api/v1/me/status", ana, me).expect(200);
    assert_eq!(
        (&me["status"], &me["role"]),
        (&json!("busy"), &json!("agent"))
    );
    let config = json!({"callback_url": "http://127.0.0.1:9/cb", "x": 1});
    let ch = json!({"kind": "api", "name": "Extra", "config": config, "y": 2});
    let ch = app.api.post("/api/v1/channels", owner, ch).expect(201);
    assert!(ch["secret"].is_string(), "{ch}");

    // Unknown query values: 400, never a silent fallback.
    for (query, code) in [
        ("view=everything", "invalid_view"),
        ("status=archived", "invalid_status"),
        ("limit=abc", "invalid_query"),
        ("team=sales", "invalid_query"),
        ("before=garbage", "invalid_cursor"),
    ] {
        let r = app.api.get(&format!("/api/v1/conversations?{query}"), ana);
        assert_eq!(r.status.as_u16(), 400, "?{query}: {}", r.body);
        r.expect_error(400, code);
    }
    let timeline = format!("/api/v1/conversations/{}/timeline?before=1_2", w.conv);
    app.api
        .get(&timeline, ana)
        .expect_error(400, "invalid_cursor");
}
