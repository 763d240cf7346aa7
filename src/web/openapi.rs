//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`. A test checks that it describes
//! exactly the routes in [`super::api::ROUTES`].

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

/// (method, path, summary, request schema or null, success status, success schema, error statuses)
type Op = (
    &'static str,
    &'static str,
    &'static str,
    Value,
    u16,
    Value,
    &'static [u16],
);

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page(name: &str) -> Value {
    json!({"type": "object", "required": ["items", "next"], "properties": {
        "items": {"type": "array", "items": r(name)},
        "next": {"type": ["string", "null"], "description": "cursor for ?before= (null on the last page)"}}})
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn ops() -> Vec<Op> {
    let conv = || r("Conversation");
    let no_body = Value::Null;
    vec![
        (
            "post",
            "/api/v1/auth/token",
            "Log in: email and password for a bearer token",
            obj(json!({"email": {"type": "string"}, "password": {"type": "string"}})),
            201,
            obj(json!({"token": {"type": "string"}, "user": r("User")})),
            &[400, 401, 429],
        ),
        (
            "delete",
            "/api/v1/auth/token",
            "Revoke the token in use",
            no_body.clone(),
            204,
            Value::Null,
            &[401],
        ),
        (
            "post",
            "/api/v1/setup",
            "Create the first owner with the one-time setup token printed at start",
            obj(
                json!({"token": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}, "password": {"type": "string"}}),
            ),
            201,
            obj(json!({"token": {"type": "string"}, "user": r("User")})),
            &[400, 401, 409, 422],
        ),
        (
            "get",
            "/api/v1/me",
            "The current user",
            no_body.clone(),
            200,
            r("User"),
            &[401],
        ),
        (
            "put",
            "/api/v1/me/status",
            "Set my availability",
            obj(json!({"status": {"enum": ["available", "busy", "offline"]}})),
            200,
            r("User"),
            &[400, 401],
        ),
        (
            "get",
            "/api/v1/users",
            "Staff",
            no_body.clone(),
            200,
            page("User"),
            &[401],
        ),
        (
            "post",
            "/api/v1/users",
            "Create a user (owner)",
            obj(
                json!({"name": {"type": "string"}, "email": {"type": "string"}, "password": {"type": "string"},
                "role": {"enum": ["owner", "manager", "agent"]}, "teams": {"type": "array", "items": {"type": "integer"}}}),
            ),
            201,
            r("User"),
            &[400, 401, 403, 409, 422],
        ),
        (
            "get",
            "/api/v1/users/{id}",
            "One user",
            no_body.clone(),
            200,
            r("User"),
            &[401, 404],
        ),
        (
            "patch",
            "/api/v1/users/{id}",
            "Change a user (owner); disabling revokes their tokens",
            obj(
                json!({"name": {"type": "string"}, "role": {"enum": ["owner", "manager", "agent"]}, "disabled": {"type": "boolean"},
                "teams": {"type": "array", "items": {"type": "integer"}}, "capacity": {"type": ["integer", "null"]}, "password": {"type": "string"}}),
            ),
            200,
            r("User"),
            &[400, 401, 403, 404, 409, 422],
        ),
        (
            "get",
            "/api/v1/teams",
            "Teams",
            no_body.clone(),
            200,
            page("Team"),
            &[401],
        ),
        (
            "post",
            "/api/v1/teams",
            "Create a team (owner, manager)",
            obj(
                json!({"name": {"type": "string"}, "assignment": {"enum": ["manual", "round_robin", "least_loaded"]},
                "members": {"type": "array", "items": {"type": "integer"}}}),
            ),
            201,
            r("Team"),
            &[400, 401, 403, 409, 422],
        ),
        (
            "get",
            "/api/v1/teams/{id}",
            "One team",
            no_body.clone(),
            200,
            r("Team"),
            &[401, 404],
        ),
        (
            "patch",
            "/api/v1/teams/{id}",
            "Rename a team, set its routing mode and members (owner, manager)",
            obj(
                json!({"name": {"type": "string"}, "assignment": {"enum": ["manual", "round_robin", "least_loaded"]},
                "members": {"type": "array", "items": {"type": "integer"}}}),
            ),
            200,
            r("Team"),
            &[400, 401, 403, 404, 409, 422],
        ),
        (
            "get",
            "/api/v1/conversations",
            "Queue view: ?view=unassigned|mine|pending|all&team=&tag=&status=&q=&limit=&before=",
            no_body.clone(),
            200,
            page("Conversation"),
            &[400, 401],
        ),
        (
            "post",
            "/api/v1/conversations",
            "Start an outbound conversation; the caller becomes assignee",
            obj(
                json!({"contact": obj(json!({"phone": {"type": "string"}, "name": {"type": "string"}})),
                "channel_id": {"type": "integer"}, "template": r("Template"), "text": {"type": "string"}}),
            ),
            201,
            conv(),
            &[400, 401, 409, 422],
        ),
        (
            "get",
            "/api/v1/conversations/{id}",
            "One conversation",
            no_body.clone(),
            200,
            conv(),
            &[401, 404],
        ),
        (
            "get",
            "/api/v1/conversations/{id}/timeline",
            "Messages, notes and events in time order (newest page first)",
            no_body.clone(),
            200,
            page("TimelineItem"),
            &[400, 401, 404],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/messages",
            "Reply to the customer (assignee only): text, a template, or media by link; reply_to quotes a message of the conversation",
            obj(
                json!({"text": {"type": "string"}, "template": r("Template"), "media": r("Media"),
                "reply_to": {"type": "integer", "description": "id of the message to quote"}}),
            ),
            201,
            r("TimelineItem"),
            &[400, 401, 404, 409, 422],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/notes",
            "Write a private note",
            obj(json!({"text": {"type": "string"}})),
            201,
            r("TimelineItem"),
            &[400, 401, 404, 422],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/claim",
            "Take an unassigned conversation",
            no_body.clone(),
            200,
            conv(),
            &[401, 403, 404, 409],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/assign",
            "Hand off, transfer or release to the pool, with an optional note",
            obj(
                json!({"assignee_id": {"type": ["integer", "null"]}, "team_id": {"type": ["integer", "null"]}, "note": {"type": "string"}}),
            ),
            200,
            conv(),
            &[400, 401, 403, 404, 422],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/status",
            "Change the status",
            obj(
                json!({"status": {"enum": ["open", "pending", "snoozed", "resolved"]}, "until": {"type": "string", "format": "date-time"}}),
            ),
            200,
            conv(),
            &[400, 401, 403, 404, 422],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/tags",
            "Add and remove tags",
            obj(
                json!({"add": {"type": "array", "items": {"type": "string"}}, "remove": {"type": "array", "items": {"type": "string"}}}),
            ),
            200,
            conv(),
            &[400, 401, 404, 422],
        ),
        (
            "get",
            "/api/v1/channels/{id}/templates",
            "The message templates of a WhatsApp channel (read from Meta): name, language, status, category, body text and number of parameters",
            no_body.clone(),
            200,
            obj(
                json!({"items": {"type": "array", "items": obj(json!({"name": {"type": "string"}, "language": {"type": "string"},
                "status": {"type": "string"}, "category": {"type": "string"}, "body": {"type": "string"}, "params": {"type": "integer"}}))},
                "next": {"type": "null"}}),
            ),
            &[401, 404, 422, 503],
        ),
        (
            "get",
            "/api/v1/messages/{id}/media",
            "The file of an inbound attachment (WhatsApp image, video, audio, document, sticker), as its own type; 409 while it is still downloading",
            no_body.clone(),
            200,
            Value::Null,
            &[401, 404, 409, 422],
        ),
        (
            "get",
            "/api/v1/contacts/{id}",
            "A contact with identities and the conversations you may see",
            no_body.clone(),
            200,
            r("Contact"),
            &[401, 404],
        ),
        (
            "patch",
            "/api/v1/contacts/{id}",
            "Change a contact",
            obj(
                json!({"name": {"type": "string"}, "phone": {"type": ["string", "null"]}, "attributes": {"type": "object"}}),
            ),
            200,
            r("Contact"),
            &[400, 401, 404, 422],
        ),
        (
            "get",
            "/api/v1/channels",
            "Channels, secrets hidden (owner)",
            no_body.clone(),
            200,
            page("Channel"),
            &[401, 403],
        ),
        (
            "post",
            "/api/v1/channels",
            "Create a channel (owner); an API channel's secret is shown only here",
            obj(
                json!({"kind": {"enum": ["api", "whatsapp"]}, "name": {"type": "string"}, "config": {"type": "object"}}),
            ),
            201,
            r("Channel"),
            &[400, 401, 403, 422],
        ),
        (
            "post",
            "/api/v1/channels/{id}/inbound",
            "API channel inbound message (Authorization: Bearer <channel secret>); 200 for a repeated external_id",
            obj(
                json!({"external_id": {"type": "string"}, "contact": obj(json!({"identifier": {"type": "string"}, "name": {"type": "string"}, "phone": {"type": "string"}})),
                "text": {"type": "string"}, "timestamp": {"type": ["integer", "string"]}}),
            ),
            201,
            obj(json!({"conversation_id": {"type": "integer"}, "message_id": {"type": "integer"}})),
            &[400, 401, 413, 422],
        ),
        (
            "get",
            "/api/v1/settings",
            "Workspace settings",
            no_body.clone(),
            200,
            r("Settings"),
            &[401],
        ),
        (
            "patch",
            "/api/v1/settings",
            "Change settings (owner; managers the routing and SLA keys)",
            r("Settings"),
            200,
            r("Settings"),
            &[400, 401, 403, 422],
        ),
        (
            "post",
            "/api/v1/conversations/{id}/presence",
            "Say you are viewing or typing in a conversation (an SSE presence event, not stored)",
            obj(json!({"state": {"enum": ["viewing", "typing", "left"]}})),
            204,
            Value::Null,
            &[400, 401, 404],
        ),
        (
            "patch",
            "/api/v1/channels/{id}",
            "Rename a channel or replace configuration keys, such as a new access token (owner)",
            obj(json!({"name": {"type": "string"}, "config": {"type": "object"}})),
            200,
            r("Channel"),
            &[400, 401, 403, 404, 422],
        ),
        (
            "get",
            "/api/v1/events",
            "Server-Sent Events of changes you may see; honours Last-Event-ID. A user may have \
             max_streams_per_user streams open at once (the server max_streams): beyond that 429 \
             with Retry-After",
            no_body.clone(),
            200,
            json!({"type": "string", "contentMediaType": "text/event-stream",
                "description": "frames of id (the event id), event (its kind) and data (the event as JSON)"}),
            &[401, 429],
        ),
        (
            "get",
            "/api/v1/openapi.json",
            "This document",
            no_body.clone(),
            200,
            json!({"type": "object"}),
            &[],
        ),
        (
            "get",
            "/healthz",
            "Liveness and database check",
            no_body,
            200,
            obj(json!({"status": {"type": "string"}})),
            &[500],
        ),
    ]
}

fn schemas() -> Value {
    let named = json!({"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}});
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "data": {}}}}},
        "User": obj(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"},
            "role": {"enum": ["owner", "manager", "agent"]}, "status": {"enum": ["available", "busy", "offline"]},
            "teams": {"type": "array", "items": named}, "capacity": {"type": ["integer", "null"]}, "disabled": {"type": "boolean"}})),
        "Team": obj(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "assignment": {"enum": ["manual", "round_robin", "least_loaded"]},
            "members": {"type": "array", "items": named}})),
        "Conversation": obj(json!({"id": {"type": "integer"}, "status": {"enum": ["open", "pending", "snoozed", "resolved"]},
            "assignee": named, "team": named, "contact": obj(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "phone": {"type": ["string", "null"]}})),
            "channel": obj(json!({"id": {"type": "integer"}, "kind": {"type": "string"}, "name": {"type": "string"}})),
            "tags": {"type": "array", "items": {"type": "string"}}, "last_message_at": time, "waiting_since": time_or_null,
            "window_closes_at": time_or_null, "window_closing": {"type": "boolean", "description": "unresolved, and the 24-hour window closes within 2 hours"}, "sla": {"type": ["object", "null"]}, "created_at": time,
            "priority": {"type": "string"}, "snoozed_until": time_or_null, "preview": {"type": "string"}})),
        "TimelineItem": obj(json!({"type": {"enum": ["message", "note", "event"]}, "id": {"type": "integer"}, "at": time,
            "direction": {"enum": ["in", "out"]}, "text": {"type": "string"}, "author": named,
            "status": {"enum": ["received", "queued", "sent", "delivered", "read", "failed"]}, "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "provider_message": {"type": ["string", "null"]}}},
            "kind": {"type": "string"}, "actor": named, "data": {}})),
        "Media": obj(json!({"type": {"enum": ["image", "video", "audio", "document", "sticker"]}, "link": {"type": "string"},
            "id": {"type": "string"}, "caption": {"type": "string"}, "filename": {"type": "string"}})),
        "Template": obj(json!({"name": {"type": "string"}, "language": {"type": "string"}, "params": {"type": "array", "items": {"type": "string"}}})),
        "Contact": obj(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "phone": {"type": ["string", "null"]},
            "attributes": {"type": "object"}, "identities": {"type": "array"}, "conversations": {"type": "array", "items": r("Conversation")}})),
        "Channel": obj(json!({"id": {"type": "integer"}, "kind": {"enum": ["api", "whatsapp"]}, "name": {"type": "string"},
            "config": {"type": "object"}, "secret": {"type": "string"}, "created_at": time})),
        "Settings": obj(json!({"agent_visibility": {"enum": ["own", "own_and_pool", "all_read_only"]}, "timezone": {"type": "string"},
            "business_hours": {"type": "object"}, "holidays": {"type": "array", "items": {"type": "string"}},
            "unassigned_alert_secs": {"type": ["integer", "null"]}, "oldest_first_after_secs": {"type": ["integer", "null"]},
            "take_back_secs": {"type": ["integer", "null"]}, "auto_offline_secs": {"type": ["integer", "null"]},
            "sticky_owner": {"type": "boolean"}, "auto_pending_on_reply": {"type": "boolean"}, "scheduler_tick_ms": {"type": "integer"}})),
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, request, status, response, errors) in ops() {
        let mut responses = Map::new();
        let mut ok = json!({"description": "success"});
        if !response.is_null() {
            let media = if path == "/api/v1/events" {
                "text/event-stream"
            } else {
                "application/json"
            };
            ok["content"] = json!({ media: {"schema": response} });
        }
        responses.insert(status.to_string(), ok);
        for e in errors {
            responses.insert(
                e.to_string(),
                json!({"description": "error", "content": {"application/json": {"schema": r("Error")}}}),
            );
        }
        let mut op = json!({"summary": summary, "responses": responses});
        if !request.is_null() {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": request}}});
        }
        if path.contains("{id}") {
            op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
        }
        if path.starts_with("/api/v1/")
            && !matches!(
                path,
                "/api/v1/auth/token" | "/api/v1/setup" | "/api/v1/openapi.json"
            )
        {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "teaminbox API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
