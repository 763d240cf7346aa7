//! The durable outbound dispatcher: takes due rows from the outbox, sends them through their
//! channel, and records the outcome. Transient failures are retried with exponential backoff up
//! to a bound, then marked failed with the reason; a row marked done is never sent again.
//! State lives in the database, so a restart resumes where the last run stopped.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

use crate::channels::{self, SendError};
use crate::domain::{ChannelKind, DeliveryStatus};
use crate::store::outbox::{self as queue, OutboxItem};
use crate::store::{Store, StoreError, channels as channel_store, events, messages, now_ms};

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

/// Starts the dispatcher on the current actix/tokio runtime.
pub fn spawn(store: Store, cfg: OutboxConfig, wake: Arc<Notify>) {
    actix_web::rt::spawn(async move { run(store, cfg, wake).await });
}

async fn run(store: Store, cfg: OutboxConfig, wake: Arc<Notify>) {
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
    loop {
        let due = store.read(|c| queue::list_due(c, now_ms(), 32)).await;
        match due {
            Ok(items) if !items.is_empty() => {
                for item in items {
                    if let Err(e) = deliver(&store, &client, &cfg, item).await {
                        tracing::error!(error = %e, "recording an outbox result failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Ok(_) => {
                let next = store.read(queue::next_due_at).await.ok().flatten();
                let wait = next.map_or(60_000, |t| (t - now_ms()).clamp(0, 60_000));
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn attempt(
    store: &Store,
    client: &reqwest::Client,
    item: &OutboxItem,
) -> Result<(), SendError> {
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
            channels::api::send(client, url, secret, item).await
        }
        ChannelKind::Whatsapp => Err(SendError::Permanent(
            "sending on WhatsApp channels is not available in this version".into(),
        )),
    }
}

async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    cfg: &OutboxConfig,
    item: OutboxItem,
) -> Result<(), StoreError> {
    let outcome = attempt(store, client, &item).await;
    let attempts = item.attempts + 1;
    let now = now_ms();
    let (status, error) = match outcome {
        Ok(()) => (DeliveryStatus::Delivered, None),
        Err(SendError::Transient(reason)) if attempts < cfg.max_attempts => {
            let next = now + backoff(cfg, item.attempts) as i64;
            tracing::warn!(outbox = item.id, attempts, %reason, "send failed; will retry");
            return store
                .write(move |c| queue::mark_retry(c, item.id, attempts, next, &reason))
                .await;
        }
        Err(SendError::Transient(reason)) => (
            DeliveryStatus::Failed,
            Some(format!("gave up after {attempts} attempts: {reason}")),
        ),
        Err(SendError::Permanent(reason)) => (DeliveryStatus::Failed, Some(reason)),
    };
    store
        .write(move |c| {
            let changed = match &error {
                None => queue::mark_done(c, item.id, attempts, now)?,
                Some(reason) => queue::mark_failed(c, item.id, attempts, reason, now)?,
            };
            if !changed {
                return Ok(());
            }
            let current = messages::find_status(c, item.message_id)?;
            if current.is_some_and(|s| s.can_become(status)) {
                let err = error.as_deref().map(|r| ("send_failed", r));
                messages::update_status(c, item.message_id, status, err)?;
                events::insert_event(
                    c,
                    Some(item.conversation_id),
                    "message.status",
                    None,
                    &json!({"message_id": item.message_id, "status": status, "error": error}),
                    now,
                )?;
            }
            Ok(())
        })
        .await
}
