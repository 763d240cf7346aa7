//! Live updates: after every commit one task reads the new events once and fans them out to
//! every open event stream; each stream keeps only what its user may see. A stream that falls
//! behind, or a browser that reconnects with `Last-Event-ID`, catches up from the events table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::domain::UserId;
use crate::domain::events::Event;
use crate::domain::policy::{self, Actor, EventFacts};
use crate::domain::settings::Settings;
use crate::domain::time::{Ts, now_ms};
use crate::jobs::Shutdown;
use crate::store::events::{EventRow, list_after};
use crate::store::{Store, StoreError, settings, users};

/// How often a comment line keeps idle streams open.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
const BATCH: i64 = 500;

/// The fan-out point for committed events.
#[derive(Clone)]
pub struct Hub {
    /// Open streams per user, and when their last one closed.
    presence: Arc<std::sync::Mutex<HashMap<i64, Presence>>>,
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
            presence: Arc::default(),
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

/// A user's open streams.
#[derive(Debug, Clone, Copy, Default)]
struct Presence {
    open: usize,
    last_closed_at: i64,
}

/// Counts a stream while it is open.
struct Attendance {
    presence: Arc<std::sync::Mutex<HashMap<i64, Presence>>>,
    user: i64,
}

impl Drop for Attendance {
    fn drop(&mut self) {
        if let Ok(mut map) = self.presence.lock() {
            let p = map.entry(self.user).or_default();
            p.open = p.open.saturating_sub(1);
            p.last_closed_at = now_ms();
        }
    }
}

impl Hub {
    fn attend(&self, user: i64) -> Attendance {
        if let Ok(mut map) = self.presence.lock() {
            map.entry(user).or_default().open += 1;
        }
        Attendance {
            presence: self.presence.clone(),
            user,
        }
    }

    /// Since when `user` has had no open event stream (`None`: one is open now).
    pub fn away_since(&self, user: i64) -> Option<i64> {
        let map = self.presence.lock().ok()?;
        match map.get(&user) {
            Some(p) if p.open > 0 => None,
            Some(p) => Some(p.last_closed_at.max(self.started_at)),
            None => Some(self.started_at),
        }
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
        "assignee_id": e.ownership.and_then(|o| o.assignee),
    })
}

/// Whether `viewer` should receive `e` (the rule is [`policy::can_see_event`]).
pub fn visible_to(viewer: &Actor, settings: &Settings, e: &EventRow) -> bool {
    let named = |key: &str| e.data[key].get("id").and_then(Value::as_i64).map(UserId);
    let facts = EventFacts {
        kind: &e.kind,
        ownership: e.ownership,
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
/// events, with a keep-alive comment every [`KEEPALIVE`]. The work runs in a task that ends when
/// the browser goes away or the server stops (the response then ends cleanly).
pub fn stream(
    hub: &Hub,
    store: Store,
    actor: Actor,
    settings: Settings,
    resume_after: Option<i64>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> + use<> {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let attendance = hub.attend(actor.id.0);
    // "From now" means after the newest committed event, read before subscribing: an event
    // committed in between is then newer than the cursor and reaches this stream, either live or
    // through the catch-up read every stream starts with (the table has everything after the
    // cursor; live events up to the cursor are skipped as already sent).
    let start = resume_after.unwrap_or_else(|| store.subscribe().borrow().last_event_id);
    let mut live = hub.tx.subscribe();
    let mut passing = hub.passing.subscribe();
    let mut shutdown = hub.shutdown.clone();
    tokio::spawn(async move {
        let _attendance = attendance;
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
                _ = tokio::time::sleep(KEEPALIVE) => None,
            };
            match next {
                None => {
                    if !deliver(&tx, Bytes::from_static(b": keep-alive\n\n"), &mut shutdown).await {
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
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}
