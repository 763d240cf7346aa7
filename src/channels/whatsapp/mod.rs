//! The WhatsApp Cloud API channel: webhook signature check and parsing (`webhook`), what the
//! Graph API is sent and how its errors are read (`graph`), message templates (`templates`), and
//! inbound media download (`media`).
//! Wire format per `shared/whatsapp/PROTOCOL.md`; nothing here touches the database.

pub mod graph;
pub mod media;
pub mod templates;
pub mod webhook;

use serde_json::Value;

/// Where the Graph API is when a channel does not say (same as the channel setup's default).
pub const DEFAULT_GRAPH_API_BASE: &str = "https://graph.facebook.com/v23.0";

/// A WhatsApp channel's configuration (from `channels.config`).
#[derive(Clone)]
pub struct WaConfig {
    /// The business number's id: webhooks are routed by it and messages sent from it.
    pub phone_number_id: String,
    /// WhatsApp Business Account id (templates).
    pub waba_id: String,
    /// Bearer token for the Graph API.
    pub access_token: String,
    /// Key of the webhook signature.
    pub app_secret: String,
    /// What Meta's verification handshake must present.
    pub verify_token: String,
    /// `https://graph.facebook.com/v23.0`, or a stand-in in tests.
    pub graph_api_base: String,
}

// Secrets stay out of logs even through `{:?}`.
impl std::fmt::Debug for WaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaConfig")
            .field("phone_number_id", &self.phone_number_id)
            .field("waba_id", &self.waba_id)
            .field("graph_api_base", &self.graph_api_base)
            .finish_non_exhaustive()
    }
}

impl WaConfig {
    /// Reads the stored configuration; `None` if a required key is missing.
    pub fn from_config(config: &Value) -> Option<WaConfig> {
        let s = |k: &str| {
            config
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|v| !v.is_empty())
        };
        Some(WaConfig {
            phone_number_id: s("phone_number_id")?,
            waba_id: s("waba_id").unwrap_or_default(),
            access_token: s("access_token")?,
            app_secret: s("app_secret").unwrap_or_default(),
            verify_token: s("verify_token").unwrap_or_default(),
            graph_api_base: s("graph_api_base")
                .unwrap_or_else(|| DEFAULT_GRAPH_API_BASE.into())
                .trim_end_matches('/')
                .to_string(),
        })
    }
}

/// An HTTP client for the Graph API with a time limit per request.
pub fn client(timeout_ms: u64) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .user_agent(concat!("teaminbox/", env!("CARGO_PKG_VERSION")))
        .build()
}
