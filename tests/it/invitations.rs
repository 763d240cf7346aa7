//! Staff invitations and password resets by one-time link (#14): the API (create without a
//! password, accept, re-issue, revoke), dead links (used, expired, revoked, replaced) refused
//! with 410 in words, a reset ending every old sign-in, throttled guessing, and the Settings and
//! `/invite` pages. The command line and the log: `invitations_cli.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::session::browser_client;
use crate::support::{PASSWORD, Resp, TestApp};

/// The token of an invitation URL.
#[track_caller]
pub(crate) fn token_of(url: &str) -> String {
    url.split_once("/invite?token=")
        .unwrap_or_else(|| panic!("not an invitation link: {url}"))
        .1
        .to_string()
}

/// `POST /api/v1/invitations/accept` with these fields.
fn accept(app: &TestApp, body: Value) -> Resp {
    app.api.raw(
        Method::POST,
        "/api/v1/invitations/accept",
        None,
        Some(body.to_string().into_bytes()),
    )
}

/// The owner invites `name` as an agent of Sales; returns (user id, token).
#[track_caller]
fn invite(app: &TestApp, name: &str) -> (i64, String) {
    let made = app
        .api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": name, "email": format!("{}@shop.test", name.to_lowercase()), "role": "agent", "teams": [app.sales]}),
        )
        .expect(201);
    (
        made["id"].as_i64().expect("id"),
        token_of(made["invitation"]["url"].as_str().expect("url")),
    )
}

#[test]
fn a_user_created_without_a_password_gets_a_link_that_sets_it_and_logs_in() {
    let app = TestApp::spawn();
    let before = teaminbox::domain::time::now_ms();
    let made = app
        .api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": "Dora", "email": "dora@shop.test", "role": "agent", "teams": [app.sales]}),
        )
        .expect(201);
    let after = teaminbox::domain::time::now_ms();
    assert_eq!(made["email"], "dora@shop.test");
    assert_eq!(made["teams"][0]["name"], "Sales");
    let url = made["invitation"]["url"].as_str().expect("url");
    // The test server listens on loopback only: the LAN base it prints is localhost.
    let port = app.api.base.rsplit(':').next().expect("port");
    assert!(
        url.starts_with(&format!("http://localhost:{port}/invite?token=")),
        "{url}"
    );
    let token = token_of(url);
    assert_eq!(token.len(), 64, "{token}");
    let expires = teaminbox::domain::time::parse_rfc3339(
        made["invitation"]["expires_at"]
            .as_str()
            .expect("expires_at"),
    )
    .expect("RFC 3339");
    let ttl = 72 * 3600 * 1000;
    assert!(
        (before + ttl..=after + ttl + 1).contains(&expires),
        "{expires}"
    );
    // No password works until Dora sets one.
    app.api
        .login("dora@shop.test", "")
        .expect_error(401, "unauthenticated");

    let done = accept(
        &app,
        json!({"token": token, "password": "dora's own password", "name": "Dora Díaz"}),
    )
    .expect(201);
    assert_eq!(done["user"]["name"], "Dora Díaz");
    let mine = done["token"].as_str().expect("token");
    let me = app.api.get("/api/v1/me", mine).expect(200);
    assert_eq!(me["email"], "dora@shop.test");
    app.api
        .login("dora@shop.test", "dora's own password")
        .expect(201);

    // Creating with a password keeps working for scripts: no invitation then.
    let scripted = app
        .api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": "Eva", "email": "eva@shop.test", "role": "manager", "password": PASSWORD}),
        )
        .expect(201);
    assert!(scripted.get("invitation").is_none(), "{scripted}");
    app.api.login("eva@shop.test", PASSWORD).expect(201);
}

#[test]
fn only_owners_issue_and_revoke_links_and_a_weak_password_changes_nothing() {
    let app = TestApp::spawn();
    let (dora, token) = invite(&app, "Dora");
    for staff in [&app.manager, &app.ana] {
        app.api
            .post(
                "/api/v1/users",
                &staff.token,
                json!({"name": "X", "email": "x@shop.test", "role": "agent"}),
            )
            .expect_error(403, "");
        app.api
            .post(
                &format!("/api/v1/users/{dora}/invitation"),
                &staff.token,
                json!({}),
            )
            .expect_error(403, "");
        app.api
            .delete(&format!("/api/v1/users/{dora}/invitation"), &staff.token)
            .expect_error(403, "");
    }
    app.api
        .post("/api/v1/users/9999/invitation", &app.owner.token, json!({}))
        .expect_error(404, "not_found");
    // Too short a password: 422, and the link still works.
    accept(&app, json!({"token": token, "password": "short"})).expect_error(422, "weak_password");
    accept(&app, json!({"token": token, "password": "long enough now"})).expect(201);
}

/// A dead link of each kind: how it died, and the word its refusal must say.
#[test]
fn used_expired_revoked_and_replaced_links_are_refused_with_410_in_words() {
    let mut app = TestApp::spawn();
    type Kill = fn(&TestApp, i64, &str);
    let cases: [(&str, Kill, &str); 5] = [
        (
            "used",
            |app, _, token| {
                accept(app, json!({"token": token, "password": "first password"})).expect(201);
            },
            "used already",
        ),
        (
            "expired",
            |app, id, _| {
                app.store
                    .write_blocking(move |c| {
                        c.execute(
                            "UPDATE invitations SET expires_at = ?2 WHERE user_id = ?1",
                            [id, teaminbox::domain::time::now_ms() - 1],
                        )
                        .map_err(teaminbox::store::StoreError::from)
                    })
                    .expect("expire");
            },
            "expired",
        ),
        (
            "revoked",
            |app, id, _| {
                let r = app
                    .api
                    .delete(&format!("/api/v1/users/{id}/invitation"), &app.owner.token);
                assert_eq!(r.status.as_u16(), 204);
            },
            "revoked",
        ),
        (
            "replaced by a re-issue",
            |app, id, _| {
                let new = app
                    .api
                    .post(
                        &format!("/api/v1/users/{id}/invitation"),
                        &app.owner.token,
                        json!({}),
                    )
                    .expect(201);
                assert_eq!(
                    new["kind"], "invite",
                    "an invitation never used is re-issued as one"
                );
                let fresh = token_of(new["url"].as_str().expect("url"));
                // The new one works.
                accept(
                    app,
                    json!({"token": fresh, "password": "the new link works"}),
                )
                .expect(201);
            },
            "replaced",
        ),
        ("made up", |_, _, _| {}, "not valid"),
    ];
    for (i, (how, kill, words)) in cases.iter().enumerate() {
        let (id, mut token) = invite(&app, &format!("Person{i}"));
        kill(&app, id, &token);
        if *how == "made up" {
            token = "f".repeat(64);
        }
        let refused = accept(
            &app,
            json!({"token": token, "password": "any good password"}),
        )
        .expect_error(410, "invitation_invalid");
        let message = refused["error"]["message"].as_str().expect("message");
        assert!(message.contains(words), "{how}: {message}");
        // The page says so too, with what to do.
        let page = browser_client()
            .get(format!("{}/invite?token={token}", app.api.base))
            .send()
            .expect("page");
        assert_eq!(page.status().as_u16(), 410, "{how}");
        let html = page.text().expect("html");
        assert!(
            html.contains(words) && html.contains("owner"),
            "{how}: {html}"
        );
        // Each refusal counted as a guess (throttled after 5): the next case starts with a
        // clean slate, as after a restart.
        app.restart();
    }
}

#[test]
fn a_reset_ends_every_old_session_and_token_of_that_person() {
    let app = TestApp::spawn();
    let bruno_page = app.session(&app.bruno);
    let second = app.api.login(&app.bruno.email, PASSWORD).expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let reset = app
        .api
        .post(
            &format!("/api/v1/users/{}/invitation", app.bruno.id),
            &app.owner.token,
            json!({}),
        )
        .expect(201);
    assert_eq!(reset["kind"], "reset", "Bruno has a password: a reset");
    // Until he uses the link, everything of his keeps working.
    app.api.get("/api/v1/me", &app.bruno.token).expect(200);
    let done = accept(
        &app,
        json!({"token": token_of(reset["url"].as_str().expect("url")), "password": "bruno's new one"}),
    )
    .expect(201);
    for old in [&app.bruno.token, &second] {
        app.api
            .get("/api/v1/me", old)
            .expect_error(401, "unauthenticated");
    }
    assert_eq!(
        bruno_page.get("/?view=mine").status().as_u16(),
        303,
        "his browser is logged out"
    );
    app.api
        .login(&app.bruno.email, PASSWORD)
        .expect_error(401, "unauthenticated");
    app.api
        .login(&app.bruno.email, "bruno's new one")
        .expect(201);
    app.api
        .get("/api/v1/me", done["token"].as_str().expect("token"))
        .expect(200);
    // Nobody else was signed out.
    app.api.get("/api/v1/me", &app.ana.token).expect(200);
}

#[test]
fn guessing_tokens_is_throttled_like_logins() {
    let app = TestApp::spawn();
    let (_, good) = invite(&app, "Dora");
    for guess in [
        "0".repeat(64),
        String::new(),
        "x".repeat(300),
        "a".repeat(63),
        "not a token".into(),
    ] {
        accept(&app, json!({"token": guess, "password": "some password"}))
            .expect_error(410, "invitation_invalid");
    }
    let locked = accept(
        &app,
        json!({"token": "1".repeat(64), "password": "some password"}),
    );
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry), "{retry}");
    locked.expect_error(429, "rate_limited");
    // Even the right link waits, as a right password does after failed logins; the page too.
    accept(&app, json!({"token": good, "password": "dora's password"}))
        .expect_error(429, "rate_limited");
    let page = browser_client()
        .get(format!("{}/invite?token={good}", app.api.base))
        .send()
        .expect("page");
    assert_eq!(page.status().as_u16(), 429);
    assert!(page.headers().contains_key("retry-after"));
}

#[test]
fn settings_invite_shows_the_link_with_its_qr_code_and_lists_revokes_and_reissues_it() {
    let app = TestApp::spawn();
    let owner = app.session(&app.owner);
    let sales = app.sales.to_string();
    let shown = owner.form(
        "/settings/invitations",
        &[
            ("name", "Dora"),
            ("email", "dora@shop.test"),
            ("role", "agent"),
            ("teams", &sales),
        ],
    );
    assert_eq!(shown.status().as_u16(), 200);
    let html = shown.text().expect("html");
    let url = html
        .split("id=\"invite-url\"")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no link field: {html}"))
        .to_string();
    let first = token_of(&url);
    assert!(
        html.contains("<svg") && html.contains("Invitation for Dora"),
        "{html}"
    );
    let settings = owner.page("/settings");
    assert!(
        settings.contains("Pending invitations") && settings.contains("dora@shop.test"),
        "{settings}"
    );
    let dora = app.api.get("/api/v1/users", &app.owner.token).expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["email"] == "dora@shop.test")
        .expect("Dora")["id"]
        .as_i64()
        .expect("id");

    // Re-issue: a new link on a new page, the old one dead.
    let again = owner.form(&format!("/settings/invitations/{dora}"), &[]);
    assert_eq!(again.status().as_u16(), 200);
    let again = again.text().expect("html");
    assert!(!again.contains(&first), "the old token is not shown again");
    accept(&app, json!({"token": first, "password": "a good password"}))
        .expect_error(410, "invitation_invalid");

    // Revoke: gone from the list.
    let revoked = owner.form(&format!("/settings/invitations/{dora}/delete"), &[]);
    assert_eq!(revoked.status().as_u16(), 303);
    let settings = owner.page("/settings");
    assert!(
        !settings.contains("dora@shop.test</span> · invitation"),
        "{settings}"
    );

    // Without the CSRF token nothing happens; agents cannot reach it.
    let forged = owner.form_as_is(
        "/settings/invitations",
        &[
            ("name", "Eve"),
            ("email", "eve@shop.test"),
            ("role", "owner"),
        ],
    );
    assert_eq!(forged.status().as_u16(), 403);
    let agent = app.session(&app.ana);
    let refused = agent.form(&format!("/settings/invitations/{}", app.bruno.id), &[]);
    assert_eq!(refused.status().as_u16(), 403);
    app.api
        .login("eve@shop.test", "")
        .expect_error(401, "unauthenticated");
}

#[test]
fn the_invite_page_sets_the_password_logs_in_and_then_says_the_link_was_used() {
    let app = TestApp::spawn();
    let (_, token) = invite(&app, "Dora");
    let client = browser_client();
    let page = client
        .get(format!("{}/invite?token={token}", app.api.base))
        .send()
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().expect("html");
    assert!(
        html.contains("value=\"Dora\"") && html.contains("Welcome"),
        "{html}"
    );
    // A weak password: the form again, the link still good.
    let weak = client
        .post(format!("{}/invite", app.api.base))
        .form(&[
            ("token", token.as_str()),
            ("name", "Dora"),
            ("password", "short"),
        ])
        .send()
        .expect("post");
    assert_eq!(weak.status().as_u16(), 422);
    assert!(weak.text().expect("html").contains("at least 8"));
    let done = client
        .post(format!("{}/invite", app.api.base))
        .form(&[
            ("token", token.as_str()),
            ("name", "Dora D."),
            ("password", "dora's password"),
        ])
        .send()
        .expect("post");
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(done.headers()["location"], "/");
    let cookie = done.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().expect("pair").to_string();
    let inbox = client
        .get(format!("{}/", app.api.base))
        .header("Cookie", &pair)
        .send()
        .expect("inbox");
    assert_eq!(inbox.status().as_u16(), 200);
    assert!(inbox.text().expect("html").contains("Dora D."));
    let used = client
        .get(format!("{}/invite?token={token}", app.api.base))
        .send()
        .expect("page");
    assert_eq!(used.status().as_u16(), 410);
    assert!(used.text().expect("html").contains("used already"));
    // A form from elsewhere is refused (login CSRF).
    let (_, other) = invite(&app, "Eva");
    let forged = client
        .post(format!("{}/invite", app.api.base))
        .header("Origin", "http://evil.example")
        .form(&[
            ("token", other.as_str()),
            ("name", "Eva"),
            ("password", "attacker's password"),
        ])
        .send()
        .expect("post");
    assert_eq!(forged.status().as_u16(), 403);
}
