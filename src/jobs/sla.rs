//! SLA alerts: records `sla.warning` and `sla.breached` when a clock's moment comes. The clocks
//! and what fired live in the database (`sla_clocks`), read by their next moment through an
//! index, so a tick costs the same with 100 or 100,000 open conversations, and a breach whose
//! time passed while the server was down fires once at the first tick after start.

use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service::sla::{TICK_BATCH, tick as fire_due};

use super::Context;

/// One tick: fires everything due, a batch per transaction.
pub async fn tick(ctx: &Context, _settings: &Settings) {
    loop {
        let now = now_ms();
        match ctx.store.write(move |c| fire_due(c, now)).await {
            Ok(n) if (n as i64) < TICK_BATCH => return,
            Ok(_) => continue,
            Err(e) => return tracing::warn!(error = %e, "recording SLA alerts failed"),
        }
    }
}
