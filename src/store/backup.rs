//! The data directory as files: the lock a serving process holds on it, and the checks a
//! database from a backup archive must pass before it replaces the live one.

use std::fs::{File, OpenOptions};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{Result, migrations_count};

/// Name of the lock file inside the data dir.
pub const LOCK_FILE: &str = "teaminbox.lock";

/// An exclusive lock on a data directory (an advisory `flock` on `teaminbox.lock`), held by a
/// serving process for its whole life and by `restore` while it swaps files. The operating
/// system releases it when the process ends, however it ends (`kill -9` included).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why a data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (a running server, a restore) holds it.
    #[error(
        "another teaminbox process is using {dir} (a running server?); stop it first, e.g. `sudo systemctl stop teaminbox`"
    )]
    InUse {
        /// The data dir.
        dir: String,
    },
    /// The lock file could not be opened.
    #[error("cannot open {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (which must exist) without waiting.
    ///
    /// # Errors
    /// [`LockError::InUse`] when another process (or another server in this process) holds it.
    pub fn try_acquire(data_dir: &Path) -> std::result::Result<DataDirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| LockError::Io {
                path: path.display().to_string(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::InUse {
                dir: data_dir.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(LockError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }
}

/// What a database file is: the first line of `PRAGMA integrity_check` (`"ok"` when sound) and
/// its schema version (the number of migrations applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseCheck {
    /// `"ok"`, or the first problem SQLite found.
    pub integrity: String,
    /// `PRAGMA user_version`.
    pub schema_version: i64,
    /// Messages it holds.
    pub messages: i64,
}

/// Opens the database file at `path` read-only and checks it (a file that is not an SQLite
/// database is an error).
pub fn check_database(path: &Path) -> Result<DatabaseCheck> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let schema_version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let messages = if schema_version > 0 {
        conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?
    } else {
        0
    };
    Ok(DatabaseCheck {
        integrity,
        schema_version,
        messages,
    })
}

/// The schema version this binary writes (databases newer than it are refused).
pub fn known_schema_version() -> i64 {
    migrations_count()
}
