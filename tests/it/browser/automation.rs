//! A channel's automation settings (#13) in Chromium at 390×844: a manager types a menu, the
//! preview (right below the menu on a phone) shows the buttons the customer will get (htmx
//! re-renders it on input), a title over Meta's 20 characters is named in the preview, a fourth
//! option turns the buttons into a list, and saving keeps the menu. The form shows the options
//! there are and one empty row, not all ten. Screenshots at 390×844 and 1280×800.

use super::*;
use crate::support::TestApp;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn a_manager_saves_a_menu_and_sees_the_preview() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let graph = crate::whatsapp::FakeGraph::start(vec![]);
    let ch = crate::whatsapp::wa_channel(&app, &graph, "7300");
    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let m = driver.browser().await;
        login(&m, &base, &app.manager.email).await;
        m.goto(&format!("{base}/settings/automation/{ch}"))
            .await
            .expect("automation page");
        wait_text(&m, "main h1", "Automation").await;
        wait_text(&m, "#preview", "The menu is off").await;
        assert_eq!(shown_rows(&m).await, 1, "an empty menu shows one option row");
        click(&m, "input[name=menu_enabled]").await;
        fill(&m, "input[name=opt_title_0]", "Buy something").await;
        // Typing a title shows the next row; the rest stay hidden.
        assert_eq!(shown_rows(&m).await, 2);
        fill(&m, "input[name=opt_title_1]", "Help with an order").await;
        wait_text(&m, "#preview .wa-button", "Help with an order").await;
        wait_text(&m, "#preview", "reply buttons").await;
        // Over Meta's limit for a button: the preview says so before saving.
        fill(&m, "input[name=opt_title_1]", "Help with an order please").await;
        wait_text(&m, "#preview [role=alert]", "at most 20").await;
        fill(&m, "input[name=opt_title_1]", "Track my order").await;
        wait_text(&m, "#preview .wa-button", "Track my order").await;
        // On a phone the preview sits right below the menu it shows.
        let order = js(
            &m,
            "const p = document.querySelector('.preview-card'); \
             return p.previousElementSibling.querySelector('h2').textContent;",
        )
        .await;
        assert_eq!(order, json!("Menu"));
        js(
            &m,
            "document.querySelector('#preview').scrollIntoView({block: 'end'}); return null;",
        )
        .await;
        shot(&m, "automation-preview-390x844").await;
        // Four options: a list with its button, every row shown.
        fill(&m, "input[name=opt_title_2]", "Opening hours").await;
        fill(&m, "input[name=opt_title_3]", "Talk to a person").await;
        assert_eq!(shown_rows(&m).await, 5);
        wait_text(&m, "#preview .wa-sheet", "Talk to a person").await;
        wait_text(&m, "#preview", "Sent as a list").await;
        js(
            &m,
            "document.querySelector('#preview').scrollIntoView({block: 'end'}); return null;",
        )
        .await;
        shot(&m, "automation-list-390x844").await;
        // Clearing a middle title keeps the rows after it in view (nothing hidden is sent).
        fill(&m, "input[name=opt_title_3]", "").await;
        fill(&m, "input[name=opt_title_2]", "").await;
        fill(&m, "input[name=opt_title_2]", "Opening hours").await;
        assert_eq!(shown_rows(&m).await, 4);
        viewport(&m, 1280, 800).await;
        js(&m, "window.scrollTo(0, 0); return null;").await;
        let beside = js(
            &m,
            "const f = document.querySelector('#automation > section.card').getBoundingClientRect(); \
             const p = document.querySelector('.preview-card').getBoundingClientRect(); \
             return p.left >= f.right && p.top < 400;",
        )
        .await;
        assert_eq!(beside, json!(true), "on a wide screen the preview sits beside the form");
        shot(&m, "automation-1280x800").await;
        viewport(&m, 390, 844).await;
        click(&m, "#automation button[type=submit]").await;
        wait_text(&m, "#notice", "Automation saved").await;
        let console = console_errors(&m, "automation").await;

        // What the bot did, in the conversation's timeline: a new customer gets the menu, taps
        // the first button, and the bot hands over.
        b(|| {
            let hook = crate::whatsapp::hook_of(&[crate::whatsapp::text_entry(
                crate::bot::WABA,
                "7300",
                "wamid.s1",
                "16505550077",
                "Hello, do you deliver?",
            )]);
            crate::whatsapp::deliver(&app, &hook);
            graph.wait_sends(1);
            let tap = crate::bot::tap_entry(
                "7300",
                "wamid.s2",
                "16505550077",
                "button_reply",
                "buy-something",
                "Buy something",
            );
            crate::whatsapp::deliver(&app, &crate::whatsapp::hook_of(&[tap]));
        });
        let conv = b(|| crate::whatsapp::conversation_on(&app, ch))["id"]
            .as_i64()
            .expect("conversation id");
        m.goto(&format!("{base}/c/{conv}"))
            .await
            .expect("conversation page");
        wait_text(&m, "li.bot", "Bot · ").await;
        wait_text(&m, "main", "Bot sent the menu").await;
        wait_text(&m, "main", "Bot handed over: the customer chose").await;
        shot(&m, "automation-timeline-390x844").await;
        viewport(&m, 1280, 800).await;
        wait_text(&m, "main", "Bot handed over").await;
        shot(&m, "automation-timeline-1280x800").await;
        let console_after = console_errors(&m, "conversation").await;
        m.close().await.expect("close");
        assert!(console.is_empty(), "browser console errors: {console:#?}");
        assert!(
            console_after.is_empty(),
            "browser console errors: {console_after:#?}"
        );
    });
    let a = app
        .api
        .get(&format!("/api/v1/channels/{ch}/automation"), &app.ana.token)
        .expect(200);
    assert_eq!(a["menu"]["enabled"], true);
    assert_eq!(
        a["menu"]["options"],
        json!([{"id": "buy-something", "title": "Buy something", "team_id": null, "tags": [], "priority": null},
               {"id": "track-my-order", "title": "Track my order", "team_id": null, "tags": [], "priority": null},
               {"id": "opening-hours", "title": "Opening hours", "team_id": null, "tags": [], "priority": null}])
    );
}

/// How many option rows the page shows (rows hidden by the style sheet are not counted).
async fn shown_rows(m: &Client) -> usize {
    let n = js(
        m,
        "return Array.from(document.querySelectorAll('fieldset.option')) \
           .filter(f => f.getClientRects().length > 0).length;",
    )
    .await;
    n.as_u64().expect("a count") as usize
}
