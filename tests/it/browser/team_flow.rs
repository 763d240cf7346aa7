//! The whole team flow: setup, login, claim, reply, note, a transfer that arrives live in a
//! second browser, resolve; script in customer data rendered as text; a browser console free of
//! CSP violations and errors on every page; phone-sized screenshots.

use super::*;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn team_flow_in_two_browsers() {
    require_browser();
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
    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let a = driver.browser().await;
        // Owner setup in the browser.
        // Console errors (CSP violations among them) of every page, checked at the end.
        let mut console = Vec::new();
        a.goto(&format!("{base}/setup?token={setup_token}")).await.expect("setup page");
        wait_text(&a, "main", "").await;
        console.extend(console_errors(&a, "setup").await);
        // The console reader must see a violation when there is one: an inline <style>, the
        // thing htmx would add without includeIndicatorStyles=false, is refused and logged.
        a.execute("document.head.insertAdjacentHTML('beforeend', '<style>p{}</style>'); return null;", vec![])
            .await
            .expect("inline style");
        let canary = console_errors(&a, "canary").await;
        assert!(
            canary.iter().any(|e| e.contains("Content Security Policy")),
            "the browser log did not report a refused inline style: {canary:?}"
        );
        // No <style> element of htmx's own on the page.
        let styles = a.execute("return document.querySelectorAll('style').length;", vec![]).await.expect("styles");
        assert_eq!(styles, json!(1), "only the canary's <style>");
        fill(&a, "#name", "Olga").await;
        fill(&a, "#email", "olga@shop.test").await;
        fill(&a, "#password", PASSWORD).await;
        click(&a, "button[type=submit]").await;
        wait_text(&a, "header .who", "Olga · owner").await;
        console.extend(console_errors(&a, "inbox after setup").await);

        // Staff and a customer message, through the API.
        let owner = b(|| api
            .raw(reqwest::Method::POST, "/api/v1/auth/token", None,
                Some(json!({"email": "olga@shop.test", "password": PASSWORD}).to_string().into_bytes()))
            .expect(201)["token"].as_str().expect("token").to_string());
        // Staff through the API with passwords (Settings invites by link, see browser/invite.rs),
        // a canned reply through the settings page.
        for name in ["Ana", "Bruno"] {
            b(|| api.post("/api/v1/users", &owner,
                json!({"name": name, "email": format!("{}@shop.test", name.to_lowercase()), "role": "agent", "password": PASSWORD}))
                .expect(201));
        }
        a.goto(&format!("{base}/settings")).await.expect("settings");
        for name in ["Ana", "Bruno"] {
            wait_text(&a, "#staff summary", &format!("{name} · agent")).await;
        }
        fill(&a, "#canned input[name=shortcut]", "hours").await;
        fill(&a, "#canned textarea[name=body]", "We are open 9-18, Monday to Saturday.").await;
        click(&a, "#canned form[action='/settings/canned'] button").await;
        wait_text(&a, "#canned", "/hours").await;
        console.extend(console_errors(&a, "settings").await);
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
        click(&a, "#menu summary").await;
        click(&a, "header form[action='/logout'] button").await;
        wait_text(&a, "h1", "teaminbox").await;
        login(&a, &base, "ana@shop.test").await;
        console.extend(console_errors(&a, "login").await);
        a.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
        wait_text(&a, "ul.queue", "Maria Silva").await;
        console.extend(console_errors(&a, "inbox").await);
        std::fs::write(screenshots().join("inbox-390x844.png"), a.screenshot().await.expect("shot")).expect("write");
        click(&a, "ul.queue a").await;
        wait_text(&a, "h2", "Maria Silva").await;
        click(&a, "form[action$='/claim'] button").await;
        wait_text(&a, ".owner-bar", "Owner: Ana").await;
        fill(&a, "#reply", "Yes! Size 40 is in stock. /hours ").await;
        click(&a, "form[action$='/reply'] button").await;
        wait_text(&a, "li.out .msg", "Size 40 is in stock. We are open 9-18, Monday to Saturday.").await;
        b(|| cb.wait_for(1));
        click(&a, "label[for=mode-note]").await;
        fill(&a, "#note", "She prefers pickup on Saturday").await;
        click(&a, "form[action$='/note'] button").await;
        wait_text(&a, "li.note", "She prefers pickup on Saturday").await;
        console.extend(console_errors(&a, "conversation").await);
        let styles = a.execute("return document.querySelectorAll('style').length;", vec![]).await.expect("styles");
        assert_eq!(styles, json!(0), "an inline <style> on the conversation page (htmx's indicator styles?)");

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
        console.extend(console_errors(&bb, "second browser: login, inbox, conversation").await);
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
        console.extend(console_errors(&a, "conversation with customer script").await);
        console.extend(console_errors(&bb, "second browser: customer script").await);
        assert!(console.is_empty(), "browser console errors:\n{}", console.join("\n"));

        a.close().await.expect("close a");
        bb.close().await.expect("close b");
    });
    drop(driver);
    server.stop();
}
