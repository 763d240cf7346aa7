//! Browser routes over plain HTTP: sessions, CSRF, roles, headers, escaping.

use reqwest::Method;
use serde_json::json;

use crate::support::session::{browser_client as client, login_form};
use crate::support::{FakeCallback, PASSWORD, TestApp};

#[test]
fn sessions_csrf_and_roles() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let landed = app
        .api
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{ch}/inbound"),
            Some(&secret),
            Some(json!({"external_id": "x", "contact": {"identifier": "e", "name": "<img src=x onerror=alert(1)>"},
                "text": "<script>alert(2)</script>"}).to_string().into_bytes()),
        )
        .expect(201);
    let conv = landed["conversation_id"].as_i64().expect("id");
    let base = &app.api.base;
    let c = client();
    // No session: to the login page, remembering where to return.
    let r = c.get(format!("{base}/c/{conv}")).send().expect("get");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], format!("/login?next=/c/{conv}"));
    let bad = c
        .post(format!("{base}/login"))
        .form(&[("email", "ana@shop.test"), ("password", "nope")])
        .send()
        .expect("bad login");
    assert_eq!(bad.status().as_u16(), 401);
    assert!(
        bad.text()
            .expect("body")
            .contains("Wrong email or password.")
    );

    // Logging in returns to the page asked for, with a cookie scripts cannot read.
    let r = login_form(base, "ana@shop.test", PASSWORD, Some("/c/1"));
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/c/1",
        "returns to the page asked for"
    );
    let ana = app.session(&app.ana);
    let page = ana.get(&format!("/c/{conv}"));
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().expect("html");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "customer name escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
        "message escaped"
    );
    assert!(!html.contains("<script>alert"), "no raw script");
    assert!(!html.contains("<script>"), "no inline script at all");
    assert_eq!(
        crate::support::session::csrf_of(&html),
        ana.csrf,
        "one CSRF token per session"
    );

    // A form without the session's CSRF token changes nothing.
    let notes = app.count("notes");
    let note = format!("/c/{conv}/note");
    let r = ana.form_as_is(&note, &[("csrf", "forged"), ("text", "x")]);
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(app.count("notes"), notes);
    let r = ana.form(&note, &[("text", "from the page")]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(app.count("notes"), notes + 1);
    // A refused action shows a readable message, not a crash.
    let r = ana.form(&format!("/c/{conv}/reply"), &[("text", "hi")]);
    assert_eq!(r.status().as_u16(), 409);
    assert!(r.text().expect("html").contains("claim it before replying"));

    // The API accepts the session cookie; unsafe methods also need the CSRF header.
    assert_eq!(ana.get("/api/v1/me").status().as_u16(), 200);
    let notes_api = format!("/api/v1/conversations/{conv}/notes");
    let body = json!({"text": "via cookie"});
    let r = ana.api(Method::POST, &notes_api, &body, false);
    assert_eq!(r.status().as_u16(), 403);
    let r = ana.api(Method::POST, &notes_api, &body, true);
    assert_eq!(r.status().as_u16(), 201);

    // Agents do not get the settings; managers and owners do.
    assert_eq!(ana.get("/settings").status().as_u16(), 403);
    let manager = app.session(&app.manager);
    assert_eq!(manager.get("/settings").status().as_u16(), 200);
    let owner = app.session(&app.owner);
    assert_eq!(owner.get("/settings").status().as_u16(), 200);

    // Logging out ends the session.
    let r = ana.form("/logout", &[]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(ana.get("/").status().as_u16(), 303);
}

#[test]
fn assets_are_cached_by_content_and_logins_are_throttled_readably() {
    let app = TestApp::spawn();
    let c = client();
    let base = &app.api.base;
    let page = c
        .get(format!("{base}/login"))
        .send()
        .expect("login page")
        .text()
        .expect("html");
    let css = page
        .split('"')
        .find(|s| s.starts_with("/assets/app.") && s.ends_with(".css"))
        .expect("hashed css")
        .to_string();
    let r = c
        .get(format!("{base}{css}"))
        .header("Accept-Encoding", "gzip")
        .send()
        .expect("css");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("immutable")
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let etag = r.headers()["etag"].clone();
    let r = c
        .get(format!("{base}{css}"))
        .header("If-None-Match", etag)
        .send()
        .expect("css");
    assert_eq!(r.status().as_u16(), 304);
    let manifest: serde_json::Value = c
        .get(format!("{base}/assets/manifest.webmanifest"))
        .send()
        .expect("manifest")
        .json()
        .expect("manifest json");
    for icon in manifest["icons"].as_array().expect("icons") {
        let r = c
            .get(format!("{base}{}", icon["src"].as_str().expect("src")))
            .send()
            .expect("icon");
        assert_eq!(r.status().as_u16(), 200, "{icon}");
        assert_eq!(
            r.headers()["content-type"],
            icon["type"].as_str().expect("type")
        );
    }
    assert_eq!(
        c.get(format!("{base}/assets/manifest.webmanifest"))
            .send()
            .expect("manifest")
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/assets/nothing.js"))
            .send()
            .expect("missing")
            .status()
            .as_u16(),
        404
    );
    for _ in 0..5 {
        c.post(format!("{base}/login"))
            .form(&[("email", "carla@shop.test"), ("password", "wrong")])
            .send()
            .expect("login");
    }
    let r = c
        .post(format!("{base}/login"))
        .form(&[("email", "carla@shop.test"), ("password", PASSWORD)])
        .send()
        .expect("login");
    assert_eq!(r.status().as_u16(), 429);
    assert!(
        r.text()
            .expect("html")
            .contains("Too many failed logins. Try again in 15 minutes.")
    );
}

#[test]
fn channels_from_settings_and_the_window_in_the_composer() {
    let app = TestApp::spawn();
    let owner = app.session(&app.owner);
    let r = owner.form(
        "/settings/channels",
        &[
            ("kind", "api"),
            ("name", "Site chat"),
            ("callback_url", "https://example.com/hook"),
        ],
    );
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().expect("html");
    assert!(
        html.contains("Its secret, shown only now:"),
        "the secret is shown once"
    );
    let again = owner.page("/settings");
    assert!(!again.contains("shown only now"));
    let r = owner.form(
        "/settings/channels",
        &[
            ("kind", "whatsapp"),
            ("name", "Shop number"),
            ("phone_number_id", "1055"),
            ("waba_id", "2066"),
            ("access_token", "EAAG-secret-token"),
            ("app_secret", "app-secret-value"),
            ("verify_token", "tea"),
            // Never Meta's real host from a test: a closed loopback port.
            ("graph_api_base", "http://127.0.0.1:9"),
        ],
    );
    // Connected: back to Settings, which says so once (the notice cookie of see_other_notice).
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/settings#channels");
    let notice = r.headers()["set-cookie"].to_str().expect("cookie");
    let notice = notice.split(';').next().expect("pair").to_string();
    let html = owner
        .client
        .get(format!("{}/settings", owner.base))
        .header("Cookie", format!("{}; {notice}", owner.cookie))
        .send()
        .expect("settings")
        .text()
        .expect("html");
    assert!(html.contains("Shop number connected"));
    assert!(
        !html.contains("EAAG-secret-token") && !html.contains("app-secret-value"),
        "secrets never shown after saving"
    );
    // A new access token through the API: applied, still never shown.
    let wa_id = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["kind"] == "whatsapp")
        .expect("wa")["id"]
        .clone();
    let patched = app
        .api
        .patch(
            &format!("/api/v1/channels/{wa_id}"),
            &app.owner.token,
            json!({"config": {"access_token": "EAAG-new-token"}}),
        )
        .expect(200);
    assert_eq!(patched["config"]["access_token_set"], true);
    assert!(!patched.to_string().contains("EAAG-new-token"));
    assert_eq!(
        patched["config"]["phone_number_id"], "1055",
        "other keys kept"
    );
    app.api
        .patch(
            &format!("/api/v1/channels/{wa_id}"),
            &app.manager.token,
            json!({"name": "x"}),
        )
        .expect_error(403, "forbidden");
    app.api
        .patch(
            &format!("/api/v1/channels/{wa_id}"),
            &app.owner.token,
            json!({"config": {"graph_api_base": "ftp://x"}}),
        )
        .expect_error(422, "invalid_config");
    // A WhatsApp customer who wrote 25 hours ago: the window is closed, only templates go.
    let wa = app
        .api
        .get("/api/v1/channels", &app.owner.token)
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["kind"] == "whatsapp")
        .expect("wa")["id"]
        .as_i64()
        .expect("id");
    let at = teaminbox::domain::time::now_ms() - 25 * 3600 * 1000;
    let landed = app
        .store
        .write_blocking(move |c| {
            teaminbox::service::inbound::receive(
                c,
                &teaminbox::service::inbound::Inbound {
                    channel: teaminbox::domain::ChannelId(wa),
                    channel_kind: teaminbox::domain::ChannelKind::Whatsapp,
                    external_id: "wamid.old",
                    identity_kind: "wa_id",
                    identifier: "351910000000",
                    name: Some("Rita"),
                    phone: Some("351910000000"),
                    kind: "text",
                    text: "Are you open tomorrow?",
                    payload: None,
                    at: Some(at),
                    nature: teaminbox::domain::conversation::InboundNature::Writing,
                },
            )
        })
        .expect("inbound");
    let conv = landed.conversation_id.0;
    app.claim(conv, &app.owner);
    let html = owner.page(&format!("/c/{conv}"));
    assert!(html.contains("The 24-hour window is closed: send a template."));
    assert!(
        html.contains("id=\"templates\"") && html.contains(&format!("data-channel=\"{wa}\"")),
        "template picker wired to the channel"
    );
    assert!(
        !html.contains("id=\"reply\""),
        "no free-text composer while the window is closed"
    );
    assert!(
        html.contains("action=\"/c/") && html.contains("/template\""),
        "the template form is offered"
    );
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &app.owner.token,
            json!({"text": "hi"}),
        )
        .expect_error(422, "window_closed");
    // Within the window: a customer message can be quoted from the page.
    let fresh = app
        .store
        .write_blocking(move |c| {
            teaminbox::service::inbound::receive(
                c,
                &teaminbox::service::inbound::Inbound {
                    channel: teaminbox::domain::ChannelId(wa),
                    channel_kind: teaminbox::domain::ChannelKind::Whatsapp,
                    external_id: "wamid.new",
                    identity_kind: "wa_id",
                    identifier: "351910000000",
                    name: Some("Rita"),
                    phone: Some("351910000000"),
                    kind: "text",
                    text: "And on Sunday?",
                    payload: None,
                    at: None,
                    nature: teaminbox::domain::conversation::InboundNature::Writing,
                },
            )
        })
        .expect("inbound");
    let mid = fresh.message_id.0;
    let html = owner.page(&format!("/c/{conv}"));
    assert!(
        html.contains(&format!("?quote={mid}")),
        "inbound messages offer a quote link"
    );
    let html = owner.page(&format!("/c/{conv}?quote={mid}"));
    assert!(html.contains("Quoting: <em>And on Sunday?</em>"), "{html}");
    let r = owner.form(
        &format!("/c/{conv}/reply"),
        &[
            ("text", "Sundays too, 10-14."),
            ("reply_to", &mid.to_string()),
        ],
    );
    assert_eq!(r.status().as_u16(), 303);
    let items = app.timeline(conv);
    let sent = items
        .iter()
        .rev()
        .find(|i| i["direction"] == "out")
        .expect("reply");
    assert_eq!(sent["text"], "Sundays too, 10-14.");
    assert_eq!(sent["payload"]["reply_to"]["message_id"], mid, "{sent}");
}
