//! The Now board (#11) in Chromium at 390×844: a manager lands on it, and it follows a claim
//! and an agent going busy live (awaited DOM changes, no sleeps). Screenshots of the board and
//! of the Reports page.

use super::*;
use crate::support::TestApp;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn now_board_updates_live_on_claim_and_busy() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let (_, _, conv) = app.conversation("http://127.0.0.1:9/cb");
    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let m = driver.browser().await;
        login(&m, &base, &app.manager.email).await;
        m.goto(&format!("{base}/")).await.expect("home");
        wait_text(&m, "main.now h1", "Now").await;
        wait_text(&m, "#now-unassigned", "1").await;
        wait_text(&m, "#live", "live").await;
        let row = format!("tr[data-agent='{}']", app.ana.id);
        wait_text(&m, &format!("{row} td[data-field=open]"), "0").await;
        shot(&m, "now-board-390x844").await;

        b(|| app.claim(conv, &app.ana));
        wait_text(&m, "#now-unassigned", "0").await;
        wait_text(&m, &format!("{row} td[data-field=open]"), "1").await;

        b(|| {
            app.api
                .put(
                    "/api/v1/me/status",
                    &app.ana.token,
                    json!({"status": "busy"}),
                )
                .expect(200)
        });
        wait_text(&m, &row, "Busy").await;
        shot(&m, "now-board-live-390x844").await;
        let console = console_errors(&m, "now board").await;

        m.goto(&format!("{base}/reports")).await.expect("reports");
        wait_text(&m, "main.reports h1", "Reports").await;
        shot(&m, "reports-390x844").await;
        m.close().await.expect("close");
        assert!(console.is_empty(), "browser console errors: {console:#?}");
    });
}
