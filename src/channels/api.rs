//! The generic API channel: replies are POSTed as JSON to the integrator's callback URL, signed
//! with `X-Teaminbox-Signature: sha256=<hex HMAC-SHA256 of the body>` using the channel secret.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use super::SendError;
use crate::domain::time::Ts;
use crate::store::outbox::OutboxItem;

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON the callback receives for one message.
pub fn payload(item: &OutboxItem) -> serde_json::Value {
    json!({
        "event": crate::domain::events::kind::MESSAGE_CREATED,
        "delivery_id": item.id,
        "message": {
            "id": item.message_id,
            "conversation_id": item.conversation_id,
            "type": item.kind,
            "text": item.text,
            "template": item.payload.as_ref().and_then(|p| p.get("template")).cloned(),
            "created_at": Ts(item.created_at),
        },
        "contact": {
            "id": item.contact_id,
            "identifier": item.identifier,
            "name": item.contact_name,
            "phone": item.contact_phone,
        },
        "author": item.author.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
    })
}

/// Delivers one message: 2xx is delivered, anything else is retried by the caller.
pub async fn send(
    client: &reqwest::Client,
    callback_url: &str,
    secret: &str,
    item: &OutboxItem,
) -> Result<(), SendError> {
    let body = payload(item).to_string();
    let resp = client
        .post(callback_url)
        .header("Content-Type", "application/json")
        .header("X-Teaminbox-Signature", signature(secret, body.as_bytes()))
        .header("X-Teaminbox-Delivery", item.id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Transient(format!("the callback could not be reached: {e}")))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(SendError::Transient(format!(
            "the callback answered HTTP {}",
            status.as_u16()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_known_answer() {
        // echo -n '{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", br#"{"a":1}"#),
            "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
        );
    }
}
