//! Message templates of a WhatsApp Business Account: one page of
//! `GET /{waba-id}/message_templates` read into what a person picks from, and the list followed
//! over its pages (on the Graph API's own origin only, since the token goes with each request).

use serde_json::Value;

use super::WaConfig;
use super::graph::{GraphError, classify, network_error};
use crate::channels::SendError;

/// An approved (or pending, rejected…) message template of the business account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateInfo {
    /// Name to send.
    pub name: String,
    /// Language code to send.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`…
    pub status: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: String,
    /// Text of the body, with `{{1}}`-style placeholders.
    pub body: String,
    /// How many body parameters it takes.
    pub params: usize,
}

/// Reads one page of `GET /{waba-id}/message_templates`.
pub fn parse_templates(page: &Value) -> Vec<TemplateInfo> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    page["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|t| t["name"].is_string())
        .map(|t| {
            let body = t["components"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"].as_str() == Some("BODY")))
                .map(|c| text(c, "text"))
                .unwrap_or_default();
            // Placeholders are {{1}}, {{2}}…: the count is the highest number used.
            let params = body
                .split("{{")
                .skip(1)
                .filter_map(|rest| rest.split("}}").next()?.trim().parse::<usize>().ok())
                .max()
                .unwrap_or(0);
            TemplateInfo {
                name: text(t, "name"),
                language: text(t, "language"),
                status: text(t, "status"),
                category: text(t, "category"),
                body,
                params,
            }
        })
        .collect()
}

fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    url[after..].find('/').map_or(url, |i| &url[..after + i])
}

/// The business account's templates (up to 10 pages of 100).
pub async fn list_templates(
    client: &reqwest::Client,
    cfg: &WaConfig,
) -> Result<Vec<TemplateInfo>, SendError> {
    let mut url = format!(
        "{}/{}/message_templates?fields=name,language,status,category,components&limit=100",
        cfg.graph_api_base, cfg.waba_id
    );
    let mut out = Vec::new();
    for _ in 0..10 {
        let resp = client
            .get(&url)
            .bearer_auth(&cfg.access_token)
            .send()
            .await
            .map_err(|e| network_error(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(classify(&GraphError::parse(status, &bytes), 0));
        }
        let page: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        out.extend(parse_templates(&page));
        // Follow the next page only on the Graph API itself: the token goes with it.
        match page["paging"]["next"].as_str() {
            Some(next) if origin(next) == origin(&cfg.graph_api_base) => url = next.to_string(),
            _ => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_and_their_parameters() {
        let page = json!({"data": [
            {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "HEADER", "text": "{{9}}"}, {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped"}]},
            {"name": "hello_world", "language": "en_US", "status": "APPROVED", "components": []},
            {"nameless": true}]});
        let t = parse_templates(&page);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].params, t[0].body.as_str()),
            (2, "Hi {{1}}, order {{2}} shipped")
        );
        assert_eq!(t[1].params, 0);
        assert_eq!(
            origin("https://graph.facebook.com/v23.0/1/x?a=b"),
            "https://graph.facebook.com"
        );
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
