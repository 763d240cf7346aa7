//! Meta's webhook: the `X-Hub-Signature-256` check over the raw bytes, and a lenient reading of
//! the payload into inbound messages and delivery statuses. Every field is optional (BSUID-era
//! payloads omit `from`/`wa_id`), numbers and strings are taken alike, and anything unknown
//! becomes a readable placeholder instead of an error.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `app_secret`. The
/// comparison is constant-time.
pub fn verify_signature(app_secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    if app_secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `sha256=<hex>` of `body` under `app_secret` (what Meta sends; used by tests and the bench).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A media attachment to download.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRef {
    /// Meta's media id.
    pub id: String,
    /// Declared MIME type.
    pub mime_type: Option<String>,
    /// File name (documents).
    pub filename: Option<String>,
}

/// A customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct InMessage {
    /// The business number it was sent to.
    pub phone_number_id: String,
    /// `wamid.…`, the dedupe key.
    pub id: String,
    /// The customer's WhatsApp id (their number), when given.
    pub wa_id: Option<String>,
    /// The business-scoped user id (BSUID), when given.
    pub user_id: Option<String>,
    /// Profile name (or username).
    pub name: Option<String>,
    /// Provider time, ms.
    pub at: Option<i64>,
    /// `text`, `image`, … as WhatsApp names it.
    pub kind: String,
    /// Readable text for the timeline and queue preview.
    pub text: String,
    /// Structured content kept with the message (the original object, quoted message…).
    pub payload: Value,
    /// Media to download.
    pub media: Option<MediaRef>,
    /// For `system` / `user_changed_number`: the customer's new WhatsApp id.
    pub new_wa_id: Option<String>,
    /// False for a reaction whose `emoji` is empty or absent: the customer removed it.
    pub has_content: bool,
}

/// A provider error attached to a status or message.
#[derive(Debug, Clone, PartialEq)]
pub struct WaError {
    /// Meta's code, e.g. `131047`.
    pub code: String,
    /// Readable text.
    pub text: String,
}

/// A delivery receipt for one of our messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The business number.
    pub phone_number_id: String,
    /// The wamid of our message.
    pub id: String,
    /// `sent`, `delivered`, `read`, `played`, `failed`, …
    pub status: String,
    /// Provider time, ms.
    pub at: Option<i64>,
    /// What we put in `biz_opaque_callback_data` when sending.
    pub biz_opaque_callback_data: Option<String>,
    /// First error of a `failed` status.
    pub error: Option<WaError>,
}

/// What one webhook body contains.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Customer messages.
    pub messages: Vec<InMessage>,
    /// Delivery receipts.
    pub statuses: Vec<StatusUpdate>,
    /// Account-level errors and changes of fields we do not handle (kept raw, logged).
    pub ignored: Vec<String>,
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not a WhatsApp Business Account notification.
    #[error("not a WhatsApp Business Account notification")]
    NotWhatsapp,
}

/// A string field, accepting numbers too (some examples carry `wa_id` as a number).
fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(x) if !x.is_empty() => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn ts_ms(v: &Value) -> Option<i64> {
    s(v, "timestamp")?
        .parse::<i64>()
        .ok()
        .and_then(|secs| secs.checked_mul(1000))
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn first_error(v: &Value) -> Option<WaError> {
    let e = arr(v, "errors").first()?;
    let mut text = s(e, "message")
        .or_else(|| s(e, "title"))
        .unwrap_or_default();
    if let Some(details) = e.get("error_data").and_then(|d| s(d, "details"))
        && details != text
    {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&details);
    }
    Some(WaError {
        code: s(e, "code").unwrap_or_else(|| "unknown".into()),
        text,
    })
}

/// Reads a webhook body. Unknown fields and types are kept, never refused.
pub fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError::NotWhatsapp);
    }
    let mut out = Parsed::default();
    for entry in arr(&root, "entry") {
        for change in arr(entry, "changes") {
            let field = s(change, "field").unwrap_or_default();
            let value = change.get("value").unwrap_or(&Value::Null);
            if field != "messages" {
                out.ignored.push(format!("field {field}"));
                continue;
            }
            let Some(pnid) = value.get("metadata").and_then(|m| s(m, "phone_number_id")) else {
                out.ignored
                    .push("a change without metadata.phone_number_id".into());
                continue;
            };
            let contacts = arr(value, "contacts");
            for m in arr(value, "messages") {
                match message(&pnid, contacts, m) {
                    Some(msg) => out.messages.push(msg),
                    None => out.ignored.push("a message without an id".into()),
                }
            }
            for st in arr(value, "statuses") {
                match (s(st, "id"), s(st, "status")) {
                    (Some(id), Some(status)) => out.statuses.push(StatusUpdate {
                        phone_number_id: pnid.clone(),
                        id,
                        status,
                        at: ts_ms(st),
                        biz_opaque_callback_data: s(st, "biz_opaque_callback_data"),
                        error: first_error(st),
                    }),
                    _ => out.ignored.push("a status without id or status".into()),
                }
            }
            if let Some(e) = first_error(value) {
                out.ignored
                    .push(format!("account error {}: {}", e.code, e.text));
            }
        }
    }
    Ok(out)
}

/// Whom one change of a webhook body speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressee {
    /// A business number, by `value.metadata.phone_number_id` (messages, statuses).
    Number(String),
    /// A WhatsApp Business Account, by `entry.id` (account-level changes without metadata).
    Account(String),
}

/// Whom each change of a body speaks for, in order (`None` for a change naming nobody), for the
/// per-channel signature check: `entry[].changes[].value.metadata.phone_number_id`, else
/// `entry[].id` (the WABA id), per PROTOCOL.md §2.0.
pub fn addressees(body: &[u8]) -> Result<Vec<Option<Addressee>>, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Err(ParseError::NotWhatsapp);
    }
    let mut out = Vec::new();
    for entry in arr(&root, "entry") {
        for change in arr(entry, "changes") {
            let number = change
                .get("value")
                .and_then(|v| v.get("metadata"))
                .and_then(|m| s(m, "phone_number_id"));
            out.push(match number {
                Some(n) => Some(Addressee::Number(n)),
                None => s(entry, "id").map(Addressee::Account),
            });
        }
    }
    Ok(out)
}

fn message(pnid: &str, contacts: &[Value], m: &Value) -> Option<InMessage> {
    let id = s(m, "id")?;
    let wa_id = s(m, "from");
    let user_id = s(m, "from_user_id");
    // The sender's entry in contacts[]: by BSUID, else by wa_id, else the only one.
    let contact = contacts
        .iter()
        .find(|c| user_id.is_some() && s(c, "user_id") == user_id)
        .or_else(|| {
            contacts
                .iter()
                .find(|c| wa_id.is_some() && s(c, "wa_id") == wa_id)
        })
        .or(if contacts.len() == 1 {
            contacts.first()
        } else {
            None
        });
    let profile = contact.and_then(|c| c.get("profile"));
    let name = profile
        .and_then(|p| s(p, "name"))
        .or_else(|| profile.and_then(|p| s(p, "username")));
    let kind = s(m, "type").unwrap_or_else(|| "unknown".into());
    let (text, media, new_wa_id) = render(&kind, m);
    let mut payload = json!({"whatsapp": m});
    // What it answers, reacts to, edits or withdraws.
    let obj = m.get(&kind).unwrap_or(&Value::Null);
    if let Some(target) = m
        .get("context")
        .and_then(|c| s(c, "id"))
        .or_else(|| s(obj, "message_id"))
        .or_else(|| s(obj, "original_message_id"))
    {
        payload["reply_to"] = json!({"external_id": target});
    }
    // A tapped reply button or list row: its id is what the menu bot matches (#13).
    if kind == "interactive"
        && let Some(reply) = s(obj, "type").and_then(|t| obj.get(&t))
        && let Some(reply_id) = s(reply, "id")
    {
        payload["reply_id"] = json!(reply_id);
    }
    let has_content = kind != "reaction" || s(obj, "emoji").is_some();
    if let Some(c) = contact {
        payload["contact"] = c.clone();
    }
    Some(InMessage {
        phone_number_id: pnid.to_string(),
        id,
        wa_id: wa_id.or_else(|| contact.and_then(|c| s(c, "wa_id"))),
        user_id: user_id.or_else(|| contact.and_then(|c| s(c, "user_id"))),
        name,
        at: ts_ms(m),
        kind,
        text,
        payload,
        media,
        new_wa_id,
        has_content,
    })
}

fn with_caption(label: &str, caption: Option<String>) -> String {
    match caption {
        Some(c) => format!("{label} {c}"),
        None => label.to_string(),
    }
}

/// The readable text of a message, the media to fetch and (for a number change) the new id.
fn render(kind: &str, m: &Value) -> (String, Option<MediaRef>, Option<String>) {
    let obj = m.get(kind).unwrap_or(&Value::Null);
    let media = || {
        s(obj, "id").map(|id| MediaRef {
            id,
            mime_type: s(obj, "mime_type"),
            filename: s(obj, "filename"),
        })
    };
    match kind {
        "text" => (s(obj, "body").unwrap_or_default(), None, None),
        "image" => (with_caption("[photo]", s(obj, "caption")), media(), None),
        "video" => (with_caption("[video]", s(obj, "caption")), media(), None),
        "sticker" => ("[sticker]".into(), media(), None),
        "audio" => {
            let voice = obj.get("voice").and_then(Value::as_bool) == Some(true)
                || s(obj, "mime_type").is_some_and(|t| t.contains("opus"));
            let label = if voice { "[voice message]" } else { "[audio]" };
            (label.into(), media(), None)
        }
        "document" => {
            let label = match s(obj, "filename") {
                Some(f) => format!("[document: {f}]"),
                None => "[document]".into(),
            };
            (with_caption(&label, s(obj, "caption")), media(), None)
        }
        "location" => {
            let coords = match (s(obj, "latitude"), s(obj, "longitude")) {
                (Some(a), Some(b)) => format!(" ({a}, {b})"),
                _ => String::new(),
            };
            let place: Vec<String> = [s(obj, "name"), s(obj, "address")]
                .into_iter()
                .flatten()
                .collect();
            (
                format!("[location] {}{coords}", place.join(", "))
                    .trim()
                    .to_string(),
                None,
                None,
            )
        }
        "contacts" => {
            let cards = arr(m, "contacts")
                .iter()
                .map(|c| {
                    let name = c
                        .get("name")
                        .and_then(|n| s(n, "formatted_name").or_else(|| s(n, "first_name")))
                        .unwrap_or_else(|| "(no name)".into());
                    let phones: Vec<String> = arr(c, "phones")
                        .iter()
                        .filter_map(|p| s(p, "phone"))
                        .collect();
                    if phones.is_empty() {
                        name
                    } else {
                        format!("{name} {}", phones.join(", "))
                    }
                })
                .collect::<Vec<_>>();
            (format!("[contact] {}", cards.join("; ")), None, None)
        }
        "interactive" => {
            let t = s(obj, "type").unwrap_or_default();
            let reply = obj.get(&t).unwrap_or(&Value::Null);
            let text = match (s(reply, "title"), s(reply, "description")) {
                (Some(title), Some(d)) => format!("{title} — {d}"),
                (Some(title), None) => title,
                _ => format!("[interactive reply: {t}]"),
            };
            (text, None, None)
        }
        "button" => (
            s(obj, "text")
                .or_else(|| s(obj, "payload"))
                .unwrap_or_else(|| "[button]".into()),
            None,
            None,
        ),
        "reaction" => match s(obj, "emoji") {
            Some(e) => (format!("[reaction {e}]"), None, None),
            None => ("[reaction removed]".into(), None, None),
        },
        "order" => {
            let items = arr(obj, "product_items")
                .iter()
                .map(|i| {
                    format!(
                        "{} × {}",
                        s(i, "quantity").unwrap_or_else(|| "1".into()),
                        s(i, "product_retailer_id").unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>();
            (format!("[order] {}", items.join(", ")), None, None)
        }
        // A customer edited or withdrew ("deleted for everyone") an earlier message. Meta's
        // schema for these is not in the spec we build against: the new text is looked for where
        // a text message keeps it, and the original stays in the timeline either way.
        "edit" => {
            let inner = obj.get("message").unwrap_or(obj);
            let body = inner
                .get("text")
                .and_then(|t| s(t, "body"))
                .or_else(|| s(inner, "body"));
            let text = match body {
                Some(b) => format!("[edited] {b}"),
                None => "[edited a message]".into(),
            };
            (text, None, None)
        }
        "revoke" => ("[deleted a message]".into(), None, None),
        "system" => (
            s(obj, "body").unwrap_or_else(|| "[system message]".into()),
            None,
            s(obj, "wa_id"),
        ),
        other => {
            let why = first_error(m)
                .map(|e| format!(" ({})", e.text))
                .unwrap_or_default();
            (
                format!("[{other} message, not shown here{why}]"),
                None,
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_checks_prefix_hex_and_value() {
        let body = br#"{"a":1}"#;
        let good = sign("secret", body);
        assert!(verify_signature("secret", &good, body));
        assert!(!verify_signature("other", &good, body));
        assert!(!verify_signature(
            "secret",
            good.trim_start_matches("sha256="),
            body
        ));
        assert!(!verify_signature("secret", "sha256=zz", body));
        assert!(!verify_signature("secret", &good[..good.len() - 2], body));
        assert!(!verify_signature("", &sign("", body), body));
    }

    #[test]
    fn lenient_about_shapes() {
        assert!(matches!(parse(b"{\"object\":"), Err(ParseError::Json(_))));
        assert_eq!(parse(b"[1]"), Err(ParseError::NotWhatsapp));
        let p = parse(
            br#"{"object":"whatsapp_business_account","entry":[{"changes":[
            {"field":"messages","value":{"metadata":{"phone_number_id":1},
              "messages":[{"id":"w1","from":123,"timestamp":"17","type":"hologram","hologram":{}},{"type":"text"}],
              "statuses":[{"id":"w0","status":"read","timestamp":5}]}},
            {"field":"account_update","value":42}, "junk"]}, 7]}"#,
        )
        .expect("parsed");
        assert_eq!(p.messages.len(), 1);
        let m = &p.messages[0];
        assert_eq!(
            (m.phone_number_id.as_str(), m.wa_id.as_deref(), m.at),
            ("1", Some("123"), Some(17_000))
        );
        assert!(m.text.contains("hologram"), "{}", m.text);
        assert_eq!(p.statuses[0].at, Some(5_000));
        assert_eq!(p.ignored.len(), 3, "{:?}", p.ignored);
    }

    #[test]
    fn addressees_by_number_else_account() {
        use Addressee::{Account, Number};
        assert!(matches!(addressees(b"{"), Err(ParseError::Json(_))));
        assert_eq!(addressees(b"{}"), Err(ParseError::NotWhatsapp));
        let named = addressees(
            br#"{"object":"whatsapp_business_account","entry":[
            {"id":"waba1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"111"}}},
              {"field":"account_update","value":{"event":"X"}}, "junk"]},
            {"changes":[{"value":{"metadata":{"phone_number_id":222}}}, {"value":{}}]}, 7]}"#,
        )
        .expect("named");
        assert_eq!(
            named,
            [
                Some(Number("111".into())),
                Some(Account("waba1".into())),
                Some(Account("waba1".into())),
                Some(Number("222".into())),
                None,
            ]
        );
    }
}
