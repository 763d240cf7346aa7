//! The daily update check: asks the release server whether a newer teaminbox exists and keeps
//! the answer in the database (internal keys [`AVAILABLE`], [`CHECKED_AT`]) for the Settings
//! page. When the last check was is read from the database, so restarts do not ask more often.
//! Switched off by `update_check = false` (config file) or `--no-update-check`.

use std::time::Duration;

use crate::config::UpdateCheckConfig;
use crate::domain::time::now_ms;
use crate::store::{Store, settings};

use super::Shutdown;

/// Internal key: the newer version the last check found (absent when none).
pub const AVAILABLE: &str = "_update_available";
/// Internal key: when the last check succeeded, UTC ms.
pub const CHECKED_AT: &str = "_update_checked_at";

/// Runs until shutdown: a check when the last one is `interval_secs` old (at once on a first
/// start), then again an interval later; a failed check is retried an hour later at most.
pub async fn run(store: Store, cfg: UpdateCheckConfig, mut shutdown: Shutdown) {
    if !cfg.enabled {
        return;
    }
    let interval = cfg.interval_secs.saturating_mul(1000) as i64;
    loop {
        let last = store
            .read(|c| settings::find_internal(c, CHECKED_AT))
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok());
        let wait = last.map_or(0, |at| at + interval - now_ms()).max(0);
        if wait > 0 && shutdown.sleep(Duration::from_millis(wait as u64)).await {
            return;
        }
        let url = cfg.release_url.clone();
        let found = tokio::task::spawn_blocking(move || crate::service::update::check(&url)).await;
        match found {
            Ok(Ok(check)) => {
                let newer = check.newer.clone();
                let saved = store
                    .write(move |c| {
                        settings::set_internal(c, AVAILABLE, newer.as_deref())?;
                        settings::set_internal(c, CHECKED_AT, Some(&now_ms().to_string()))
                    })
                    .await;
                if let Err(e) = saved {
                    tracing::warn!(error = %e, "could not record the update check");
                }
                if let Some(v) = check.newer {
                    tracing::info!(version = %v, "a newer teaminbox is available");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "the update check failed"),
            Err(e) => tracing::warn!(error = %e, "the update check ended abnormally"),
        }
        // After a success the next round waits out the interval; after a failure, an hour.
        let pause = Duration::from_millis(interval.clamp(1000, 3_600_000) as u64);
        if shutdown.sleep(pause).await {
            return;
        }
    }
}
