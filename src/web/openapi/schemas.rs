//! The shapes of the OpenAPI document: request bodies with the limits the services enforce, and
//! the objects the API answers with (`components/schemas`). Limits come from the service
//! constants where one exists, so the document moves with the server.

use serde_json::{Value, json};

use crate::service::auth::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::service::bulk::MAX_BULK;
use crate::service::conversations::{MAX_TAGS_AT_ONCE, MAX_TEXT};
use crate::service::handoff::MAX_HANDOFF_CONVERSATIONS;
use crate::service::inbound::MAX_API_TEXT;
use crate::service::mentions::MAX_MENTIONS;
use crate::service::routing::{MAX_KEYWORD, MAX_POSITION, MAX_RULE_WORDS};
use crate::service::sla::MAX_TARGET_SECS;

/// A `$ref` to `components/schemas/{name}`.
pub fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `T | null`.
fn or_null(v: Value) -> Value {
    json!({"oneOf": [v, {"type": "null"}]})
}

/// An object with these properties, all of them required.
fn all(props: Value) -> Value {
    let required: Vec<String> = props
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "required": required, "properties": props})
}

/// A request object: `required` fields; others optional. Fields the server does not know are
/// ignored (see the document's description), so `additionalProperties` stays open.
fn body(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

/// A text the server trims and then wants non-empty and at most `max` characters.
pub fn text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S",
        "description": format!("trimmed; then 1 to {max} characters")})
}

fn password() -> Value {
    json!({"type": "string", "minLength": MIN_PASSWORD_LEN, "maxLength": MAX_PASSWORD_LEN})
}

fn email() -> Value {
    json!({"type": "string", "format": "email", "maxLength": 254})
}

fn ids() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn role() -> Value {
    json!({"enum": ["owner", "manager", "agent"]})
}

fn assignment() -> Value {
    json!({"enum": ["manual", "round_robin", "least_loaded"]})
}

/// Exactly one of these fields.
fn one_of_fields(fields: &[&str]) -> Value {
    json!(
        fields
            .iter()
            .map(|f| json!({"required": [f]}))
            .collect::<Vec<_>>()
    )
}

/// Request bodies, by name (`components/schemas/{name}`).
pub fn requests() -> Vec<(&'static str, Value)> {
    let mut start = body(
        &["contact", "channel_id"],
        json!({
            "contact": body(&["phone"], json!({"phone": {"type": "string", "description": "international number; digits are kept"},
                "name": text(200)})),
            "channel_id": {"type": "integer"},
            "text": text(MAX_TEXT),
            "template": r("Template")}),
    );
    start["oneOf"] = one_of_fields(&["text", "template"]);
    let mut message = body(
        &[],
        json!({"text": text(MAX_TEXT), "template": r("Template"), "media": r("Media"),
            "reply_to": {"type": "integer", "description": "id of a message of the conversation to quote"}}),
    );
    message["oneOf"] = one_of_fields(&["text", "template", "media"]);
    let tags = json!({"type": "array", "maxItems": MAX_TAGS_AT_ONCE, "items": text(50)});
    vec![
        (
            "Login",
            body(
                &["email", "password"],
                json!({"email": {"type": "string"}, "password": {"type": "string"}}),
            ),
        ),
        (
            "Setup",
            body(
                &["token", "name", "email", "password"],
                json!({"token": {"type": "string"}, "name": text(100), "email": email(), "password": password()}),
            ),
        ),
        (
            "StatusChange",
            body(
                &["status"],
                json!({"status": {"enum": ["available", "busy", "offline"]}}),
            ),
        ),
        (
            "NewUser",
            body(
                &["name", "email", "password", "role"],
                json!({"name": text(100), "email": email(), "password": password(), "role": role(),
                    "teams": ids()}),
            ),
        ),
        (
            "UserPatch",
            body(
                &[],
                json!({"name": text(100), "role": role(), "disabled": {"type": "boolean"}, "teams": ids(),
                    "capacity": or_null(json!({"type": "integer", "minimum": 0, "maximum": 10000})),
                    "password": password()}),
            ),
        ),
        (
            "NewTeam",
            body(
                &["name"],
                json!({"name": text(60), "assignment": assignment(), "members": ids()}),
            ),
        ),
        (
            "TeamPatch",
            body(
                &[],
                json!({"name": text(60), "assignment": assignment(), "members": ids()}),
            ),
        ),
        ("StartConversation", start),
        ("Message", message),
        (
            "Note",
            body(
                &["text"],
                json!({"text": text(MAX_TEXT),
                    "mentions": {"type": "array", "maxItems": MAX_MENTIONS, "items": {"type": "integer"},
                        "description": "ids of active staff members to mention besides any @Name in the text (422 invalid_mention otherwise)"}}),
            ),
        ),
        (
            "Bulk",
            json!({"type": "object", "required": ["conversation_ids"],
                "anyOf": [{"required": ["assign"]}, {"required": ["status"]}, {"required": ["tags"]}],
                "description": "managers and owners; all or nothing: an unknown id or a refused change changes nothing (422 naming the conversation)",
                "properties": {
                "conversation_ids": {"type": "array", "minItems": 1, "maxItems": MAX_BULK, "items": {"type": "integer"},
                    "description": format!("1 to {MAX_BULK}; repeated ids count once")},
                "assign": body(&["assignee_id"], json!({
                    "assignee_id": {"type": ["integer", "null"], "description": "null releases to the pool"},
                    "team_id": {"type": ["integer", "null"], "description": "null takes them out of any team; left out keeps each one's team"}})),
                "status": {"enum": ["open", "pending", "resolved"], "description": "snooze one at a time (422)"},
                "tags": r("Tags")}}),
        ),
        (
            "Assign",
            body(
                &["assignee_id"],
                json!({"assignee_id": {"type": ["integer", "null"], "description": "null releases the conversation to the pool"},
                    "team_id": {"type": ["integer", "null"], "description": "null takes it out of any team"},
                    "note": {"type": "string", "maxLength": MAX_TEXT, "description": "stored as a private note; blank means none"}}),
            ),
        ),
        (
            "ConversationStatus",
            body(
                &["status"],
                json!({"status": {"enum": ["open", "pending", "snoozed", "resolved"]},
                    "until": {"type": "string", "format": "date-time", "description": "snooze end, in the future"}}),
            ),
        ),
        (
            "Tags",
            json!({"type": "object", "properties": {"add": tags.clone(), "remove": tags},
                "description": format!("at most {MAX_TAGS_AT_ONCE} names in add and remove together")}),
        ),
        (
            "ContactPatch",
            body(
                &[],
                json!({"name": text(200),
                    "phone": {"type": ["string", "null"], "description": "an international number; null clears it"},
                    "attributes": {"type": "object", "description": "replaces them; at most 16 KiB as JSON"}}),
            ),
        ),
        (
            "NewChannel",
            body(
                &["kind", "name"],
                json!({"kind": {"enum": ["api", "whatsapp"]}, "name": text(100), "config": r("ChannelConfig"),
                    "default_team_id": {"type": ["integer", "null"], "description": "the team new conversations get (an existing team, else 422 unknown_team)"}}),
            ),
        ),
        (
            "ChannelPatch",
            body(
                &[],
                json!({"name": text(100), "config": r("ChannelConfig"),
                    "default_team_id": {"type": ["integer", "null"], "description": "the team new conversations get; null: none (an unknown team is 422 unknown_team)"}}),
            ),
        ),
        (
            "Inbound",
            body(
                &["external_id", "contact", "text"],
                json!({"external_id": text(255),
                    "contact": body(&["identifier"], json!({"identifier": text(255),
                        "name": {"type": ["string", "null"], "maxLength": 200, "description": "null: not known"},
                        "phone": {"type": ["string", "null"], "description": "kept as given when it is not a number; null: not known"}})),
                    "text": {"type": "string", "maxLength": MAX_API_TEXT},
                    "timestamp": {"type": ["integer", "string", "null"],
                        "description": "unix seconds or milliseconds (number or digits), or RFC 3339; not later than now; null: now"}}),
            ),
        ),
        ("SettingsPatch", settings(false)),
        ("NewSlaPolicy", body(&["name"], sla_policy())),
        (
            "Handoff",
            body(
                &["to"],
                json!({"to": body(&["assignee_id"], json!({"assignee_id": {"type": ["integer", "null"]},
                        "team_id": {"type": ["integer", "null"]}})),
                    "note": {"type": "string", "maxLength": MAX_TEXT},
                    "notes": {"type": "object", "description": "conversation id → its own note, written instead of `note` on that conversation (blank: none there); every key must be a conversation handed off, else 403 not_owner",
                        "propertyNames": {"pattern": "^[0-9]+$"}, "maxProperties": MAX_HANDOFF_CONVERSATIONS,
                        "additionalProperties": {"type": "string", "maxLength": MAX_TEXT}},
                    "conversation_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": MAX_HANDOFF_CONVERSATIONS},
                    "go_offline": {"type": "boolean"}}),
            ),
        ),
        ("SlaPolicyPatch", body(&[], sla_policy())),
        ("NewRoutingRule", body(&[], routing_rule())),
        ("RoutingRulePatch", body(&[], routing_rule())),
        (
            "Presence",
            body(
                &["state"],
                json!({"state": {"enum": ["viewing", "typing", "left"]}}),
            ),
        ),
    ]
}

/// The fields of an SLA policy in a request (at least one target must end up set: 422 otherwise).
fn sla_policy() -> Value {
    let secs = or_null(json!({"type": "integer", "minimum": 1, "maximum": MAX_TARGET_SECS}));
    json!({"name": text(80), "team_id": {"type": ["integer", "null"]},
        "priority": or_null(json!({"enum": ["low", "normal", "high", "urgent"]})),
        "first_response_secs": secs, "next_response_secs": secs, "resolution_secs": secs,
        "warn_at": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "business_hours": {"type": "boolean"}, "pause_when_pending": {"type": "boolean"}})
}

/// The fields of a routing rule in a request (422 for an unknown channel or team, an empty
/// list, a rule without an action); unknown keys inside `conditions` and `actions` are 400.
fn routing_rule() -> Value {
    let word =
        json!({"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD, "pattern": "\\S"});
    let words = |item: Value| json!({"type": "array", "items": item, "minItems": 1, "maxItems": MAX_RULE_WORDS});
    let mut conditions = routing_conditions();
    conditions["properties"]["keywords"] = words(word);
    let mut actions = routing_actions();
    actions["properties"]["tags"] = words(text(50));
    json!({"position": {"type": "integer", "minimum": 0, "maximum": MAX_POSITION,
            "description": "lower runs first; ties by id; absent: after the last rule"},
        "conditions": conditions, "actions": actions})
}

fn routing_conditions() -> Value {
    json!({"type": "object", "additionalProperties": false, "description": "every condition given must hold; {} matches everything",
        "properties": {"channel_id": {"type": "integer"},
        "keywords": {"type": "array", "items": {"type": "string"},
            "description": "any of these words or phrases in the first message of the cycle, whole words, any case"},
        "contact_tag": {"type": "string", "description": "a tag on any of the contact's conversations, or in the contact's attributes.tags"},
        "business_hours": {"enum": ["inside", "outside"]}}})
}

fn routing_actions() -> Value {
    json!({"type": "object", "additionalProperties": false, "description": "at least one of them",
        "properties": {"team_id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
        "priority": {"enum": ["low", "normal", "high", "urgent"]}}})
}

/// The settings object: every key required in answers, any subset in a `PATCH`; unknown keys
/// are refused (422 `unknown_setting`).
fn settings(answer: bool) -> Value {
    let hhmm = json!({"type": "string", "pattern": "^([01][0-9]|2[0-4]):[0-5][0-9]$"});
    let secs = json!({"type": ["integer", "null"], "minimum": 0, "description": "seconds; null turns it off"});
    let props = json!({
        "agent_visibility": {"enum": ["own", "own_and_pool", "all_read_only"]},
        "timezone": {"type": "string", "pattern": "^[A-Za-z0-9/_+-]{1,64}$", "description": "an IANA name such as Europe/Lisbon"},
        "business_hours": {"type": "object",
            "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "additionalProperties": {"type": "array", "items": {"type": "array", "items": hhmm,
                "minItems": 2, "maxItems": 2, "description": "[start, end], start before end; the ranges of a day must not overlap"}}},
        "holidays": {"type": "array", "items": {"type": "string", "format": "date"}},
        "unassigned_alert_secs": secs, "oldest_first_after_secs": secs, "take_back_secs": secs,
        "auto_offline_secs": secs,
        "sticky_owner": {"type": "boolean"}, "auto_pending_on_reply": {"type": "boolean"},
        "scheduler_tick_ms": {"type": "integer", "minimum": 10, "maximum": 60000},
        "auto_resolve_pending_secs": {"type": ["integer", "null"], "minimum": 1,
            "description": "resolve a pending conversation after the customer stayed quiet this many seconds; null (the default) turns it off"},
    });
    let mut s = if answer { all(props) } else { body(&[], props) };
    s["additionalProperties"] = json!(false);
    s
}

/// Every shape of `components/schemas`: answers, then request bodies.
pub fn components() -> Value {
    let named = all(json!({"id": {"type": "integer"}, "name": {"type": "string"}}));
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let mut out = json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "data": {}}}}},
        "Named": named,
        "NamedOrNull": or_null(r("Named")),
        "User": all(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"},
            "role": role(), "status": {"enum": ["available", "busy", "offline"]},
            "teams": {"type": "array", "items": r("Named")}, "capacity": {"type": ["integer", "null"]}, "disabled": {"type": "boolean"}})),
        "Session": all(json!({"token": {"type": "string"}, "user": r("User")})),
        "Moved": all(json!({"moved": {"type": "array", "items": {"type": "integer"}}})),
        "SlaPolicy": all(json!({"id": {"type": "integer"}, "name": {"type": "string"},
            "team_id": {"type": ["integer", "null"]}, "priority": {"enum": ["low", "normal", "high", "urgent", null]},
            "first_response_secs": {"type": ["integer", "null"]}, "next_response_secs": {"type": ["integer", "null"]},
            "resolution_secs": {"type": ["integer", "null"]}, "warn_at": {"type": "number"},
            "business_hours": {"type": "boolean"}, "pause_when_pending": {"type": "boolean"}})),
        "RoutingRule": all(json!({"id": {"type": "integer"}, "position": {"type": "integer"},
            "conditions": routing_conditions(), "actions": routing_actions()})),
        "Team": all(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "assignment": assignment(),
            "members": {"type": "array", "items": r("Named")}})),
        "Conversation": all(json!({"id": {"type": "integer"}, "status": {"enum": ["open", "pending", "snoozed", "resolved"]},
            "assignee": r("NamedOrNull"), "team": r("NamedOrNull"),
            "contact": all(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "phone": {"type": ["string", "null"]}})),
            "channel": all(json!({"id": {"type": "integer"}, "kind": {"enum": ["api", "whatsapp"]}, "name": {"type": "string"}})),
            "tags": {"type": "array", "items": {"type": "string"}}, "last_message_at": time, "waiting_since": time_or_null,
            "window_closes_at": time_or_null,
            "window_closing": {"type": "boolean", "description": "unresolved, and the 24-hour window closes within 2 hours"},
            "sla": {"type": ["object", "null"], "description": "SLA of the current cycle: policy {id,name}; first_response, next_response, resolution each {due_at, state: running|at_risk|breached|paused|met} or null; next_due_at; next {target, due_at, state}: the running target due first (null when none runs)"}, "created_at": time,
            "priority": {"enum": ["low", "normal", "high", "urgent"]}, "snoozed_until": time_or_null, "preview": {"type": "string"}})),
        "TimelineItem": {"type": "object", "required": ["type", "id", "at"], "properties": {
            "type": {"enum": ["message", "note", "event"]}, "id": {"type": "integer"}, "at": time,
            "conversation_id": {"type": "integer"},
            "direction": {"enum": ["in", "out"]}, "text": {"type": "string"}, "author": r("NamedOrNull"),
            "status": {"enum": ["received", "queued", "sent", "delivered", "read", "failed"]},
            "error": {"oneOf": [{"type": "null"}, all(json!({"code": {"type": "string"}, "message": {"type": "string"},
                "provider_message": {"type": ["string", "null"]}}))]},
            "content_type": {"type": "string"}, "payload": {"type": ["object", "null"]},
            "notice": {"type": "boolean", "description": "an inbound reaction, system notice, edit or withdrawal: shown, but it changed nothing else (no reopen, cycle, window or preview)"},
            "kind": {"type": "string"}, "actor": r("NamedOrNull"), "data": {}},
            "description": "a message adds direction, text, author, status, error, content_type, notice; a note author and text; an event kind, actor and data"},
        "Media": {"type": "object", "required": ["type"], "oneOf": one_of_fields(&["link", "id"]), "properties": {
            "type": {"enum": ["image", "video", "audio", "document", "sticker"]},
            "link": {"type": "string", "maxLength": 2048, "pattern": "^https?://[^\\s\\x00-\\x1f\\x7f]*$"},
            "id": {"type": "string", "pattern": "^[A-Za-z0-9]{1,128}$", "description": "a media id WhatsApp already holds"},
            "caption": {"type": "string", "maxLength": 1024, "description": "trimmed; blank means none"},
            "filename": {"type": "string", "maxLength": 240, "description": "trimmed; blank means none"}}},
        "Template": body(&["name", "language"], json!({"name": text(512), "language": text(15),
            "params": {"type": "array", "maxItems": 100, "items": {"type": "string", "maxLength": 1024}}})),
        "Contact": all(json!({"id": {"type": "integer"}, "name": {"type": "string"}, "phone": {"type": ["string", "null"]},
            "attributes": {"type": "object"}, "created_at": time,
            "identities": {"type": "array", "items": all(json!({"channel_id": {"type": "integer"}, "kind": {"type": "string"}, "identifier": {"type": "string"}}))},
            "conversations": {"type": "array", "items": r("Conversation")}})),
        "Channel": {"type": "object", "required": ["id", "kind", "name", "config", "created_at", "default_team_id"], "properties": {
            "default_team_id": {"type": ["integer", "null"], "description": "the team new conversations of the channel get when no routing rule sets one"},
            "id": {"type": "integer"}, "kind": {"enum": ["api", "whatsapp"]}, "name": {"type": "string"},
            "config": {"type": "object", "description": "secrets are replaced by <name>_set booleans"},
            "secret": {"type": "string", "description": "an API channel's secret, only in the answer that creates it"},
            "created_at": time}},
        "ChannelConfig": {"type": "object", "description": "api: callback_url (an http(s) URL, required); whatsapp: phone_number_id, waba_id, access_token, app_secret, verify_token (required), graph_api_base. Values are strings; other keys are dropped"},
        "TemplateInfo": all(json!({"name": {"type": "string"}, "language": {"type": "string"},
            "status": {"type": "string"}, "category": {"type": "string"}, "body": {"type": "string"}, "params": {"type": "integer", "minimum": 0}})),
        "Settings": settings(true),
        "Mention": all(json!({"id": {"type": "integer"}, "at": time, "seen": {"type": "boolean"}, "seen_at": time_or_null,
            "note": all(json!({"id": {"type": "integer"}, "text": {"type": "string"}, "author": r("Named")})),
            "conversation": r("Conversation")})),
        "BulkResult": all(json!({"updated": {"type": "array", "items": {"type": "integer"},
            "description": "every conversation acted on, in the order given, each once"}})),
        "Landed": all(json!({"conversation_id": {"type": "integer"}, "message_id": {"type": "integer"}})),
        "Health": all(json!({"status": {"const": "ok"}})),
    });
    if let Some(map) = out.as_object_mut() {
        for (name, schema) in requests() {
            map.insert(name.to_string(), schema);
        }
    }
    out
}
