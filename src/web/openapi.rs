//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`: every operation with its
//! parameters, its request body (required fields, limits, what may be null) and every status it
//! answers with. A test checks that it describes exactly the routes in [`super::api::ROUTES`];
//! `.ci/schemathesis` checks the running server against it.

mod schemas;

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

use crate::web::body::API_LIMIT;
use schemas::r;

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No credentials.
    Anyone,
    /// A staff member's bearer token (or the browser session).
    Staff,
    /// An API channel's secret as the bearer token.
    Channel,
}

/// One operation of the document.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    caller: Caller,
    /// Name of the request body in `components/schemas`, if it takes one.
    body: Option<&'static str>,
    /// Query parameters: (name, schema, description).
    query: Vec<(&'static str, Value, &'static str)>,
    /// Success statuses and their JSON schema (`Value::Null`: no body).
    ok: Vec<(u16, Value)>,
    /// Error statuses besides 401 for staff and channel callers, and 400 and 413 for a body.
    errors: &'static [u16],
}

/// The period and scope parameters of every report.
fn report(o: Op) -> Op {
    o.query(
        "from",
        json!({"type": "string"}),
        "YYYY-MM-DD or RFC 3339; default: 30 days before `to`",
    )
    .query(
        "to",
        json!({"type": "string"}),
        "YYYY-MM-DD (the whole day) or RFC 3339; default: now",
    )
    .query(
        "team",
        json!({"type": "integer"}),
        "only this team's conversations",
    )
    .query(
        "agent",
        json!({"type": "integer"}),
        "only this agent's share",
    )
    .query(
        "channel",
        json!({"type": "integer"}),
        "only this channel's conversations",
    )
}

fn op(method: &'static str, path: &'static str, summary: &'static str) -> Op {
    Op {
        method,
        path,
        summary,
        caller: Caller::Staff,
        body: None,
        query: Vec::new(),
        ok: Vec::new(),
        errors: &[],
    }
}

impl Op {
    fn body(mut self, name: &'static str) -> Op {
        self.body = Some(name);
        self
    }
    fn ok(mut self, status: u16, schema: Value) -> Op {
        self.ok.push((status, schema));
        self
    }
    fn errors(mut self, errors: &'static [u16]) -> Op {
        self.errors = errors;
        self
    }
    fn caller(mut self, caller: Caller) -> Op {
        self.caller = caller;
        self
    }
    fn query(mut self, name: &'static str, schema: Value, description: &'static str) -> Op {
        self.query.push((name, schema, description));
        self
    }
}

fn page(name: &str) -> Value {
    json!({"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": r(name)},
        "next": {"type": ["string", "null"], "description": "cursor for ?before= (null on the last page)"}}})
}

/// A list the server answers whole (`next` is always null).
fn whole(name: &str) -> Value {
    json!({"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": r(name)}, "next": {"type": "null"}}})
}

fn paged(o: Op) -> Op {
    o.query(
        "limit",
        json!({"type": "integer"}),
        "page size: default 50; values below 1 count as 1, above 200 as 200",
    )
    .query(
        "before",
        json!({"type": "string"}),
        "the `next` cursor of the previous page; anything else is 400 invalid_cursor",
    )
}

fn ops() -> Vec<Op> {
    use Caller::*;
    let conv = || r("Conversation");
    let s = json!({"type": "string"});
    vec![
        op("post", "/api/v1/auth/token", "Log in: email and password for a bearer token")
            .caller(Anyone)
            .body("Login")
            .ok(201, r("Session"))
            .errors(&[401, 429]),
        op("delete", "/api/v1/auth/token", "Revoke the token in use").ok(204, Value::Null),
        op("post", "/api/v1/setup", "Create the first owner with the one-time setup token printed at start")
            .caller(Anyone)
            .body("Setup")
            .ok(201, r("Session"))
            .errors(&[401, 409, 422]),
        op("get", "/api/v1/me", "The current user").ok(200, r("User")),
        op("put", "/api/v1/me/status", "Set my availability")
            .body("StatusChange")
            .ok(200, r("User")),
        paged(op("get", "/api/v1/me/mentions", "Notes that mention me, newest first, each with its conversation and whether I opened it since"))
            .query("unseen", json!({"type": "boolean"}), "true: only those not opened yet")
            .ok(200, page("Mention"))
            .errors(&[400]),
        op("get", "/api/v1/users", "Staff").ok(200, whole("User")),
        op("post", "/api/v1/users", "Create a user (owner)")
            .body("NewUser")
            .ok(201, r("User"))
            .errors(&[403, 409, 422]),
        op("get", "/api/v1/users/{id}", "One user")
            .ok(200, r("User"))
            .errors(&[404]),
        op("patch", "/api/v1/users/{id}", "Change a user (owner); disabling revokes their tokens, a new password every other sign-in")
            .body("UserPatch")
            .ok(200, r("User"))
            .errors(&[403, 404, 409, 422]),
        op("get", "/api/v1/teams", "Teams").ok(200, whole("Team")),
        op("post", "/api/v1/teams", "Create a team (owner, manager)")
            .body("NewTeam")
            .ok(201, r("Team"))
            .errors(&[403, 409, 422]),
        op("get", "/api/v1/teams/{id}", "One team")
            .ok(200, r("Team"))
            .errors(&[404]),
        op("patch", "/api/v1/teams/{id}", "Rename a team, set its routing mode and members (owner, manager)")
            .body("TeamPatch")
            .ok(200, r("Team"))
            .errors(&[403, 404, 409, 422]),
        paged(op("get", "/api/v1/conversations", "A queue view, newest activity first (or as sort says); each row carries its sla"))
            .query("view", json!({"enum": ["unassigned", "mine", "pending", "all", "at_risk"]}), "default all; at_risk: conversations with a running SLA target, breached first, then the soonest due")
            .query("sort", json!({"enum": ["recent", "waiting"]}), "recent (default): newest activity first; waiting: longest waiting customer first (at_risk keeps its own order)")
            .query("team", json!({"type": "integer"}), "only this team's")
            .query("tag", s.clone(), "only those with this tag")
            .query("status", json!({"enum": ["open", "pending", "snoozed", "resolved"]}), "only this status")
            .query("q", s.clone(), "words of the customer's name, phone or messages")
            .ok(200, page("Conversation"))
            .errors(&[400]),
        op("post", "/api/v1/conversations", "Start an outbound conversation; the caller becomes assignee")
            .body("StartConversation")
            .ok(201, conv())
            .errors(&[404, 409, 422]),
        op("post", "/api/v1/conversations/bulk", "One action (assign, status, tags) on many conversations, all or nothing (manager, owner)")
            .body("Bulk")
            .ok(200, r("BulkResult"))
            .errors(&[403, 422]),
        op("post", "/api/v1/conversations/next", "Take next: claim the conversation whose customer has waited longest in your pools (same rules as a claim); 404 nothing_waiting when nobody waits")
            .ok(200, conv())
            .errors(&[404, 409]),
        op("get", "/api/v1/conversations/{id}", "One conversation")
            .ok(200, conv())
            .errors(&[404]),
        paged(op("get", "/api/v1/conversations/{id}/timeline", "Messages, notes and events in time order (newest page first)"))
            .ok(200, page("TimelineItem"))
            .errors(&[400, 404]),
        op("post", "/api/v1/conversations/{id}/messages", "Reply to the customer (assignee only): exactly one of text, template or media; reply_to quotes a message of the conversation")
            .body("Message")
            .ok(201, r("TimelineItem"))
            .errors(&[404, 409, 422]),
        op("post", "/api/v1/conversations/{id}/notes", "Write a private note; @First or @First Last of a staff member (or the mentions ids) mentions them")
            .body("Note")
            .ok(201, r("TimelineItem"))
            .errors(&[404, 422]),
        op("post", "/api/v1/conversations/{id}/claim", "Take an unassigned conversation (no body; one sent is ignored)")
            .ok(200, conv())
            .errors(&[403, 404, 409]),
        op("post", "/api/v1/conversations/{id}/assign", "Hand off, transfer or release to the pool, with an optional note")
            .body("Assign")
            .ok(200, conv())
            .errors(&[403, 404, 409, 422]),
        op("post", "/api/v1/conversations/{id}/status", "Change the status")
            .body("ConversationStatus")
            .ok(200, conv())
            .errors(&[403, 404, 422]),
        op("post", "/api/v1/conversations/{id}/tags", "Add and remove tags")
            .body("Tags")
            .ok(200, conv())
            .errors(&[403, 404, 422]),
        op("get", "/api/v1/channels/{id}/templates", "The message templates of a WhatsApp channel (read from Meta)")
            .ok(200, whole("TemplateInfo"))
            .errors(&[404, 422, 503]),
        op("get", "/api/v1/messages/{id}/media", "The file of an inbound attachment, as its own type; 409 while it is still downloading")
            .ok(200, json!({"contentMediaType": "application/octet-stream"}))
            .errors(&[404, 409, 422]),
        op("get", "/api/v1/contacts/{id}", "A contact with identities and the conversations you may see")
            .ok(200, r("Contact"))
            .errors(&[404]),
        op("patch", "/api/v1/contacts/{id}", "Change a contact")
            .body("ContactPatch")
            .ok(200, r("Contact"))
            .errors(&[404, 422]),
        op("get", "/api/v1/channels", "Channels, secrets hidden (owner)")
            .ok(200, whole("Channel"))
            .errors(&[403]),
        op("post", "/api/v1/channels", "Create a channel (owner); an API channel's secret is shown only here")
            .body("NewChannel")
            .ok(201, r("Channel"))
            .errors(&[403, 422]),
        op("post", "/api/v1/channels/{id}/inbound", "API channel inbound message (Authorization: Bearer <channel secret>); 200 for a repeated external_id")
            .caller(Channel)
            .body("Inbound")
            .ok(201, r("Landed"))
            .ok(200, r("Landed"))
            .errors(&[422]),
        op("post", "/api/v1/me/handoff", "End of shift: hand my unresolved conversations (all, or those listed) to a colleague or a pool, with a note (or one per conversation in `notes`), all or nothing")
            .body("Handoff")
            .ok(200, r("Moved"))
            .errors(&[403, 422]),
        op("post", "/api/v1/users/{id}/handoff", "The same for someone else (owner, manager)")
            .body("Handoff")
            .ok(200, r("Moved"))
            .errors(&[403, 404, 422]),
        report(op("get", "/api/v1/reports/summary", "Metrics of a period: first response, reply and resolution times, resolution rate, per agent, SLA met, CSAT, the queue now (manager, owner)"))
            .ok(200, json!({"type": "object", "required": ["from", "to", "first_response_secs", "resolution_secs", "reply_secs", "cycles_started", "cycles_resolved", "resolution_rate", "per_agent", "queue", "csat"]}))
            .errors(&[400, 403, 422]),
        op("get", "/api/v1/reports/now", "The live board: the queue and every agent's load (manager, owner)")
            .query("team", json!({"type": "integer"}), "only this team")
            .ok(200, json!({"type": "object", "required": ["queue", "agents"]}))
            .errors(&[400, 403, 422]),
        report(op("get", "/api/v1/reports/cycles.csv", "One CSV row per cycle that started in the period (manager, owner)"))
            .ok(200, json!({"type": "string", "description": "RFC 4180 CSV with a header row"}))
            .errors(&[400, 403, 422]),
        report(op("get", "/api/v1/reports/agents.csv", "One CSV row per agent with the per_agent figures (manager, owner)"))
            .ok(200, json!({"type": "string", "description": "RFC 4180 CSV with a header row"}))
            .errors(&[400, 403, 422]),
        op("get", "/api/v1/sla-policies", "SLA policies (owner, manager)")
            .ok(200, whole("SlaPolicy"))
            .errors(&[403]),
        op("post", "/api/v1/sla-policies", "Create an SLA policy (owner, manager); the most specific policy covers a conversation")
            .body("NewSlaPolicy")
            .ok(201, r("SlaPolicy"))
            .errors(&[403, 422]),
        op("patch", "/api/v1/sla-policies/{id}", "Change an SLA policy (owner, manager); running clocks follow at their next change")
            .body("SlaPolicyPatch")
            .ok(200, r("SlaPolicy"))
            .errors(&[403, 404, 422]),
        op("get", "/api/v1/routing-rules", "Routing rules in the order they are tried: position, then id (owner, manager)")
            .ok(200, whole("RoutingRule"))
            .errors(&[403]),
        op("post", "/api/v1/routing-rules", "Create a routing rule (owner, manager); without a position it goes last. The first matching rule sorts a new or reopened conversation")
            .body("NewRoutingRule")
            .ok(201, r("RoutingRule"))
            .errors(&[403, 422]),
        op("patch", "/api/v1/routing-rules/{id}", "Change a routing rule (owner, manager); a given conditions or actions object replaces the old one whole")
            .body("RoutingRulePatch")
            .ok(200, r("RoutingRule"))
            .errors(&[403, 404, 422]),
        op("delete", "/api/v1/routing-rules/{id}", "Delete a routing rule (owner, manager)")
            .ok(204, Value::Null)
            .errors(&[403, 404]),
        op("get", "/api/v1/settings", "Workspace settings").ok(200, r("Settings")),
        op("patch", "/api/v1/settings", "Change settings (owner; managers the routing and SLA keys); answers the whole object")
            .body("SettingsPatch")
            .ok(200, r("Settings"))
            .errors(&[403, 422]),
        op("post", "/api/v1/conversations/{id}/presence", "Say you are viewing or typing in a conversation (an SSE presence event, not stored)")
            .body("Presence")
            .ok(204, Value::Null)
            .errors(&[404]),
        op("patch", "/api/v1/channels/{id}", "Rename a channel or replace configuration keys, such as a new access token (owner)")
            .body("ChannelPatch")
            .ok(200, r("Channel"))
            .errors(&[403, 404, 422]),
        op("get", "/api/v1/events", "Server-Sent Events of changes you may see; resumes after Last-Event-ID")
            .query("last_event_id", json!({"type": "string"}), "for clients that cannot send the Last-Event-ID header")
            .ok(200, json!({"type": "string", "description": "frames of id (the event id), event (its kind) and data (the event as JSON)"}))
            .errors(&[429]),
        op("get", "/api/v1/openapi.json", "This document")
            .caller(Anyone)
            .ok(200, json!({"type": "object"})),
        op("get", "/healthz", "Liveness and database check")
            .caller(Anyone)
            .ok(200, r("Health"))
            .errors(&[500]),
    ]
}

fn error_response(status: u16) -> Value {
    let description = match status {
        400 => {
            "malformed: not a JSON object, a field of the wrong type, null where a value is needed, a bad query"
        }
        401 => "no or bad credentials",
        403 => "the role forbids it",
        404 => "unknown, or not visible to you",
        409 => "conflicts with the current state (ownership, already claimed, taken names)",
        413 => "the body is over the size limit",
        422 => {
            "valid JSON but not allowed (limits, unknown ids in the body, outside the 24 h window)"
        }
        429 => "rate limited; Retry-After says for how many seconds",
        503 => "something we depend on cannot answer now",
        _ => "failed",
    };
    let mut resp = json!({"description": description,
        "content": {"application/json": {"schema": r("Error")}}});
    if status == 401 {
        resp["headers"] =
            json!({"WWW-Authenticate": {"schema": {"type": "string"}, "required": true}});
    }
    if status == 429 {
        resp["headers"] = json!({"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": true}});
    }
    resp
}

fn operation(o: &Op) -> Value {
    let mut responses = Map::new();
    for (status, schema) in &o.ok {
        let mut ok = json!({"description": "success"});
        if !schema.is_null() {
            let media = match o.path {
                "/api/v1/events" => "text/event-stream",
                "/api/v1/messages/{id}/media" => "*/*",
                p if p.ends_with(".csv") => "text/csv",
                _ => "application/json",
            };
            ok["content"] = json!({ media: {"schema": schema} });
        }
        responses.insert(status.to_string(), ok);
    }
    let mut errors: Vec<u16> = o.errors.to_vec();
    if o.caller != Caller::Anyone {
        errors.push(401);
    }
    if o.body.is_some() {
        errors.extend([400, 413]);
    }
    errors.sort_unstable();
    errors.dedup();
    for e in errors {
        responses.insert(e.to_string(), error_response(e));
    }
    let mut out = json!({"summary": o.summary, "operationId": format!("{}{}", o.method, o.path.replace(['/', '{', '}', '.'], "_")), "responses": responses});
    if let Some(name) = o.body {
        out["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": r(name)}}});
    }
    let mut params = Vec::new();
    if o.path.contains("{id}") {
        params.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"},
            "description": "an id that is not a whole number names nothing (404)"}),
        );
    }
    for (name, schema, description) in &o.query {
        params.push(json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description}));
    }
    if !params.is_empty() {
        out["parameters"] = Value::Array(params);
    }
    out["security"] = match o.caller {
        Caller::Anyone => json!([]),
        Caller::Staff => json!([{"bearer": []}, {"session": []}]),
        Caller::Channel => json!([{"channelSecret": []}]),
    };
    out
}

/// The document's `info.description`: the conventions every operation shares.
fn description() -> String {
    format!(
        "The public contract of teaminbox (shared/API.md). Request bodies are \
JSON objects of at most {} KiB (413 over it); the Content-Type header is not checked. Fields the \
server does not know are ignored (the settings object is the exception: unknown keys are 422), \
so a client may send fields a newer server takes. `null` is refused (400) wherever a field is \
not marked nullable: leave the field out to keep its value. Answers may gain fields. Checks run \
in the order 401, then 403/404, then 400/422. A method a path does not take answers 405 with \
`Allow`; an unknown path 404; both with the error shape.",
        API_LIMIT / 1024
    )
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in ops() {
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method] = operation(&o);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "teaminbox API", "version": env!("CARGO_PKG_VERSION"), "description": description()},
        "paths": paths,
        "components": {
            "schemas": schemas::components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /api/v1/auth/token"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::web::session::COOKIE, "description": "the browser session"},
                "channelSecret": {"type": "http", "scheme": "bearer", "description": "an API channel's secret"},
            },
        },
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn show() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::api::ROUTES;

    #[test]
    fn documents_exactly_the_routes() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path) in ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not documented"
            );
        }
        let documented: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |o| o.len()))
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "the document describes routes that do not exist"
        );
    }
}
