//! The queue side of #10 in Chromium at 390×844: an agent sees SLA badges in the Unassigned
//! list, sorts it by waiting time, taps "Take next" and lands in the longest-waiting
//! conversation; its times read in the shop's zone (Asia/Kolkata, +05:30, while the phone is set
//! to New York); the "SLA at risk" tab lists what breaches first; a breach arriving live turns a
//! badge red without a reload. Screenshots in target/screenshots/take-next-*.png.

use super::*;
use crate::support::TestApp;

/// Unix seconds `secs` seconds ago.
fn secs_ago(secs: i64) -> i64 {
    teaminbox::domain::time::now_ms() / 1000 - secs
}

/// "HH:MM" of unix second `at` in `zone`.
fn clock_in(at: i64, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).expect("zone");
    let z = jiff::Timestamp::from_second(at)
        .expect("ts")
        .to_zoned_datetime(tz);
    format!("{:02}:{:02}", z.hour(), z.minute())
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn take_next_sla_badges_and_times_in_the_shop_zone() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let cb = FakeCallback::start(&[Reply::Status(200)]);
    let (ch, secret) = app.api_channel(&cb.url);
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"timezone": "Asia/Kolkata", "scheduler_tick_ms": 50}),
        )
        .expect(200);
    app.api
        .post(
            "/api/v1/sla-policies",
            &app.manager.token,
            json!({"name": "Everyone", "first_response_secs": 600, "warn_at": 0.5}),
        )
        .expect(201);
    let inbound = |who: &str, name: &str, at: i64| {
        app.api
            .raw(
                Method::POST,
                &format!("/api/v1/channels/{ch}/inbound"),
                Some(&secret),
                Some(
                    json!({"external_id": format!("m-{who}"), "contact": {"identifier": who, "name": name},
                           "text": format!("Hello from {name}"), "timestamp": at})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("id")
    };
    // Waiting 30 min (first response breached), 7 min (at risk), 1 min (running); the newest
    // wrote last, so "Newest" and "Longest waiting" differ.
    let first_at = secs_ago(30 * 60);
    let oldest = inbound("oldest", "Olivia Oldest", first_at);
    inbound("middle", "Mehmet Middle", secs_ago(7 * 60));
    inbound("newest", "Nina Newest", secs_ago(60));
    // Bruno's, due in a few seconds: its breach arrives while his list is open.
    let soon = inbound("soon", "Sam Soon", secs_ago(600 - 12));
    app.api
        .post(
            &format!("/api/v1/conversations/{soon}/assign"),
            &app.manager.token,
            json!({"assignee_id": app.bruno.id}),
        )
        .expect(200);

    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let mut console = Vec::new();

        // Bruno's list is open first: the breach must reach it live.
        let bruno = driver.browser().await;
        login(&bruno, &base, &app.bruno.email).await;
        bruno.goto(&format!("{base}/?view=mine")).await.expect("mine");
        wait_text(&bruno, "ul.queue", "Sam Soon").await;
        // Nothing else happens meanwhile: the badge turns red when `sla.breached` arrives, in
        // the same page (no reload: the marker stays).
        js(&bruno, "window.tiMark = 1; return null;").await;
        wait_text(&bruno, "ul.queue .sla.breached", "FRT late").await;
        assert_eq!(js(&bruno, "return window.tiMark || 0;").await, json!(1), "the page reloaded");
        shot(&bruno, "take-next-live-breach-390x844").await;
        console.extend(console_errors(&bruno, "live breach").await);

        let a = driver.browser().await;
        // The phone is in New York; the shop is in Kolkata.
        a.issue_cmd(Cdp(json!({"cmd": "Emulation.setTimezoneOverride",
            "params": {"timezoneId": "America/New_York"}})))
            .await
            .expect("phone zone");
        login(&a, &base, &app.ana.email).await;
        a.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
        wait_text(&a, "ul.queue", "Olivia Oldest").await;
        // Badges: red when breached, amber at risk, plain while running.
        let badges = js(&a, "return Array.from(document.querySelectorAll('ul.queue li')).map(li => { const s = li.querySelector('.sla'); return [li.querySelector('.name').textContent, s ? s.dataset.sla : null, s ? s.textContent : null]; });").await;
        let badge = |name: &str| {
            badges
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| r[0] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{name} in {badges}"))
        };
        assert_eq!(badge("Olivia Oldest")[1], "breached", "{badges}");
        assert!(badge("Olivia Oldest")[2].as_str().unwrap_or("").starts_with("FRT late"), "{badges}");
        assert_eq!(badge("Mehmet Middle")[1], "at_risk", "{badges}");
        assert_eq!(badge("Nina Newest")[1], "running", "{badges}");
        let colours = js(&a, "return ['breached','at_risk'].map(s => getComputedStyle(document.querySelector('.sla.' + s)).backgroundColor);").await;
        assert_ne!(colours[0], colours[1], "breached and at-risk badges look different");
        // The row still fits the phone: nothing scrolls sideways.
        let wide = js(&a, "return document.documentElement.scrollWidth > window.innerWidth;").await;
        assert_eq!(wide, json!(false), "the list overflows 390 px");
        shot(&a, "take-next-unassigned-390x844").await;

        // Longest waiting first.
        click(&a, ".queue-tools nav.sort a[href$='sort=waiting']").await;
        wait_text(&a, ".queue-tools nav.sort a.on", "Longest waiting").await;
        let order = js(&a, "return Array.from(document.querySelectorAll('ul.queue .name')).map(n => n.textContent);").await;
        assert_eq!(order, json!(["Olivia Oldest", "Mehmet Middle", "Nina Newest"]));
        shot(&a, "take-next-sorted-390x844").await;

        // Take next: the longest-waiting conversation opens, now Ana's.
        click(&a, "#take-next").await;
        wait_text(&a, "#notice", "You took Olivia Oldest").await;
        let url = a.current_url().await.expect("url");
        assert!(url.path().ends_with(&format!("/c/{oldest}")), "{url}");
        // Its time reads in the shop's zone, not the phone's and not UTC.
        let shop = clock_in(first_at, "Asia/Kolkata");
        let shown = js(&a, "return Array.from(document.querySelectorAll('ol.timeline li.in time')).map(t => t.textContent);").await;
        assert_eq!(shown[0], json!(shop), "message time in Kolkata time: {shown}");
        assert_ne!(shop, clock_in(first_at, "UTC"));
        assert_ne!(shop, clock_in(first_at, "America/New_York"));
        shot(&a, "take-next-opened-390x844").await;
        console.extend(console_errors(&a, "take next").await);
        let owner = b(|| {
            app.api
                .get(&format!("/api/v1/conversations/{oldest}"), &app.ana.token)
                .expect(200)["assignee"]["id"]
                .clone()
        });
        assert_eq!(owner, json!(app.ana.id));

        // SLA at risk: breached first, then the soonest due (Olivia is Ana's now, still late).
        a.goto(&format!("{base}/?view=at_risk")).await.expect("at risk");
        wait_text(&a, "nav.tabs a.on", "SLA at risk").await;
        let order = js(&a, "return Array.from(document.querySelectorAll('ul.queue .name')).map(n => n.textContent);").await;
        assert_eq!(order, json!(["Olivia Oldest", "Mehmet Middle", "Nina Newest"]));
        shot(&a, "take-next-at-risk-390x844").await;

        // Nothing left for Ana in her pools once she took the rest.
        for _ in 0..2 {
            a.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
            click(&a, "#take-next").await;
            wait_text(&a, "#notice", "You took").await;
        }
        a.goto(&format!("{base}/?view=unassigned")).await.expect("unassigned");
        click(&a, "#take-next").await;
        wait_text(&a, "#notice", "Nobody is waiting").await;
        shot(&a, "take-next-nothing-390x844").await;
        assert!(console.is_empty(), "console errors: {console:?}");
        a.close().await.expect("close");
        bruno.close().await.expect("close");
    });
}
