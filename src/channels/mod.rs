//! Channels: the providers' wire formats, signatures and clients, both ways (a queued message
//! leaving, a webhook or a media file coming in). One module per channel: `api` (signed
//! callbacks) and `whatsapp` (Meta's Cloud API). No rules and no SQL here.

pub mod api;
pub mod whatsapp;

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network, 5xx, rate limits).
    #[error("{0}")]
    Transient(String),
    /// Worth trying again, but not before the provider's own backoff.
    #[error("{reason}")]
    RetryAfter {
        /// Readable reason.
        reason: String,
        /// Delay before the next attempt.
        delay_ms: u64,
    },
    /// The request may have reached the provider but its answer was lost: sending again at once
    /// could deliver the message twice, so wait for a delivery status first.
    #[error("{0}")]
    Unknown(String),
    /// Trying again will not help; the reason is shown to the agent.
    #[error("{0}")]
    Permanent(String),
    /// The provider refused the message with its own error code; never retried.
    #[error("{reason}")]
    Rejected {
        /// Provider's code (recorded on the message).
        code: String,
        /// Reason shown to the agent.
        reason: String,
        /// The provider's own words, verbatim, kept beside our reason.
        provider: Option<String>,
    },
}
