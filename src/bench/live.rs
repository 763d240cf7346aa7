//! `teaminbox bench --only live`: what a phone on the shop's network waits for (#9). On a fresh
//! workspace: the inbox and conversation pages with every asset they load, compressed as served
//! to a cold cache; the time from a customer message (API channel inbound POST) to its event at
//! an open stream and to the refetched live region being served (what `app.js` does), beside a
//! bare HTTP round trip; and the time from reconnecting with `last_event_id` after a drop to
//! having every missed event and the region again.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::{percentile, web::session_for};
use crate::domain::Role;

/// Messages timed from send to event and region.
const MESSAGES: usize = 100;

/// Messages sent while the stream is down.
const MISSED: usize = 20;

/// An open event stream, read frame by frame.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(
        client: &reqwest::Client,
        base: &str,
        cookie: &str,
        after: Option<i64>,
    ) -> anyhow::Result<Stream> {
        let url = match after {
            Some(id) => format!("{base}/api/v1/events?last_event_id={id}"),
            None => format!("{base}/api/v1/events"),
        };
        let resp = client.get(url).header("Cookie", cookie).send().await?;
        if !resp.status().is_success() {
            bail!("event stream answered {}", resp.status());
        }
        Ok(Stream {
            resp,
            buf: String::new(),
        })
    }

    /// The next `message.created` frame's event id.
    async fn next_message(&mut self) -> anyhow::Result<i64> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if frame.contains("event: message.created\n") {
                    let id = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("id: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or_default();
                    return Ok(id);
                }
            }
            let chunk = self.resp.chunk().await?.context("the stream ended")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

fn line(what: &str, sorted: &mut [Duration]) {
    sorted.sort();
    println!(
        "  {what}: p50 {:.2} ms, p99 {:.2} ms ({} samples)",
        percentile(sorted, 0.5),
        percentile(sorted, 0.99),
        sorted.len()
    );
}

/// Bytes of `path` and of every asset it references, fetched once each as a browser with an
/// empty cache would, gzip accepted; prints compressed and uncompressed totals.
async fn weight(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    what: &str,
    path: &str,
) -> anyhow::Result<()> {
    // reqwest here does not decompress: the body length is what travelled.
    let gz = client
        .get(format!("{base}{path}"))
        .header("Cookie", cookie)
        .header("Accept-Encoding", "gzip")
        .send()
        .await?;
    if !gz.status().is_success() {
        bail!("{path} answered {}", gz.status());
    }
    let gz = gz.bytes().await?.len();
    let text = client
        .get(format!("{base}{path}"))
        .header("Cookie", cookie)
        .send()
        .await?
        .text()
        .await?;
    let (mut total, mut plain) = (gz, text.len());
    let mut parts = vec![format!("html {gz} B")];
    let assets: std::collections::BTreeSet<&str> = text
        .split(['"', '\''])
        .filter(|s| s.starts_with("/assets/") && !s.ends_with(".webmanifest"))
        .collect();
    for asset in assets {
        let url = format!("{base}{asset}");
        let n = client
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await?
            .bytes()
            .await?
            .len();
        plain += client.get(&url).send().await?.bytes().await?.len();
        total += n;
        parts.push(format!("{} {n} B", asset.trim_start_matches("/assets/")));
    }
    println!(
        "  {what} page with all assets, cold cache: {:.1} KB gzip as served ({:.1} KB uncompressed) — {}",
        total as f64 / 1024.0,
        plain as f64 / 1024.0,
        parts.join(", ")
    );
    Ok(())
}

/// Runs the part; `drop_secs` is how long the stream stays down before reconnecting.
pub fn run(
    rt: &tokio::runtime::Runtime,
    scratch: &std::path::Path,
    drop_secs: u64,
) -> anyhow::Result<()> {
    let dir = scratch.join("live");
    std::fs::create_dir_all(&dir)?;
    let srv = super::server(&dir)?;
    super::user(&srv.store, "Owner", Role::Owner)?;
    let cookie = format!("ti_session={}", session_for(&srv, "owner@bench.test")?);
    let channel = super::api_channel(&srv.store)?;
    let secret = channel.secret.clone().unwrap_or_default();
    let base = format!("http://{}", srv.addr);
    let inbound_url = format!("{base}/api/v1/channels/{}/inbound", channel.id);
    println!("\n== Live updates on a phone (#9): page weight, message → screen, reconnect");
    let result = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut n = 0usize;
        let mut send = async |text: &str| -> anyhow::Result<i64> {
            n += 1;
            let body = json!({"external_id": format!("live-{n}"),
                "contact": {"identifier": "live-1", "name": "Maria Santos"}, "text": text});
            let r = client.post(&inbound_url).bearer_auth(&secret).json(&body).send().await?;
            if r.status().as_u16() != 201 {
                bail!("inbound answered {}", r.status());
            }
            Ok(r.json::<serde_json::Value>().await?["conversation_id"].as_i64().unwrap_or_default())
        };
        // A 13-message thread, as in the screenshots.
        let mut conv = 0;
        for i in 0..13 {
            conv = send(&format!("Message {i} about the blue dress in size 40, is it in stock?")).await?;
        }
        weight(&client, &base, &cookie, "inbox", "/?view=all").await?;
        weight(&client, &base, &cookie, "conversation", &format!("/c/{conv}")).await?;

        // Message → event → region, one after another, as an open page sees them.
        let region = |path: String| {
            client
                .get(format!("{base}{path}"))
                .header("Cookie", &cookie)
                .header("HX-Request", "true")
                .header("X-Live-Refresh", "1")
                .header("Accept-Encoding", "gzip")
                .send()
        };
        let mut stream = Stream::open(&client, &base, &cookie, None).await?;
        let (mut ack, mut event, mut conv_region, mut inbox_region, mut bare) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let icon = crate::web::assets::url("icon.svg");
        let etag = client.get(format!("{base}{icon}")).send().await?.headers().get("etag").cloned();
        for i in 0..MESSAGES {
            // The bare baseline: the smallest round trip this server answers (a 304).
            let t = Instant::now();
            let mut req = client.get(format!("{base}{icon}"));
            if let Some(e) = &etag {
                req = req.header("If-None-Match", e);
            }
            req.send().await?.bytes().await?;
            bare.push(t.elapsed());
            let t = Instant::now();
            send(&format!("Timed message {i}")).await?;
            ack.push(t.elapsed());
            stream.next_message().await?;
            event.push(t.elapsed());
            region(format!("/c/{conv}")).await?.bytes().await?;
            conv_region.push(t.elapsed());
            region("/?view=all".into()).await?.bytes().await?;
            inbox_region.push(t.elapsed());
        }
        line("bare HTTP round trip (304 of an asset), the baseline", &mut bare);
        line("customer message acknowledged (inbound POST → 201)", &mut ack);
        line("customer message → its SSE event at an open stream", &mut event);
        line("customer message → conversation region refetched and served", &mut conv_region);
        line("customer message → inbox region refetched after that", &mut inbox_region);

        // Drop, messages meanwhile, reconnect after the last event seen.
        let last = {
            send("Before the drop").await?;
            stream.next_message().await?
        };
        drop(stream);
        let gap = Duration::from_secs(drop_secs) / MISSED as u32;
        for i in 0..MISSED {
            send(&format!("Sent during the drop {i}")).await?;
            tokio::time::sleep(gap).await;
        }
        let t = Instant::now();
        let mut back = Stream::open(&client, &base, &cookie, Some(last)).await?;
        for _ in 0..MISSED {
            back.next_message().await?;
        }
        let events = t.elapsed();
        region(format!("/c/{conv}")).await?.bytes().await?;
        let caught_up = t.elapsed();
        println!(
            "  reconnect after a {drop_secs} s drop ({MISSED} messages missed), with last_event_id: \
             all missed events in {:.2} ms, region served at {:.2} ms",
            events.as_secs_f64() * 1000.0,
            caught_up.as_secs_f64() * 1000.0
        );
        Ok::<_, anyhow::Error>(())
    });
    srv.stop();
    result
}
