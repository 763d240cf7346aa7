//! Pending auto-resolve: resolves conversations that waited on a quiet customer for the
//! workspace's `auto_resolve_pending_secs` (null: off). The clock is in the database
//! (`pending_since`), so a quiet period that ended while the server was down resolves at the
//! first tick after start.

use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service::auto_resolve::{RESOLVE_BATCH, resolve_quiet_pending};

use super::Context;

/// One tick: resolves every pending conversation quiet for long enough, a batch per transaction.
pub async fn tick(ctx: &Context, settings: &Settings) {
    let Some(quiet) = settings.auto_resolve_pending_secs else {
        return;
    };
    loop {
        let now = now_ms();
        match ctx
            .store
            .write(move |c| resolve_quiet_pending(c, quiet, now))
            .await
        {
            Ok(done) if (done.len() as i64) < RESOLVE_BATCH => return,
            Ok(_) => continue,
            Err(e) => {
                return tracing::warn!(error = %e, "auto-resolving pending conversations failed");
            }
        }
    }
}
