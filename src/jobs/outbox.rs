//! The durable outbound dispatcher: takes due rows from the outbox, sends them through their
//! channel, and records the outcome. Transient failures are retried with exponential backoff up
//! to a bound, then marked failed with the reason; a row marked done is never sent again.
//! State lives in the database, so a restart resumes where the last run stopped. It wakes when a
//! commit adds an outbox row (see `store::Committed`) or when the next retry is due.

use std::time::Duration;

use super::Shutdown;
use crate::channels::whatsapp::{WaConfig, graph};
use crate::channels::{self, SendError};
use crate::domain::events::SendFailure;
use crate::domain::time::now_ms;
use crate::domain::{ChannelKind, DeliveryStatus};
use crate::service::{self, messages::SendOutcome};
use crate::store::outbox::{self, OutboxItem};
use crate::store::{Store, channels as channel_store};

/// Dispatcher settings.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// First retry delay; doubles with every attempt.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// Time limit of one attempt.
    pub timeout_ms: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            retry_base_ms: 2_000,
            retry_max_ms: 10 * 60 * 1000,
            max_attempts: 10,
            timeout_ms: 15_000,
        }
    }
}

/// Delay before attempt `attempts + 1`, with ±10 % jitter so that many failed sends do not retry
/// in lockstep.
pub fn backoff(cfg: &OutboxConfig, attempts: i64) -> u64 {
    let exp = cfg
        .retry_base_ms
        .saturating_mul(1u64 << attempts.clamp(0, 30))
        .min(cfg.retry_max_ms);
    let mut r = [0u8; 2];
    let jitter = if getrandom::fill(&mut r).is_ok() {
        u16::from_le_bytes(r) as i64 % 21 - 10
    } else {
        0
    };
    (exp as i64 + exp as i64 * jitter / 100).max(1) as u64
}

/// The dispatcher loop: sends what is due, then sleeps until the next retry is due or a commit
/// queues a new message; ends on shutdown (a send in flight finishes first, within the grace).
pub(super) async fn run(store: Store, cfg: OutboxConfig, mut shutdown: Shutdown) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms))
        .user_agent(concat!("teaminbox/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the outbox cannot start an HTTP client; nothing will be sent");
            return;
        }
    };
    let mut commits = store.subscribe();
    while !shutdown.is_set() {
        // Noted before reading, so a message queued while this pass runs wakes the next wait.
        let seen = commits.borrow_and_update().last_outbox_id;
        let due = store.read(|c| outbox::list_due(c, now_ms(), 32)).await;
        match due {
            Ok(items) if !items.is_empty() => {
                for item in items {
                    if shutdown.is_set() {
                        return;
                    }
                    if let Err(e) = deliver(&store, &client, &cfg, item).await {
                        tracing::error!(error = %e, "recording an outbox result failed");
                        if shutdown.sleep(Duration::from_secs(1)).await {
                            return;
                        }
                    }
                }
            }
            Ok(_) => {
                let next = store.read(outbox::next_due_at).await.ok().flatten();
                let wait = next.map_or(60_000, |t| (t - now_ms()).clamp(0, 60_000));
                let timer = tokio::time::sleep(Duration::from_millis(wait as u64));
                tokio::pin!(timer);
                loop {
                    tokio::select! {
                        _ = shutdown.wait() => return,
                        _ = &mut timer => break,
                        changed = commits.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            if commits.borrow_and_update().last_outbox_id > seen {
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                if shutdown.sleep(Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    }
}

/// What a channel answered to an accepted send.
struct Accepted {
    /// The message's status afterwards.
    status: DeliveryStatus,
    /// The provider's id of the message (WhatsApp's wamid), for status updates.
    external_id: Option<String>,
    /// The recipient's id as the provider named it (WhatsApp's `contacts[0].wa_id`).
    recipient_wa_id: Option<String>,
}

async fn attempt(
    store: &Store,
    client: &reqwest::Client,
    item: &OutboxItem,
) -> Result<Accepted, SendError> {
    let channel_id = item.channel_id;
    let channel = store
        .read(move |c| channel_store::find_channel(c, channel_id))
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?
        .ok_or_else(|| SendError::Permanent("the channel was removed".into()))?;
    match channel.kind {
        ChannelKind::Api => {
            let url = channel.config["callback_url"].as_str().unwrap_or_default();
            let secret = channel.secret.as_deref().unwrap_or_default();
            channels::api::send(client, url, secret, item).await?;
            Ok(Accepted {
                status: DeliveryStatus::Delivered,
                external_id: None,
                recipient_wa_id: None,
            })
        }
        ChannelKind::Whatsapp => {
            let cfg = WaConfig::from_config(&channel.config).ok_or_else(|| {
                SendError::Permanent("the WhatsApp channel's configuration is incomplete".into())
            })?;
            // Accepted by WhatsApp is "sent"; delivered and read come as status webhooks.
            let sent = graph::send(client, &cfg, item).await?;
            Ok(Accepted {
                status: DeliveryStatus::Sent,
                external_id: Some(sent.wamid),
                recipient_wa_id: sent.wa_id,
            })
        }
    }
}

async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    cfg: &OutboxConfig,
    item: OutboxItem,
) -> Result<(), service::Error> {
    let outcome = attempt(store, client, &item).await;
    let attempts = item.attempts + 1;
    let now = now_ms();
    let retry = |reason: String, delay_ms: u64| {
        let next = now + delay_ms as i64;
        tracing::warn!(outbox = item.id, attempts, %reason, "send failed; will retry");
        store.write(move |c| {
            outbox::mark_retry(c, item.id, attempts, next, &reason).map_err(service::Error::from)
        })
    };
    let ours = |message: String| SendFailure {
        code: "send_failed".to_string(),
        message,
        provider_message: None,
    };
    let mut recipient_wa_id = None;
    let (status, external_id, error) = match outcome {
        Ok(a) => {
            recipient_wa_id = a.recipient_wa_id;
            (a.status, a.external_id, None)
        }
        Err(SendError::Transient(reason)) if attempts < cfg.max_attempts => {
            return retry(reason, backoff(cfg, item.attempts)).await;
        }
        Err(SendError::RetryAfter { reason, delay_ms }) if attempts < cfg.max_attempts => {
            return retry(reason, delay_ms).await;
        }
        // The message may have left: give a status webhook (which echoes the outbox id in
        // biz_opaque_callback_data) time to say so before sending it again.
        Err(SendError::Unknown(reason)) if attempts < cfg.max_attempts => {
            let wait = (2 * cfg.timeout_ms).max(backoff(cfg, item.attempts));
            return retry(
                format!("{reason}; waiting for a delivery status before sending again"),
                wait,
            )
            .await;
        }
        Err(
            SendError::Transient(reason)
            | SendError::RetryAfter { reason, .. }
            | SendError::Unknown(reason),
        ) => (
            DeliveryStatus::Failed,
            None,
            Some(ours(format!("gave up after {attempts} attempts: {reason}"))),
        ),
        Err(SendError::Permanent(reason)) => (DeliveryStatus::Failed, None, Some(ours(reason))),
        Err(SendError::Rejected {
            code,
            reason,
            provider,
        }) => (
            DeliveryStatus::Failed,
            None,
            Some(SendFailure {
                code,
                message: reason,
                provider_message: provider,
            }),
        ),
    };
    let settled = SendOutcome {
        outbox_id: item.id,
        attempts,
        message: item.message_id,
        conversation: item.conversation_id,
        channel: item.channel_id,
        status,
        external_id,
        error,
        recipient_wa_id,
    };
    store
        .write(move |c| service::messages::record_send(c, &settled, now))
        .await
}
