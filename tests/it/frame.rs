//! The frame of every page over plain HTTP (#9, shell part): notices that reach the next page
//! once and only from this server, availability set without JavaScript, and the id of the last
//! event a page reflects.

use reqwest::blocking::Response;

use crate::support::session::Session;
use crate::support::{PASSWORD, TestApp};

/// The `ti_notice=...` pair a response sets, if any.
fn notice_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ti_notice="))
        .map(String::from)
}

/// GET `path` with the session cookie and `extra` cookie.
fn get_with(s: &Session, path: &str, extra: &str) -> Response {
    s.client
        .get(format!("{}{path}", s.base))
        .header("Cookie", format!("{}; {extra}", s.cookie))
        .send()
        .expect("get")
}

/// The notice area of a page, from `id="notice"` to the end of its `</div>`.
fn notice_area(html: &str) -> &str {
    let i = html.find("id=\"notice\"").expect("#notice on the page");
    let end = html[i..].find("</div>").expect("end of #notice");
    &html[i..i + end]
}

#[test]
fn settings_changes_say_what_happened_on_the_next_page_once() {
    let app = TestApp::spawn();
    let owner = app.session(&app.owner);
    let sales = app.sales.to_string();
    // (form, fields, where it goes back to, what the next page says)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "/settings/teams",
            vec![("name", "Night shift")],
            "/settings#teams",
            "Team Night shift created",
        ),
        (
            "/settings/canned",
            vec![("shortcut", "hours"), ("body", "We open at 9.")],
            "/settings#canned",
            "Canned reply /hours saved",
        ),
        (
            "/settings/users",
            vec![
                ("name", "Dora Díaz"),
                ("email", "dora@shop.test"),
                ("password", PASSWORD),
                ("role", "agent"),
                ("teams", &sales),
            ],
            "/settings#staff",
            "Dora Díaz added",
        ),
        (
            "/settings/workspace",
            vec![("agent_visibility", "own"), ("timezone", "UTC")],
            "/settings#workspace",
            "Workspace saved",
        ),
    ];
    for (path, fields, to, said) in cases {
        let r = owner.form(path, &fields);
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(r.headers()["location"], to, "{path}");
        let set = notice_cookie(&r).unwrap_or_else(|| panic!("{path}: no notice cookie"));
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age="),
            "{set}"
        );
        assert!(!set.contains(said), "the words travel encoded: {set}");
        let pair = set.split(';').next().expect("pair");
        let next = get_with(&owner, "/settings", pair);
        assert_eq!(next.status().as_u16(), 200);
        let cleared = notice_cookie(&next).expect("the page clears the notice");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        let html = next.text().expect("html");
        assert!(
            notice_area(&html).contains(said),
            "{path}: {}",
            notice_area(&html)
        );
        // Without the cookie (cleared), the next page says nothing.
        assert!(!notice_area(&owner.page("/settings")).contains(said));
    }

    // htmx (boosted forms) gets HX-Location and the same cookie.
    let r = owner
        .client
        .post(format!("{}/settings/teams", owner.base))
        .header("Cookie", &owner.cookie)
        .header("HX-Request", "true")
        .form(&[("csrf", owner.csrf.as_str()), ("name", "Weekend")])
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["hx-location"], "/settings#teams");
    assert!(notice_cookie(&r).is_some());
}

#[test]
fn a_notice_shows_only_when_this_server_wrote_it_for_this_session() {
    let app = TestApp::spawn();
    let owner = app.session(&app.owner);
    let ana = app.session(&app.ana);
    let r = owner.form("/settings/teams", &[("name", "Night shift")]);
    let owners = notice_cookie(&r).expect("cookie");
    let owners = owners.split(';').next().expect("pair").to_string();
    // (cookie sent along, by whom)
    let cases = [
        ("ti_notice=0000.You%20won%20a%20prize", &owner),
        ("ti_notice=You%20won%20a%20prize", &owner),
        (owners.as_str(), &ana),
    ];
    for (cookie, who) in cases {
        // (the inbox: owners and managers land on the Now board from "/")
        let page = get_with(who, "/?view=mine", cookie);
        assert_eq!(page.status().as_u16(), 200);
        assert!(
            notice_cookie(&page).is_some_and(|c| c.contains("Max-Age=0")),
            "{cookie}: cleared all the same"
        );
        let html = page.text().expect("html");
        let area = notice_area(&html);
        assert!(
            !area.contains("prize") && !area.contains("Night shift"),
            "{cookie} shown: {area}"
        );
    }
    // A query string never makes a page say anything.
    let html = owner.page("/?notice=You%20won%20a%20prize");
    assert!(!notice_area(&html).contains("prize"));
}

#[test]
fn availability_from_the_top_bar_without_javascript() {
    let app = TestApp::spawn();
    let ana = app.session(&app.ana);
    let base = ana.base.clone();
    let host = base.trim_start_matches("http://").to_string();
    // (status, Referer, answer, back to, top bar says)
    let cases = [
        (
            "busy",
            Some(format!("{base}/?view=unassigned")),
            303,
            "/?view=unassigned",
            "busy",
        ),
        (
            "offline",
            Some(format!("http://{host}/c/1#reply")),
            303,
            "/c/1",
            "offline",
        ),
        (
            "available",
            Some("http://elsewhere.test/phish".into()),
            303,
            "/",
            "available",
        ),
        (
            "busy",
            Some(format!("http://{host}//evil.test/")),
            303,
            "/",
            "busy",
        ),
        ("busy", None, 303, "/", "busy"),
        ("away", Some(format!("{base}/")), 400, "", "busy"),
    ];
    for (status, referer, code, to, now) in cases {
        let mut req = ana
            .client
            .post(format!("{base}/me/status"))
            .header("Cookie", &ana.cookie)
            .form(&[("csrf", ana.csrf.as_str()), ("status", status)]);
        if let Some(r) = &referer {
            req = req.header("Referer", r);
        }
        let r = req.send().expect("post");
        assert_eq!(r.status().as_u16(), code, "{status} from {referer:?}");
        if code == 303 {
            assert_eq!(r.headers()["location"], to, "{status} from {referer:?}");
            let pair = notice_cookie(&r).expect("notice");
            let pair = pair.split(';').next().expect("pair").to_string();
            let html = get_with(&ana, "/", &pair).text().expect("html");
            assert!(
                notice_area(&html).contains(&format!("You are {status}")),
                "{status}"
            );
        }
        let html = ana.page("/");
        assert!(
            html.contains(&format!("data-status=\"{now}\"")),
            "top bar after {status}"
        );
        let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
        assert_eq!(me["status"], now, "API after {status}");
    }
    // Without the session's CSRF token nothing changes.
    let r = ana.form_as_is("/me/status", &[("csrf", "nope"), ("status", "offline")]);
    assert_eq!(r.status().as_u16(), 403);
    let me = app.api.get("/api/v1/me", &app.ana.token).expect(200);
    assert_eq!(me["status"], "busy");
    // Settings shows everyone's availability beside their name.
    let owner = app.session(&app.owner);
    let settings = owner.page("/settings");
    assert!(
        settings.contains("Ana</span> · agent <span class=\"avail busy\">Busy</span>"),
        "Ana's availability in Settings"
    );
}

#[test]
fn a_page_carries_the_newest_event_it_reflects() {
    let app = TestApp::spawn();
    let (ch, secret, _) = app.conversation("http://127.0.0.1:9/hook");
    let ana = app.session(&app.ana);
    for n in 0..2 {
        let html = ana.page("/?view=unassigned");
        let want = format!("data-last-event=\"{}\"", app.last_event_id());
        assert!(html.contains(&want), "round {n}: {want} on the page");
        app.inbound(ch, &secret, &format!("more-{n}"), "cust-1", "more")
            .expect(201);
    }
}
