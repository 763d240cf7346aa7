//! Channels: how a queued message leaves. One module per channel; `whatsapp/` comes next.

pub mod api;

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network, 5xx, rate limits).
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help; the reason is shown to the agent.
    #[error("{0}")]
    Permanent(String),
}
