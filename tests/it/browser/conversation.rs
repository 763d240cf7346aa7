//! The conversation page on a phone (#9): ownership changes explained in place with the typed
//! text kept (live update, reload, a lost claim race); a long thread that opens at the newest
//! message with the composer in view; canned replies listed on "/"; undo of resolve and
//! transfer. Screenshots at 390×844 and 1280×800 in `target/screenshots/`.

use teaminbox::domain::policy::Actor;
use teaminbox::domain::{Role, UserId};

use super::*;
use crate::support::{Staff, TestApp};

/// The value of the form field `css`.
async fn value(c: &Client, css: &str) -> String {
    c.execute(
        "return document.querySelector(arguments[0]).value;",
        vec![json!(css)],
    )
    .await
    .expect("value")
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn type_keys(c: &Client, css: &str, keys: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Clicks `css`, finding it again when a live update replaced it between finding and clicking.
async fn tap(c: &Client, css: &str) {
    for _ in 0..5 {
        let e = c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no {css}"));
        let arg = serde_json::to_value(&e).expect("element");
        let _ = c
            .execute(
                "arguments[0].scrollIntoView({block: 'center'}); return null;",
                vec![arg],
            )
            .await;
        match e.click().await {
            Ok(()) => return,
            Err(err) if err.to_string().contains("stale element") => continue,
            Err(err) => panic!("clicking {css} failed: {err}"),
        }
    }
    panic!("{css} kept being replaced");
}

/// The console errors of `c`, less the expected answers of refused actions (a 409 is logged
/// by the browser as a failed load; the page shows it in words).
async fn unexpected_console_errors(c: &Client, page: &str, refused: &[&str]) -> Vec<String> {
    console_errors(c, page)
        .await
        .into_iter()
        .filter(|e| {
            !refused.iter().any(|r| {
                e.contains(&format!(
                    "{r} - Failed to load resource: the server responded with a status of 409"
                ))
            })
        })
        .collect()
}

fn transfer(app: &TestApp, conv: i64, by: &Staff, to: &Staff) {
    b(|| {
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/assign"),
                &by.token,
                json!({"assignee_id": to.id}),
            )
            .expect(200)
    });
}

fn new_conversation(app: &TestApp, ch: i64, secret: &str, who: &str, text: &str) -> i64 {
    b(|| {
        app.inbound(ch, secret, &format!("{who}-{text}"), who, text)
            .expect(201)["conversation_id"]
            .as_i64()
            .expect("id")
    })
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn ownership_changes_are_explained_in_place_and_nothing_typed_is_lost() {
    require_browser();
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    let base = app.api.base.clone();
    app.claim(conv, &app.ana);
    let mut driver = Driver::start();
    runtime().block_on(async {
        let a = driver.browser().await;
        login(&a, &base, &app.ana.email).await;
        a.goto(&format!("{base}/c/{conv}"))
            .await
            .expect("conversation");
        wait_text(&a, ".owner-bar", "Owner: Ana").await;

        // A reload keeps a typed reply (kept on this device until sent).
        let draft = "Half-typed: yes, size 40 — مقاس ٤٠ 👟";
        fill(&a, "#reply", draft).await;
        a.refresh().await.expect("reload");
        wait_text(&a, ".owner-bar", "Owner: Ana").await;
        assert_eq!(
            value(&a, "#reply").await,
            draft,
            "the draft survives a reload"
        );

        // The stale tab: Ana hands the conversation to Bruno from elsewhere (her other tab, here
        // the API). This page says so in words, keeps the draft, and no longer offers to send it.
        transfer(&app, conv, &app.ana, &app.bruno);
        wait_text(&a, "#handover", "You handed this to Bruno at").await;
        assert_eq!(
            value(&a, "#reply").await,
            draft,
            "the draft survives the live update"
        );
        wait_text(&a, "#draft-kept", "What you typed is kept").await;
        let send_disabled = a
            .execute(
                "return document.querySelector('.reply-form button[type=submit]').disabled;",
                vec![],
            )
            .await
            .expect("send button");
        assert_eq!(
            send_disabled,
            json!(true),
            "a reply that cannot be sent is not offered"
        );
        shot(&a, "conversation-stale-tab-390x844").await;
        // Reloaded, the page still says who has it and shows the kept text.
        a.refresh().await.expect("reload");
        wait_text(&a, "#handover", "You handed this to Bruno at").await;
        assert_eq!(
            value(&a, "#reply").await,
            draft,
            "the kept text after a reload"
        );
        viewport(&a, 1280, 800).await;
        shot(&a, "conversation-stale-tab-1280x800").await;
        viewport(&a, 390, 844).await;

        // The claim race: Ana opens an unassigned conversation, Bruno claims it first; Ana's
        // Claim answers with the winner's name, not "Not found".
        let race = new_conversation(&app, ch, &secret, "cust-race", "Anyone there?");
        a.goto(&format!("{base}/c/{race}")).await.expect("race");
        wait_text(&a, ".owner-bar", "Unassigned").await;
        b(|| app.claim(race, &app.bruno));
        click(&a, "form[action$='/claim'] button").await;
        wait_text(&a, "main", "Bruno already owns this conversation").await;
        wait_text(&a, "#handover", "Bruno took this at").await;
        shot(&a, "conversation-claim-race-390x844").await;
        let claim = format!("/c/{race}/claim");
        let errors = unexpected_console_errors(&a, "conversation", &[&claim]).await;
        assert!(
            errors.is_empty(),
            "browser console errors:\n{}",
            errors.join("\n")
        );
        a.close().await.expect("close");
    });
    drop(driver);
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn a_long_thread_opens_at_the_newest_message_and_slash_lists_canned_replies() {
    require_browser();
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret, conv) = app.conversation(&cb.url);
    let base = app.api.base.clone();
    for i in 2..=14 {
        let text = match i {
            7 => "مرحبا، هل لديكم الحذاء الأزرق بمقاس ٣٩؟ Also: can I pay cash on delivery? 🙏🙏🙏"
                .to_string(),
            9 => "x".repeat(300),
            _ => format!("Message {i} from the customer"),
        };
        b(|| {
            app.inbound(ch, &secret, &format!("m{i}"), "cust-1", &text)
                .expect(201)
        });
    }
    let owner = Actor {
        id: UserId(app.owner.id),
        role: Role::Owner,
        teams: vec![],
    };
    app.store
        .write_blocking(move |c| {
            teaminbox::service::workspace::add_canned(
                c,
                &owner,
                "hours",
                "We are open 9-18, Monday to Saturday.",
            )?;
            teaminbox::service::workspace::add_canned(
                c,
                &owner,
                "thanks",
                "Thank you for shopping with us!",
            )
        })
        .expect("canned replies");
    b(|| {
        app.api
            .put(
                "/api/v1/me/status",
                &app.ana.token,
                json!({"status": "busy"}),
            )
            .expect(200)
    });
    app.claim(conv, &app.bruno);
    let mut driver = Driver::start();
    runtime().block_on(async {
        let c = driver.browser().await;
        login(&c, &base, &app.bruno.email).await;
        c.goto(&format!("{base}/c/{conv}")).await.expect("conversation");
        wait_text(&c, "ol.timeline", "Message 14 from the customer").await;
        // The newest message and the reply box are on the 844 px screen as it opens.
        let rects = c
            .execute(
                "const r = e => { const b = e.getBoundingClientRect(); return [b.top, b.bottom]; };
                 const newest = Array.from(document.querySelectorAll('ol.timeline li.in')).pop();
                 return {newest: r(newest), text: newest.innerText, reply: r(document.getElementById('reply')),
                         height: window.innerHeight,
                         wide: Array.from(document.querySelectorAll('.msg')).some(m => m.scrollWidth > m.clientWidth + 1)};",
                vec![],
            )
            .await
            .expect("rects");
        let height = rects["height"].as_f64().expect("height");
        assert_eq!(height, 844.0, "{rects}");
        for part in ["newest", "reply"] {
            let (top, bottom) = (rects[part][0].as_f64().expect("top"), rects[part][1].as_f64().expect("bottom"));
            assert!(top >= 0.0 && bottom <= height, "{part} is off-screen: {rects}");
        }
        assert!(rects["text"].as_str().unwrap_or_default().contains("Message 14"), "{rects}");
        assert_eq!(rects["wide"], json!(false), "a long text runs out of its bubble: {rects}");
        shot(&c, "conversation-long-thread-390x844").await;

        // Actions live in a compact header; the sheets open from it.
        click(&c, "#more summary").await;
        wait_text(&c, "#more .panel", "Waiting on customer").await;
        shot(&c, "conversation-actions-menu-390x844").await;
        click(&c, "#more summary").await;
        click(&c, "#transfer summary").await;
        wait_text(&c, "#transfer select", "Ana · busy").await;
        shot(&c, "conversation-transfer-390x844").await;
        click(&c, "#transfer summary").await;

        // "/" lists the canned replies; typing narrows; Enter inserts.
        click(&c, "#reply").await;
        type_keys(&c, "#reply", "/").await;
        wait_text(&c, "#canned-list", "/thanks").await;
        wait_text(&c, "#canned-list", "/hours").await;
        shot(&c, "conversation-slash-list-390x844").await;
        type_keys(&c, "#reply", "hou").await;
        let options = c
            .execute("return Array.from(document.querySelectorAll('#canned-list [role=option]')).map(o => o.innerText);", vec![])
            .await
            .expect("options");
        assert_eq!(options.as_array().map(Vec::len), Some(1), "{options}");
        assert!(options[0].as_str().unwrap_or_default().contains("/hours"), "{options}");
        type_keys(&c, "#reply", "\u{E007}").await;
        assert_eq!(value(&c, "#reply").await, "We are open 9-18, Monday to Saturday.");
        let hidden = c.execute("return document.getElementById('canned-list').hidden;", vec![]).await.expect("list");
        assert_eq!(hidden, json!(true), "the list closes after inserting");
        // Escape closes the list; the "/" button opens the same list.
        type_keys(&c, "#reply", " /").await;
        wait_text(&c, "#canned-list", "/thanks").await;
        type_keys(&c, "#reply", "\u{E00C}").await;
        let hidden = c.execute("return document.getElementById('canned-list').hidden;", vec![]).await.expect("list");
        assert_eq!(hidden, json!(true), "Escape closes the list");
        click(&c, "#canned-open").await;
        wait_text(&c, "#canned-list", "/hours").await;

        viewport(&c, 1280, 800).await;
        shot(&c, "conversation-slash-list-1280x800").await;
        c.goto(&format!("{base}/c/{conv}")).await.expect("reload");
        // A navigation brings back the phone emulation.
        viewport(&c, 1280, 800).await;
        wait_text(&c, "ol.timeline", "Message 14 from the customer").await;
        shot(&c, "conversation-long-thread-1280x800").await;
        click(&c, "#transfer summary").await;
        wait_text(&c, "#transfer select", "Ana · busy").await;
        shot(&c, "conversation-transfer-1280x800").await;
        click(&c, "#transfer summary").await;
        click(&c, "#more summary").await;
        shot(&c, "conversation-actions-menu-1280x800").await;
        let errors = console_errors(&c, "conversation").await;
        assert!(errors.is_empty(), "browser console errors:\n{}", errors.join("\n"));
        c.close().await.expect("close");
    });
    drop(driver);
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn resolve_and_transfer_offer_an_undo() {
    require_browser();
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let base = app.api.base.clone();
    app.claim(conv, &app.ana);
    let state = || {
        b(|| {
            app.api
                .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
                .expect(200)
        })
    };
    let mut driver = Driver::start();
    runtime().block_on(async {
        let a = driver.browser().await;
        login(&a, &base, &app.ana.email).await;
        a.goto(&format!("{base}/c/{conv}"))
            .await
            .expect("conversation");
        wait_text(&a, ".owner-bar", "Owner: Ana").await;

        tap(&a, "form[action$='/status'] input[value=resolved] ~ button").await;
        wait_text(&a, "#undo", "Resolved").await;
        shot(&a, "conversation-undo-resolve-390x844").await;
        tap(&a, "#undo button").await;
        wait_text(&a, "li.event", "Reopened by Ana").await;
        assert_eq!(state()["status"], "open");

        tap(&a, "#transfer summary").await;
        a.find(Locator::Css("#to"))
            .await
            .expect("select")
            .select_by_value(&format!("user:{}", app.bruno.id))
            .await
            .expect("pick Bruno");
        fill(&a, "#handoff-note", "She pays cash").await;
        tap(&a, "#transfer button[type=submit]").await;
        wait_text(&a, "#handover", "You handed this to Bruno at").await;
        wait_text(&a, "#undo", "You handed this to Bruno").await;
        shot(&a, "conversation-undo-transfer-390x844").await;
        tap(&a, "#undo button").await;
        wait_text(&a, ".owner-bar", "Owner: Ana").await;
        assert_eq!(state()["assignee"]["id"], app.ana.id);
        // The handoff note typed before was sent with the transfer: its draft is gone.
        tap(&a, "#transfer summary").await;
        assert_eq!(
            value(&a, "#handoff-note").await,
            "",
            "a sent handoff note is not restored"
        );
        let errors = console_errors(&a, "conversation").await;
        assert!(
            errors.is_empty(),
            "browser console errors:\n{}",
            errors.join("\n")
        );
        a.close().await.expect("close");
    });
    drop(driver);
}
