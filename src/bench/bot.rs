//! `teaminbox bench --only bot` (#13): the added latency of the automation step on inbound
//! processing (the bot starting on a new conversation and sending its menu, timed inside the
//! write transaction, beside the same step on a channel without automation), and durable ingest
//! through the API channel with a menu on every new conversation beside the same run with it off.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::{BenchArgs, api_channel, blast, percentile, server};
use crate::domain::ChannelKind;
use crate::domain::bot::{Automation, MenuOption};
use crate::domain::time::now_ms;
use crate::service::bot::{Arrival, on_inbound, put_automation};
use crate::service::inbound::{Inbound, receive};
use crate::service::{self, channels::ChannelView};
use crate::store::Store;

/// Timed automation steps.
const STEPS: usize = 2_000;
/// Steps per write transaction.
const BATCH: usize = 50;

/// A three-option menu, on.
fn menu() -> Automation {
    let mut a = Automation::default();
    a.menu.enabled = true;
    a.menu.options = ["Buy something", "Help with an order", "Something else"]
        .iter()
        .enumerate()
        .map(|(i, t)| MenuOption {
            id: format!("o{i}"),
            title: (*t).into(),
            team_id: None,
            tags: vec!["lead".into()],
            priority: None,
        })
        .collect();
    a
}

fn switch_on(store: &Store, channel: &ChannelView) -> anyhow::Result<()> {
    let id = channel.id;
    store.write_blocking(move |c| put_automation(c, id, menu(), now_ms()).map(|_| ()))?;
    Ok(())
}

fn inbound<'a>(channel: &ChannelView, id: &'a str, who: &'a str) -> Inbound<'a> {
    Inbound::api_text(channel.id, id, who, "hello, do you have it in blue?")
}

/// The automation step alone, timed inside the writer (no commit, no HTTP): on conversations
/// that just opened, with the menu on (start, hold, the menu queued) and off (one read).
fn steps(scratch: &Path) -> anyhow::Result<()> {
    let dir = scratch.join("bot-step");
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&dir)?;
    let plain = api_channel(&store)?;
    let with_menu = api_channel(&store)?;
    switch_on(&store, &with_menu)?;
    let mut on = Vec::with_capacity(STEPS);
    let mut off = Vec::with_capacity(STEPS);
    for b in 0..STEPS / BATCH {
        let (p, w) = (plain.clone(), with_menu.clone());
        let (o, f) = store.write_blocking(move |c| {
            let (mut o, mut f) = (Vec::new(), Vec::new());
            for i in 0..BATCH {
                let n = b * BATCH + i;
                // Conversations land on the plain channel (no automation runs); the step is
                // then timed once as the menu channel would run it and once as the plain one.
                for (timed, channel, out) in [(0, &w, &mut o), (1, &p, &mut f)] {
                    let (id, who) = (format!("s{n}-{timed}"), format!("c{n}-{timed}"));
                    let landed = receive(c, &inbound(&p, &id, &who))?;
                    let conv = landed.conversation_id;
                    let cycle = crate::store::conversations::find_conv_state(c, conv)?
                        .and_then(|s| s.cycle_id)
                        .unwrap_or_default();
                    let now = now_ms();
                    let t = Instant::now();
                    on_inbound(
                        c,
                        &Arrival {
                            id: conv,
                            channel: channel.id,
                            channel_kind: ChannelKind::Api,
                            text: "hello, do you have it in blue?",
                            reply_id: None,
                            at: now,
                            cycle_opened: true,
                            cycle,
                        },
                        now,
                    )?;
                    out.push(t.elapsed());
                }
            }
            Ok::<_, service::Error>((o, f))
        })?;
        on.extend(o);
        off.extend(f);
    }
    on.sort();
    off.sort();
    println!(
        "  automation step, menu on (bot.started, hold, menu queued in the outbox): p50 {:.3} ms, p99 {:.3} ms ({STEPS} new conversations)",
        percentile(&on, 0.5),
        percentile(&on, 0.99)
    );
    println!(
        "  automation step, no automation on the channel (one read): p50 {:.3} ms, p99 {:.3} ms",
        percentile(&off, 0.5),
        percentile(&off, 0.99)
    );
    Ok(())
}

/// One ingest run through the API channel over HTTP, every contact new; answers messages per
/// second, the latencies and how many conversations the bot started.
fn ingest_once(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    dir: &Path,
    on: bool,
) -> anyhow::Result<(f64, Vec<Duration>, i64)> {
    let srv = server(dir)?;
    let store = srv.store.clone();
    let channel = api_channel(&store)?;
    if on {
        switch_on(&store, &channel)?;
    }
    let secret = channel.secret.clone().context("channel secret")?;
    let url = Arc::new(format!(
        "http://{}/api/v1/channels/{}/inbound",
        srv.addr, channel.id
    ));
    let request = move |client: &reqwest::Client, n: usize| {
        client
            .post(url.as_str())
            .bearer_auth(&secret)
            .json(&json!({"external_id": format!("bench-{n}"),
            "contact": {"identifier": format!("cust-{n}")}, "text": "hello from the benchmark"}))
    };
    let (lat, elapsed) = blast(rt, args.senders.max(1), args.messages, 201, request)?;
    let started = store.read_blocking(crate::store::bot::count_bot_started)?;
    srv.stop();
    Ok((lat.len() as f64 / elapsed.as_secs_f64(), lat, started))
}

/// Runs both parts and prints the figures.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    scratch: &Path,
) -> anyhow::Result<()> {
    println!("== Bot");
    steps(scratch)?;
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..2 {
        for menu in [false, true] {
            let dir = scratch.join(format!("bot-ingest-{round}-{menu}"));
            let (rate, lat, started) = ingest_once(rt, args, &dir, menu)?;
            println!(
                "  ingest, menu {}: {} messages from new customers, {} senders: {rate:.0} msg/s, p50 {:.2} ms, p99 {:.2} ms ({started} menus sent)",
                if menu { "on" } else { "off" },
                lat.len(),
                args.senders,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
            );
            if menu { &mut on } else { &mut off }.push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "  ingest with the menu on / off: {:.3} (mean of {} runs each; below 1 is slower)\n",
        mean(&on) / mean(&off),
        on.len()
    );
    Ok(())
}
