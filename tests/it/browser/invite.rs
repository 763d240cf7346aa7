//! Inviting staff by link (#14) in Chromium at 390×844: the owner invites Ana in Settings and
//! gets the link with its QR code; a second browser opens the link, Ana sets her password and
//! lands in the inbox as herself; the link then says it was used. Screenshots in
//! target/screenshots/invite-*.png.

use super::*;
use crate::support::TestApp;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn the_owner_invites_ana_who_sets_her_password_on_her_phone() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let mut console = Vec::new();
        let owner = driver.browser().await;
        login(&owner, &base, "olga@shop.test").await;
        owner
            .goto(&format!("{base}/settings"))
            .await
            .expect("settings");
        click(&owner, "#invite > summary").await;
        fill(&owner, "#new-name", "Ana Lima").await;
        fill(&owner, "#new-email", "ana.lima@shop.test").await;
        click(
            &owner,
            &format!("#invite input[name=teams][value='{}']", app.sales),
        )
        .await;
        click(&owner, "#invite form button[type=submit]").await;
        wait_text(&owner, "h1", "Invitation for Ana Lima").await;
        let qr = owner
            .execute(
                "return document.querySelectorAll('#invite-qr svg path').length;",
                vec![],
            )
            .await
            .expect("qr");
        assert_eq!(qr, json!(1), "the QR code is on the page");
        // The link fits the phone's width: nothing scrolls sideways.
        let wide = owner
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth;",
                vec![],
            )
            .await
            .expect("width");
        assert_eq!(
            wide,
            json!(false),
            "the link page scrolls sideways at 390 px"
        );
        let link = owner
            .execute(
                "return document.getElementById('invite-url').value;",
                vec![],
            )
            .await
            .expect("link");
        let link = link.as_str().expect("link").to_string();
        // The server listens on loopback: its LAN base is localhost, the same machine.
        assert!(link.contains("/invite?token="), "{link}");
        std::fs::write(
            screenshots().join("invite-link-390x844.png"),
            owner.screenshot().await.expect("shot"),
        )
        .expect("write");
        console.extend(console_errors(&owner, "invitation link").await);

        // Ana's phone: a second browser with nothing of the owner's.
        let ana = driver.browser().await;
        ana.goto(&link).await.expect("invitation");
        wait_text(&ana, "h1", "Welcome to teaminbox").await;
        std::fs::write(
            screenshots().join("invite-accept-390x844.png"),
            ana.screenshot().await.expect("shot"),
        )
        .expect("write");
        console.extend(console_errors(&ana, "invite page").await);
        fill(&ana, "#password", "ana's own password").await;
        click(&ana, "button[type=submit]").await;
        wait_text(&ana, "header .who", "Ana Lima · agent").await;
        std::fs::write(
            screenshots().join("invite-inbox-390x844.png"),
            ana.screenshot().await.expect("shot"),
        )
        .expect("write");
        console.extend(console_errors(&ana, "inbox after invite").await);

        // The link works once.
        ana.goto(&link).await.expect("used link");
        wait_text(&ana, "#link-state", "This link was used already").await;
        std::fs::write(
            screenshots().join("invite-used-390x844.png"),
            ana.screenshot().await.expect("shot"),
        )
        .expect("write");

        // Nothing pending for Ana in the owner's Settings any more.
        owner
            .goto(&format!("{base}/settings"))
            .await
            .expect("settings");
        wait_text(&owner, "#pending-invitations", "None").await;
        console.extend(console_errors(&owner, "settings").await);
        assert!(console.is_empty(), "browser console errors: {console:#?}");
        ana.close().await.expect("close");
        owner.close().await.expect("close");
    });
    app.api
        .login("ana.lima@shop.test", "ana's own password")
        .expect(201);
}
