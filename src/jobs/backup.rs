//! The scheduled backup: an archive of the data dir every `interval_secs` (daily by default)
//! into the backup dir, the newest `keep` kept (the oldest deleted before a new one is written). When the last archive is, is read from the
//! archives themselves (their names sort by time), so a restart neither skips nor repeats one.

use std::time::Duration;

use crate::config::BackupConfig;
use crate::domain::time::now_ms;
use crate::service::backup::{archive_name, list_archives, prune, write_archive};
use crate::store::Store;

use super::Shutdown;

/// When the newest default-named archive in `dir` was written (UTC ms, from its file time).
fn newest(dir: &std::path::Path) -> Option<i64> {
    let last = list_archives(dir).pop()?;
    let modified = std::fs::metadata(last).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_millis() as i64)
}

/// Runs until shutdown: waits until the newest archive is `interval_secs` old (the first one
/// `min(interval, 1 h)` after start when there is none), writes one
/// (on a blocking thread: the snapshot reads the whole database), prunes, repeats.
pub async fn run(
    store: Store,
    data_dir: std::path::PathBuf,
    cfg: BackupConfig,
    mut shutdown: Shutdown,
) {
    if cfg.keep == 0 {
        return;
    }
    let interval = cfg.interval_secs.saturating_mul(1000) as i64;
    loop {
        // No archive yet (a fresh install): the first one an interval after start, at most an
        // hour — so a restart loop does not write one each time, and a new shop has one soon.
        let wait = newest(&cfg.dir).map_or(interval.min(3_600_000), |at| at + interval - now_ms());
        let wait = Duration::from_millis(wait.max(1000) as u64);
        if shutdown.sleep(wait).await {
            return;
        }
        if newest(&cfg.dir).is_some_and(|at| at + interval > now_ms()) {
            continue; // someone (`teaminbox backup`) wrote one meanwhile
        }
        let (s, dir, to) = (
            store.clone(),
            data_dir.clone(),
            cfg.dir.join(archive_name(now_ms())),
        );
        let keep = cfg.keep;
        let backups = cfg.dir.clone();
        // Oldest out first: the folder never holds more than `keep` archives, and a full disk
        // gets room for the new one.
        let done = tokio::task::spawn_blocking(move || {
            let pruned = prune(&backups, keep - 1);
            let written = write_archive(&s, &dir, &to);
            (written, pruned)
        })
        .await;
        match done {
            Ok((Ok(w), pruned)) => tracing::info!(
                archive = %w.path.display(),
                bytes = w.bytes,
                pruned = pruned.len(),
                "scheduled backup written"
            ),
            Ok((Err(e), _)) => {
                tracing::warn!(error = %e, "the scheduled backup failed; retrying in an hour");
                if shutdown
                    .sleep(Duration::from_secs(3600).min(Duration::from_millis(interval as u64)))
                    .await
                {
                    return;
                }
            }
            Err(e) => tracing::warn!(error = %e, "the scheduled backup task ended abnormally"),
        }
    }
}
