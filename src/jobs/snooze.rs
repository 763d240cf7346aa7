//! Snooze wake-up: a snoozed conversation becomes `open` again at its time, whether or not the
//! customer writes (a customer message wakes it earlier, in the inbound path). The time is in the
//! database (`snoozed_until`), so a conversation whose time passed while the server was down
//! wakes at the first tick after start.

use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service::conversations::{WAKE_BATCH, wake_snoozed};

use super::Context;

/// One tick: wakes every conversation whose snooze has ended, a batch per transaction.
pub async fn tick(ctx: &Context, _settings: &Settings) {
    loop {
        let now = now_ms();
        match ctx.store.write(move |c| wake_snoozed(c, now)).await {
            Ok(woken) if (woken.len() as i64) < WAKE_BATCH => return,
            Ok(_) => continue,
            Err(e) => return tracing::warn!(error = %e, "waking snoozed conversations failed"),
        }
    }
}
