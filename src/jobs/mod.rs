//! Background ticks on the runtime, at the workspace's `scheduler_tick_ms`. State lives in the
//! database, so a restart loses nothing. Today: marking offline whoever has had no open event
//! stream for `auto_offline_secs` (their status comes back when they open one). SLA and snooze
//! ticks join here.

pub mod outbox;

use std::time::Duration;

use crate::domain::UserStatus;
use crate::domain::time::now_ms;
use crate::realtime::Hub;
use crate::service;
use crate::store::{Store, settings, users};

/// Starts the ticks on the current runtime.
pub fn spawn(store: Store, hub: Hub) {
    actix_web::rt::spawn(async move {
        loop {
            let s = store
                .read(settings::load_settings)
                .await
                .unwrap_or_default();
            tokio::time::sleep(Duration::from_millis(
                s.scheduler_tick_ms.clamp(10, 60_000) as u64
            ))
            .await;
            if let Some(secs) = s.auto_offline_secs {
                mark_away(&store, &hub, secs).await;
            }
        }
    });
}

async fn mark_away(store: &Store, hub: &Hub, secs: i64) {
    let Ok(list) = store.read(users::list_users).await else {
        return;
    };
    let now = now_ms();
    for u in list
        .into_iter()
        .filter(|u| !u.disabled && u.status != UserStatus::Offline)
    {
        let away = hub
            .away_since(u.id.0)
            .is_some_and(|since| now - since >= secs.saturating_mul(1000));
        if away {
            let id = u.id;
            if let Err(e) = store.write(move |c| service::users::mark_away(c, id)).await {
                tracing::warn!(error = %e, "marking a user offline failed");
            }
        }
    }
}
