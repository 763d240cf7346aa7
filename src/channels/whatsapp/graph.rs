//! The Graph API side of sending: the request bodies (`POST /{phone-number-id}/messages`), the
//! call itself, and how an answer is classified — accepted (with the wamid), worth retrying, or
//! refused with a reason an agent can act on. Shapes follow Meta's OpenAPI spec v23.0.

use serde_json::{Value, json};

use super::WaConfig;
use crate::channels::SendError;
use crate::store::outbox::OutboxItem;

/// Prefix of what we put in `biz_opaque_callback_data`: status webhooks echo it, which ties a
/// status to an outbox row even when the send's own answer was lost.
pub const OPAQUE_PREFIX: &str = "teaminbox-outbox:";

/// `biz_opaque_callback_data` for an outbox row.
pub fn opaque_for(outbox_id: i64) -> String {
    format!("{OPAQUE_PREFIX}{outbox_id}")
}

/// The outbox row named by `biz_opaque_callback_data`, if it is one of ours.
pub fn outbox_from_opaque(s: &str) -> Option<i64> {
    s.strip_prefix(OPAQUE_PREFIX)?.parse().ok()
}

/// The media kinds WhatsApp sends.
pub const MEDIA_KINDS: &[&str] = &["image", "video", "audio", "document", "sticker"];

fn recipient(item: &OutboxItem, body: &mut Value) -> Result<(), SendError> {
    if let Some(phone) = item.contact_phone.as_deref().filter(|p| !p.is_empty()) {
        body["to"] = json!(format!("+{}", phone.trim_start_matches('+')));
    } else if let Some(bsuid) = item.identifier.as_deref().filter(|i| i.contains('.')) {
        // A customer known only by a business-scoped user id (no phone shared).
        body["recipient"] = json!(bsuid);
    } else {
        return Err(SendError::Permanent(
            "this customer has no WhatsApp number or user id to send to".into(),
        ));
    }
    Ok(())
}

/// The body of `POST /{phone-number-id}/messages` for a queued message.
pub fn message_body(item: &OutboxItem) -> Result<Value, SendError> {
    let payload = item.payload.clone().unwrap_or(Value::Null);
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "biz_opaque_callback_data": opaque_for(item.id),
    });
    recipient(item, &mut body)?;
    if let Some(quoted) = payload
        .get("reply_to")
        .and_then(|r| r.get("external_id"))
        .and_then(Value::as_str)
    {
        body["context"] = json!({"message_id": quoted});
    }
    match item.kind.as_str() {
        "text" => {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": item.text});
        }
        // The bot's menu and survey (#13): reply buttons or a list, built by domain::bot
        // within Meta's limits.
        "interactive" => {
            let i = payload.get("interactive").ok_or_else(|| {
                SendError::Permanent("the interactive content of this message is missing".into())
            })?;
            body["type"] = json!("interactive");
            body["interactive"] = i.clone();
        }
        "template" => {
            let t = payload.get("template").ok_or_else(|| {
                SendError::Permanent("the template of this message is missing".into())
            })?;
            let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            let language = t.get("language").and_then(Value::as_str).unwrap_or("en_US");
            let mut template = json!({
                "name": name,
                "language": {"policy": "deterministic", "code": language},
            });
            let params: Vec<Value> = t
                .get("params")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| json!({"type": "text", "text": p.as_str().unwrap_or_default()}))
                        .collect()
                })
                .unwrap_or_default();
            if !params.is_empty() {
                template["components"] = json!([{"type": "body", "parameters": params}]);
            }
            body["type"] = json!("template");
            body["template"] = template;
        }
        "media" => {
            let m = payload.get("media").ok_or_else(|| {
                SendError::Permanent("the attachment of this message is missing".into())
            })?;
            let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
            if !MEDIA_KINDS.contains(&kind) {
                return Err(SendError::Permanent(format!(
                    "WhatsApp cannot send an attachment of type \"{kind}\""
                )));
            }
            let mut obj = json!({});
            for key in ["id", "link"] {
                if let Some(v) = m.get(key).and_then(Value::as_str) {
                    obj[key] = json!(v);
                }
            }
            // Stickers and audio carry no caption.
            if matches!(kind, "image" | "video" | "document")
                && let Some(c) = m.get("caption").and_then(Value::as_str)
            {
                obj["caption"] = json!(c);
            }
            if kind == "document"
                && let Some(f) = m.get("filename").and_then(Value::as_str)
            {
                obj["filename"] = json!(f);
            }
            body["type"] = json!(kind);
            body[kind] = obj;
        }
        other => {
            return Err(SendError::Permanent(format!(
                "WhatsApp cannot send a message of kind \"{other}\""
            )));
        }
    }
    Ok(body)
}

/// The body that marks an inbound message (and those before it) as read.
pub fn read_body(wamid: &str) -> Value {
    json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})
}

/// Meta's error envelope, as much of it as was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub http: u16,
    /// `error.code`.
    pub code: Option<i64>,
    /// `error.message`.
    pub message: String,
    /// `error.error_data.details`.
    pub details: Option<String>,
}

impl GraphError {
    /// Reads an error answer.
    pub fn parse(http: u16, body: &[u8]) -> GraphError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        GraphError {
            http,
            code: e["code"]
                .as_i64()
                .or_else(|| e["code"].as_str().and_then(|c| c.parse().ok())),
            message: e["message"].as_str().unwrap_or_default().to_string(),
            details: e["error_data"]["details"].as_str().map(str::to_string),
        }
    }

    /// Meta's own words: `error.message`, then `error_data.details` when it adds something.
    pub fn words(&self) -> Option<String> {
        let mut text = self.message.clone();
        if let Some(details) = self.details.as_deref().filter(|d| !d.is_empty())
            && details != text
        {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(details);
        }
        (!text.is_empty()).then_some(text)
    }

    fn said(&self) -> String {
        let mut s = match self.code {
            Some(c) => format!("WhatsApp error {c}"),
            None => format!("WhatsApp answered HTTP {}", self.http),
        };
        let text = self.details.as_deref().unwrap_or(&self.message);
        if !text.is_empty() {
            s.push_str(": ");
            s.push_str(text);
        }
        s
    }
}

/// The code the agent sees for a closed 24-hour window.
pub const WINDOW_CLOSED: i64 = 131047;
/// The code of an expired or invalid access token.
pub const TOKEN_INVALID: i64 = 190;
/// The pair rate limit, retried after 4^X seconds.
pub const PAIR_RATE_LIMIT: i64 = 131056;

/// Seconds before retry `attempts + 1` after a pair rate limit: 4^X s with X = attempts so far
/// (1 s, 4 s, 16 s, 64 s …), capped at one hour.
pub fn pair_backoff_ms(attempts: i64) -> u64 {
    4u64.saturating_pow(attempts.clamp(0, 10) as u32)
        .saturating_mul(1000)
        .min(3_600_000)
}

/// What to do about an error answer. `attempts` is how many were made before this one.
pub fn classify(e: &GraphError, attempts: i64) -> SendError {
    let rejected = |reason: String| SendError::Rejected {
        code: e
            .code
            .map_or_else(|| format!("http_{}", e.http), |c| c.to_string()),
        reason,
        provider: e.words(),
    };
    match e.code {
        Some(WINDOW_CLOSED) => rejected("the 24-hour window is closed: send a template".into()),
        Some(PAIR_RATE_LIMIT) => SendError::RetryAfter {
            reason: format!("too many messages to this customer ({})", e.said()),
            delay_ms: pair_backoff_ms(attempts),
        },
        Some(130429 | 1 | 2 | 4 | 80007 | 131000 | 131016) => SendError::Transient(e.said()),
        Some(TOKEN_INVALID) => rejected(format!(
            "the WhatsApp access token has expired or is invalid; the owner must renew it ({})",
            e.said()
        )),
        Some(131026) => rejected(format!(
            "WhatsApp could not deliver this: the number may not be on WhatsApp, or the customer must update the app or accept the terms ({})",
            e.said()
        )),
        Some(100) => rejected(format!(
            "WhatsApp refused a parameter of the message ({})",
            e.said()
        )),
        Some(131008 | 131009) => rejected(format!(
            "WhatsApp found a parameter missing or invalid ({})",
            e.said()
        )),
        Some(c @ 132000..=132999) => rejected(format!(
            "{} ({})",
            match c {
                132000 => "the template's number of parameters does not match",
                132001 => "the template does not exist in this language",
                132005 => "the template's text is too long once filled in",
                132007 => "the template breaks WhatsApp's content policy",
                132012 => "a template parameter has the wrong format",
                132015 => "the template is paused",
                132016 => "the template is disabled",
                _ => "the template was refused",
            },
            e.said()
        )),
        Some(_) if e.http >= 500 => SendError::Transient(e.said()),
        Some(_) => rejected(e.said()),
        None if e.http >= 500 || e.http == 429 || e.http == 408 => SendError::Transient(e.said()),
        None => rejected(e.said()),
    }
}

/// Meta's answer to an accepted send: `{"contacts":[{"input","wa_id"}],"messages":[{"id"}]}`
/// (Meta's "Service messages" page, PROTOCOL.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `messages[0].id`, the wamid that statuses refer to.
    pub wamid: String,
    /// `contacts[0].input`: the number (or id) we sent to, as Meta echoes it.
    pub input: Option<String>,
    /// `contacts[0].wa_id`: the WhatsApp id of the user Meta delivered to, which may be another
    /// form of `input` (Brazil's ninth digit, Mexico's `521`); absent when we sent to a BSUID
    /// the user has no number for.
    pub wa_id: Option<String>,
}

/// What became of a send that reached the Graph API.
fn from_response(status: u16, body: &[u8], attempts: i64) -> Result<Sent, SendError> {
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        // Ids come as strings; a number is taken too (lenient like the webhook reader).
        let text = |x: &Value| match x {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let contact = &v["contacts"][0];
        return v["messages"][0]["id"]
            .as_str()
            .map(|wamid| Sent {
                wamid: wamid.to_string(),
                input: text(&contact["input"]),
                wa_id: text(&contact["wa_id"]),
            })
            .ok_or_else(|| {
                // Accepted, but we cannot tell which message: a status will tell.
                SendError::Unknown(format!(
                    "WhatsApp answered HTTP {status} without a message id"
                ))
            });
    }
    Err(classify(&GraphError::parse(status, body), attempts))
}

/// Sends a queued message; Meta's answer (wamid, and whom it reached) on success.
pub async fn send(
    client: &reqwest::Client,
    cfg: &WaConfig,
    item: &OutboxItem,
) -> Result<Sent, SendError> {
    let body = message_body(item)?;
    let url = format!("{}/{}/messages", cfg.graph_api_base, cfg.phone_number_id);
    let resp = client
        .post(&url)
        .bearer_auth(&cfg.access_token)
        .json(&body)
        .send()
        .await
        .map_err(|e| network_error(&e))?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| {
        SendError::Unknown(format!(
            "the answer of WhatsApp (HTTP {status}) was cut off: {e}"
        ))
    })?;
    from_response(status, &bytes, item.attempts)
}

/// A failed request: if the connection never opened the message surely did not leave; any other
/// failure (time-out, connection dropped) may have happened after Meta accepted it.
pub(super) fn network_error(e: &reqwest::Error) -> SendError {
    if e.is_connect() || e.is_builder() {
        SendError::Transient(format!("WhatsApp could not be reached: {e}"))
    } else {
        SendError::Unknown(format!("no answer from WhatsApp: {e}"))
    }
}

/// Sends a read receipt for `wamid`.
pub async fn mark_read(
    client: &reqwest::Client,
    cfg: &WaConfig,
    wamid: &str,
) -> Result<(), SendError> {
    let url = format!("{}/{}/messages", cfg.graph_api_base, cfg.phone_number_id);
    let resp = client
        .post(&url)
        .bearer_auth(&cfg.access_token)
        .json(&read_body(wamid))
        .send()
        .await
        .map_err(|e| network_error(&e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    Err(classify(&GraphError::parse(status, &bytes), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(http: u16, code: i64) -> GraphError {
        GraphError {
            http,
            code: Some(code),
            message: "m".into(),
            details: None,
        }
    }

    #[test]
    fn a_refusal_keeps_metas_words_beside_ours() {
        let e = GraphError {
            http: 400,
            code: Some(WINDOW_CLOSED),
            message: "(#131047) Re-engagement message".into(),
            details: Some("More than 24 hours have passed.".into()),
        };
        match classify(&e, 0) {
            SendError::Rejected {
                code,
                reason,
                provider,
            } => {
                assert_eq!(code, "131047");
                assert_eq!(reason, "the 24-hour window is closed: send a template");
                assert_eq!(
                    provider.as_deref(),
                    Some("(#131047) Re-engagement message: More than 24 hours have passed.")
                );
            }
            other => panic!("{other:?}"),
        }
        // Details that repeat the message are not said twice; nothing said is no words.
        let same = GraphError {
            details: Some("m".into()),
            ..err(400, 100)
        };
        assert_eq!(same.words().as_deref(), Some("m"));
        assert_eq!(GraphError::default().words(), None);
    }

    #[test]
    fn classification() {
        for code in [130429, 1, 2, 131000, 131016] {
            assert!(
                matches!(classify(&err(400, code), 0), SendError::Transient(_)),
                "{code}"
            );
        }
        for code in [
            131047, 131026, 100, 131008, 131009, 132000, 132001, 132015, 190, 131049,
        ] {
            assert!(
                matches!(classify(&err(400, code), 0), SendError::Rejected { .. }),
                "{code}"
            );
        }
        match classify(&err(400, 131047), 0) {
            SendError::Rejected { code, reason, .. } => {
                assert_eq!(code, "131047");
                assert_eq!(reason, "the 24-hour window is closed: send a template");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(
                &GraphError {
                    http: 503,
                    ..Default::default()
                },
                0
            ),
            SendError::Transient(_)
        ));
        assert!(matches!(
            classify(
                &GraphError {
                    http: 404,
                    ..Default::default()
                },
                0
            ),
            SendError::Rejected { .. }
        ));
        assert_eq!(
            classify(&err(400, 131056), 2),
            SendError::RetryAfter {
                reason: "too many messages to this customer (WhatsApp error 131056: m)".into(),
                delay_ms: 16_000
            }
        );
        assert_eq!(pair_backoff_ms(0), 1000);
        assert_eq!(pair_backoff_ms(99), 3_600_000);
    }

    #[test]
    fn opaque_round_trip() {
        assert_eq!(outbox_from_opaque(&opaque_for(42)), Some(42));
        assert_eq!(outbox_from_opaque("someone-else:42"), None);
    }

    #[test]
    fn accepted_answers() {
        // (answer, wamid, input, wa_id): the recipient as Meta knows it, here without Brazil's
        // ninth digit; a wa_id as a number is taken too.
        type Case<'a> = (&'a [u8], &'a str, Option<&'a str>, Option<&'a str>);
        let table: [Case; 3] = [
            (br#"{"messages":[{"id":"wamid.X"}]}"#, "wamid.X", None, None),
            (
                br#"{"contacts":[{"input":"+5511987654321","wa_id":"551187654321"}],"messages":[{"id":"wamid.Y"}]}"#,
                "wamid.Y",
                Some("+5511987654321"),
                Some("551187654321"),
            ),
            (
                br#"{"contacts":[{"wa_id":5215512345678}],"messages":[{"id":"wamid.Z"}]}"#,
                "wamid.Z",
                None,
                Some("5215512345678"),
            ),
        ];
        for (body, wamid, input, wa_id) in table {
            let sent = from_response(200, body, 0).expect("accepted");
            assert_eq!(
                (
                    sent.wamid.as_str(),
                    sent.input.as_deref(),
                    sent.wa_id.as_deref()
                ),
                (wamid, input, wa_id)
            );
        }
        assert!(matches!(
            from_response(200, b"{}", 0),
            Err(SendError::Unknown(_))
        ));
        assert!(matches!(
            from_response(
                400,
                br#"{"error":{"code":"131047","message":"Re-engagement message"}}"#,
                0
            ),
            Err(SendError::Rejected { .. })
        ));
    }
}
