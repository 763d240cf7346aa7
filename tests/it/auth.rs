//! Logging in, tokens, throttling, setup and staff management.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::scenario::{Scenario, Table, Who};
use crate::support::{PASSWORD, TestApp};

#[test]
fn login_issues_a_token_that_works_until_revoked() {
    let app = TestApp::spawn();
    let login = app
        .api
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": "ANA@shop.test", "password": PASSWORD})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect(201);
    let token = login["token"].as_str().expect("token").to_string();
    assert_eq!(login["user"]["email"], "ana@shop.test");
    assert_eq!(login["user"]["role"], "agent");
    assert_eq!(login["user"]["status"], "available");
    assert_eq!(login["user"]["teams"][0]["name"], "Sales");
    let me = app.api.get("/api/v1/me", &token).expect(200);
    assert_eq!(me["id"], app.ana.id);
    assert_eq!(
        app.api.delete("/api/v1/auth/token", &token).status.as_u16(),
        204
    );
    app.api
        .get("/api/v1/me", &token)
        .expect_error(401, "unauthenticated");
    // The other token of the same user still works.
    app.api.get("/api/v1/me", &app.ana.token).expect(200);
}

#[test]
fn missing_or_bad_credentials_are_401() {
    let app = TestApp::spawn();
    app.api
        .raw(Method::GET, "/api/v1/me", None, None)
        .expect_error(401, "unauthenticated");
    app.api
        .get("/api/v1/me", "nonsense")
        .expect_error(401, "unauthenticated");
    app.api
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": "ana@shop.test", "password": "wrong password"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect_error(401, "unauthenticated");
    app.api
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": "nobody@shop.test", "password": PASSWORD})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect_error(401, "unauthenticated");
    // 401 comes before 404 and 400.
    app.api
        .get("/api/v1/conversations/999", "nonsense")
        .expect_error(401, "");
    app.api
        .raw(
            Method::POST,
            "/api/v1/conversations/999/notes",
            Some("nonsense"),
            Some(b"{not json".to_vec()),
        )
        .expect_error(401, "");
}

#[test]
fn five_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn();
    let attempt = |password: &str| app.api.login("bruno@shop.test", password);
    for _ in 0..5 {
        attempt("wrong password").expect_error(401, "unauthenticated");
    }
    let locked = attempt(PASSWORD);
    // The same account written another way is the same account (#8: a leading space got
    // through), both for the lock and for the lookup.
    let login_as = |email: &str| app.api.login(email, PASSWORD);
    for spelled in [
        " bruno@shop.test",
        "BRUNO@shop.test",
        "bruno@SHOP.test\t",
        "\nbruno@shop.test ",
    ] {
        login_as(spelled).expect_error(429, "rate_limited");
    }
    login_as(" Carla@Shop.Test ").expect(201);
    let retry: u64 = locked
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry > 0 && retry <= 900, "retry after {retry}");
    locked.expect_error(429, "rate_limited");
    // Another account from the same address is not locked yet.
    app.api
        .raw(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(
                json!({"email": "ana@shop.test", "password": PASSWORD})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect(201);
}

#[test]
fn disabling_a_user_revokes_their_tokens_and_keeps_one_owner() {
    let app = TestApp::spawn();
    let path = format!("/api/v1/users/{}", app.bruno.id);
    app.api
        .patch(&path, &app.manager.token, json!({"disabled": true}))
        .expect_error(403, "forbidden");
    let u = app
        .api
        .patch(&path, &app.owner.token, json!({"disabled": true}))
        .expect(200);
    assert_eq!(u["disabled"], true);
    app.api
        .get("/api/v1/me", &app.bruno.token)
        .expect_error(401, "unauthenticated");
    app.api
        .patch(
            &format!("/api/v1/users/{}", app.owner.id),
            &app.owner.token,
            json!({"role": "agent"}),
        )
        .expect_error(409, "last_owner");
}

#[test]
fn owner_creates_staff_and_teams() {
    let app = TestApp::spawn();
    let created = app
        .api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": "Dina", "email": "dina@shop.test", "password": "long enough", "role": "agent", "teams": [app.support]}),
        )
        .expect(201);
    assert_eq!(created["teams"][0]["name"], "Support");
    assert_eq!(created["capacity"], serde_json::Value::Null);
    app.api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": "Dina", "email": "DINA@shop.test", "password": "long enough", "role": "agent"}),
        )
        .expect_error(409, "email_taken");
    app.api
        .post(
            "/api/v1/users",
            &app.manager.token,
            json!({"name": "Eve", "email": "eve@shop.test", "password": "long enough", "role": "owner"}),
        )
        .expect_error(403, "forbidden");
    app.api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": "Eve", "email": "eve@shop.test", "password": "short", "role": "agent"}),
        )
        .expect_error(422, "weak_password");
    let team = app
        .api
        .post(
            "/api/v1/teams",
            &app.manager.token,
            json!({"name": "Returns", "members": [app.ana.id]}),
        )
        .expect(201);
    assert_eq!(team["members"][0]["name"], "Ana");
    app.api
        .post("/api/v1/teams", &app.ana.token, json!({"name": "Mine"}))
        .expect_error(403, "forbidden");
    app.api
        .post(
            "/api/v1/teams",
            &app.owner.token,
            json!({"name": "returns"}),
        )
        .expect_error(409, "name_taken");
    let teams = app.api.get("/api/v1/teams", &app.ana.token).expect(200);
    assert_eq!(teams["items"].as_array().expect("items").len(), 3);
    let patched = app
        .api
        .patch(
            &format!("/api/v1/teams/{}", team["id"]),
            &app.owner.token,
            json!({"assignment": "round_robin", "members": [app.bruno.id, app.carla.id]}),
        )
        .expect(200);
    assert_eq!(patched["assignment"], "round_robin");
    assert_eq!(patched["members"].as_array().expect("members").len(), 2);
    let users = app.api.get("/api/v1/users", &app.carla.token).expect(200);
    assert_eq!(users["items"].as_array().expect("items").len(), 6);
}

#[test]
fn status_and_settings_by_role() {
    let app = TestApp::spawn();
    let (me, settings) = ("/api/v1/me/status", "/api/v1/settings");
    let get = |who: &str| Scenario::new("GET", settings, Who::named(who));
    let put = |who: &str, body: Value| Scenario::new("PUT", me, Who::named(who)).json(body);
    let patch =
        |who: &str, body: Value| Scenario::new("PATCH", settings, Who::named(who)).json(body);
    let mut t = Table::new(&app);
    #[rustfmt::skip]
    t.push(put("ana", json!({"status": "busy"})).field("/status", json!("busy")))
        .push(put("ana", json!({"status": "asleep"})).error(400, ""))
        .push(put("guest", json!({"status": "busy"})).error(401, "unauthenticated"))
        // Anyone signed in reads the settings; the defaults.
        .push(get("ana").field("/agent_visibility", json!("own_and_pool"))
            .field("/auto_pending_on_reply", json!(true)).field("/unassigned_alert_secs", json!(300)))
        .push(get("owner")).push(get("manager")).push(get("bruno")).push(get("carla"))
        .push(get("guest").error(401, "unauthenticated"))
        // Agents change nothing; managers only routing and SLA keys; owners anything.
        .push(patch("ana", json!({"timezone": "Europe/Lisbon"})).error(403, "forbidden"))
        .push(patch("ana", json!({"take_back_secs": 5})).error(403, "forbidden"))
        .push(patch("guest", json!({"take_back_secs": 5})).error(401, "unauthenticated"))
        .push(patch("manager", json!({"agent_visibility": "own"})).error(403, "forbidden"))
        .push(patch("manager", json!({"timezone": "Europe/Lisbon"})).error(403, "forbidden"))
        .push(patch("manager", json!({"take_back_secs": 600})).field("/take_back_secs", json!(600)))
        .push(patch("owner", json!({"agent_visibility": "everything"})).error(422, "invalid_setting"))
        .push(patch("owner", json!({"colour": "red"})).error(422, "unknown_setting"))
        .push(patch("owner", json!({"timezone": "Europe/Lisbon", "auto_pending_on_reply": false}))
            .field("/timezone", json!("Europe/Lisbon")).field("/take_back_secs", json!(600))
            .field("/auto_pending_on_reply", json!(false)))
        // Refused changes left no trace: what the owner set is what everyone reads.
        .push(get("carla").field("/timezone", json!("Europe/Lisbon"))
            .field("/take_back_secs", json!(600)).field("/agent_visibility", json!("own_and_pool")));
    t.check();
    let as_owner = app.api.get(settings, &app.owner.token).expect(200);
    assert_eq!(
        app.api.get(settings, &app.carla.token).expect(200),
        as_owner
    );
}

#[test]
fn first_run_setup_token_creates_the_owner_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = teaminbox::store::Store::open(dir.path()).expect("open");
    let token = store
        .write_blocking(teaminbox::service::auth::ensure_setup_token)
        .expect("token")
        .expect("no users yet");
    drop(store);
    let server = crate::support::start_server(crate::support::test_config(dir.path().into()));
    let api = crate::support::Api::new(&format!("http://{}", server.addr));
    // The server made a fresh token at start: the old one is void.
    let body = |t: &str| {
        Some(
            json!({"token": t, "name": "Olga", "email": "olga@shop.test", "password": PASSWORD})
                .to_string()
                .into_bytes(),
        )
    };
    api.raw(Method::POST, "/api/v1/setup", None, body(&token))
        .expect_error(401, "unauthenticated");
    let fresh = server
        .store
        .write_blocking(teaminbox::service::auth::ensure_setup_token)
        .expect("token")
        .expect("still no users");
    let made = api
        .raw(Method::POST, "/api/v1/setup", None, body(&fresh))
        .expect(201);
    assert_eq!(made["user"]["role"], "owner");
    api.get("/api/v1/me", made["token"].as_str().expect("token"))
        .expect(200);
    api.raw(Method::POST, "/api/v1/setup", None, body(&fresh))
        .expect_error(401, "unauthenticated");
    server.stop();
}

#[test]
fn openapi_document_and_health() {
    let app = TestApp::spawn();
    let doc = app
        .api
        .raw(Method::GET, "/api/v1/openapi.json", None, None)
        .expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in teaminbox::web::api::ROUTES {
        assert!(
            doc["paths"][*path][*method].is_object(),
            "{method} {path} undocumented"
        );
    }
    assert_eq!(
        app.api.raw(Method::GET, "/healthz", None, None).expect(200)["status"],
        "ok"
    );
    app.api
        .raw(Method::GET, "/api/v1/nothing-here", None, None)
        .expect_error(404, "not_found");
}

#[test]
fn staff_teams_and_channels_by_role() {
    let app = TestApp::spawn();
    let bruno = format!("/api/v1/users/{}", app.bruno.id);
    let support = format!("/api/v1/teams/{}", app.support);
    let user = |n: &str| json!({"name": n, "email": format!("{n}@shop.test"), "password": "long enough", "role": "agent"});
    let channel =
        json!({"kind": "api", "name": "Hook", "config": {"callback_url": "http://127.0.0.1:9/cb"}});
    let row = |m: &str, path: &str, who: &str| Scenario::new(m, path, Who::named(who));
    let mut t = Table::new(&app);
    #[rustfmt::skip]
    t.push(row("GET", "/api/v1/users", "owner")).push(row("GET", "/api/v1/users", "manager"))
        .push(row("GET", "/api/v1/users", "carla"))
        .push(row("GET", "/api/v1/users", "guest").error(401, "unauthenticated"))
        // Only the owner manages staff.
        .push(row("POST", "/api/v1/users", "owner").json(user("dina")).status(201))
        .push(row("POST", "/api/v1/users", "manager").json(user("eve")).error(403, "forbidden"))
        .push(row("POST", "/api/v1/users", "ana").json(user("fay")).error(403, "forbidden"))
        .push(row("PATCH", &bruno, "owner").json(json!({"capacity": 3})).field("/capacity", json!(3)))
        .push(row("PATCH", &bruno, "manager").json(json!({"capacity": 4})).error(403, "forbidden"))
        .push(row("PATCH", &bruno, "bruno").json(json!({"capacity": 9})).error(403, "forbidden"))
        .push(row("PATCH", &bruno, "ana").json(json!({"disabled": true})).error(403, "forbidden"))
        // Owners and managers manage teams.
        .push(row("GET", "/api/v1/teams", "ana")).push(row("GET", "/api/v1/teams", "manager"))
        .push(row("POST", "/api/v1/teams", "owner").json(json!({"name": "Ops"})).status(201))
        .push(row("POST", "/api/v1/teams", "manager").json(json!({"name": "Returns"})).status(201))
        .push(row("POST", "/api/v1/teams", "carla").json(json!({"name": "Mine"})).error(403, "forbidden"))
        .push(row("PATCH", &support, "manager").json(json!({"assignment": "round_robin"}))
            .field("/assignment", json!("round_robin")))
        .push(row("PATCH", &support, "owner").json(json!({"assignment": "manual"})).field("/assignment", json!("manual")))
        .push(row("PATCH", &support, "carla").json(json!({"assignment": "least_loaded"})).error(403, "forbidden"))
        // Only the owner connects channels.
        .push(row("POST", "/api/v1/channels", "owner").json(channel.clone()).status(201))
        .push(row("POST", "/api/v1/channels", "manager").json(channel.clone()).error(403, "forbidden"))
        .push(row("POST", "/api/v1/channels", "ana").json(channel).error(403, "forbidden"));
    t.check();
    // What was refused left nothing behind: Dina alone was added, Bruno kept the owner's capacity.
    assert_eq!(app.count("users"), 6);
    let b = app.api.get(&bruno, &app.owner.token).expect(200);
    assert_eq!((&b["capacity"], &b["disabled"]), (&json!(3), &json!(false)));
    assert_eq!(app.count("teams"), 4);
    assert_eq!(app.count("channels"), 1);
}

#[test]
fn a_new_password_signs_the_user_out_everywhere_but_the_callers_own_session() {
    let app = TestApp::spawn();
    let login = |email: &str| -> String {
        app.api
            .post(
                "/api/v1/auth/token",
                "",
                json!({"email": email, "password": PASSWORD}),
            )
            .expect(201)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    // Ana has two sign-ins; the owner resets her password: both end.
    let ana_phone = login(&app.ana.email);
    app.api
        .patch(
            &format!("/api/v1/users/{}", app.ana.id),
            &app.owner.token,
            json!({"password": "a brand new password"}),
        )
        .expect(200);
    for token in [&app.ana.token, &ana_phone] {
        app.api
            .get("/api/v1/me", token)
            .expect_error(401, "unauthenticated");
    }
    app.api
        .post(
            "/api/v1/auth/token",
            "",
            json!({"email": app.ana.email, "password": "a brand new password"}),
        )
        .expect(201);

    // Through the settings page: the owner gives Bruno a new password; Bruno's token ends, the
    // owner's page session goes on.
    let owner_page = app.session(&app.owner);
    let bruno = app
        .api
        .get(&format!("/api/v1/users/{}", app.bruno.id), &app.owner.token)
        .expect(200);
    let teams: Vec<String> = bruno["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| t["id"].to_string())
        .collect();
    let mut fields = vec![("role", "agent"), ("password", "bruno's new password")];
    fields.extend(teams.iter().map(|t| ("teams", t.as_str())));
    let saved = owner_page.form(&format!("/settings/users/{}", app.bruno.id), &fields);
    assert_eq!(saved.status().as_u16(), 303, "saving Bruno in settings");
    app.api
        .get("/api/v1/me", &app.bruno.token)
        .expect_error(401, "unauthenticated");
    assert_eq!(owner_page.get("/settings").status().as_u16(), 200);
    let after = app
        .api
        .get(&format!("/api/v1/users/{}", app.bruno.id), &app.owner.token)
        .expect(200);
    assert_eq!(after["teams"], bruno["teams"], "the form kept his teams");
    // The owner changes their own password: their other sign-in ends, the one they used stays.
    let owner_laptop = login(&app.owner.email);
    app.api
        .patch(
            &format!("/api/v1/users/{}", app.owner.id),
            &app.owner.token,
            json!({"password": "the owner's new password"}),
        )
        .expect(200);
    app.api.get("/api/v1/me", &app.owner.token).expect(200);
    app.api
        .get("/api/v1/me", &owner_laptop)
        .expect_error(401, "unauthenticated");
    // ... and so does their page session; other people's sign-ins are untouched.
    assert_eq!(owner_page.get("/settings").status().as_u16(), 303);
    app.api.get("/api/v1/me", &app.carla.token).expect(200);
}

/// An account's email is one login whatever its case or surrounding space (`login_key`): a
/// second account with another spelling of it is 409.
#[test]
fn an_email_differing_only_in_case_is_taken() {
    let app = TestApp::spawn();
    // Ana exists as ana@shop.test.
    for (i, email) in [
        "ANA@shop.test",
        "Ana@Shop.Test",
        " ana@SHOP.TEST ",
        "ana@shop.tesT",
    ]
    .iter()
    .enumerate()
    {
        app.api
            .post(
                "/api/v1/users",
                &app.owner.token,
                json!({"name": format!("Ana {i}"), "email": email, "password": "long enough", "role": "agent"}),
            )
            .expect_error(409, "email_taken");
    }
    let users = app.api.get("/api/v1/users", &app.owner.token).expect(200);
    let anas = users["items"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case("ana@shop.test"))
        })
        .count();
    assert_eq!(anas, 1, "{users}");
}
