//! The queue watch: the "waiting unassigned" alert and take-back (see `service::watch`). Their
//! state is in the conversations themselves (`waiting_since`, `assigned_at`, the alert flag), so
//! a restart changes nothing.

use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service::watch::{WATCH_BATCH, alert_unassigned, take_back};

use super::Context;

/// One tick: alerts, then take-back, each a batch per transaction until nothing is due.
pub async fn tick(ctx: &Context, settings: &Settings) {
    for (name, pass) in [
        ("unassigned alert", alert_unassigned as fn(&_, &_, i64) -> _),
        ("take-back", take_back),
    ] {
        loop {
            let (s, now) = (settings.clone(), now_ms());
            match ctx.store.write(move |c| pass(c, &s, now)).await {
                Ok(done) if (done.len() as i64) < WATCH_BATCH => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, job = name, "the queue watch failed");
                    break;
                }
            }
        }
    }
}
