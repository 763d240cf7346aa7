//! End-to-end in headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! `.ci/run`), driven over WebDriver. This module holds the driver and the page helpers; each
//! submodule is one flow. Screenshots go to `target/screenshots/`.
//!
//! These tests are `#[ignore]`d so that a plain `cargo test` on a machine without the browser
//! says "ignored" instead of passing without running. `cargo test -- --include-ignored` (what
//! `.ci/run` does) runs them, and then a missing browser is a failure, never a silent pass.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::{Method, Url};
use serde_json::json;

use crate::support::{Api, FakeCallback, PASSWORD, Reply, WAIT, start_server, test_config};

/// The runtime a browser test drives Chromium from (two workers: the driver and the page's
/// streams).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// Why the browser tests are ignored by default, shown by `cargo test`.
const NEEDS_BROWSER: &str =
    "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored";

/// Fails, saying what to install, unless Chromium and chromedriver are here. A browser test that
/// was asked for (`--ignored` / `--include-ignored`) never passes without running.
#[track_caller]
fn require_browser() {
    let missing: Vec<_> = [CHROMIUM, DRIVER]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "browser test asked for but {missing:?} missing: install Debian's chromium and \
         chromium-driver (apt-get install chromium chromium-driver), or run plain `cargo test`, \
         which skips the browser tests as ignored ({NEEDS_BROWSER})"
    );
}

struct Driver {
    child: Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::new();
        let deadline = Instant::now() + WAIT;
        // chromedriver has no readiness signal but its status endpoint.
        while http.get(format!("{url}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url,
            profiles: Vec::new(),
        }
    }

    async fn browser(&mut self) -> Client {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--window-size=390,844", format!("--user-data-dir={}", profile.path().display())],
                // A phone: 390×844 CSS pixels.
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0, "touch": true}},
            }),
        );
        // Keep the browser console, read back by `console_errors`.
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        self.profiles.push(profile);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("browser session");
        // `wait_text` waits inside the page for at most WAIT per attempt.
        c.update_timeouts(TimeoutConfiguration::new(
            Some(WAIT),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        ))
        .await
        .expect("timeouts");
        c
    }
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"));
    if let Err(err) = e.clear().await {
        let src = c.source().await.unwrap_or_default();
        panic!("typing into {css} failed: {err}; page:\n{src}");
    }
    if let Err(err) = e.send_keys(text).await {
        let _ = std::fs::write(
            screenshots().join("failure.png"),
            c.screenshot().await.unwrap_or_default(),
        );
        let src = c.source().await.unwrap_or_default();
        panic!("sending keys to {css} failed: {err}; page:\n{src}");
    }
}

async fn click(c: &Client, css: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"));
    // Keep the target clear of the sticky header, as a thumb would.
    let arg = serde_json::to_value(&e).expect("element");
    let _ = c
        .execute(
            "arguments[0].scrollIntoView({block: 'center'}); return null;",
            vec![arg],
        )
        .await;
    if let Err(err) = e.click().await {
        let src = c.source().await.unwrap_or_default();
        panic!("clicking {css} failed: {err}; page:\n{src}");
    }
}

/// Resolves once an element matching `arguments[0]` shows `arguments[1]`: checked at once, then
/// on every DOM change (a MutationObserver), so nothing sleeps or polls inside the page.
const WAIT_TEXT_JS: &str = r#"
const [css, text] = arguments;
const done = arguments[arguments.length - 1];
const has = () => Array.from(document.querySelectorAll(css))
    .some(e => (e.innerText || e.textContent || "").includes(text));
if (has()) { done(true); return; }
const seen = new MutationObserver(() => { if (has()) { seen.disconnect(); done(true); } });
seen.observe(document.documentElement,
    {subtree: true, childList: true, characterData: true, attributes: true});
"#;

/// Waits until the page shows `text` somewhere in `css`. The wait happens in the browser (an
/// async script woken by DOM changes, see [`WAIT_TEXT_JS`]); when a navigation replaces the
/// document under the script, WebDriver reports an error and the wait starts again on the new
/// page. No fixed sleeps and no polling loop here.
async fn wait_text(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + WAIT;
    let mut errors = Vec::new();
    while Instant::now() < deadline && errors.len() < 50 {
        match c
            .execute_async(WAIT_TEXT_JS, vec![json!(css), json!(text)])
            .await
        {
            Ok(_) => return,
            Err(e) => errors.push(e.to_string()),
        }
    }
    let src = c.source().await.unwrap_or_default();
    panic!("timed out waiting for {text:?} in {css} ({errors:?}); page:\n{src}");
}

/// ChromeDriver's browser log (`POST /session/{id}/se/log`), which fantoccini has no call for.
/// Each read returns the entries since the previous one.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &Url,
        session: Option<&str>,
    ) -> Result<Url, <Url as std::str::FromStr>::Err> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// The console entries that are errors (CSP violations among them) since the last read, each
/// as "LEVEL message"; `page` names where the browser was.
async fn console_errors(c: &Client, page: &str) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("browser log");
    let entries = log.as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter(|e| {
            let msg = e["message"].as_str().unwrap_or_default();
            e["level"] == "SEVERE" || msg.contains("Content Security Policy")
        })
        .map(|e| format!("{page}: {} {}", e["level"], e["message"]))
        .collect()
}

async fn login(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.expect("goto login");
    fill(c, "#email", email).await;
    fill(c, "#password", PASSWORD).await;
    click(c, "button[type=submit]").await;
    wait_text(c, "header .who", "·").await;
}

/// Runs blocking test helpers (the reqwest blocking client, condvars) from async code.
fn b<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A Chrome DevTools command through ChromeDriver (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &Url,
        session: Option<&str>,
    ) -> Result<Url, <Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.0.to_string()))
    }
}

/// Resizes the page to `width`×`height` CSS pixels (a phone below 1024 px, a desktop from
/// there): the sessions emulate a 390×844 phone, whose viewport `set_window_size` alone does
/// not change, so the device metrics are overridden too.
async fn viewport(c: &Client, width: u32, height: u32) {
    c.set_window_size(width, height).await.expect("window size");
    c.issue_cmd(Cdp(json!({"cmd": "Emulation.setDeviceMetricsOverride",
        "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 1024}})))
        .await
        .expect("device metrics");
}

/// Runs `script` in the page and answers what it returns.
async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.expect("script")
}

/// Saves a screenshot of the page as `target/screenshots/{name}.png`.
async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

mod automation;
mod conversation;
mod invite;
mod lists;
mod live;
mod now_board;
mod shift;
mod take_next;
mod team_flow;
