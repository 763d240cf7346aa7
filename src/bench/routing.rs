//! `teaminbox bench --only routing`: the routing decision for a new inbound conversation (5 rules,
//! a round-robin team of 3 available agents, over a history of resolved conversations) beside a
//! bare assignment write, and durable ingest through the API channel with routing off and on, in
//! the same run — and, since "off" leaves every conversation in the pool where "on" assigns some,
//! also "off" with those conversations claimed by hand over the API in the same run (the work a
//! shop without routing does anyway), so that the cost of routing itself shows apart.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Map, json};

use super::{BenchArgs, api_channel, blast, percentile, server, user};
use crate::domain::routing::{Actions, Conditions, HoursCondition};
use crate::domain::time::now_ms;
use crate::domain::{Assignment, ChannelKind, Priority, Role, Status, TeamId, UserId};
use crate::service::inbound::{Inbound, receive};
use crate::service::routing::{RuleChange, create_rule, route};
use crate::service::teams::TeamChange;
use crate::service::{self, channels::ChannelView};
use crate::store::Store;
use crate::store::conversations as convs;

/// Conversations of history under the timed routing decisions.
const HISTORY: usize = 20_000;
/// Timed routing decisions.
const DECISIONS: usize = 2_000;
/// Decisions per write transaction.
const BATCH: usize = 50;

/// A desk: Sales (the catch-all rule's team) and Support with three agents, and `on` says
/// whether routing is on (5 rules, Sales round robin) or off (no rules, manual).
struct Desk {
    sales: TeamId,
    agents: Vec<UserId>,
    /// The agents' API tokens, in the order of `agents`.
    tokens: Vec<String>,
}

fn desk(store: &Store, on: bool) -> anyhow::Result<Desk> {
    let (mut agents, mut tokens) = (Vec::new(), Vec::new());
    for name in ["Ana", "Bruno", "Carla"] {
        let (id, token) = user(store, name, Role::Agent)?;
        agents.push(UserId(id));
        tokens.push(token);
    }
    let agents2 = agents.clone();
    let sales = store.write_blocking(move |c| {
        let team = |name: &str, mode| {
            service::teams::create_team(
                c,
                TeamChange {
                    name: Some(name.into()),
                    assignment: Some(mode),
                    members: Some(agents2.clone()),
                },
            )
        };
        let mode = if on {
            Assignment::RoundRobin
        } else {
            Assignment::Manual
        };
        let sales = team("Sales", mode)?.id;
        let support = team("Support", Assignment::Manual)?.id;
        let other = service::channels::create(
            c,
            ChannelKind::Api,
            "other",
            &json!({"callback_url": "http://127.0.0.1:9/"}),
        )?;
        // Open around the clock: the hours rule is judged, and does not match.
        let mut hours = Map::new();
        let week = json!({"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]],
            "wed": [["00:00", "24:00"]], "thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]],
            "sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]});
        hours.insert("business_hours".into(), week);
        crate::store::settings::save_settings(c, &hours)?;
        if on {
            let rules = [
                (
                    Conditions {
                        keywords: Some(vec!["refund".into(), "broken".into(), "price list".into()]),
                        ..Conditions::default()
                    },
                    Actions {
                        team_id: Some(support.0),
                        tags: Some(vec!["repair".into()]),
                        priority: Some(Priority::High),
                    },
                ),
                (
                    Conditions {
                        contact_tag: Some("vip".into()),
                        ..Conditions::default()
                    },
                    Actions {
                        priority: Some(Priority::Urgent),
                        ..Actions::default()
                    },
                ),
                (
                    Conditions {
                        business_hours: Some(HoursCondition::Outside),
                        ..Conditions::default()
                    },
                    Actions {
                        tags: Some(vec!["after-hours".into()]),
                        ..Actions::default()
                    },
                ),
                (
                    Conditions {
                        channel_id: Some(other.id.0),
                        ..Conditions::default()
                    },
                    Actions {
                        team_id: Some(support.0),
                        ..Actions::default()
                    },
                ),
                (
                    Conditions::default(),
                    Actions {
                        team_id: Some(sales.0),
                        ..Actions::default()
                    },
                ),
            ];
            for (conditions, actions) in rules {
                create_rule(
                    c,
                    RuleChange {
                        position: None,
                        conditions: Some(conditions),
                        actions: Some(actions),
                    },
                    now_ms(),
                )?;
            }
        }
        Ok::<_, service::Error>(sales)
    })?;
    Ok(Desk {
        sales,
        agents,
        tokens,
    })
}

fn inbound<'a>(channel: &ChannelView, id: &'a str, who: &'a str, text: &'a str) -> Inbound<'a> {
    Inbound::api_text(channel.id, id, who, text)
}

/// Routing decisions timed inside the writer (no commit, no HTTP), beside the bare write of
/// the same assignment.
fn decisions(scratch: &Path) -> anyhow::Result<()> {
    let dir = scratch.join("routing-decision");
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&dir)?;
    let channel = api_channel(&store)?;
    let desk = desk(&store, true)?;
    let t = Instant::now();
    for b in 0..HISTORY / 500 {
        let ch = channel.clone();
        store.write_blocking(move |c| {
            for i in 0..500 {
                let n = b * 500 + i;
                let (id, who) = (format!("h{n}"), format!("hist-{n}"));
                receive(c, &inbound(&ch, &id, &who, "an old question"))?;
            }
            Ok::<_, service::Error>(())
        })?;
    }
    let agents: Vec<i64> = desk.agents.iter().map(|u| u.0).collect();
    store.write_blocking(move |c| crate::store::bench::spread_open(c, &agents, 20))?;
    println!(
        "  history: {HISTORY} conversations ({:.1} s to generate), 20 open per agent",
        t.elapsed().as_secs_f64()
    );
    let texts = [
        "hello, do you have it in blue?",
        "my order arrived broken",
        "can I see your price list",
        "olá, quero comprar",
    ];
    let mut ours = Vec::with_capacity(DECISIONS);
    let mut bare = Vec::with_capacity(DECISIONS);
    for b in 0..DECISIONS / BATCH {
        let (ch, sales, agent) = (channel.clone(), desk.sales, desk.agents[0]);
        let (o, r) = store.write_blocking(move |c| {
            let (mut o, mut r) = (Vec::new(), Vec::new());
            for i in 0..BATCH {
                let n = b * BATCH + i;
                let (id, who, text) = (format!("d{n}"), format!("new-{n}"), texts[n % texts.len()]);
                let landed = receive(c, &inbound(&ch, &id, &who, text))?;
                let conv = landed.conversation_id;
                let now = now_ms();
                // As it was before routing: in the pool, no team.
                convs::update_assignment(c, conv, None, None, now)?;
                let t = Instant::now();
                route(c, conv, text, now, now)?;
                // Its caller's sync (inbound does it right after routing), timed with it as
                // when routing synced inside.
                crate::service::sla::sync(c, conv, now)?;
                o.push(t.elapsed());
                convs::update_assignment(c, conv, None, None, now)?;
                let t = Instant::now();
                convs::update_assignment(c, conv, Some(agent), Some(sales), now)?;
                r.push(t.elapsed());
                // Keep each agent's load as it was.
                convs::update_status(c, conv, Status::Resolved, None, now)?;
            }
            Ok::<_, service::Error>((o, r))
        })?;
        ours.extend(o);
        bare.extend(r);
    }
    ours.sort();
    bare.sort();
    println!(
        "  routing decision (5 rules, round robin over 3 agents, inside the write transaction): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({DECISIONS} conversations)",
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&ours, 1.0)
    );
    println!(
        "  bare baseline (the one UPDATE that assigns, nothing decided): p50 {:.3} ms, p99 {:.3} ms",
        percentile(&bare, 0.5),
        percentile(&bare, 0.99)
    );
    Ok(())
}

/// How an ingest run is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No rules, manual teams: every conversation stays in the pool.
    Off,
    /// 5 rules, Sales round robin.
    On,
    /// As `Off`, and each new conversation of a message routing would send to Sales is claimed
    /// by an agent over the API (`POST /conversations/{id}/claim`) as soon as its first answer
    /// comes back, by the same sender: the assignments "on" makes, made by hand.
    OffClaimed,
}

/// One ingest run through the API channel over HTTP; answers messages per second (claims
/// included in the time), the messages' latencies and the conversations with an assignee.
fn ingest_once(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    dir: &Path,
    mode: Mode,
) -> anyhow::Result<(f64, Vec<Duration>, i64)> {
    let srv = server(dir)?;
    let store = srv.store.clone();
    let channel = api_channel(&store)?;
    let desk = desk(&store, mode == Mode::On)?;
    let secret = channel.secret.clone().context("channel secret")?;
    let url = Arc::new(format!(
        "http://{}/api/v1/channels/{}/inbound",
        srv.addr, channel.id
    ));
    let contacts = (args.messages / 5).max(1);
    let request = move |client: &reqwest::Client, n: usize| {
        client.post(url.as_str()).bearer_auth(&secret).json(&json!({"external_id": format!("bench-{n}"),
            "contact": {"identifier": format!("cust-{}", n % contacts), "name": format!("Customer {}", n % contacts)},
            "text": if routes_to_support(n) { "my order arrived broken" } else { "hello from the benchmark" }}))
    };
    let (lat, elapsed) = if mode == Mode::OffClaimed {
        claiming(rt, args, &srv.addr.to_string(), desk.tokens, request)?
    } else {
        blast(rt, args.senders.max(1), args.messages, 201, request)?
    };
    let assigned = store.read_blocking(crate::store::bench::count_assigned)?;
    srv.stop();
    Ok((lat.len() as f64 / elapsed.as_secs_f64(), lat, assigned))
}

/// Whether the benchmark's message `n` is one the keyword rule sends to Support (manual: no
/// agent is picked); the others go to Sales, round robin.
fn routes_to_support(n: usize) -> bool {
    n.is_multiple_of(3)
}

/// [`blast`] for [`Mode::OffClaimed`]: the same messages from the same senders, and after the
/// first answer that names a conversation, when its message is one routing sends to Sales, the
/// sender claims it as one of the agents in turn. Answers the messages' latencies (sorted) and
/// the wall time of all of it.
fn claiming<F>(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    addr: &str,
    tokens: Vec<String>,
    request: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let senders = args.senders.max(1);
    let per_sender = args.messages / senders;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(senders * 2)
        .build()?;
    let request = Arc::new(request);
    let tokens = Arc::new(tokens);
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let base = Arc::new(format!("http://{addr}/api/v1/conversations"));
    let started = Instant::now();
    let mut lat = rt.block_on(async {
        let mut tasks = Vec::new();
        for s in 0..senders {
            let (client, request, tokens, seen, base) = (
                client.clone(),
                request.clone(),
                tokens.clone(),
                seen.clone(),
                base.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_sender);
                for i in 0..per_sender {
                    let n = s * per_sender + i;
                    let t = Instant::now();
                    let resp = request(&client, n).send().await?;
                    anyhow::ensure!(resp.status() == 201, "inbound answered {}", resp.status());
                    let body: serde_json::Value = resp.json().await?;
                    lat.push(t.elapsed());
                    let id = body["conversation_id"]
                        .as_i64()
                        .context("conversation id")?;
                    let first = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(id);
                    if first && !routes_to_support(n) {
                        let token = &tokens[id.unsigned_abs() as usize % tokens.len()];
                        let resp = client
                            .post(format!("{base}/{id}/claim"))
                            .bearer_auth(token)
                            .send()
                            .await?;
                        anyhow::ensure!(resp.status() == 200, "claim answered {}", resp.status());
                    }
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let elapsed = started.elapsed();
    lat.sort();
    Ok((lat, elapsed))
}

/// Runs both parts and prints the figures.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    args: &BenchArgs,
    scratch: &Path,
) -> anyhow::Result<()> {
    println!("== Routing");
    decisions(scratch)?;
    let modes = [Mode::Off, Mode::On, Mode::OffClaimed];
    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 0..3 {
        for (m, mode) in modes.into_iter().enumerate() {
            let dir = scratch.join(format!("routing-ingest-{round}-{mode:?}"));
            let (rate, lat, assigned) = ingest_once(rt, args, &dir, mode)?;
            println!(
                "  ingest, routing {}: {} messages, {} senders: {rate:.0} msg/s, p50 {:.2} ms, p99 {:.2} ms ({assigned} conversations with an agent)",
                match mode {
                    Mode::Off => "off",
                    Mode::On => "on (5 rules, round robin)",
                    Mode::OffClaimed => "off, claimed by hand",
                },
                lat.len(),
                args.senders,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
            );
            rates[m].push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let runs = rates[0].len();
    let [off, on, claimed] = rates.map(|r| mean(&r));
    println!(
        "  ingest with routing on / off: {:.3} (mean of {} runs each; below 1 is slower; \"off\" assigns nobody)",
        on / off,
        runs
    );
    println!(
        "  ingest with routing on / off with the same assignments claimed by hand: {:.3} (the claims' requests are in the time of \"off\")\n",
        on / claimed
    );
    Ok(())
}
