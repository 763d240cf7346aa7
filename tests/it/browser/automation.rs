//! A channel's automation settings (#13) in Chromium at 390×844: a manager types a menu, the
//! preview shows the buttons the customer will get (htmx re-renders it on input), a title over
//! Meta's 20 characters is named in the preview, and saving keeps the menu. Screenshot of the
//! page with its preview.

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
        click(&m, "input[name=menu_enabled]").await;
        fill(&m, "input[name=opt_title_0]", "Buy something").await;
        fill(&m, "input[name=opt_title_1]", "Help with an order").await;
        wait_text(&m, "#preview button", "Help with an order").await;
        wait_text(&m, "#preview", "Reply buttons").await;
        // Over Meta's limit for a button: the preview says so before saving.
        fill(&m, "input[name=opt_title_1]", "Help with an order please").await;
        wait_text(&m, "#preview [role=alert]", "at most 20").await;
        fill(&m, "input[name=opt_title_1]", "Track my order").await;
        wait_text(&m, "#preview button", "Track my order").await;
        js(
            &m,
            "document.querySelector('#preview').scrollIntoView({block: 'center'}); return null;",
        )
        .await;
        shot(&m, "automation-preview-390x844").await;
        click(&m, "#automation button[type=submit]").await;
        wait_text(&m, "#notice", "Automation saved").await;
        let console = console_errors(&m, "automation").await;
        m.close().await.expect("close");
        assert!(console.is_empty(), "browser console errors: {console:#?}");
    });
    let a = app
        .api
        .get(&format!("/api/v1/channels/{ch}/automation"), &app.ana.token)
        .expect(200);
    assert_eq!(a["menu"]["enabled"], true);
    assert_eq!(
        a["menu"]["options"],
        json!([{"id": "buy-something", "title": "Buy something", "team_id": null, "tags": [], "priority": null},
               {"id": "track-my-order", "title": "Track my order", "team_id": null, "tags": [], "priority": null}])
    );
}
