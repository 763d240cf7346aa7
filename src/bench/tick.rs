//! The scheduler tick at size (#10): one tick of every scheduler job (away, snooze wake-up, SLA
//! alerts, unassigned alert and take-back, webhook pruning) on a database of many unresolved
//! conversations with running SLA clocks, when nothing is due and when a batch of warnings is,
//! beside the bare cost of one indexed probe for the next SLA moment in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{BenchArgs, api_channel, percentile, user};
use crate::domain::Role;
use crate::domain::settings::Settings;
use crate::domain::time::now_ms;
use crate::jobs::{Context, run_ticks};
use crate::store::{Store, bench as generated, open_bare};

/// Ticks timed when nothing is due.
const TICKS: usize = 200;
/// Warnings made due for the busy tick.
const DUE: i64 = 200;

/// Runs the tick part: generates `args.conversations` unresolved conversations, then times
/// ticks. Prints figures; asserts nothing.
pub fn run(rt: &tokio::runtime::Runtime, args: &BenchArgs, scratch: &Path) -> anyhow::Result<()> {
    let dir = scratch.join("tick");
    let store = Store::open(&dir)?;
    let channel = api_channel(&store)?;
    let agents = (1..=8)
        .map(|i| user(&store, &format!("Agent{i}"), Role::Agent).map(|(id, _)| id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let made =
        generated::generate_scheduled(&dir, channel.id.0, &agents, args.conversations, now_ms())?;
    println!(
        "== Scheduler tick ({} unresolved conversations: {} open, {} pending, {} snoozed; {} SLA clocks; generated in {:.1} s)",
        args.conversations,
        made.open,
        made.pending,
        made.snoozed,
        made.clocks,
        started.elapsed().as_secs_f64()
    );
    let settings = Settings {
        unassigned_alert_secs: Some(300),
        take_back_secs: Some(900),
        ..Settings::default()
    };
    let ctx = Context::detached(&store);
    let times = rt.block_on(async {
        run_ticks(&ctx, &settings).await; // warm the caches
        let mut times = Vec::with_capacity(TICKS);
        for _ in 0..TICKS {
            let t = Instant::now();
            run_ticks(&ctx, &settings).await;
            times.push(t.elapsed());
        }
        times
    });
    print_line("one tick, nothing due", times);

    let bare = open_bare(store.path())?;
    let mut probes = Vec::with_capacity(TICKS);
    for _ in 0..TICKS {
        let t = Instant::now();
        generated::next_clock_moment(&bare)?;
        probes.push(t.elapsed());
    }
    print_line("bare: one indexed probe for the next SLA moment", probes);

    let empty = rt.block_on(async {
        let mut times = Vec::with_capacity(TICKS);
        for _ in 0..TICKS {
            let t = Instant::now();
            store
                .write(|_| Ok::<_, crate::store::StoreError>(()))
                .await?;
            times.push(t.elapsed());
        }
        Ok::<_, anyhow::Error>(times)
    })?;
    print_line("bare: one empty durable write transaction", empty);

    let now = now_ms();
    let due = store.write_blocking(move |c| generated::make_clocks_due(c, DUE, now))?;
    let busy = rt.block_on(async {
        let t = Instant::now();
        run_ticks(&ctx, &settings).await;
        t.elapsed()
    });
    println!(
        "  one tick recording {due} SLA warnings: {:.2} ms",
        busy.as_secs_f64() * 1000.0
    );
    drop(bare);
    drop(ctx);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    Ok(())
}

fn print_line(what: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "  {what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        times.len()
    );
}
