//! Configuration: command-line flags > `TEAMINBOX_*` environment > `teaminbox.toml` in the data
//! dir > defaults. Flags and environment are read by clap in `cli.rs`; the file and the
//! defaults are merged here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::jobs::outbox::OutboxConfig;
use crate::realtime::StreamLimits;

/// Default listen address.
pub const DEFAULT_BIND: &str = "0.0.0.0:8080";
/// Default data dir.
pub const DEFAULT_DATA: &str = "./teaminbox-data";

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// Data dir (database, media, config file).
    pub data: PathBuf,
    /// HTTP worker threads.
    pub workers: usize,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Outbox dispatcher settings.
    pub outbox: OutboxConfig,
    /// Caps on open event streams (the total is lowered at start to fit the open-files limit).
    pub streams: StreamLimits,
    /// The scheduled backup.
    pub backup: BackupConfig,
    /// Announce `teaminbox.local` over mDNS (default on).
    pub mdns: bool,
    /// HTTPS with this certificate and key (PEM files); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Bearer token of `GET /metrics`; `None` (or blank): the endpoint answers 404.
    pub metrics_token: Option<String>,
    /// The daily update check.
    pub update: UpdateCheckConfig,
}

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The daily check for a newer release (shown to owners in Settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateCheckConfig {
    /// Whether to check; `update_check = false` or `--no-update-check` turns it off.
    pub enabled: bool,
    /// The release base URL (`TEAMINBOX_RELEASE_URL`).
    pub release_url: String,
    /// Seconds between checks. Default 86,400 (daily).
    pub interval_secs: u64,
}

/// The scheduled backup: an archive every `interval_secs` into `dir`, the newest `keep` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// Where archives go (default `<data>/backups`).
    pub dir: PathBuf,
    /// Archives kept; `0` switches the scheduled backup off. Default 7.
    pub keep: usize,
    /// Seconds between backups. Default 86,400 (daily).
    pub interval_secs: u64,
}

/// Default number of scheduled backups kept.
pub const DEFAULT_BACKUP_KEEP: usize = 7;

/// Values given by flags or environment; `None` falls through to the file, then the default.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Listen address.
    pub bind: Option<String>,
    /// HTTP worker threads.
    pub workers: Option<usize>,
    /// Log filter.
    pub log: Option<String>,
    /// First outbox retry delay.
    pub outbox_retry_base_ms: Option<u64>,
    /// Outbox attempts before failing.
    pub outbox_max_attempts: Option<i64>,
    /// Time limit of one send.
    pub outbox_timeout_ms: Option<u64>,
    /// Open event streams allowed per user.
    pub max_streams_per_user: Option<usize>,
    /// Open event streams allowed in all.
    pub max_streams: Option<usize>,
    /// Where scheduled backups go.
    pub backup_dir: Option<PathBuf>,
    /// Scheduled backups kept (0: off).
    pub backup_keep: Option<usize>,
    /// Seconds between scheduled backups.
    pub backup_interval_secs: Option<u64>,
    /// `Some(false)` turns the mDNS announcement off.
    pub mdns: Option<bool>,
    /// Certificate file for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// Key file for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Bearer token that opens `GET /metrics` (none: /metrics answers 404).
    pub metrics_token: Option<String>,
    /// `Some(false)` turns the daily update check off.
    pub update_check: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    workers: Option<usize>,
    log: Option<String>,
    outbox_retry_base_ms: Option<u64>,
    outbox_max_attempts: Option<i64>,
    outbox_timeout_ms: Option<u64>,
    max_streams_per_user: Option<usize>,
    max_streams: Option<usize>,
    backup_dir: Option<PathBuf>,
    backup_keep: Option<usize>,
    backup_interval_secs: Option<u64>,
    mdns: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    metrics_token: Option<String>,
    update_check: Option<bool>,
}

/// Name of the config file inside the data dir.
pub const FILE_NAME: &str = "teaminbox.toml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Only one of the certificate and the key was given.
    #[error(
        "HTTPS needs both --tls-cert and --tls-key (or tls_cert and tls_key in teaminbox.toml)"
    )]
    TlsHalf,
    /// The config file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown or mistyped key.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        source: toml::de::Error,
    },
}

fn read_file(data: &Path) -> Result<FileConfig, ConfigError> {
    let path = data.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

impl Config {
    /// Merges overrides, the data dir's file and defaults.
    pub fn load(data: PathBuf, o: Overrides) -> Result<Config, ConfigError> {
        let f = read_file(&data)?;
        let d = OutboxConfig::default();
        let streams = StreamLimits::default();
        let workers = o.workers.or(f.workers).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8)
        });
        Ok(Config {
            bind: o.bind.or(f.bind).unwrap_or_else(|| DEFAULT_BIND.into()),
            workers,
            log: o.log.or(f.log).unwrap_or_else(|| "info".into()),
            outbox: OutboxConfig {
                retry_base_ms: o
                    .outbox_retry_base_ms
                    .or(f.outbox_retry_base_ms)
                    .unwrap_or(d.retry_base_ms),
                max_attempts: o
                    .outbox_max_attempts
                    .or(f.outbox_max_attempts)
                    .unwrap_or(d.max_attempts)
                    .max(1),
                timeout_ms: o
                    .outbox_timeout_ms
                    .or(f.outbox_timeout_ms)
                    .unwrap_or(d.timeout_ms),
                retry_max_ms: d.retry_max_ms,
            },
            streams: StreamLimits {
                per_user: o
                    .max_streams_per_user
                    .or(f.max_streams_per_user)
                    .unwrap_or(streams.per_user)
                    .max(1),
                total: o
                    .max_streams
                    .or(f.max_streams)
                    .unwrap_or(streams.total)
                    .max(1),
                ..StreamLimits::default()
            },
            backup: BackupConfig {
                dir: o
                    .backup_dir
                    .or(f.backup_dir)
                    .unwrap_or_else(|| data.join("backups")),
                keep: o
                    .backup_keep
                    .or(f.backup_keep)
                    .unwrap_or(DEFAULT_BACKUP_KEEP),
                interval_secs: o
                    .backup_interval_secs
                    .or(f.backup_interval_secs)
                    .unwrap_or(86_400)
                    .max(1),
            },
            mdns: o.mdns.or(f.mdns).unwrap_or(true),
            tls: match (o.tls_cert.or(f.tls_cert), o.tls_key.or(f.tls_key)) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => return Err(ConfigError::TlsHalf),
            },
            update: UpdateCheckConfig {
                enabled: o.update_check.or(f.update_check).unwrap_or(true),
                release_url: crate::service::update::release_url(),
                interval_secs: 86_400,
            },
            data,
            metrics_token: o
                .metrics_token
                .or(f.metrics_token)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Config::load(dir.path().into(), Overrides::default()).expect("defaults");
        assert_eq!(c.bind, DEFAULT_BIND);
        assert_eq!(c.streams, StreamLimits::default());
        std::fs::write(
            dir.path().join(FILE_NAME),
            "bind = \"127.0.0.1:9000\"\noutbox_max_attempts = 3\nmax_streams_per_user = 4\nmax_streams = 40\n",
        )
        .expect("write");
        let c = Config::load(dir.path().into(), Overrides::default()).expect("file");
        assert_eq!(c.bind, "127.0.0.1:9000");
        assert_eq!(c.outbox.max_attempts, 3);
        assert_eq!((c.streams.per_user, c.streams.total), (4, 40));
        let c = Config::load(
            dir.path().into(),
            Overrides {
                bind: Some("127.0.0.1:9001".into()),
                max_streams_per_user: Some(0),
                ..Overrides::default()
            },
        )
        .expect("flag");
        assert_eq!(c.bind, "127.0.0.1:9001");
        // A flag over the file; a cap of 0 would refuse every stream: at least 1.
        assert_eq!((c.streams.per_user, c.streams.total), (1, 40));
        assert!(c.update.enabled, "the daily update check is on by default");
        std::fs::write(dir.path().join(FILE_NAME), "update_check = false\n").expect("write");
        let c = Config::load(dir.path().into(), Overrides::default()).expect("file");
        assert!(!c.update.enabled, "update_check = false turns it off");
        std::fs::write(dir.path().join(FILE_NAME), "bnd = 1\n").expect("write");
        let err = Config::load(dir.path().into(), Overrides::default()).expect_err("typo");
        assert!(err.to_string().contains("bnd"));
    }
}
