//! Bot timeouts (#13): a conversation the menu bot holds goes to people when its customer has not
//! chosen within the menu's `timeout_secs`. The due time is in the database (`bot_until`, read
//! through a partial index), so a timeout that passed while the server was down fires at the
//! first tick after start.

use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service::bot::{TICK_BATCH, tick as hand_over_due};

use super::Context;

/// One tick: hands over every conversation whose bot hold ran out, a batch per transaction.
pub async fn tick(ctx: &Context, _settings: &Settings) {
    loop {
        let now = now_ms();
        match ctx.store.write(move |c| hand_over_due(c, now)).await {
            Ok(n) if (n as i64) < TICK_BATCH => return,
            Ok(_) => continue,
            Err(e) => return tracing::warn!(error = %e, "bot timeouts failed"),
        }
    }
}
