//! End of shift in Chromium at 390×844: an agent with 4 open conversations opens "End my shift"
//! from the menu, writes one note (the others keep their suggestion), picks a colleague, ticks
//! "go offline" and submits once — all 4 move with their notes and she is offline. Then the
//! owner's business hours page, with a refused overlap shown in words. Screenshots of both.

use super::*;
use crate::support::TestApp;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it with --include-ignored"]
fn four_conversations_handed_over_in_one_submit() {
    require_browser();
    let app = TestApp::spawn();
    let base = app.api.base.clone();
    let cb = FakeCallback::start(&[Reply::Status(200)]);
    let (ch, secret) = app.api_channel(&cb.url);
    let customers = [
        (
            "maria",
            "Maria Silva",
            "Is the blue one in stock in size M?",
        ),
        ("jonas", "Jonas", "Where is my parcel?"),
        ("lena", "Lena", "Do you ship to Porto?"),
        ("tomas", "Tomás", "Can I pay cash on pickup?"),
    ];
    let ids: Vec<i64> = customers
        .iter()
        .map(|(who, name, text)| {
            let id = app
                .api
                .raw(
                    Method::POST,
                    &format!("/api/v1/channels/{ch}/inbound"),
                    Some(&secret),
                    Some(
                        json!({"external_id": who, "contact": {"identifier": who, "name": name}, "text": text})
                            .to_string()
                            .into_bytes(),
                    ),
                )
                .expect(201)["conversation_id"]
                .as_i64()
                .expect("id");
            app.claim(id, &app.ana);
            id
        })
        .collect();
    // Lena's 24-hour window closes in 80 minutes (an API channel has no window: set it as a
    // WhatsApp conversation would have it).
    let lena = ids[2];
    app.store
        .write_blocking(move |c| {
            c.execute(
                "UPDATE conversations SET window_closes_at = ?2 WHERE id = ?1",
                [
                    lena,
                    teaminbox::domain::time::now_ms() + 80 * 60_000 + 30_000,
                ],
            )
            .map_err(teaminbox::store::StoreError::from)
        })
        .expect("window");
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"business_hours": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]],
                    "tue": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]]},
                   "holidays": ["2026-12-25"], "timezone": "Europe/Lisbon"}),
        )
        .expect(200);

    let rt = runtime();
    let mut driver = Driver::start();
    rt.block_on(async {
        let mut console = Vec::new();
        let a = driver.browser().await;
        login(&a, &base, &app.ana.email).await;
        // From the menu, where the status control is.
        click(&a, "#menu > summary").await;
        click(&a, "#menu a[href='/shift']").await;
        wait_text(&a, "main h1", "End my shift").await;
        wait_text(&a, "main", "Maria Silva").await;
        let rows = js(&a, "return document.querySelectorAll('li.shift-row').length;").await;
        assert_eq!(rows, json!(4));
        let ticked = js(&a, "return document.querySelectorAll('input[name=c]:checked').length;").await;
        assert_eq!(ticked, json!(4), "all ticked by default");
        wait_text(
            &a,
            &format!("li.shift-row[data-conversation='{lena}'] .window-flag"),
            "Window closes in 1 h 20 min — reply or send a template first",
        )
        .await;
        let flags = js(&a, "return document.querySelectorAll('.window-flag').length;").await;
        assert_eq!(flags, json!(1), "only Lena's window closes soon");
        let suggested = js(&a, &format!("return document.querySelector('#note-{}').value;", ids[1])).await;
        assert!(
            suggested.as_str().is_some_and(|s| s.starts_with("Last message: “Where is my parcel?” — waiting")),
            "{suggested}"
        );
        console.extend(console_errors(&a, "shift").await);
        shot(&a, "shift-390x844").await;

        // One note written, one colleague, go offline, one submit.
        fill(&a, &format!("#note-{}", ids[0]), "Size M arrives Thursday; she pays cash").await;
        a.find(Locator::Css("#shift-target"))
            .await
            .expect("target")
            .select_by_value(&format!("user:{}", app.bruno.id))
            .await
            .expect("pick Bruno");
        click(&a, "input[name=go_offline]").await;
        click(&a, "main.shift button[type=submit]").await;
        wait_text(&a, "#notice", "4 conversations handed to Bruno; you are offline").await;
        console.extend(console_errors(&a, "after the shift").await);

        for (i, id) in ids.iter().enumerate() {
            let c = b(|| app.api.get(&format!("/api/v1/conversations/{id}"), &app.owner.token).expect(200));
            assert_eq!(c["assignee"]["id"], app.bruno.id, "conversation {id}");
            let tl = b(|| app.timeline(*id));
            let assigned = tl.iter().find(|i| i["kind"] == "conversation.assigned" && i["data"]["to"]["id"] == app.bruno.id).expect("moved");
            let note = tl.iter().find(|n| n["type"] == "note" && n["id"] == assigned["data"]["note_id"]).expect("its note");
            let text = note["text"].as_str().unwrap_or_default();
            if i == 0 {
                assert_eq!(text, "Size M arrives Thursday; she pays cash");
            } else {
                assert!(text.starts_with("Last message: “") && text.contains(customers[i].2), "{text}");
            }
        }
        let me = b(|| app.api.get("/api/v1/me", &app.ana.token).expect(200));
        assert_eq!(me["status"], "offline");

        // The owner's business hours page: the week, the holiday, the zone; an overlap refused.
        let o = driver.browser().await;
        login(&o, &base, &app.owner.email).await;
        o.goto(&format!("{base}/settings")).await.expect("settings");
        click(&o, "#more-settings a[href='/settings/hours']").await;
        wait_text(&o, "main h1", "Business hours").await;
        wait_text(&o, "#holidays", "2026-12-25").await;
        let zone = js(&o, "return document.querySelector('#timezone').value;").await;
        assert_eq!(zone, json!("Europe/Lisbon"));
        console.extend(console_errors(&o, "hours").await);
        shot(&o, "settings-hours-390x844").await;
        // Monday's empty row: 12:00–15:00 overlaps 09:00–13:00.
        js(&o, "const d = document.querySelector('#day-mon'); \
                const o = d.querySelectorAll('input[name=mon_open]'); const c = d.querySelectorAll('input[name=mon_close]'); \
                o[o.length - 1].value = '12:00'; c[c.length - 1].value = '15:00'; return null;").await;
        click(&o, "#hours button[type=submit]").await;
        wait_text(&o, "p.alert", "Not saved: Monday: 12:00–15:00 overlaps 09:00–13:00").await;
        shot(&o, "settings-hours-refused-390x844").await;
        let hours = b(|| app.api.get("/api/v1/settings", &app.owner.token).expect(200))["business_hours"]["mon"].clone();
        assert_eq!(hours, json!([["09:00", "13:00"], ["14:00", "18:00"]]), "nothing saved");
        // The refused form's 422 is in the console by design: nothing more to read there.
        assert!(console.is_empty(), "browser console: {console:?}");
    });
}
