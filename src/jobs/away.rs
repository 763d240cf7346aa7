//! Auto-offline: whoever has had no open event stream for `auto_offline_secs` is marked offline
//! (their status comes back when they open one, `service::users::mark_back`). Who has a stream
//! open is the one piece of state that lives in memory (the hub): after a restart everybody
//! counts as away since the start, which is true.

use crate::domain::UserStatus;
use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::service;
use crate::store::users;

use super::Context;

/// One tick: marks away users offline when the setting is on.
pub async fn tick(ctx: &Context, settings: &Settings) {
    let Some(secs) = settings.auto_offline_secs else {
        return;
    };
    let list = match ctx.store.read(users::list_users).await {
        Ok(list) => list,
        Err(e) => return tracing::warn!(error = %e, "auto-offline could not list users"),
    };
    let now = now_ms();
    for u in list
        .into_iter()
        .filter(|u| !u.disabled && u.status != UserStatus::Offline)
    {
        let away = ctx
            .hub
            .away_since(u.id.0)
            .is_some_and(|since| now - since >= secs.saturating_mul(1000));
        if away {
            let id = u.id;
            if let Err(e) = ctx
                .store
                .write(move |c| service::users::mark_away(c, id))
                .await
            {
                tracing::warn!(error = %e, "marking a user offline failed");
            }
        }
    }
}
