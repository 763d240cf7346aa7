//! The WhatsApp job: the network side of the channel. It processes kept webhook bodies as soon
//! as a commit adds one (the webhook handler only keeps the body and answers 200), downloads
//! their media (Meta keeps a media id for 7 days only), sends read receipts when an owner opens a
//! conversation, and once a minute sweeps what a crash or a failure left behind: bodies still
//! unprocessed whose retry is due (a failing body backs off, then is set aside after
//! `domain::webhooks::ATTEMPTS` attempts) and downloads not finished. Its scheduler tick
//! [`prune_tick`] deletes processed bodies after the retention period.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Context, Shutdown};
use crate::channels::whatsapp::{self as wa_channel, WaConfig, graph, media};
use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::domain::webhooks::{ATTEMPTS, AfterFailure};
use crate::domain::{ChannelKind, ConversationId};
use crate::service::webhooks::{self, Processed};
use crate::store::whatsapp::{self as wa, MediaJob};
use crate::store::{Store, StoreError, channels};

/// Downloads tried before a media file is given up.
pub const MEDIA_ATTEMPTS: i64 = 5;

/// How often the sweep runs (and once at start).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Bodies processed in one write transaction.
const BATCH: i64 = 64;

/// Runs until shutdown. Downloads and read receipts in progress are cut off at shutdown; the
/// sweep of the next start resumes the downloads (a receipt is best effort).
pub(super) async fn run(
    store: Store,
    mut receipts: mpsc::Receiver<ConversationId>,
    mut shutdown: Shutdown,
) {
    let (media_client, receipt_client) =
        match (wa_channel::client(60_000), wa_channel::client(10_000)) {
            (Ok(m), Ok(r)) => (m, r),
            (Err(e), _) | (_, Err(e)) => {
                return tracing::error!(error = %e, "the WhatsApp job cannot start an HTTP client");
            }
        };
    let mut commits = store.subscribe();
    // Downloads and read receipts run beside the loop: a slow file or a slow Graph answer must
    // not hold up the processing of new messages.
    let mut beside = JoinSet::new();
    // Bodies up to this id have been tried since start; newer ones are processed on commit,
    // older failures wait for the sweep.
    let mut tried = 0;
    let mut next_sweep = Instant::now();
    loop {
        if Instant::now() >= next_sweep {
            // Noted before the sweep reads: everything up to here is the sweep's to try.
            let newest = commits.borrow_and_update().last_webhook_id;
            let swept = process_after(&store, 0, &mut beside, &media_client).await;
            tried = tried.max(swept).max(newest);
            let stale = now_ms() - 60_000;
            // Downloads not touched for a minute: whatever started them has finished or died.
            match store
                .read(move |c| wa::list_pending_media(c, stale, 32))
                .await
            {
                Ok(due) => spawn_downloads(&mut beside, &store, &media_client, due),
                Err(e) => tracing::warn!(error = %e, "listing media downloads failed"),
            }
            next_sweep = Instant::now() + SWEEP_EVERY;
        }
        tokio::select! {
            _ = shutdown.wait() => break,
            changed = commits.changed() => {
                if changed.is_err() {
                    break;
                }
                let newest = commits.borrow_and_update().last_webhook_id;
                if newest > tried {
                    tried = tried.max(process_after(&store, tried, &mut beside, &media_client).await);
                }
            }
            Some(conv) = receipts.recv() => {
                let (store, client) = (store.clone(), receipt_client.clone());
                beside.spawn(async move { send_read_receipt(&store, &client, conv).await });
            }
            Some(done) = beside.join_next(), if !beside.is_empty() => {
                if let Err(e) = done && e.is_panic() {
                    tracing::error!(error = %e, "a media download or read receipt panicked");
                }
            }
            _ = tokio::time::sleep_until(next_sweep) => {}
        }
    }
    beside.abort_all();
}

/// Processes every kept body due for processing with an id above `after`, a batch per
/// transaction; returns the highest id tried. A body that fails is counted with its backoff (or
/// set aside) and the rest go on; bodies waiting for a retry or set aside are not listed, so
/// they never hold up the others.
async fn process_after(
    store: &Store,
    mut after: i64,
    downloads: &mut JoinSet<()>,
    client: &reqwest::Client,
) -> i64 {
    loop {
        let (from, now) = (after, now_ms());
        let ids = match store.read(move |c| wa::list_due(c, from, now, BATCH)).await {
            Ok(ids) if ids.is_empty() => return after,
            Ok(ids) => ids,
            Err::<_, StoreError>(e) => {
                tracing::error!(error = %e, "listing kept webhooks failed");
                return after;
            }
        };
        let last = ids.last().copied().unwrap_or(after);
        let batch = ids.clone();
        match store
            .write(move |c| webhooks::process_batch(c, &batch, now))
            .await
        {
            Ok(done) => settle(store, downloads, client, done),
            Err(e) => {
                // The batch as a whole failed (a body that panics, say): one write per body, so
                // the bad one is found and counted and the others land.
                tracing::warn!(error = %e, "a batch of kept webhooks failed; trying them one by one");
                for id in ids {
                    match store
                        .write(move |c| webhooks::process_batch(c, &[id], now))
                        .await
                    {
                        Ok(done) => settle(store, downloads, client, done),
                        Err(e) => {
                            let why = e.to_string();
                            let counted = store
                                .write(move |c| webhooks::record_failure(c, id, &why, now))
                                .await;
                            let next = counted.as_ref().ok().copied().flatten();
                            log_failure(id, &e.to_string(), next);
                        }
                    }
                }
            }
        }
        after = last;
    }
}

/// Logs the bodies that failed and starts the downloads of those that landed.
fn settle(
    store: &Store,
    downloads: &mut JoinSet<()>,
    client: &reqwest::Client,
    Processed { media, failed }: Processed,
) {
    for f in failed {
        log_failure(f.id, &f.error, f.next);
    }
    spawn_downloads(downloads, store, client, media);
}

/// One line per failed attempt, after its count was committed; an error line once, when a body
/// is set aside, telling the owner how to find and retry it.
fn log_failure(id: i64, error: &str, next: Option<AfterFailure>) {
    match next {
        Some(AfterFailure::SetAside) => tracing::error!(
            webhook = id,
            error,
            "a kept WhatsApp webhook failed processing {} times and is set aside (kept, not retried): \
             `teaminbox webhooks list` shows it, `teaminbox webhooks retry --id {id}` tries it again",
            ATTEMPTS
        ),
        Some(AfterFailure::RetryAt(at)) => tracing::warn!(
            webhook = id,
            error,
            retry_in_ms = at - now_ms(),
            "processing a kept WhatsApp webhook failed; it is kept and will be tried again"
        ),
        None => tracing::error!(
            webhook = id,
            error,
            "processing a kept WhatsApp webhook failed and the failure could not be counted; the sweep tries it again"
        ),
    }
}

/// Processed bodies deleted per scheduler tick: a bounded write (a body is up to 4 MiB, most are
/// a few KiB; 32 a second is still far more than a shop receives).
const PRUNE_BATCH: i64 = 32;

/// Scheduler tick: deletes bodies processed longer ago than the retention period
/// (`domain::webhooks::RETENTION_MS`), a bounded batch per tick; a cheap read first, so an idle
/// tick writes nothing.
pub async fn prune_tick(ctx: &Context, _settings: &Settings) {
    let now = now_ms();
    match ctx
        .store
        .read(move |c| webhooks::due_for_pruning(c, now))
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return tracing::warn!(error = %e, "checking kept webhooks to prune failed"),
    }
    match ctx
        .store
        .write(move |c| webhooks::prune(c, now, PRUNE_BATCH))
        .await
    {
        Ok(n) => tracing::debug!(deleted = n, "pruned processed WhatsApp webhooks"),
        Err(e) => tracing::warn!(error = %e, "pruning processed webhooks failed"),
    }
}

fn spawn_downloads(
    downloads: &mut JoinSet<()>,
    store: &Store,
    client: &reqwest::Client,
    jobs: Vec<MediaJob>,
) {
    if jobs.is_empty() {
        return;
    }
    let (store, client) = (store.clone(), client.clone());
    downloads.spawn(async move {
        for job in jobs {
            if let Err(e) = fetch_one(&store, &client, job).await {
                tracing::error!(error = %e, "recording a media download failed");
            }
        }
    });
}

fn data_dir(store: &Store) -> PathBuf {
    store
        .path()
        .parent()
        .map_or_else(|| PathBuf::from("."), |p| p.to_path_buf())
}

async fn fetch_one(
    store: &Store,
    client: &reqwest::Client,
    job: MediaJob,
) -> Result<(), StoreError> {
    let ch = job.channel_id;
    let cfg = store
        .read(move |c| channels::find_channel(c, ch))
        .await?
        .and_then(|r| WaConfig::from_config(&r.config));
    let outcome = match &cfg {
        Some(cfg) => {
            media::fetch(
                client,
                cfg,
                &job.media_id,
                &data_dir(store),
                job.channel_id.0,
                job.message_id.0,
            )
            .await
        }
        None => Err(media::MediaError::GiveUp(
            "the channel is gone or incomplete".into(),
        )),
    };
    let now = now_ms();
    let mid = job.message_id;
    match outcome {
        Ok(s) => {
            store
                .write(move |c| {
                    wa::mark_media_done(
                        c,
                        mid,
                        &s.path,
                        s.size as i64,
                        &s.sha256,
                        &s.mime_type,
                        now,
                    )
                })
                .await
        }
        Err(e) => {
            let give_up =
                matches!(e, media::MediaError::GiveUp(_)) || job.attempts + 1 >= MEDIA_ATTEMPTS;
            tracing::warn!(message = mid.0, error = %e, give_up, "media download failed");
            let text = e.to_string();
            store
                .write(move |c| wa::mark_media_failed(c, mid, &text, give_up, now))
                .await
        }
    }
}

/// Sends a read receipt for the newest inbound message of a WhatsApp conversation not yet
/// marked. Best effort: a failure is logged, not retried.
async fn send_read_receipt(store: &Store, client: &reqwest::Client, conv: ConversationId) {
    let found = store
        .read(move |c| {
            let Some(state) = crate::store::conversations::find_conv_state(c, conv)? else {
                return Ok(None);
            };
            if state.channel_kind != ChannelKind::Whatsapp {
                return Ok(None);
            }
            let Some((mid, wamid)) = wa::find_unread_inbound(c, conv)? else {
                return Ok(None);
            };
            let cfg = channels::find_channel(c, state.channel_id)?
                .and_then(|r| WaConfig::from_config(&r.config));
            Ok::<_, StoreError>(cfg.map(|cfg| (cfg, mid, wamid)))
        })
        .await;
    let (cfg, mid, wamid) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => return tracing::warn!(error = %e, "looking up a read receipt failed"),
    };
    match graph::mark_read(client, &cfg, &wamid).await {
        Ok(()) => {
            let now = now_ms();
            if let Err(e) = store
                .write(move |c| wa::upsert_read_mark(c, conv, mid, now))
                .await
            {
                tracing::warn!(error = %e, "recording a read receipt failed");
            }
        }
        Err(e) => tracing::warn!(conversation = conv.0, error = %e, "read receipt not sent"),
    }
}
