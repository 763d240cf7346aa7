//! Live updates: after every commit one task reads the new events once and fans them out to
//! every open event stream; each stream keeps only what its user may see. A stream that falls
//! behind, or a browser that reconnects with `Last-Event-ID`, catches up from the events table.
//! How many streams may be open, and who has one, is [`admission`]'s.

mod admission;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

pub use admission::{Admission, Refused, StreamLimits};
use admission::{RETRY_AFTER_SECS, Streams};

use crate::domain::UserId;
use crate::domain::events::Event;
use crate::domain::policy::{self, Actor, EventFacts};
use crate::domain::settings::Settings;
use crate::domain::time::{Ts, now_ms};
use crate::jobs::Shutdown;
use crate::service;
use crate::store::events::{EventRow, list_after};
use crate::store::{Store, StoreError, settings, users};

/// How often a stream gets [`KEEPALIVE_FRAME`], busy or quiet (the default of
/// [`StreamLimits::keepalive`]).
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// What every stream gets every [`KEEPALIVE`]: the comment line of API.md ("a comment line every
/// 15 s keeps it alive"), and a named `ping` event with no `id:` (so `Last-Event-ID` is
/// untouched) that, unlike a comment, a browser script sees: a page that heard nothing for a few
/// intervals knows its connection died silently (a phone that left the Wi-Fi) and reconnects.
pub const KEEPALIVE_FRAME: &[u8] = b": keep-alive\nevent: ping\ndata: {}\n\n";
const BATCH: i64 = 500;

/// The fan-out point for committed events.
#[derive(Clone)]
pub struct Hub {
    /// Open streams per user and in all, and when a user's last one closed (shared by clones).
    streams: Streams,
    /// The caps [`Hub::admit`] applies (this handle's: see [`Hub::with_limits`]).
    limits: StreamLimits,
    /// When this process started (users who never connected count from here).
    started_at: i64,
    tx: broadcast::Sender<Arc<EventRow>>,
    /// Events that are not stored (presence): no id, no replay.
    passing: broadcast::Sender<Arc<EventRow>>,
    /// Ends every stream when the server stops.
    shutdown: Shutdown,
}

impl Hub {
    /// A hub whose streams end when `shutdown` fires; [`Hub::run`] feeds it.
    pub fn new(shutdown: Shutdown) -> Hub {
        let (tx, _) = broadcast::channel(1024);
        let (passing, _) = broadcast::channel(256);
        Hub {
            streams: Streams::default(),
            limits: StreamLimits::default(),
            started_at: now_ms(),
            tx,
            passing,
            shutdown,
        }
    }

    /// The reader: after every commit, reads the new events once and sends them to every
    /// stream. Runs until shutdown (a job of `crate::jobs`).
    pub async fn run(self, store: Store, mut shutdown: Shutdown) {
        let mut commits = store.subscribe();
        let mut last = commits.borrow().last_event_id;
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                changed = commits.changed() => if changed.is_err() { return },
            }
            let newest = commits.borrow_and_update().last_event_id;
            while last < newest {
                let from = last;
                match store.read(move |c| list_after(c, from, BATCH)).await {
                    Ok(rows) if rows.is_empty() => break,
                    Ok(rows) => {
                        for row in rows {
                            last = row.id;
                            let _ = self.tx.send(Arc::new(row));
                        }
                    }
                    Err::<_, StoreError>(e) => {
                        tracing::error!(error = %e, "reading new events failed");
                        if shutdown.sleep(Duration::from_millis(200)).await {
                            return;
                        }
                    }
                }
            }
        }
    }
}

impl Hub {
    /// This hub with other caps on open streams (the counts stay shared with every clone).
    pub fn with_limits(mut self, limits: StreamLimits) -> Hub {
        self.limits = limits;
        self
    }

    /// Counts a new event stream of `user`, or refuses it: `RateLimited` (429, with
    /// `Retry-After`) when the user already has `per_user` streams open, or the server `total`.
    /// The slot is free again when the returned guard is dropped.
    pub fn admit(&self, user: i64) -> service::Result<Admission> {
        self.streams.admit(user, self.limits).map_err(|r| {
            let message = match r {
                Refused::User { limit } => format!(
                    "you have {limit} live event streams open, the most allowed; close one (a tab or \
                     a device) and try again"
                ),
                Refused::Total { limit } => format!(
                    "the server has {limit} live event streams open, the most it allows; try again \
                     shortly"
                ),
            };
            service::Error::RateLimited {
                message,
                retry_after_secs: RETRY_AFTER_SECS,
            }
        })
    }

    /// Open event streams: of `user`, and in all.
    pub fn open_streams(&self, user: i64) -> (usize, usize) {
        self.streams.open(user)
    }

    /// Since when `user` has had no open event stream (`None`: one is open now).
    pub fn away_since(&self, user: i64) -> Option<i64> {
        self.streams.away_since(user, self.started_at)
    }

    /// Sends an event that is not stored (such as `presence`) to the streams that may see it.
    pub fn publish_passing(&self, e: EventRow) {
        let _ = self.passing.send(Arc::new(e));
    }
}

/// The JSON of an event on the stream: `{"id","kind","at","conversation_id","actor","data"}`.
pub fn event_json(e: &EventRow) -> Value {
    json!({
        "id": e.id,
        "kind": e.kind,
        "at": Ts(e.at),
        "conversation_id": e.conversation_id,
        "actor": e.actor.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
        "data": e.data,
        // Who holds the conversation now, so clients can tell "mine" apart (sound, badges).
        "assignee_id": e.ownership.as_ref().and_then(|o| o.assignee),
    })
}

/// Whether `viewer` should receive `e` (the rule is [`policy::can_see_event`]).
pub fn visible_to(viewer: &Actor, settings: &Settings, e: &EventRow) -> bool {
    let named = |key: &str| e.data[key].get("id").and_then(Value::as_i64).map(UserId);
    let facts = EventFacts {
        kind: &e.kind,
        ownership: e.ownership.as_ref(),
        actor: e.actor.as_ref().map(|(id, _)| UserId(*id)),
        from: named("from"),
        user: named("user"),
    };
    policy::can_see_event(viewer, settings.agent_visibility, &facts)
}

fn frame(e: &EventRow) -> Bytes {
    if e.id == 0 {
        // Not stored: no id, so a resuming browser's Last-Event-ID does not move.
        return Bytes::from(format!("event: {}\ndata: {}\n\n", e.kind, event_json(e)));
    }
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        e.id,
        e.kind,
        event_json(e)
    ))
}

struct Viewer {
    actor: Actor,
    settings: Settings,
    /// The user was disabled (or removed): the stream ends.
    gone: bool,
}

impl Viewer {
    async fn refresh(&mut self, store: &Store) {
        let id = self.actor.id;
        match store
            .read(move |c| {
                let user = users::find_user(c, id)?;
                let s = settings::load_settings(c)?;
                Ok::<_, StoreError>(user.filter(|u| !u.disabled).map(|u| (u.actor(), s)))
            })
            .await
        {
            Ok(Some((actor, s))) => {
                self.actor = actor;
                self.settings = s;
            }
            Ok(None) => self.gone = true,
            Err(e) => tracing::warn!(error = %e, "refreshing a stream's viewer failed"),
        }
    }

    /// The frame for `e`, if this viewer may see it (refreshing role and settings first when the
    /// event changed them).
    async fn frame_for(&mut self, store: &Store, e: &EventRow) -> Option<Bytes> {
        if Event::changes_viewers(&e.kind) {
            self.refresh(store).await;
        }
        (!self.gone && visible_to(&self.actor, &self.settings, e)).then(|| frame(e))
    }
}

/// Hands a frame to the response; `false` when the browser is gone or the server is stopping
/// (a browser that stopped reading must not hold a full stream open past the stop).
async fn deliver(tx: &mpsc::Sender<Bytes>, frame: Bytes, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        sent = tx.send(frame) => sent.is_ok(),
        _ = shutdown.wait() => false,
    }
}

/// The event stream of one user: replay after `last_event_id` (or start from now), then live
/// events, with [`KEEPALIVE_FRAME`] every [`StreamLimits::keepalive`]. The work runs in a task that ends when
/// the browser goes away (the response is dropped) or the server stops (the response then ends
/// cleanly). The response holds `admission`, so the stream's slot is free once it is dropped.
pub fn stream(
    hub: &Hub,
    admission: Admission,
    store: Store,
    actor: Actor,
    settings: Settings,
    resume_after: Option<i64>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + use<> {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    // "From now" means after the newest committed event, read before subscribing: an event
    // committed in between is then newer than the cursor and reaches this stream, either live or
    // through the catch-up read every stream starts with (the table has everything after the
    // cursor; live events up to the cursor are skipped as already sent).
    let start = resume_after.unwrap_or_else(|| store.subscribe().borrow().last_event_id);
    let mut live = hub.tx.subscribe();
    let mut passing = hub.passing.subscribe();
    let mut shutdown = hub.shutdown.clone();
    let keepalive = hub.limits.keepalive;
    tokio::spawn(async move {
        // On a fixed beat, busy or not: events this reader may not see (or whose kinds a page
        // does not listen to) must not hold the ping back, or a live page would think it dead.
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Someone the server marked offline is back.
        let uid = actor.id;
        if let Err(e) = store
            .write(move |c| crate::service::users::mark_back(c, uid))
            .await
        {
            tracing::warn!(error = %e, "restoring a status failed");
        }
        let mut viewer = Viewer {
            actor,
            settings,
            gone: false,
        };
        if !deliver(
            &tx,
            Bytes::from_static(b": connected\nretry: 2000\n\n"),
            &mut shutdown,
        )
        .await
        {
            return;
        }
        let mut cursor = start;
        let mut catch_up = true;
        loop {
            if viewer.gone {
                return;
            }
            while catch_up {
                let after = cursor;
                let rows = match store.read(move |c| list_after(c, after, BATCH)).await {
                    Ok(rows) => rows,
                    Err::<_, StoreError>(e) => {
                        tracing::error!(error = %e, "replaying events failed");
                        return;
                    }
                };
                catch_up = !rows.is_empty();
                for e in rows {
                    cursor = e.id;
                    if let Some(f) = viewer.frame_for(&store, &e).await
                        && !deliver(&tx, f, &mut shutdown).await
                    {
                        return;
                    }
                }
            }
            let next = tokio::select! {
                // The server is stopping: end the response, so the browser reconnects to the
                // next process with its Last-Event-ID and nothing holds the shutdown up.
                _ = shutdown.wait() => return,
                // The response was dropped (the browser went away): stop now, not at the next
                // write.
                () = tx.closed() => return,
                r = live.recv() => Some(r),
                p = passing.recv() => {
                    if let Ok(e) = p
                        && e.actor.as_ref().is_none_or(|(id, _)| *id != viewer.actor.id.0)
                        && let Some(f) = viewer.frame_for(&store, &e).await
                        && !deliver(&tx, f, &mut shutdown).await
                    {
                        return;
                    }
                    continue;
                }
                _ = beat.tick() => None,
            };
            match next {
                None => {
                    if !deliver(&tx, Bytes::from_static(KEEPALIVE_FRAME), &mut shutdown).await {
                        return;
                    }
                }
                Some(Ok(e)) if e.id <= cursor => {}
                // Something in between was not seen live: the table has it.
                Some(Ok(e)) if e.id > cursor + 1 => catch_up = true,
                Some(Ok(e)) => {
                    cursor = e.id;
                    if let Some(f) = viewer.frame_for(&store, &e).await
                        && !deliver(&tx, f, &mut shutdown).await
                    {
                        return;
                    }
                }
                Some(Err(broadcast::error::RecvError::Lagged(_))) => catch_up = true,
                Some(Err(broadcast::error::RecvError::Closed)) => return,
            }
        }
    });
    futures_util::stream::unfold((rx, admission), |(mut rx, admission)| async move {
        rx.recv().await.map(|b| (Ok(b), (rx, admission)))
    })
}
