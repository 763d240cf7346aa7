//! Backups: one archive (`.tar.gz`) holding a consistent snapshot of the database taken while
//! the server keeps serving, the media files and the config file; and the restore that checks an
//! archive completely before it touches the live data directory.
//!
//! Archive layout (format 1): `manifest.json` first (format, app version, schema version,
//! creation time, SHA-256 of the database), then `teaminbox.db`, `teaminbox.toml` when the data
//! dir has one, and `media/...` as stored under the data dir.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::time::now_ms;
use crate::store::backup::{DataDirLock, LockError, check_database, known_schema_version};
use crate::store::{Store, StoreError};

/// The archive format this binary writes and reads.
pub const FORMAT: u32 = 1;
/// File name prefix of archives written by `teaminbox backup` without `--to` and by the daily
/// backup; they sort by time.
pub const PREFIX: &str = "teaminbox-";
/// File name suffix of archives.
pub const SUFFIX: &str = ".tar.gz";
const DB: &str = "teaminbox.db";
const CONFIG: &str = crate::config::FILE_NAME;
const MANIFEST: &str = "manifest.json";
const MEDIA: &str = "media";

/// What an archive says about itself (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Archive format ([`FORMAT`]).
    pub format: u32,
    /// Version of the teaminbox that wrote it.
    pub app_version: String,
    /// Schema version (migrations applied) of its database.
    pub schema_version: i64,
    /// When it was written, UTC milliseconds.
    pub created_at: i64,
    /// Hex SHA-256 of `teaminbox.db` in the archive.
    pub database_sha256: String,
    /// Media files in the archive.
    pub media_files: u64,
}

/// Why a backup or restore did not happen. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists; backups never overwrite.
    #[error("{0} exists already; choose a new file")]
    Exists(String),
    /// The data dir is in use by a running server (restore only).
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The archive is not one this binary can restore: damaged, not an archive, or missing parts.
    #[error("{path} cannot be restored: {reason}")]
    Invalid {
        /// The archive.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The archive comes from a newer teaminbox.
    #[error(
        "{path} was written by a newer teaminbox (database schema {found}, this one knows {known}); update teaminbox first"
    )]
    TooNew {
        /// The archive.
        path: String,
        /// Its schema version.
        found: i64,
        /// What this binary knows.
        known: i64,
    },
    /// Reading or writing files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The database snapshot failed.
    #[error("the database snapshot failed: {0}")]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, BackupError>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What [`write_archive`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The archive.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The default archive name for a backup taken at `at_ms`: `teaminbox-YYYYMMDD-HHMMSS.tar.gz`
/// (UTC), so names sort by time.
pub fn archive_name(at_ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{PREFIX}{}{SUFFIX}", ts.strftime("%Y%m%d-%H%M%S"))
}

/// Writes one archive of the data dir of `store` to `dest` while the server may keep serving:
/// the database through SQLite's `VACUUM INTO` (a consistent snapshot), then the media files and
/// the config file. The archive appears under its name only once complete and flushed to disk.
///
/// # Errors
/// [`BackupError::Exists`] when `dest` exists; I/O and store errors otherwise (nothing is left
/// behind but the error).
pub fn write_archive(store: &Store, data_dir: &Path, dest: &Path) -> Result<Written> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.display().to_string()));
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    let now = now_ms();
    let work = data_dir.join(format!(".backup-{}-{now}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(io(format!("creating {}", work.display())))?;
    let part = PathBuf::from(format!("{}.part", dest.display()));
    let result = (|| {
        let snapshot = work.join(DB);
        store.backup_to(&snapshot)?;
        let check = check_database(&snapshot)?;
        let media = list_media(data_dir)?;
        let manifest = Manifest {
            format: FORMAT,
            app_version: env!("CARGO_PKG_VERSION").into(),
            schema_version: check.schema_version,
            created_at: now,
            database_sha256: sha256_file(&snapshot)?,
            media_files: media.len() as u64,
        };
        let file = File::create(&part).map_err(io(format!("creating {}", part.display())))?;
        let gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::new(3));
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        let body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_mtime((now / 1000).max(0) as u64);
        header.set_cksum();
        let writing = io(format!("writing {}", part.display()));
        tar.append_data(&mut header, MANIFEST, body.as_slice())
            .map_err(io(format!("writing {}", part.display())))?;
        tar.append_path_with_name(&snapshot, DB)
            .map_err(io(format!("writing {}", part.display())))?;
        let config = data_dir.join(CONFIG);
        if config.is_file() {
            tar.append_path_with_name(&config, CONFIG)
                .map_err(io(format!("adding {}", config.display())))?;
        }
        for rel in &media {
            tar.append_path_with_name(data_dir.join(rel), rel)
                .map_err(io(format!("adding {}", rel.display())))?;
        }
        let gz = tar.into_inner().map_err(writing)?;
        let file = gz
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(io(format!("writing {}", part.display())))?;
        file.sync_all()
            .map_err(io(format!("flushing {}", part.display())))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        std::fs::rename(&part, dest).map_err(io(format!("renaming to {}", dest.display())))?;
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(Written {
            path: dest.to_path_buf(),
            bytes,
            manifest,
        })
    })();
    let _ = std::fs::remove_dir_all(&work);
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Media files under `data_dir/media`, relative to the data dir, sorted; downloads still in
/// progress (`.part`) are left out.
fn list_media(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(MEDIA)];
    while let Some(rel) = stack.pop() {
        let dir = data_dir.join(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(format!("reading {}", dir.display()))(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
            let kind = entry
                .file_type()
                .map_err(io(format!("reading {}", dir.display())))?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                stack.push(child);
            } else if kind.is_file() && child.extension().is_none_or(|e| e != "part") {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        BufReader::new(File::open(path).map_err(io(format!("reading {}", path.display())))?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Whether `p` is a path an archive may hold: the manifest, the database, the config file, or a
/// plain relative path under `media/` (no `..`, no root, no drive).
fn allowed_entry(p: &Path) -> bool {
    if p == Path::new(MANIFEST) || p == Path::new(DB) || p == Path::new(CONFIG) {
        return true;
    }
    let mut parts = p.components();
    parts.next() == Some(Component::Normal(MEDIA.as_ref()))
        && parts.clone().next().is_some()
        && parts.all(|c| matches!(c, Component::Normal(_)))
}

/// Unpacks the archive at `archive` into the empty directory `into` and checks everything a
/// restore relies on: only the expected entries, a readable manifest of a known format, the
/// database's checksum, `PRAGMA integrity_check` = ok, and a schema not newer than this binary.
///
/// # Errors
/// [`BackupError::Invalid`] naming what is wrong, [`BackupError::TooNew`], or I/O errors.
pub fn unpack_and_check(archive: &Path, into: &Path) -> Result<Manifest> {
    let invalid = |reason: String| BackupError::Invalid {
        path: archive.display().to_string(),
        reason,
    };
    let file = File::open(archive).map_err(io(format!("opening {}", archive.display())))?;
    std::fs::create_dir_all(into).map_err(io(format!("creating {}", into.display())))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let entries = tar
        .entries()
        .map_err(|e| invalid(format!("not a teaminbox backup archive ({e})")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| invalid(format!("damaged or not a .tar.gz archive ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| invalid(format!("an entry has an unreadable name ({e})")))?
            .into_owned();
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) || !allowed_entry(&path) {
            return Err(invalid(format!(
                "unexpected entry {:?} in the archive",
                path.display().to_string()
            )));
        }
        let unpacked = entry
            .unpack_in(into)
            .map_err(|e| invalid(format!("damaged while unpacking {} ({e})", path.display())))?;
        if !unpacked {
            return Err(invalid(format!(
                "unsafe entry {:?}",
                path.display().to_string()
            )));
        }
    }
    let body = std::fs::read(into.join(MANIFEST))
        .map_err(|_| invalid("it has no manifest.json (not a teaminbox backup)".into()))?;
    let manifest: Manifest = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("its manifest.json is unreadable ({e})")))?;
    if manifest.format != FORMAT {
        return Err(invalid(format!(
            "archive format {} is unknown to this teaminbox (it reads {FORMAT})",
            manifest.format
        )));
    }
    let db = into.join(DB);
    if !db.is_file() {
        return Err(invalid("it holds no database".into()));
    }
    if sha256_file(&db)? != manifest.database_sha256 {
        return Err(invalid(
            "the database does not match the checksum in its manifest".into(),
        ));
    }
    let check =
        check_database(&db).map_err(|e| invalid(format!("the database is damaged ({e})")))?;
    if check.integrity != "ok" {
        return Err(invalid(format!(
            "the database failed its integrity check ({})",
            check.integrity
        )));
    }
    let known = known_schema_version();
    if check.schema_version > known {
        return Err(BackupError::TooNew {
            path: archive.display().to_string(),
            found: check.schema_version,
            known,
        });
    }
    Ok(manifest)
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The restored archive's manifest.
    pub manifest: Manifest,
    /// Messages in the restored database.
    pub messages: i64,
    /// Where the replaced database, media and config went (`None`: the data dir was empty).
    pub previous: Option<PathBuf>,
}

/// Replaces the data in `data_dir` with the archive's, refusing while a server uses the data dir.
/// The archive is unpacked and checked completely first ([`unpack_and_check`]); only then the
/// current database (with its `-wal`/`-shm`), media and config move to
/// `data_dir/pre-restore-<time>/` and the archive's take their place. Nothing is deleted.
///
/// # Errors
/// [`BackupError::Locked`] while a server runs on `data_dir`; the errors of
/// [`unpack_and_check`] (the data dir is then untouched); I/O errors.
pub fn restore(data_dir: &Path, archive: &Path) -> Result<Restored> {
    std::fs::create_dir_all(data_dir).map_err(io(format!("creating {}", data_dir.display())))?;
    let _lock = DataDirLock::try_acquire(data_dir)?;
    let now = now_ms();
    let staging = data_dir.join(format!(".restore-{now}"));
    let manifest = match unpack_and_check(archive, &staging) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let messages = check_database(&staging.join(DB))?.messages;
    let stamp = archive_name(now)
        .trim_start_matches(PREFIX)
        .trim_end_matches(SUFFIX)
        .to_string();
    let previous = data_dir.join(format!("pre-restore-{stamp}"));
    let mut moved_any = false;
    let replaced: Vec<String> = [
        DB.to_string(),
        format!("{DB}-wal"),
        format!("{DB}-shm"),
        MEDIA.to_string(),
        CONFIG.to_string(),
    ]
    .into_iter()
    .filter(|name| name != CONFIG || staging.join(CONFIG).exists())
    .collect();
    for name in &replaced {
        let from = data_dir.join(name);
        if from.exists() {
            if !moved_any {
                std::fs::create_dir_all(&previous)
                    .map_err(io(format!("creating {}", previous.display())))?;
                moved_any = true;
            }
            std::fs::rename(&from, previous.join(name))
                .map_err(io(format!("moving {} aside", from.display())))?;
        }
    }
    for name in [DB, MEDIA, CONFIG] {
        let from = staging.join(name);
        if from.exists() {
            std::fs::rename(&from, data_dir.join(name))
                .map_err(io(format!("putting {name} in place")))?;
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    if let Ok(dir) = File::open(data_dir) {
        let _ = dir.sync_all();
    }
    Ok(Restored {
        manifest,
        messages,
        previous: moved_any.then_some(previous),
    })
}

/// Archives in `dir` written under the default name, oldest first.
pub fn list_archives(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    out.sort();
    out
}

/// Deletes the oldest default-named archives in `dir` beyond the newest `keep`. Answers the
/// files deleted.
pub fn prune(dir: &Path, keep: usize) -> Vec<PathBuf> {
    let all = list_archives(dir);
    let extra = all.len().saturating_sub(keep);
    all.into_iter()
        .take(extra)
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expected_paths_are_allowed() {
        let cases = [
            ("manifest.json", true),
            ("teaminbox.db", true),
            ("teaminbox.toml", true),
            ("media/3/17.jpg", true),
            ("media", false),
            ("media/../teaminbox.db", false),
            ("/etc/passwd", false),
            ("../x", false),
            ("teaminbox.db-wal", false),
            ("other/file", false),
        ];
        for (p, ok) in cases {
            assert_eq!(allowed_entry(Path::new(p)), ok, "{p}");
        }
    }

    #[test]
    fn default_names_sort_by_time() {
        let a = archive_name(1_700_000_000_000);
        let b = archive_name(1_700_000_001_000);
        assert_eq!(a, "teaminbox-20231114-221320.tar.gz");
        assert!(a < b);
    }
}
