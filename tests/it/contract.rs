//! The contract as the OpenAPI document states it, checked against the real server: `null` only
//! where the document allows it, 405 with `Allow` for methods a path does not take, and the
//! document's `required` fields and limits are the ones the server enforces. (`.ci/schemathesis`
//! checks the same document against the release binary by generated requests.)

use reqwest::Method;
use serde_json::{Value, json};
use teaminbox::web::api::{ROUTES, allowed_methods};
use teaminbox::web::openapi::document;

use crate::support::scenario::{Scenario, Table, Who};
use crate::support::{FakeCallback, TestApp};

/// A server with an API channel, one conversation claimed by Ana, and its contact.
struct World {
    app: TestApp,
    _callback: FakeCallback,
    conv: i64,
    channel: i64,
    contact: i64,
}

impl World {
    fn new() -> World {
        let app = TestApp::spawn();
        let callback = FakeCallback::start(&[]);
        let (channel, _secret, conv) = app.conversation(&callback.url);
        app.claim(conv, &app.ana);
        let path = format!("/api/v1/conversations/{conv}");
        let contact = app.api.get(&path, &app.owner.token).expect(200)["contact"]["id"].as_i64();
        World {
            app,
            _callback: callback,
            conv,
            channel,
            contact: contact.expect("contact id"),
        }
    }

    /// Fills `{c}`, `{ana}`, `{sales}`, `{contact}` and `{channel}`.
    fn fill(&self, s: &str) -> String {
        s.replace("{c}", &self.conv.to_string())
            .replace("{ana}", &self.app.ana.id.to_string())
            .replace("{sales}", &self.app.sales.to_string())
            .replace("{contact}", &self.contact.to_string())
            .replace("{channel}", &self.channel.to_string())
    }

    fn snapshot(&self) -> crate::support::scenario::Snapshot {
        let owner = &self.app.owner.token;
        let views: Vec<(String, String)> = [
            "/conversations/{c}",
            "/conversations/{c}/timeline?limit=200",
            "/contacts/{contact}",
            "/users/{ana}",
            "/teams/{sales}",
            "/channels",
            "/settings",
        ]
        .iter()
        .map(|p| (format!("/api/v1{}", self.fill(p)), owner.clone()))
        .collect();
        self.app.snapshot(&views)
    }
}

/// (method, path under /api/v1, caller, body with a `null` the document does not allow).
#[rustfmt::skip]
const NULLS: &[(&str, &str, &str, &str)] = &[
    ("PATCH", "/teams/{sales}", "owner", r#"{"name":null}"#),
    ("PATCH", "/teams/{sales}", "owner", r#"{"assignment":null}"#),
    ("PATCH", "/teams/{sales}", "owner", r#"{"members":null}"#),
    ("POST", "/teams", "owner", r#"{"name":null}"#),
    ("PATCH", "/users/{ana}", "owner", r#"{"name":null}"#),
    ("PATCH", "/users/{ana}", "owner", r#"{"role":null}"#),
    ("PATCH", "/users/{ana}", "owner", r#"{"disabled":null}"#),
    ("PATCH", "/users/{ana}", "owner", r#"{"teams":null}"#),
    ("PATCH", "/users/{ana}", "owner", r#"{"password":null}"#),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"name":null}"#),
    ("PATCH", "/contacts/{contact}", "owner", r#"{"attributes":null}"#),
    ("PATCH", "/channels/{channel}", "owner", r#"{"name":null}"#),
    ("PATCH", "/channels/{channel}", "owner", r#"{"config":null}"#),
    ("POST", "/channels", "owner", r#"{"kind":"api","name":"Null","config":null}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":null}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":"hi","template":null}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":"hi","media":null}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"text":"hi","reply_to":null}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"media":{"type":"image","link":"https://x.test/a.jpg","caption":null}}"#),
    ("POST", "/conversations/{c}/messages", "ana", r#"{"media":{"type":"image","link":null,"id":"abc123"}}"#),
    ("POST", "/conversations/{c}/notes", "ana", r#"{"text":null}"#),
    ("POST", "/conversations/{c}/assign", "ana", r#"{"assignee_id":null,"note":null}"#),
    ("POST", "/conversations/{c}/status", "ana", r#"{"status":"resolved","until":null}"#),
    ("POST", "/conversations/{c}/tags", "ana", r#"{"add":null}"#),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678","name":null},"channel_id":{channel},"text":"hi"}"#),
    ("POST", "/conversations", "ana", r#"{"contact":{"phone":"351912345678"},"channel_id":{channel},"text":"hi","template":null}"#),
    ("PUT", "/me/status", "ana", r#"{"status":null}"#),
    ("POST", "/conversations/bulk", "owner", r#"{"conversation_ids":[{c}],"status":null}"#),
    ("POST", "/conversations/bulk", "owner", r#"{"conversation_ids":null,"status":"open"}"#),
    ("POST", "/conversations/{c}/notes", "ana", r#"{"text":"hi","mentions":null}"#),
];

#[test]
fn null_is_refused_where_the_document_does_not_allow_it_and_changes_nothing() {
    let w = World::new();
    let before = w.snapshot();
    let mut t = Table::new(&w.app);
    for &(method, path, who, body) in NULLS {
        let path = format!("/api/v1{}", w.fill(path));
        t.push(
            Scenario::new(method, path, Who::named(who))
                .raw(w.fill(body))
                .error(400, "invalid_field"),
        );
    }
    // Settings are read key by key: null for a key that cannot be off is 422 like any bad value.
    for key in [
        "agent_visibility",
        "timezone",
        "sticky_owner",
        "scheduler_tick_ms",
    ] {
        t.push(
            Scenario::new("PATCH", "/api/v1/settings", Who::Owner)
                .json(json!({ key: null }))
                .error(422, "invalid_setting"),
        );
    }
    t.check_unchanged(&before);
}

#[test]
fn null_is_taken_where_the_document_allows_it() {
    let w = World::new();
    let (api, owner) = (&w.app.api, w.app.owner.token.as_str());
    let ana = format!("/api/v1/users/{}", w.app.ana.id);
    api.patch(&ana, owner, json!({"capacity": 3})).expect(200);
    let cleared = api
        .patch(&ana, owner, json!({"capacity": null}))
        .expect(200);
    assert_eq!(cleared["capacity"], Value::Null);
    let contact = format!("/api/v1/contacts/{}", w.contact);
    let cleared = api
        .patch(&contact, owner, json!({"phone": null}))
        .expect(200);
    assert_eq!(cleared["phone"], Value::Null);
    let settings = json!({"take_back_secs": null, "oldest_first_after_secs": null});
    api.patch("/api/v1/settings", owner, settings).expect(200);
    let assign = format!("/api/v1/conversations/{}/assign", w.conv);
    let body = json!({"assignee_id": null, "team_id": null});
    let released = api.post(&assign, &w.app.ana.token, body).expect(200);
    assert_eq!(
        (&released["assignee"], &released["team"]),
        (&Value::Null, &Value::Null)
    );
    // An integration's unknown name, phone and time are null: the message still lands.
    let channel = w.app.api_channel("http://127.0.0.1:9/cb");
    let body = json!({"external_id": "n1", "text": "hi", "timestamp": null,
        "contact": {"identifier": "n1", "name": null, "phone": null}});
    let path = format!("/api/v1/channels/{}/inbound", channel.0);
    let landed = api.raw(
        Method::POST,
        &path,
        Some(&channel.1),
        Some(body.to_string().into()),
    );
    landed.expect(201);
}

/// Methods an API client might send.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[test]
fn a_method_a_path_does_not_take_is_405_with_allow_and_unknown_paths_stay_404() {
    let w = World::new();
    let mut t = Table::new(&w.app);
    let mut paths: Vec<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut rows = Vec::new();
    for path in &paths {
        let allow = allowed_methods(path);
        let taken: Vec<String> = ROUTES
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m.to_uppercase())
            .collect();
        for m in METHODS.iter().filter(|m| !taken.iter().any(|t| t == *m)) {
            rows.push((
                m.to_string(),
                w.fill(&path.replace("{id}", "{c}")),
                allow.clone(),
            ));
        }
    }
    for m in ["PUT", "PATCH", "DELETE", "OPTIONS"] {
        rows.push((m.into(), "/webhooks/whatsapp".into(), "GET, POST".into()));
    }
    assert!(rows.len() > 100, "only {} rows", rows.len());
    for (method, path, allow) in rows {
        // Without credentials too: the method is wrong for anyone.
        for who in [Who::Guest, Who::Owner] {
            let want = allow.clone();
            t.push(
                Scenario::new(&method, path.clone(), who)
                    .error(405, "method_not_allowed")
                    .named(format!("{method} {path}"))
                    .header("allow", &want),
            );
        }
    }
    for (method, path) in [
        ("GET", "/api/v1/nothing"),
        ("DELETE", "/api/v1/conversations/1/nothing"),
        ("POST", "/api/v1/users/1/2"),
        ("PUT", "/webhooks/telegram"),
    ] {
        t.push(Scenario::new(method, path, Who::Owner).error(404, "not_found"));
    }
    t.check();
}

/// The request body schema of an operation, `$ref` resolved.
fn request_schema(doc: &Value, method: &str, path: &str) -> Value {
    let op = &doc["paths"][path][method];
    let reference = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{method} {path} has no request body"));
    let name = reference.trim_start_matches("#/components/schemas/");
    doc["components"]["schemas"][name].clone()
}

/// (method, path, caller, a body the server takes, the fields the document must require).
#[rustfmt::skip]
const REQUIRED: &[(&str, &str, &str, &str, &[&str])] = &[
    ("post", "/api/v1/conversations/{id}/notes", "ana", r#"{"text":"hi"}"#, &["text"]),
    ("post", "/api/v1/conversations/{id}/status", "ana", r#"{"status":"open"}"#, &["status"]),
    ("post", "/api/v1/conversations/{id}/assign", "ana", r#"{"assignee_id":{ana}}"#, &["assignee_id"]),
    ("post", "/api/v1/teams", "owner", r#"{"name":"Ops"}"#, &["name"]),
    ("post", "/api/v1/users", "owner", r#"{"name":"Dora","email":"dora@shop.test","password":"long enough pw","role":"agent"}"#, &["name", "email", "role"]),
    ("post", "/api/v1/invitations/accept", "none", r#"{"token":"x","password":"whatever pw"}"#, &["token", "password"]),
    ("post", "/api/v1/channels", "owner", r#"{"kind":"api","name":"Hook","config":{"callback_url":"http://127.0.0.1:9/cb"}}"#, &["kind", "name"]),
    ("put", "/api/v1/me/status", "ana", r#"{"status":"busy"}"#, &["status"]),
    ("post", "/api/v1/conversations/bulk", "owner", r#"{"conversation_ids":[{c}],"status":"open"}"#, &["conversation_ids"]),
    ("post", "/api/v1/conversations/{id}/presence", "ana", r#"{"state":"viewing"}"#, &["state"]),
    ("post", "/api/v1/auth/token", "none", r#"{"email":"x@shop.test","password":"whatever pw"}"#, &["email", "password"]),
];

#[test]
fn the_document_requires_exactly_the_fields_the_server_refuses_to_go_without() {
    let w = World::new();
    let doc = document();
    let before = w.snapshot();
    let mut t = Table::new(&w.app);
    let mut problems = Vec::new();
    for &(method, path, who, body, required) in REQUIRED {
        let schema = request_schema(&doc, method, path);
        let declared: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if declared != required {
            problems.push(format!(
                "{method} {path}: documented {declared:?}, want {required:?}"
            ));
        }
        let body: Value = serde_json::from_str(&w.fill(body)).expect("table body");
        let url = path.replace("{id}", &w.conv.to_string());
        for field in required {
            let mut without = body.clone();
            without.as_object_mut().map(|o| o.remove(*field));
            t.push(
                Scenario::new(&method.to_uppercase(), url.clone(), Who::named(who))
                    .json(without)
                    .any_of(&[400, 422])
                    .named(format!("{method} {path} without {field}")),
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    t.check_unchanged(&before);
}

/// (method, path, caller, body with `{v}` for the value, pointer of the constraint in the request
/// schema, the limit, the value at the limit, the value one past it).
type Limit = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Value,
    Value,
);

fn limits() -> Vec<Limit> {
    let s = |n: usize| json!("x".repeat(n));
    let tags = |n: usize| json!((0..n).map(|i| format!("t{i}")).collect::<Vec<_>>());
    vec![
        (
            "post",
            "/api/v1/conversations/{id}/notes",
            "ana",
            r#"{"text":{v}}"#,
            "/properties/text/maxLength",
            4096,
            s(4096),
            s(4097),
        ),
        (
            "post",
            "/api/v1/conversations/{id}/tags",
            "ana",
            r#"{"add":[{v}]}"#,
            "/properties/add/items/maxLength",
            50,
            s(50),
            s(51),
        ),
        (
            "post",
            "/api/v1/conversations/{id}/tags",
            "ana",
            r#"{"remove":{v}}"#,
            "/properties/remove/maxItems",
            50,
            tags(50),
            tags(51),
        ),
        (
            "patch",
            "/api/v1/teams/{id}",
            "owner",
            r#"{"name":{v}}"#,
            "/properties/name/maxLength",
            60,
            s(60),
            s(61),
        ),
        (
            "patch",
            "/api/v1/users/{id}",
            "owner",
            r#"{"capacity":{v}}"#,
            "/properties/capacity/oneOf/0/maximum",
            10000,
            json!(10000),
            json!(10001),
        ),
        (
            "patch",
            "/api/v1/users/{id}",
            "owner",
            r#"{"capacity":{v}}"#,
            "/properties/capacity/oneOf/0/minimum",
            0,
            json!(0),
            json!(-1),
        ),
        (
            "patch",
            "/api/v1/users/{id}",
            "owner",
            r#"{"name":{v}}"#,
            "/properties/name/maxLength",
            100,
            s(100),
            s(101),
        ),
        (
            "patch",
            "/api/v1/contacts/{id}",
            "owner",
            r#"{"name":{v}}"#,
            "/properties/name/maxLength",
            200,
            s(200),
            s(201),
        ),
        (
            "patch",
            "/api/v1/channels/{id}",
            "owner",
            r#"{"name":{v}}"#,
            "/properties/name/maxLength",
            100,
            s(100),
            s(101),
        ),
        (
            "patch",
            "/api/v1/settings",
            "owner",
            r#"{"scheduler_tick_ms":{v}}"#,
            "/properties/scheduler_tick_ms/maximum",
            60000,
            json!(60000),
            json!(60001),
        ),
        (
            "patch",
            "/api/v1/settings",
            "owner",
            r#"{"scheduler_tick_ms":{v}}"#,
            "/properties/scheduler_tick_ms/minimum",
            10,
            json!(10),
            json!(9),
        ),
    ]
}

#[test]
fn the_document_declares_the_limits_the_server_enforces() {
    let w = World::new();
    let doc = document();
    let mut t = Table::new(&w.app);
    let mut problems = Vec::new();
    for (method, path, who, body, pointer, limit, at, past) in limits() {
        let declared = request_schema(&doc, method, path).pointer(pointer).cloned();
        if declared != Some(json!(limit)) {
            problems.push(format!(
                "{method} {path} {pointer}: documented {declared:?}, the server's limit is {limit}"
            ));
        }
        let id = match path {
            p if p.starts_with("/api/v1/conversations/") => w.conv,
            "/api/v1/teams/{id}" => w.app.sales,
            "/api/v1/users/{id}" => w.app.ana.id,
            "/api/v1/contacts/{id}" => w.contact,
            _ => w.channel,
        };
        let url = path.replace("{id}", &id.to_string());
        let m = method.to_uppercase();
        let past_body = body.replace("{v}", &past.to_string());
        t.push(
            Scenario::new(&m, url.clone(), Who::named(who))
                .raw(past_body)
                .status(422),
        );
        let at_body = body.replace("{v}", &at.to_string());
        t.push(
            Scenario::new(&m, url, Who::named(who))
                .raw(at_body)
                .any_of(&[200, 201]),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    t.check();
}

/// What is wrong with an answer to `method path_template`, judged by the document: its status
/// must be documented and its JSON body match the schema given for that status.
fn misfit(doc: &Value, method: &str, template: &str, status: u16, body: &Value) -> Option<String> {
    let responses = &doc["paths"][template][method]["responses"];
    let Some(documented) = responses.get(status.to_string()) else {
        return Some(format!("{method} {template}: {status} is not documented"));
    };
    let schema = documented["content"]["application/json"]["schema"].clone();
    if schema.is_null() {
        return None;
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/answer",
        "$defs": {"answer": schema},
        "components": doc["components"],
    });
    let validator = jsonschema::draft202012::new(&root).expect("the document's schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    (!errors.is_empty()).then(|| format!("{method} {template} {status}: {errors:?} in {body}"))
}

#[test]
fn answers_match_their_documented_status_and_schema() {
    let w = World::new();
    let doc = document();
    let (api, app) = (&w.app.api, &w.app);
    let (owner, ana) = (app.owner.token.as_str(), app.ana.token.as_str());
    let c = w.conv;
    // Something of every kind in the timeline: messages both ways, a note, events, a tag.
    let note = api.post(
        &format!("/api/v1/conversations/{c}/notes"),
        ana,
        json!({"text": "n"}),
    );
    let reply = api.post(
        &format!("/api/v1/conversations/{c}/messages"),
        ana,
        json!({"text": "hi"}),
    );
    let tags = json!({"add": ["vip"]});
    let tagged = api.post(&format!("/api/v1/conversations/{c}/tags"), ana, tags);
    let mut answers = vec![
        ("post", "/api/v1/conversations/{id}/notes", note),
        ("post", "/api/v1/conversations/{id}/messages", reply),
        ("post", "/api/v1/conversations/{id}/tags", tagged),
    ];
    let status = json!({"status": "pending"});
    let pending = api.post(&format!("/api/v1/conversations/{c}/status"), ana, status);
    answers.push(("post", "/api/v1/conversations/{id}/status", pending));
    let assign = json!({"assignee_id": app.bruno.id, "team_id": app.sales, "note": "yours"});
    let moved = api.post(&format!("/api/v1/conversations/{c}/assign"), ana, assign);
    answers.push(("post", "/api/v1/conversations/{id}/assign", moved));
    let contact = json!({"name": "Maria", "attributes": {"vip": true}});
    let contact = api.patch(&format!("/api/v1/contacts/{}", w.contact), owner, contact);
    answers.push(("patch", "/api/v1/contacts/{id}", contact));
    let team = api.post(
        "/api/v1/teams",
        owner,
        json!({"name": "Ops", "members": [app.ana.id]}),
    );
    answers.push(("post", "/api/v1/teams", team));
    let cap = api.patch(
        &format!("/api/v1/users/{}", app.ana.id),
        owner,
        json!({"capacity": 5}),
    );
    answers.push(("patch", "/api/v1/users/{id}", cap));
    let settings = json!({"business_hours": {"mon": [["09:00", "18:00"]]}, "take_back_secs": 60});
    answers.push((
        "patch",
        "/api/v1/settings",
        api.patch("/api/v1/settings", owner, settings),
    ));
    let login = api.login(&app.ana.email, crate::support::PASSWORD);
    answers.push(("post", "/api/v1/auth/token", login));
    for (template, path) in [
        ("/api/v1/me", "/api/v1/me".to_string()),
        ("/api/v1/users", "/api/v1/users".into()),
        (
            "/api/v1/users/{id}",
            format!("/api/v1/users/{}", app.ana.id),
        ),
        ("/api/v1/teams", "/api/v1/teams".into()),
        ("/api/v1/teams/{id}", format!("/api/v1/teams/{}", app.sales)),
        (
            "/api/v1/conversations",
            "/api/v1/conversations?limit=1".into(),
        ),
        (
            "/api/v1/conversations/{id}",
            format!("/api/v1/conversations/{c}"),
        ),
        (
            "/api/v1/conversations/{id}/timeline",
            format!("/api/v1/conversations/{c}/timeline"),
        ),
        (
            "/api/v1/contacts/{id}",
            format!("/api/v1/contacts/{}", w.contact),
        ),
        ("/api/v1/channels", "/api/v1/channels".into()),
        ("/api/v1/settings", "/api/v1/settings".into()),
        ("/healthz", "/healthz".into()),
        // Errors have the error shape and a documented status too.
        (
            "/api/v1/conversations/{id}",
            "/api/v1/conversations/999999".into(),
        ),
        (
            "/api/v1/conversations",
            "/api/v1/conversations?view=everything".into(),
        ),
    ] {
        answers.push(("get", template, api.get(&path, owner)));
    }
    answers.push(("get", "/api/v1/me", api.get("/api/v1/me", "not-a-token")));
    let mention = json!({"text": "@Bruno look", "mentions": [app.manager.id]});
    let mentioned = api.post(&format!("/api/v1/conversations/{c}/notes"), owner, mention);
    answers.push(("post", "/api/v1/conversations/{id}/notes", mentioned));
    let mine = api.get("/api/v1/me/mentions", &app.bruno.token);
    assert_eq!(
        mine.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        mine.body
    );
    answers.push(("get", "/api/v1/me/mentions", mine));
    let bulk = json!({"conversation_ids": [c], "tags": {"add": ["bulk"]}});
    answers.push((
        "post",
        "/api/v1/conversations/bulk",
        api.post("/api/v1/conversations/bulk", owner, bulk),
    ));
    let bad = json!({"conversation_ids": [c, 999_999], "status": "resolved"});
    answers.push((
        "post",
        "/api/v1/conversations/bulk",
        api.post("/api/v1/conversations/bulk", owner, bad),
    ));
    let forbidden = api.post("/api/v1/users", ana, json!({}));
    answers.push(("post", "/api/v1/users", forbidden));
    // The judge itself can say no: a user without its fields, an undocumented status.
    assert!(misfit(&doc, "get", "/api/v1/me", 200, &json!({"id": 1})).is_some());
    assert!(misfit(&doc, "get", "/api/v1/me", 418, &Value::Null).is_some());
    let problems: Vec<String> = answers
        .iter()
        .filter_map(|(m, t, r)| misfit(&doc, m, t, r.status.as_u16(), &r.body))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
