//! Browser-facing figures for `teaminbox bench`: compressed weight of the inbox page with its
//! assets, time to render the inbox on a large database, and how long an inbound message takes
//! to reach 50 open event streams.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use super::percentile;
use crate::domain::ChannelKind;
use crate::server::Background;
use crate::service;
use crate::store::tokens::TokenKind;
use crate::store::users::find_user_by_email;

/// A browser session for an existing user, made directly in the store.
pub fn session_for(srv: &Background, email: &str) -> anyhow::Result<String> {
    let email = email.to_string();
    Ok(srv.store.write_blocking(move |c| {
        let (user, _) = find_user_by_email(c, &email)?.ok_or(service::Error::NotFound("user"))?;
        service::auth::issue_token(c, &user, TokenKind::Session, None)
    })?)
}

/// Compressed bytes of the inbox page and every asset it references, and render latency of the
/// inbox for `session` over `queries` requests.
pub fn inbox(
    rt: &tokio::runtime::Runtime,
    srv: &Background,
    session: &str,
    queries: usize,
) -> anyhow::Result<()> {
    let base = format!("http://{}", srv.addr);
    let client = reqwest::Client::new();
    let cookie = format!("ti_session={session}");
    rt.block_on(async {
        let page = client
            .get(format!("{base}/?view=unassigned"))
            .header("Cookie", &cookie)
            .header("Accept-Encoding", "gzip")
            .send()
            .await?;
        if !page.status().is_success() {
            bail!("inbox answered {}", page.status());
        }
        let html = page.bytes().await?;
        // The same page uncompressed, to read the asset names from.
        let text = client.get(format!("{base}/?view=unassigned")).header("Cookie", &cookie).send().await?.text().await?;
        let mut total = html.len();
        let mut parts = vec![format!("html {} B", html.len())];
        for asset in text
            .split(['"', '\''])
            .filter(|s| s.starts_with("/assets/") && !s.ends_with(".webmanifest"))
            .collect::<std::collections::BTreeSet<_>>()
        {
            let resp = client.get(format!("{base}{asset}")).header("Accept-Encoding", "gzip").send().await?;
            let n = resp.bytes().await?.len();
            total += n;
            parts.push(format!("{} {n} B", asset.trim_start_matches("/assets/")));
        }
        println!("  inbox page weight, gzip, with all assets: {:.1} KB ({})", total as f64 / 1024.0, parts.join(", "));
        for view in ["unassigned", "mine"] {
            let url = format!("{base}/?view={view}");
            for _ in 0..20 {
                client.get(&url).header("Cookie", &cookie).send().await?.bytes().await?;
            }
            let mut lat = Vec::with_capacity(queries);
            for _ in 0..queries {
                let t = Instant::now();
                let r = client.get(&url).header("Cookie", &cookie).send().await?;
                if !r.status().is_success() {
                    bail!("inbox answered {}", r.status());
                }
                r.bytes().await?;
                lat.push(t.elapsed());
            }
            lat.sort();
            println!(
                "  inbox page render (HTML, view={view}, uncompressed): p50 {:.2} ms, p99 {:.2} ms over {} requests",
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                lat.len()
            );
        }
        Ok(())
    })
}

/// Where the timed customer messages come in.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// `POST /api/v1/channels/{id}/inbound`.
    Api,
    /// Signed `POST /webhooks/whatsapp` (processed after the 200).
    Webhook,
}

/// Opens `clients` event streams as the owner, sends `messages` inbound messages one after
/// another through `source`, and measures from each send to each stream's `message.created`.
pub fn sse_latency(
    rt: &tokio::runtime::Runtime,
    srv: &Background,
    owner_email: &str,
    clients: usize,
    messages: usize,
    source: Source,
) -> anyhow::Result<()> {
    const APP_SECRET: &str = "sse-bench-app-secret";
    let base = format!("http://{}", srv.addr);
    let channel = srv.store.write_blocking(move |c| match source {
        Source::Api => service::channels::create(
            c,
            ChannelKind::Api,
            "sse-bench",
            &json!({"callback_url": "http://127.0.0.1:9/"}),
        ),
        Source::Webhook => service::channels::create(
            c,
            ChannelKind::Whatsapp,
            "sse-bench-wa",
            &json!({"phone_number_id": "3000", "waba_id": "3001", "access_token": "t",
                    "app_secret": APP_SECRET, "verify_token": "v", "graph_api_base": "http://127.0.0.1:9"}),
        ),
    })?;
    let secret = channel.secret.clone().unwrap_or_default();
    let sessions: Vec<String> = (0..clients)
        .map(|_| session_for(srv, owner_email))
        .collect::<anyhow::Result<_>>()?;
    // Messages go one after another and each makes one `message.created`, so the n-th such
    // event on a stream belongs to the n-th send.
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let lat: Arc<Mutex<Vec<Duration>>> = Arc::default();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
        let mut readers = Vec::new();
        for s in sessions {
            let (client, base, sent, lat, ready) = (client.clone(), base.clone(), sent.clone(), lat.clone(), ready_tx.clone());
            readers.push(tokio::spawn(async move {
                let resp = client.get(format!("{base}/api/v1/events")).header("Cookie", format!("ti_session={s}")).send().await?;
                let mut resp = resp;
                let mut buf = String::new();
                let mut seen = 0;
                let mut announced = false;
                while let Some(chunk) = resp.chunk().await? {
                    buf.push_str(&String::from_utf8_lossy(&chunk));
                    if !announced {
                        announced = true;
                        let _ = ready.send(()).await;
                    }
                    while let Some(end) = buf.find("\n\n") {
                        let frame: String = buf.drain(..end + 2).collect();
                        if !frame.contains("event: message.created") {
                            continue;
                        }
                        let at = sent.lock().ok().and_then(|m| m.get(seen).copied());
                        if let Some(t) = at
                            && let Ok(mut l) = lat.lock()
                        {
                            l.push(t.elapsed());
                        }
                        seen += 1;
                        if seen >= messages {
                            return Ok::<_, anyhow::Error>(());
                        }
                    }
                }
                Ok(())
            }));
        }
        drop(ready_tx);
        for _ in 0..clients {
            ready_rx.recv().await.context("a stream closed before opening")?;
        }
        let api_url = format!("{base}/api/v1/channels/{}/inbound", channel.id);
        let hook_url = format!("{base}/webhooks/whatsapp");
        for i in 0..messages {
            sent.lock().map_err(|_| anyhow::anyhow!("lock"))?.push(Instant::now());
            let (status, expected) = match source {
                Source::Api => {
                    let body = json!({"external_id": format!("sse-{i}"), "contact": {"identifier": format!("sse-{}", i % 10)}, "text": "ping"});
                    (client.post(&api_url).bearer_auth(&secret).json(&body).send().await?.status(), 201)
                }
                Source::Webhook => {
                    let from = format!("1666{:06}", i % 10);
                    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "3001", "changes": [{
                        "field": "messages", "value": {"messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550000001", "phone_number_id": "3000"},
                        "contacts": [{"profile": {"name": "SSE bench"}, "wa_id": from}],
                        "messages": [{"from": from, "id": format!("wamid.sse.{i}"), "timestamp": "1750000000",
                            "type": "text", "text": {"body": "ping"}}]}}]}]})
                    .to_string();
                    let sig = crate::channels::whatsapp::webhook::sign(APP_SECRET, body.as_bytes());
                    let r = client
                        .post(&hook_url)
                        .header("Content-Type", "application/json")
                        .header("X-Hub-Signature-256", sig)
                        .body(body)
                        .send()
                        .await?;
                    (r.status(), 200)
                }
            };
            if status.as_u16() != expected {
                bail!("inbound answered {status}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for r in readers {
            tokio::time::timeout(Duration::from_secs(30), r).await.context("streams did not finish")???;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let mut l = lat.lock().map_err(|_| anyhow::anyhow!("lock"))?.clone();
    l.sort();
    let path = match source {
        Source::Api => "API channel inbound",
        Source::Webhook => "signed WhatsApp webhook",
    };
    println!(
        "  {path} → SSE event, {clients} open streams, {messages} messages: p50 {:.2} ms, p99 {:.2} ms ({} deliveries timed)",
        percentile(&l, 0.5),
        percentile(&l, 0.99),
        l.len()
    );
    Ok(())
}
