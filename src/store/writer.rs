//! The single writer: one thread owns the write connection, takes every queued write, runs each
//! in its own savepoint inside one `BEGIN IMMEDIATE` transaction and commits them together, so a
//! burst of concurrent requests pays for one fsync instead of one each (group commit).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::{oneshot, watch};

use super::StoreError;

/// Most writes taken into one transaction.
const MAX_BATCH: usize = 512;

/// What subscribers learn after every commit: the newest row of each table that background jobs
/// follow. Every commit notifies; a job compares the id it follows with the last it handled and
/// goes back to sleep when nothing of its kind was added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// Number of commits so far (changes on every commit).
    pub seq: u64,
    /// Id of the newest event in the database.
    pub last_event_id: i64,
    /// Id of the newest outbox row (a message queued to send).
    pub last_outbox_id: i64,
    /// Id of the newest kept WhatsApp webhook body.
    pub last_webhook_id: i64,
}

impl Committed {
    /// Reads the newest ids (each a rowid lookup at the end of its table's primary key). An id
    /// that cannot be read keeps its value from `before`: ids only grow, and a 0 would make a
    /// new event stream replay the whole history.
    fn read(conn: &Connection, seq: u64, before: Committed) -> Committed {
        let newest = |table: &str, was: i64| -> i64 {
            conn.prepare_cached(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
                .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                .map_or(was, |id| id.max(was))
        };
        Committed {
            seq,
            last_event_id: newest("events", before.last_event_id),
            last_outbox_id: newest("outbox", before.last_outbox_id),
            last_webhook_id: newest("wa_webhooks", before.last_webhook_id),
        }
    }
}

trait Job: Send {
    /// Runs the work in a savepoint; returns what to do once the outcome of the commit is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    /// The work could not be run at all.
    fn fail(self: Box<Self>, err: String);
}

trait Finish: Send {
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct Task<T, E, F> {
    f: F,
    reply: oneshot::Sender<Result<T, E>>,
    /// The caller's span: log lines of `f` belong to the caller's request.
    span: tracing::Span,
}

struct Done<T, E> {
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Job for Task<T, E, F>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish> {
        let Task { f, reply, span } = *self;
        let _in = span.enter();
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            return Box::new(Done {
                result: Some(Err(E::from(StoreError::from(e)))),
                reply,
            });
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)));
        let result = match outcome {
            Ok(Ok(v)) => match conn.execute_batch("RELEASE job") {
                Ok(()) => Some(Ok(v)),
                Err(e) => {
                    rollback_savepoint(conn);
                    Some(Err(E::from(StoreError::from(e))))
                }
            },
            Ok(Err(e)) => {
                rollback_savepoint(conn);
                Some(Err(e))
            }
            Err(_) => {
                tracing::error!("a write task panicked; its changes were rolled back");
                rollback_savepoint(conn);
                Some(Err(E::from(StoreError::Commit(
                    "the write failed unexpectedly".into(),
                ))))
            }
        };
        Box::new(Done { result, reply })
    }

    fn fail(self: Box<Self>, err: String) {
        let _ = self.reply.send(Err(E::from(StoreError::Commit(err))));
    }
}

impl<T: Send, E: From<StoreError> + Send> Finish for Done<T, E> {
    fn finish(mut self: Box<Self>, commit: Result<(), String>) {
        let result = match (self.result.take(), commit) {
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(E::from(StoreError::Commit(e))),
            (Some(Err(e)), _) => Err(e),
            (None, Err(e)) => Err(E::from(StoreError::Commit(e))),
            (None, Ok(())) => Err(E::from(StoreError::WriterGone)),
        };
        let _ = self.reply.send(result);
    }
}

fn rollback_savepoint(conn: &Connection) {
    if let Err(e) = conn.execute_batch("ROLLBACK TO job; RELEASE job") {
        tracing::error!(error = %e, "rolling back a savepoint failed");
    }
}

/// Handle to the writer thread.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    committed: watch::Receiver<Committed>,
}

impl Writer {
    pub(super) fn start(conn: Connection) -> Writer {
        let (jobs, rx) = mpsc::channel::<Box<dyn Job>>();
        let initial = Committed::read(&conn, 0, Committed::default());
        let (tx, committed) = watch::channel(initial);
        std::thread::Builder::new()
            .name("teaminbox-writer".into())
            .spawn(move || run(conn, rx, tx))
            .expect("spawning the writer thread");
        Writer { jobs, committed }
    }

    fn enqueue<T, E, F>(&self, f: F) -> oneshot::Receiver<Result<T, E>>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        // If the thread is gone the receiver reports it below.
        let _ = self.jobs.send(Box::new(Task {
            f,
            reply,
            span: tracing::Span::current(),
        }));
        rx
    }

    pub(super) async fn submit<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.enqueue(f)
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::WriterGone)))
    }

    pub(super) fn submit_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.enqueue(f)
            .blocking_recv()
            .unwrap_or_else(|_| Err(E::from(StoreError::WriterGone)))
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<Committed> {
        self.committed.clone()
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Box<dyn Job>>, committed: watch::Sender<Committed>) {
    let mut seq = 0u64;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let msg = format!("could not start a transaction: {e}");
            tracing::error!("{msg}");
            for job in batch {
                job.fail(msg.clone());
            }
            continue;
        }
        let finishers: Vec<Box<dyn Finish>> = batch.into_iter().map(|j| j.run(&conn)).collect();
        let outcome = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::error!(error = %e, "commit failed");
            format!("commit failed: {e}")
        });
        if outcome.is_ok() {
            seq += 1;
            let before = *committed.borrow();
            committed.send_replace(Committed::read(&conn, seq, before));
        }
        for f in finishers {
            f.finish(outcome.clone());
        }
    }
}
