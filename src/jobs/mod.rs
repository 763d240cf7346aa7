//! Every background task of the server, started by one call ([`spawn_all`]) and ended by one
//! ([`Jobs::stop`]). Jobs wake on the store's commit notifications (a queued message, a kept
//! webhook) or on their timer; no handler spawns work or wakes a job by hand (the one request a
//! handler can make is a best-effort read receipt, [`JobsHandle::send_read_receipt`]). What a job must not lose lives in the
//! database, so a restart resumes where the last run stopped.
//!
//! - [`outbox`]: sends queued messages through their channel, retrying with backoff.
//! - [`whatsapp`]: processes kept webhook bodies, fetches inbound media, sends read receipts, and
//!   sweeps what a crash left behind.
//! - the scheduler: tick jobs at the workspace's `scheduler_tick_ms` ([`away`], [`snooze`] wake-up,
//!   [`sla`] alerts, the [`queue_watch`] (unassigned alert, take-back), pending
//!   [`auto_resolve`], webhook pruning —
//!   the list is [`TICKS`]).
//! - [`update_check`]: asks the release server once a day whether a newer teaminbox exists.
//! - the live-event hub (`crate::realtime`): fans committed events out to open event streams.

pub mod auto_resolve;
pub mod away;
pub mod backup;
pub mod outbox;
pub mod queue_watch;
pub mod sla;
pub mod snooze;
pub mod update_check;
pub mod whatsapp;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{BackupConfig, UpdateCheckConfig};
use crate::domain::ConversationId;
use crate::domain::settings::Settings;
use crate::realtime::Hub;
use crate::store::{Store, settings};
use outbox::OutboxConfig;

/// How long running jobs get to finish their step after shutdown begins before they are cut
/// off. Cutting one off loses nothing: its work is still in the database and resumes at start.
const GRACE: Duration = Duration::from_secs(2);

/// The shutdown signal every loop and event stream watches.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Whether shutdown has begun.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has begun.
    pub async fn wait(&mut self) {
        // An error means the sender is gone, which happens only when the server is gone.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `d`; returns `true` if shutdown began meanwhile.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = self.wait() => true,
            _ = tokio::time::sleep(d) => false,
        }
    }
}

/// What handlers may ask of the jobs. Requests are hints: the job decides and does the work.
#[derive(Clone)]
pub struct JobsHandle {
    read_receipts: mpsc::Sender<ConversationId>,
}

impl JobsHandle {
    /// Asks the WhatsApp job to send a read receipt for the newest unread customer message of
    /// `conv` (the owner opened it). Best effort: dropped when the job is busy or stopped.
    pub fn send_read_receipt(&self, conv: ConversationId) {
        let _ = self.read_receipts.try_send(conv);
    }
}

/// The running jobs.
pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    /// The live-event hub the HTTP layer attaches event streams to.
    pub hub: Hub,
    /// Requests from handlers.
    pub handle: JobsHandle,
}

impl Jobs {
    /// Tells every loop and every open event stream to end (they end at their next await).
    pub fn signal(&self) {
        self.stop.send_replace(true);
    }

    /// Ends every loop and every open event stream; waits up to [`GRACE`] for each job to finish
    /// its step, then cuts it off.
    pub async fn stop(self) {
        self.signal();
        let deadline = tokio::time::Instant::now() + GRACE;
        for (name, task) in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                tracing::warn!(job = name, "a job did not stop in time; cut off");
                abort.abort();
            }
        }
    }
}

/// Starts every background job on the current tokio runtime.
pub fn spawn_all(
    store: &Store,
    outbox: OutboxConfig,
    backup: (PathBuf, BackupConfig),
    update: UpdateCheckConfig,
) -> Jobs {
    let (stop, rx) = watch::channel(false);
    let shutdown = Shutdown(rx);
    let (read_receipts, receipts_rx) = mpsc::channel(256);
    let hub = Hub::new(shutdown.clone());
    let tasks = vec![
        (
            "hub",
            tokio::spawn(hub.clone().run(store.clone(), shutdown.clone())),
        ),
        (
            "outbox",
            tokio::spawn(outbox::run(store.clone(), outbox, shutdown.clone())),
        ),
        (
            "whatsapp",
            tokio::spawn(whatsapp::run(store.clone(), receipts_rx, shutdown.clone())),
        ),
        (
            "backup",
            tokio::spawn(backup::run(
                store.clone(),
                backup.0,
                backup.1,
                shutdown.clone(),
            )),
        ),
        (
            "update_check",
            tokio::spawn(update_check::run(store.clone(), update, shutdown.clone())),
        ),
        (
            "scheduler",
            tokio::spawn(scheduler(
                Context {
                    store: store.clone(),
                    hub: hub.clone(),
                },
                shutdown,
            )),
        ),
    ];
    Jobs {
        stop,
        tasks,
        hub,
        handle: JobsHandle { read_receipts },
    }
}

/// What tick jobs work with.
pub struct Context {
    /// The database.
    pub store: Store,
    /// Who has an event stream open.
    pub hub: Hub,
}

impl Context {
    /// A context on `store` whose hub no stream attaches to (the bench runs ticks with it).
    pub fn detached(store: &Store) -> Context {
        // The sender is dropped at once: nothing ever signals shutdown to this hub.
        let (_, rx) = watch::channel(false);
        Context {
            store: store.clone(),
            hub: Hub::new(Shutdown(rx)),
        }
    }
}

/// One job of the scheduler, run every tick with the settings read for that tick.
struct Tick {
    /// For the log.
    name: &'static str,
    run: for<'a> fn(&'a Context, &'a Settings) -> BoxFuture<'a, ()>,
}

/// The scheduler's jobs, run in this order every tick.
const TICKS: &[Tick] = &[
    // Marks offline whoever has had no open event stream for `auto_offline_secs`.
    Tick {
        name: "away",
        run: |ctx, s| Box::pin(away::tick(ctx, s)),
    },
    // Reopens snoozed conversations whose time has come.
    Tick {
        name: "snooze_wake",
        run: |ctx, s| Box::pin(snooze::tick(ctx, s)),
    },
    // Records SLA warnings and breaches whose moment came (after the wake-up: a woken
    // conversation's clocks are already in line).
    Tick {
        name: "sla",
        run: |ctx, s| Box::pin(sla::tick(ctx, s)),
    },
    // Alerts on conversations waiting unassigned too long; takes back the ones an assignee
    // leaves unanswered (after the SLA tick, which has nothing to do with who holds them).
    Tick {
        name: "queue_watch",
        run: |ctx, s| Box::pin(queue_watch::tick(ctx, s)),
    },
    // Resolves pending conversations whose customer stayed quiet for `auto_resolve_pending_secs`
    // (after the SLA tick, so a breach due before the resolution is still recorded).
    Tick {
        name: "auto_resolve",
        run: |ctx, s| Box::pin(auto_resolve::tick(ctx, s)),
    },
    // Deletes WhatsApp webhook bodies processed longer ago than the retention period (their
    // messages and statuses are the durable copy); pending and set-aside bodies stay.
    Tick {
        name: "webhook_prune",
        run: |ctx, s| Box::pin(whatsapp::prune_tick(ctx, s)),
    },
];

/// Runs [`TICKS`] every `scheduler_tick_ms` until shutdown.
async fn scheduler(ctx: Context, mut shutdown: Shutdown) {
    loop {
        let s = match ctx.store.read(settings::load_settings).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler could not read the settings");
                Settings::default()
            }
        };
        let tick = Duration::from_millis(s.scheduler_tick_ms.clamp(10, 60_000) as u64);
        if shutdown.sleep(tick).await {
            return;
        }
        run_ticks(&ctx, &s).await;
    }
}

/// Runs every job of [`TICKS`] once, in order, with the settings `s` — one scheduler tick.
pub async fn run_ticks(ctx: &Context, s: &Settings) {
    for t in TICKS {
        tracing::trace!(job = t.name, "tick");
        (t.run)(ctx, s).await;
    }
}
