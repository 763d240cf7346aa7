//! All SQL lives here: connection setup (WAL), embedded migrations, one writer thread that commits
//! concurrent requests together (group commit), a pool of readers, and typed queries.

pub mod backup;
pub mod bench;
pub mod bot;
pub mod canned;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod cycles;
pub mod events;
pub mod handoff;
pub mod invitations;
pub mod mentions;
pub mod messages;
pub mod outbox;
pub mod queue;
pub mod reports;
pub mod routing;
pub mod search;
pub mod settings;
pub mod sla;
pub mod tags;
pub mod teams;
pub mod terms;
pub mod tokens;
pub mod users;
pub mod whatsapp;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

pub use writer::Committed;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error(
        "the database at {path} was written by a newer teaminbox (schema version {found}, this binary knows up to {known}); upgrade teaminbox or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{0}")]
    Commit(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("blocking task failed: {0}")]
    Join(String),
    #[error("corrupt stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file or directory of the data dir could not be created or used.
    #[error("cannot use {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// Result alias of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Every migration, in order; append only.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_core.sql"),
    include_str!("migrations/002_ui.sql"),
    include_str!("migrations/003_whatsapp.sql"),
    include_str!("migrations/004_away.sql"),
    include_str!("migrations/005_provider_error.sql"),
    include_str!("migrations/006_webhooks.sql"),
    include_str!("migrations/007_phones.sql"),
    include_str!("migrations/008_search.sql"),
    include_str!("migrations/009_collab.sql"),
    include_str!("migrations/010_sla.sql"),
    include_str!("migrations/012_routing.sql"),
    include_str!("migrations/013_reports.sql"),
    include_str!("migrations/015_pending_since.sql"),
    include_str!("migrations/016_invitations.sql"),
    include_str!("migrations/018_bot.sql"),
    CONVERSATION_TERMS,
    REPORT_FACTS,
    include_str!("migrations/021_search_covers_bot_hold.sql"),
    include_str!("migrations/022_drop_duplicate_owner_index.sql"),
];

/// Migration 019 (the 16th in MIGRATIONS): its SQL, named so that its Rust step is found by
/// content rather than by a position that an append or a renumbering could shift.
const CONVERSATION_TERMS: &str = include_str!("migrations/019_conversation_terms.sql");

/// Migration 020 (the 17th in MIGRATIONS), named for its Rust step like 019.
const REPORT_FACTS: &str = include_str!("migrations/020_report_facts.sql");

/// Migrations with a Rust step after their SQL: 019 reads the messages that exist into
/// conversation_terms (the terms rule is Rust, domain::search::terms); 020 writes the
/// business-hours times of the cycles that exist (the calendar is Rust, domain::calendar).
fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .map(|sql| match *sql {
                CONVERSATION_TERMS => M::up_with_hook(sql, |tx: &rusqlite::Transaction| {
                    let started = std::time::Instant::now();
                    let read = terms::rebuild(tx)
                        .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))?;
                    // Minutes on a large database: say what the start-up waited for.
                    tracing::info!(
                        messages = read,
                        secs = started.elapsed().as_secs_f64(),
                        "migration 019: search terms of the stored messages built"
                    );
                    Ok(())
                }),
                REPORT_FACTS => M::up_with_hook(sql, |tx: &rusqlite::Transaction| {
                    let started = std::time::Instant::now();
                    let written = cycles::update_business_secs(tx, None)
                        .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))?;
                    tracing::info!(
                        cycles = written,
                        secs = started.elapsed().as_secs_f64(),
                        "migration 020: business-hours times of the stored cycles written"
                    );
                    Ok(())
                }),
                _ => M::up(sql),
            })
            .collect(),
    )
}

/// Page cache of each connection (the writer and each of the [`READERS`]), in KiB. Pages
/// missing from it come from the kernel's page cache (a copy, no disk read on a warm machine).
/// The caches are most of what the server's memory grows by under use (#12, 100k conversations:
/// with 4 MiB each, 20 browsers took the server from 24 to 39 MiB and it idled at 20 MiB; with
/// 2 MiB, 34 MiB and 18 MiB).
const CACHE_KIB: i64 = 2000;
/// Reader connections in the pool.
const READERS: u32 = 4;
/// Prepared statements the writer keeps compiled (rusqlite's default is 16). A burst of customer
/// messages runs 42 distinct statements (`statements_tests` keeps them under half of this), some
/// firing triggers whose programs are compiled with them; with 16 the cache thrashed and the
/// writer spent ~40 % of its time preparing statements again (perf of `bench --only routing`,
/// #10).
pub(crate) const WRITER_STATEMENTS: usize = 128;
/// Prepared statements each reader keeps compiled: a page runs a few dozen.
const READER_STATEMENTS: usize = 64;

/// Applies the pragmas every connection needs, and keeps up to `statements` prepared
/// statements compiled.
fn configure(conn: &Connection, statements: usize) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(statements);
    // busy_timeout first: switching to WAL and the first read may meet another process's lock
    // (a CLI command beside the running server) and must wait rather than fail.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged write survives power loss, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A negative cache_size is in KiB (sqlite.org/pragma.html#pragma_cache_size).
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// A pooled reader connection, owned (it can be moved to another thread): see
/// [`Store::read_with_spare`]. Returns to the pool when dropped.
pub type Reader = r2d2::PooledConnection<SqliteConnectionManager>;

/// The database: one writer thread and a pool of readers over the same file.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: writer::Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, applies migrations and starts the
    /// writer. Refuses a database whose schema is newer than this binary.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("teaminbox.db");
        let mut conn = Connection::open(&path)?;
        configure(&conn, WRITER_STATEMENTS)?;
        let migrations = migrations();
        let known = migrations_count();
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { path, found, known });
        }
        migrations.to_latest(&mut conn)?;
        let manager = SqliteConnectionManager::file(&path).with_init(|c| {
            configure(c, READER_STATEMENTS)?;
            c.pragma_update(None, "query_only", true)
        });
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .build(manager)?;
        let writer = writer::Writer::start(conn);
        Ok(Store {
            inner: Arc::new(Inner {
                writer,
                readers,
                path,
            }),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside the shared write transaction and resolves once it is durably committed.
    /// If `f` fails, its changes are rolled back and nothing else in the batch is affected.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.inner.writer.submit(f).await
    }

    /// Blocking form of [`Store::write`] for the CLI and background threads (not async code).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.inner.writer.submit_blocking(f)
    }

    /// Runs a read-only `f` on a pooled reader, on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_reader(false, move |c, _| f(c)).await
    }

    /// [`Store::read`] with a second reader, when one is idle, for a read that splits into
    /// independent parts run at once on two cores (a 90-day report: its cycles on one
    /// connection, its staff replies on the other). The second is taken only if the pool has
    /// one free right now (never waited for while the first is held, so concurrent reports
    /// cannot starve each other); `f` gets `None` otherwise and reads everything on the first.
    /// The two connections read separate snapshots: a write committed between their first
    /// reads can show in one part and not the other.
    pub async fn read_with_spare<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection, Option<Reader>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on_reader(true, f).await
    }

    /// Runs `f` on a pooled reader on a blocking thread, with a second reader if `spare` and
    /// one is idle.
    async fn on_reader<T, E, F>(&self, spare: bool, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection, Option<Reader>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.inner.readers.clone();
        // Log lines of `f` belong to the caller's request.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            let conn = pool.get().map_err(StoreError::from)?;
            f(&conn, if spare { pool.try_get() } else { None })
        })
        .await
        .map_err(|e| E::from(StoreError::Join(e.to_string())))?
    }

    /// Blocking form of [`Store::read`].
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let conn = self.inner.readers.get().map_err(StoreError::from)?;
        f(&conn)
    }

    /// Writes a consistent copy of the whole database to `dest` while the server keeps running
    /// (`VACUUM INTO`: a snapshot, compacted). Refuses to overwrite an existing file.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        // Its own connection: readers are query-only and the writer holds transactions open.
        let conn = Connection::open(self.path())?;
        // One statement, run once: nothing worth keeping compiled.
        configure(&conn, 0)?;
        conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
        Ok(())
    }

    /// Subscribes to commit notifications (the id of the newest event after each commit).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Committed> {
        self.inner.writer.subscribe()
    }
}

/// Runs `f` in a savepoint of its own inside the caller's transaction: if it fails, its changes
/// are undone and the caller's other work goes on (one bad item must not sink a batch).
pub fn isolated<T, E: From<StoreError>>(
    conn: &Connection,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    conn.execute_batch("SAVEPOINT isolated")
        .map_err(StoreError::from)?;
    match f() {
        Ok(v) => {
            conn.execute_batch("RELEASE isolated")
                .map_err(StoreError::from)?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO isolated; RELEASE isolated")
                .map_err(StoreError::from)?;
            Err(e)
        }
    }
}

/// Opens a bare connection with the production pragmas and the schema applied (for the
/// benchmark's baseline and bulk generation, which bypass the writer on purpose).
pub fn open_bare(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn, WRITER_STATEMENTS)?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

fn migrations_count() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_counted() {
        assert!(migrations().validate().is_ok());
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrations().to_latest(&mut conn).expect("migrate");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, migrations_count());
    }

    /// An index whose key columns start another index's, with the same partial `WHERE`, serves no
    /// query the longer one cannot, and every write to its columns pays for both (issue #10:
    /// `conv_owner_open` beside `conv_owner_load` was written on every customer message to an
    /// assigned conversation). UNIQUE indexes are constraints and stay out of it.
    #[test]
    fn no_index_repeats_the_start_of_another() {
        struct Index {
            name: String,
            table: String,
            /// (column or expression, descending) of each key column.
            key: Vec<(String, bool)>,
            filter: String,
            unique: bool,
        }
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrations().to_latest(&mut conn).expect("migrate");
        let mut st = conn
            .prepare("SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND sql NOT NULL")
            .expect("prepare");
        let rows: Vec<(String, String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let indexes: Vec<Index> = rows
            .into_iter()
            .map(|(name, table, sql)| {
                let sql = squash(&sql);
                let head = sql.split(" ON ").next().unwrap_or_default().to_uppercase();
                let mut info = conn
                    .prepare(&format!(
                        "SELECT name, desc, key, cid FROM pragma_index_xinfo('{name}')"
                    ))
                    .expect("xinfo");
                let key = info
                    .query_map([], |r| {
                        let col: Option<String> = r.get(0)?;
                        let cid: i64 = r.get(3)?;
                        // An expression never counts as equal to another index's.
                        let col = col.unwrap_or_else(|| format!("<expression {cid} of {name}>"));
                        Ok((col, r.get(1)?, r.get(2)?))
                    })
                    .expect("key")
                    .filter_map(|k: rusqlite::Result<(String, bool, bool)>| {
                        k.ok().filter(|k| k.2).map(|k| (k.0, k.1))
                    })
                    .collect();
                Index {
                    filter: sql
                        .split_once(" WHERE ")
                        .map(|w| w.1.to_string())
                        .unwrap_or_default(),
                    unique: head.contains("UNIQUE"),
                    name,
                    table,
                    key,
                }
            })
            .collect();
        let mut repeats = Vec::new();
        for a in &indexes {
            for b in &indexes {
                if a.name != b.name
                    && !a.unique
                    && a.table == b.table
                    && a.filter == b.filter
                    && b.key.starts_with(&a.key)
                    // Two equal keys count once.
                    && (a.key.len() < b.key.len() || a.name < b.name)
                {
                    repeats.push(format!("{} starts {}", a.name, b.name));
                }
            }
        }
        assert!(repeats.is_empty(), "{repeats:?}");
    }

    #[test]
    fn refuses_newer_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join("teaminbox.db")).expect("open");
            conn.pragma_update(None, "user_version", 99).expect("set");
        }
        match Store::open(dir.path()) {
            Err(StoreError::TooNew { found: 99, .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a newer database"),
        }
    }
}
