//! End-to-end in headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! `.ci/run`), driven over WebDriver: setup, login, claim, reply, note, a transfer that arrives
//! live in a second browser, resolve; script in customer data rendered as text; phone-sized
//! screenshots in `target/screenshots/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{Api, FakeCallback, PASSWORD, Reply, WAIT, start_server, test_config};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser is here; CI (CI=true) must have it, a developer machine may not.
fn browser_available() -> bool {
    let here = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(DRIVER).exists();
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (see .ci/run)"
        );
        eprintln!(
            "skipping browser test: install chromium and chromium-driver (apt-get install chromium chromium-driver)"
        );
    }
    here
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
        self.profiles.push(profile);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("browser session")
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

/// Waits until the page shows `text` somewhere in `css` (no fixed sleeps: WebDriver polls).
async fn wait_text(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(all) = c.find_all(Locator::Css(css)).await {
            for e in all {
                if e.text().await.is_ok_and(|t| t.contains(text)) {
                    return;
                }
            }
        }
        let src = c.source().await.unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {text:?} in {css}; page:\n{src}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

#[test]
fn team_flow_in_two_browsers() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_server(test_config(dir.path().to_path_buf()));
    let base = format!("http://{}", server.addr);
    let api = Api::new(&base);
    let setup_token = server
        .store
        .write_blocking(teaminbox::service::auth::ensure_setup_token)
        .expect("token")
        .expect("no users yet");
    let cb = FakeCallback::start(&[Reply::Status(200)]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut driver = Driver::start();
    rt.block_on(async {
        let a = driver.browser().await;
        // Owner setup in the browser.
        a.goto(&format!("{base}/setup?token={setup_token}")).await.expect("setup page");
        fill(&a, "#name", "Olga").await;
        fill(&a, "#email", "olga@shop.test").await;
        fill(&a, "#password", PASSWORD).await;
        click(&a, "button[type=submit]").await;
        wait_text(&a, "header .who", "Olga · owner").await;

        // Staff and a customer message, through the API.
        let owner = b(|| api
            .raw(reqwest::Method::POST, "/api/v1/auth/token", None,
                Some(json!({"email": "olga@shop.test", "password": PASSWORD}).to_string().into_bytes()))
            .expect(201)["token"].as_str().expect("token").to_string());
        // Staff and a canned reply through the settings page.
        a.goto(&format!("{base}/settings")).await.expect("settings");
        for name in ["Ana", "Bruno"] {
            click(&a, "#staff > details:last-of-type > summary").await;
            fill(&a, "#new-name", name).await;
            fill(&a, "#new-email", &format!("{}@shop.test", name.to_lowercase())).await;
            fill(&a, "#new-password", PASSWORD).await;
            click(&a, "#staff form[action='/settings/users'] button").await;
            wait_text(&a, "#staff summary", &format!("{name} · agent")).await;
        }
        fill(&a, "#canned input[name=shortcut]", "hours").await;
        fill(&a, "#canned textarea[name=body]", "We are open 9-18, Monday to Saturday.").await;
        click(&a, "#canned form[action='/settings/canned'] button").await;
        wait_text(&a, "#canned", "/hours").await;
        let ch = b(|| api.post("/api/v1/channels", &owner,
            json!({"kind": "api", "name": "Web", "config": {"callback_url": cb.url}})).expect(201));
        let secret = ch["secret"].as_str().expect("secret").to_string();
        let inbound = |ext: &str, who: &str, name: &str, text: &str| b(|| {
            api.raw(reqwest::Method::POST, &format!("/api/v1/channels/{}/inbound", ch["id"]), Some(&secret),
                Some(json!({"external_id": ext, "contact": {"identifier": who, "name": name}, "text": text}).to_string().into_bytes()))
                .expect(201)["conversation_id"].as_i64().expect("id")
        });
        let conv = inbound("m1", "maria", "Maria Silva", "Do you have the blue one in size 40?");

        // Ana: log out as owner, log in, claim, reply, note.
        click(&a, "header form[action='/logout'] button").await;
        wait_text(&a, "h1", "teaminbox").await;
        login(&a, &base, "ana@shop.test").await;
        a.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
        wait_text(&a, "ul.queue", "Maria Silva").await;
        std::fs::write(screenshots().join("inbox-390x844.png"), a.screenshot().await.expect("shot")).expect("write");
        click(&a, "ul.queue a").await;
        wait_text(&a, "h2", "Maria Silva").await;
        click(&a, "form[action$='/claim'] button").await;
        wait_text(&a, ".owner-bar", "Owner: Ana").await;
        fill(&a, "#reply", "Yes! Size 40 is in stock. /hours ").await;
        click(&a, "form[action$='/reply'] button").await;
        wait_text(&a, "li.out .msg", "Size 40 is in stock. We are open 9-18, Monday to Saturday.").await;
        b(|| cb.wait_for(1));
        fill(&a, "#note", "She prefers pickup on Saturday").await;
        click(&a, "form[action$='/note'] button").await;
        wait_text(&a, "li.note", "She prefers pickup on Saturday").await;

        // Bruno watches his queue in a second browser.
        let bb = driver.browser().await;
        login(&bb, &base, "bruno@shop.test").await;
        bb.goto(&format!("{base}/?view=mine")).await.expect("mine");
        wait_text(&bb, "main", "Nothing here").await;
        bb.execute("window.__stayed = 'yes'; return null;", vec![]).await.expect("marker");

        // Ana hands over with a note.
        click(&a, "#transfer summary").await;
        let bruno_id = b(|| api.get("/api/v1/users", &owner).expect(200)["items"].as_array().expect("items").iter()
            .find(|u| u["name"] == "Bruno").expect("bruno")["id"].as_i64().expect("id"));
        a.find(Locator::Css("#to")).await.expect("select").select_by_value(&format!("user:{bruno_id}")).await.expect("pick");
        fill(&a, "#handoff-note", "Over to you: she will pay cash").await;
        click(&a, "#transfer button[type=submit]").await;

        // It arrives in Bruno's open page without a reload.
        wait_text(&bb, "ul.queue", "Maria Silva").await;
        let stayed = bb.execute("return window.__stayed || null;", vec![]).await.expect("marker");
        assert_eq!(stayed, json!("yes"), "the page was reloaded instead of updated live");
        click(&bb, "ul.queue a").await;
        wait_text(&bb, "li.event", "Ana handed this to Bruno: Over to you: she will pay cash").await;
        wait_text(&bb, "li.note", "She prefers pickup on Saturday").await;
        std::fs::write(screenshots().join("conversation-390x844.png"), bb.screenshot().await.expect("shot")).expect("write");
        click(&bb, "form[action$='/status'] input[value=resolved] ~ button").await;
        wait_text(&bb, "li.event", "Resolved by Bruno").await;
        let c = b(|| api.get(&format!("/api/v1/conversations/{conv}"), &owner).expect(200));
        assert_eq!(c["status"], "resolved");
        assert_eq!(c["assignee"]["name"], "Bruno");

        // Script in customer data is shown as text and never runs.
        let xss = inbound("m2", "evil", "<img src=x onerror=alert(1)>", "<script>alert(2)</script> hello");
        bb.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
        wait_text(&bb, "ul.queue .name", "<img src=x onerror=alert(1)>").await;
        bb.goto(&format!("{base}/c/{xss}")).await.expect("xss conversation");
        wait_text(&bb, "li.in .msg", "<script>alert(2)</script> hello").await;
        assert!(bb.get_alert_text().await.is_err(), "a dialog opened: script ran");
        // Presence: Bruno sees that Ana has the same conversation open.
        a.goto(&format!("{base}/c/{xss}")).await.expect("ana opens it too");
        wait_text(&bb, "#presence", "Ana is viewing").await;
        let injected = bb.find_all(Locator::Css("img[src='x'], .msg script")).await.expect("query");
        assert!(injected.is_empty(), "customer markup became elements");

        a.close().await.expect("close a");
        bb.close().await.expect("close b");
    });
    drop(driver);
    server.stop();
}
