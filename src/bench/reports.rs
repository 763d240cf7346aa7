//! `teaminbox bench --only reports` (#11, "Measure"): on a generated database of
//! `--conversations` conversations (about 10 messages each, one cycle each, 20 agents, spread
//! over 90 days), the Reports page (HTML), the summary API over 7, 30 and 90 days, the Now board
//! API and a `/metrics` scrape, all over HTTP — beside `/healthz` on the same HTTP stack and a
//! bare indexed count of the same cycles in the same run, and the 90-day summary inside the
//! service on two readers at once beside one; then the Now board on a workspace of
//! 20 agents and about 5k open conversations (the size the issue names).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{BenchArgs, api_channel, corpus, percentile, user, web};
use crate::domain::Role;
use crate::domain::events::kind;
use crate::domain::time::{format_ms, now_ms};
use crate::store::{Store, bench as generated, open_bare};

/// Requests timed per figure (after a few untimed ones).
const REQUESTS: usize = 60;
/// Staff in the generated workspaces.
const AGENTS: usize = 20;
/// Opens `/metrics` in the benchmark's server.
const METRICS_TOKEN: &str = "bench-metrics-token";
const DAY: i64 = 86_400_000;

/// Runs the reports part. Prints figures; asserts nothing.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    scratch: &Path,
) -> anyhow::Result<()> {
    let (conversations, messages, cycles, made) = workspace(args, &scratch.join("reports"))?;
    println!(
        "== Reports ({conversations} conversations / {messages} messages / {cycles} cycles over 90 days, {AGENTS} agents; generated in {:.1} s)",
        made.as_secs_f64()
    );
    let dir = scratch.join("reports");
    let srv = super::server_with(&dir, Some(METRICS_TOKEN))?;
    let (_, owner) = user(&srv.store, "Owner", Role::Owner)?;
    let session = web::session_for(&srv, "owner@bench.test")?;
    let now = now_ms();
    let since = |days: i64| format_ms(now - days * DAY)[..10].to_string();
    let base = format!("http://{}", srv.addr);
    let bearer = |t: &str| format!("Bearer {t}");
    let cookie = format!("ti_session={session}");
    let timed = |label: &str, path: &str, header: (&str, &str)| -> anyhow::Result<()> {
        let (lat, bytes) = time_get(rt, &format!("{base}{path}"), header)?;
        line(label, &lat, bytes);
        Ok(())
    };
    timed(
        "Reports page (HTML, 90 days, all teams)",
        &format!("/reports?from={}", since(90)),
        ("Cookie", &cookie),
    )?;
    for days in [7, 30, 90] {
        timed(
            &format!("GET /api/v1/reports/summary, {days} days"),
            &format!("/api/v1/reports/summary?from={}", since(days)),
            ("Authorization", &bearer(&owner)),
        )?;
    }
    timed(
        "GET /api/v1/reports/now (Now board, all teams)",
        "/api/v1/reports/now",
        ("Authorization", &bearer(&owner)),
    )?;
    timed(
        "GET /metrics (one scrape)",
        "/metrics",
        ("Authorization", &bearer(METRICS_TOKEN)),
    )?;
    timed(
        "bare: GET /healthz, same HTTP stack",
        "/healthz",
        ("Authorization", &bearer(&owner)),
    )?;
    split(rt, &srv.store, now - 90 * DAY, now)?;
    // The same with business hours set: the settings change writes every cycle's business-hours
    // times again (timed), then the summary reads them.
    let t = Instant::now();
    let written = srv.store.write_blocking(|c| {
        let mut hours = serde_json::Map::new();
        let day = serde_json::json!([["09:00", "18:00"]]);
        let week = serde_json::json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day});
        hours.insert("business_hours".into(), week);
        crate::store::settings::save_settings(c, &hours)?;
        c.query_row(
            "SELECT COUNT(*) FROM cycles WHERE first_response_business_secs IS NOT NULL
                OR resolution_business_secs IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(crate::store::StoreError::from)
    })?;
    println!(
        "  business hours set (Mon-Fri 09-18): {written} cycles' business-hours times written in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for days in [7, 90] {
        timed(
            &format!("GET /api/v1/reports/summary, {days} days, with business hours"),
            &format!("/api/v1/reports/summary?from={}", since(days)),
            ("Authorization", &bearer(&owner)),
        )?;
    }
    let bare = open_bare(srv.store.path())?;
    for days in [7, 30, 90] {
        let mut lat = Vec::with_capacity(REQUESTS);
        let mut n = 0;
        for _ in 0..REQUESTS {
            let t = Instant::now();
            n = generated::count_cycles(&bare, now - days * DAY, now)?;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "  bare: SELECT count(*) of the cycles of {days} days ({n}), no HTTP: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
    }
    drop(bare);
    srv.stop();

    // The Now board at the size the issue names: ~30% of the generated conversations are open.
    let small = BenchArgs {
        conversations: 16_700,
        ..args.clone()
    };
    let dir = scratch.join("reports-now");
    workspace(&small, &dir)?;
    let srv = super::server_with(&dir, Some(METRICS_TOKEN))?;
    let (_, owner) = user(&srv.store, "Owner", Role::Owner)?;
    let open = srv.store.read_blocking(generated::count_open)?;
    let base = format!("http://{}", srv.addr);
    let (lat, bytes) = time_get(
        rt,
        &format!("{base}/api/v1/reports/now"),
        ("Authorization", &bearer(&owner)),
    )?;
    line(
        &format!("GET /api/v1/reports/now, {AGENTS} agents, {open} open conversations"),
        &lat,
        bytes,
    );
    let (lat, bytes) = time_get(
        rt,
        &format!("{base}/healthz"),
        ("Authorization", &bearer(&owner)),
    )?;
    line("bare: GET /healthz on the same server", &lat, bytes);
    srv.stop();
    println!();
    Ok(())
}

/// Makes the workspace in `dir`: [`AGENTS`] agents, an API channel, `args.conversations`
/// generated conversations and their report facts. Answers (conversations, messages, cycles,
/// time taken).
fn workspace(args: &BenchArgs, dir: &Path) -> anyhow::Result<(usize, usize, i64, Duration)> {
    std::fs::create_dir_all(dir)?;
    let t = Instant::now();
    let (agents, channel) = {
        let store = Store::open(dir)?;
        let mut agents = Vec::new();
        for i in 0..AGENTS {
            agents.push(user(&store, &format!("Agent{i}"), Role::Agent)?.0);
        }
        (agents, api_channel(&store)?.id.0)
    };
    let mut corpus = corpus::Corpus::new(11, args.per_conversation.max(1));
    let messages = generated::generate(
        dir,
        channel,
        &agents,
        args.conversations,
        now_ms(),
        &mut || corpus.customer(),
    )?;
    let cycles = generated::generate_report_facts(dir, kind::CONVERSATION_ASSIGNED)?;
    Ok((args.conversations, messages, cycles, t.elapsed()))
}

/// `GET url` with `header`, [`REQUESTS`] times after 5 untimed; answers the sorted latencies
/// and the size of the last body.
fn time_get(
    rt: &tokio::runtime::Runtime,
    url: &str,
    header: (&str, &str),
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let client = reqwest::Client::new();
    rt.block_on(async {
        let mut lat = Vec::with_capacity(REQUESTS);
        let mut bytes = 0;
        for i in 0..REQUESTS + 5 {
            let t = Instant::now();
            let resp = client
                .get(url)
                .header(header.0, header.1)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if !resp.status().is_success() {
                bail!("GET {url} answered {}", resp.status());
            }
            bytes = resp.bytes().await?.len();
            if i >= 5 {
                lat.push(t.elapsed());
            }
        }
        lat.sort();
        Ok((lat, bytes))
    })
}

fn line(label: &str, lat: &[Duration], bytes: usize) {
    println!(
        "  {label}: p50 {:.2} ms, p99 {:.2} ms over {} requests ({:.1} KB)",
        percentile(lat, 0.5),
        percentile(lat, 0.99),
        lat.len(),
        bytes as f64 / 1024.0
    );
}

/// The 90-day summary in the service, no HTTP: its cycles and staff replies read on one reader
/// one after the other, beside the same read on two readers at once (as the page and the API
/// do when the pool has a reader idle).
fn split(rt: &tokio::runtime::Runtime, store: &Store, from: i64, to: i64) -> anyhow::Result<()> {
    let f = crate::store::reports::Filter {
        from,
        to,
        team: None,
        agent: None,
        channel: None,
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..REQUESTS / 2 {
        let (a, b) = rt.block_on(store.read_with_spare(move |c, spare| {
            let lent = spare.is_some();
            let t = Instant::now();
            crate::service::reports::summary(c, spare, &f, to)?;
            let b = lent.then(|| t.elapsed());
            let t = Instant::now();
            crate::service::reports::summary(c, None, &f, to)?;
            Ok::<_, crate::service::Error>((t.elapsed(), b))
        }))?;
        one.push(a);
        two.extend(b);
    }
    one.sort();
    two.sort();
    println!(
        "  summary of 90 days in the service, no HTTP: on two readers at once p50 {:.2} ms, p99 {:.2} ms ({} runs); bare: on one reader p50 {:.2} ms, p99 {:.2} ms",
        percentile(&two, 0.5),
        percentile(&two, 0.99),
        two.len(),
        percentile(&one, 0.5),
        percentile(&one, 0.99)
    );
    Ok(())
}
