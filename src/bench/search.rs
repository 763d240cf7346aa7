//! Search latency on the generated database: names, parts of names, Arabic names, phones typed
//! in several forms, message words, a word that matches nothing and 1–2 letter queries, through
//! the HTTP API (owner and agent), beside the search as it was before migration 008 (LIKE scans
//! of names and phones) run on a bare connection over the same file. Also the size of the
//! full-text indexes and the time to build the contact indexes (what migration 008 does), and on
//! request a trigram index over message text compared with the word-prefix one.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::percentile;
use crate::server::Background;
use crate::store::{bench, open_bare};

/// Kinds of query, in the order printed.
const MESSAGE_WORDS: &str = "message words";

/// The queries: (kind, text), some built from customers that exist in the database.
fn queries(samples: &[(String, Option<String>)]) -> Vec<(&'static str, String)> {
    let mut q: Vec<(&'static str, String)> = Vec::new();
    for (name, _) in samples.iter().take(3) {
        q.push(("full names", name.clone()));
    }
    for part in ["mari", "haddad", "schmi", "ónça", "jose", "Müller"] {
        q.push(("parts of names", part.into()));
    }
    for part in ["محمد", "حداد", "الحسن"] {
        q.push(("Arabic names", part.into()));
    }
    for (_, phone) in samples.iter().skip(3).take(3) {
        let digits: String = phone
            .iter()
            .flat_map(|p| p.chars())
            .filter(char::is_ascii_digit)
            .collect();
        if digits.len() < 9 {
            continue;
        }
        let (head, tail) = digits.split_at(digits.len() - 7);
        q.push(("phones", format!("+{digits}")));
        q.push(("phones", format!("00{digits}")));
        q.push(("phones", format!("+{head} {} {}", &tail[..3], &tail[3..])));
        q.push(("phones", format!("{}-{}", &tail[..3], &tail[3..])));
    }
    for word in [
        "refund",
        "encomenda",
        "Lieferung",
        "شكرا",
        "leather jacket",
        "sunglasses",
        "deliv",
    ] {
        q.push((MESSAGE_WORDS, word.into()));
    }
    q.push(("matches nothing", "xylophonequartz".into()));
    for short in ["a", "jo", "م", "Li"] {
        q.push(("1–2 letters", short.into()));
    }
    q
}

/// Runs the search figures on the server `srv` over the database in `dir`.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    srv: &Background,
    dir: &Path,
    tokens: [(&str, &str); 2],
    rounds: usize,
    compare_trigram: bool,
) -> anyhow::Result<()> {
    let path = dir.join("teaminbox.db");
    let bare = open_bare(&path)?;
    println!("\n== Search on the same database ({rounds} rounds per query)");
    let t = Instant::now();
    bench::rebuild_contact_search(&bare)?;
    println!(
        "  migration 008's work on this database: contact indexes {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for (name, bytes) in bench::index_sizes(&bare)? {
        println!("  {name}: {:.1} MiB", bytes as f64 / 1_048_576.0);
    }
    let t = Instant::now();
    bench::build_old_message_index(&bare)?;
    println!(
        "  (messages_fts as before 008 built for the baseline in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let samples = bench::sample_customers(&bare, 6)?;
    let queries = queries(&samples);
    let client = reqwest::Client::new();
    let base = format!(
        "http://{}/api/v1/conversations?view=all&status=any&q=",
        srv.addr
    );
    let mut ours: Vec<Duration> = Vec::new();
    // Per kind of query (in the order printed), each user's latencies apart.
    let mut by_class: Vec<(&str, [Vec<Duration>; 2])> = Vec::new();
    let mut old: Vec<Duration> = Vec::new();
    let old_rounds = (rounds / 5).max(2);
    println!(
        "  {:<16} {:<28} {:>5} {:>10} {:>10} {:>10}",
        "kind", "query", "owner", "owner p50", "agent p50", "before p50"
    );
    for (kind, text) in &queries {
        let url = format!("{base}{}", utf8_percent_encode(text, NON_ALPHANUMERIC));
        let mut per_token = Vec::new();
        let mut hits = 0;
        for (n, (_, token)) in tokens.into_iter().enumerate() {
            let lat = rt.block_on(async {
                let mut lat = Vec::with_capacity(rounds);
                for i in 0..=rounds {
                    let t = Instant::now();
                    let resp = client.get(&url).bearer_auth(token).send().await?;
                    if !resp.status().is_success() {
                        bail!("search {text:?} answered {}", resp.status());
                    }
                    let body: serde_json::Value = resp.json().await?;
                    // The first round warms the caches and is not counted.
                    if i > 0 {
                        lat.push(t.elapsed());
                    }
                    if n == 0 {
                        hits = body["items"].as_array().map_or(0, Vec::len);
                    }
                }
                Ok::<_, anyhow::Error>(lat)
            })?;
            let mut sorted = lat.clone();
            sorted.sort();
            per_token.push(percentile(&sorted, 0.5));
            if by_class.last().is_none_or(|c| c.0 != *kind) {
                by_class.push((kind, [Vec::new(), Vec::new()]));
            }
            if let Some(class) = by_class.last_mut() {
                class.1[n].extend(&lat);
            }
            ours.extend(lat);
        }
        let mut before = Vec::with_capacity(old_rounds);
        for _ in 0..old_rounds {
            let t = Instant::now();
            bench::baseline_search(&bare, text)?;
            before.push(t.elapsed());
        }
        before.sort();
        println!(
            "  {kind:<16} {:<28} {hits:>5} {:>7.2} ms {:>7.2} ms {:>7.1} ms",
            shorten(text),
            per_token[0],
            per_token[1],
            percentile(&before, 0.5)
        );
        old.extend(before);
    }
    println!(
        "  {:<16} {:>10} {:>10} {:>10} {:>10}",
        "by kind",
        format!("{} p50", tokens[0].0),
        format!("{} p50", tokens[1].0),
        format!("{} p99", tokens[0].0),
        format!("{} p99", tokens[1].0)
    );
    let mut per_user: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for (kind, lat) in &mut by_class {
        lat[0].sort();
        lat[1].sort();
        println!(
            "  {kind:<16} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>7.2} ms",
            percentile(&lat[0], 0.5),
            percentile(&lat[1], 0.5),
            percentile(&lat[0], 0.99),
            percentile(&lat[1], 0.99)
        );
        per_user[0].extend(&lat[0]);
        per_user[1].extend(&lat[1]);
    }
    for (n, lat) in per_user.iter_mut().enumerate() {
        lat.sort();
        println!(
            "  {} alone: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            tokens[n].0,
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            percentile(lat, 1.0)
        );
    }
    ours.sort();
    old.sort();
    println!(
        "  teaminbox over HTTP ({} and {}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} searches",
        tokens[0].0,
        tokens[1].0,
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&ours, 1.0),
        ours.len()
    );
    println!(
        "  before (LIKE on names and phones, bare connection, no HTTP): p50 {:.1} ms, p99 {:.1} ms over {} searches",
        percentile(&old, 0.5),
        percentile(&old, 0.99),
        old.len()
    );
    if compare_trigram {
        compare_message_indexes(&bare, &queries, rounds)?;
    }
    Ok(())
}

/// Word prefixes (conversation_terms_fts) against a trigram index over the same message text.
fn compare_message_indexes(
    conn: &rusqlite::Connection,
    queries: &[(&'static str, String)],
    rounds: usize,
) -> anyhow::Result<()> {
    let t = Instant::now();
    bench::build_messages_trigram(conn)?;
    println!(
        "\n== Message text: word prefixes (unicode61) against trigrams, raw index answers\n  trigram index built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for (name, bytes) in bench::index_sizes(conn)? {
        println!("  {name}: {:.1} MiB", bytes as f64 / 1_048_576.0);
    }
    for (_, text) in queries.iter().filter(|q| q.0 == MESSAGE_WORDS) {
        let words: Vec<&str> = text.split_whitespace().collect();
        let prefix = words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" ");
        let tri = words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut line = format!("  {:<16}", shorten(text));
        for (trigram, q) in [(false, &prefix), (true, &tri)] {
            let mut lat = Vec::with_capacity(rounds);
            let mut n = 0;
            for _ in 0..rounds.min(10) {
                let t = Instant::now();
                n = bench::count_message_matches(conn, trigram, q)?;
                lat.push(t.elapsed());
            }
            lat.sort();
            line.push_str(&format!(
                "  {}: {n:>6} conversations, p50 {:>7.2} ms",
                if trigram { "trigram" } else { "word prefix" },
                percentile(&lat, 0.5)
            ));
        }
        println!("{line}");
    }
    Ok(())
}

/// At most 26 characters of `text`, for the table.
fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(26).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
