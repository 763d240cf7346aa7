//! Rules that live once in `service/` and hold at every door: the API and the pages refuse and
//! show the same things.

use std::collections::BTreeSet;

use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::json;

use teaminbox::domain::time::now_ms;
use teaminbox::domain::{ChannelId, ContactId, Status, TeamId, UserId};
use teaminbox::service;
use teaminbox::store::conversations::{NewConversation, insert_conversation};
use teaminbox::store::tokens::TokenKind;
use teaminbox::store::users::find_user_by_email;

use crate::support::{FakeCallback, Staff, TestApp};

/// A browser session for `who`, made in the store (the login form is tested elsewhere).
fn session(app: &TestApp, who: &Staff) -> String {
    let email = who.email.clone();
    let token = app
        .store
        .write_blocking(move |c| {
            let (user, _) =
                find_user_by_email(c, &email)?.ok_or(service::Error::NotFound("user"))?;
            service::auth::issue_token(c, &user, TokenKind::Session, None)
        })
        .expect("session");
    format!("ti_session={token}")
}

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[i..i + 40].to_string()
}

/// GET a page: status and HTML.
fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", app.api.base))
        .header("Cookie", cookie)
        .send()
        .expect("page");
    (r.status().as_u16(), r.text().expect("html"))
}

#[test]
fn the_tags_action_of_the_page_refuses_more_than_50_tags_like_the_api() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let cookie = session(&app, &app.owner);
    let (status, html) = page(&app, &cookie, &format!("/c/{conv}"));
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let names = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    let post = |add: &str| {
        client()
            .post(format!("{}/c/{conv}/tags", app.api.base))
            .header("Cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("add", add)])
            .send()
            .expect("post")
    };

    let r = post(&names(51).join(","));
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().expect("html").contains("at most 50 tags at once"));
    let shown = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    assert_eq!(shown["tags"], json!([]), "nothing was tagged");
    // The API says the same, in the same words.
    app.api
        .post(
            &format!("/api/v1/conversations/{conv}/tags"),
            &app.owner.token,
            json!({"add": names(51)}),
        )
        .expect_error(422, "too_many_tags");

    // Fifty is allowed at both doors.
    assert_eq!(post(&names(50).join(",")).status().as_u16(), 303);
    let shown = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    assert_eq!(shown["tags"].as_array().map(Vec::len), Some(50));
}

/// Ids of the conversations linked in the page's "Other conversations" card.
fn others_on_page(html: &str) -> BTreeSet<i64> {
    let Some(start) = html.find("Other conversations with") else {
        return BTreeSet::new();
    };
    let card = &html[start..];
    let card = &card[..card.find("</section>").unwrap_or(card.len())];
    card.split("href=\"/c/")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

#[test]
fn the_contact_api_and_the_conversation_page_agree_on_a_contacts_conversations() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, c1) = app.conversation(&cb.url);
    let (ch2, _) = app.api_channel(&cb.url);
    let contact = app
        .api
        .get(&format!("/api/v1/conversations/{c1}"), &app.owner.token)
        .expect(200)["contact"]["id"]
        .as_i64()
        .expect("contact");
    // Three more conversations of the same customer, held differently.
    let (ana, carla, sales, support) = (app.ana.id, app.carla.id, app.sales, app.support);
    let [c2, c3, c4] = app
        .store
        .write_blocking(move |c| {
            let mut ids = [0; 3];
            let held = [
                (Some(ana), Some(sales)),
                (Some(carla), Some(support)),
                (None, Some(support)),
            ];
            for (i, (assignee, team)) in held.into_iter().enumerate() {
                ids[i] = insert_conversation(
                    c,
                    &NewConversation {
                        channel: ChannelId(ch2),
                        contact: ContactId(contact),
                        status: Status::Open,
                        assignee: assignee.map(UserId),
                        team: team.map(TeamId),
                    },
                    now_ms(),
                )?
                .0;
            }
            Ok::<_, teaminbox::store::StoreError>(ids)
        })
        .expect("seed");

    // c1: pool, no team · c2: Ana (Sales) · c3: Carla (Support) · c4: pool, Support.
    let everyone = vec![c1, c2, c3, c4];
    let table: &[(&str, &Staff, Vec<i64>)] = &[
        ("own_and_pool", &app.owner, everyone.clone()),
        ("own_and_pool", &app.manager, everyone.clone()),
        ("own_and_pool", &app.ana, vec![c1, c2]),
        ("own_and_pool", &app.bruno, vec![c1]),
        ("own_and_pool", &app.carla, vec![c1, c3, c4]),
        ("own", &app.manager, everyone.clone()),
        ("own", &app.ana, vec![c2]),
        ("own", &app.bruno, vec![]),
        ("all_read_only", &app.bruno, everyone.clone()),
    ];
    for (visibility, who, want) in table {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"agent_visibility": visibility}),
            )
            .expect(200);
        let want: BTreeSet<i64> = want.iter().copied().collect();
        let row = format!("{visibility} user {}", who.id);

        // The API's contact.
        let r = app
            .api
            .get(&format!("/api/v1/contacts/{contact}"), &who.token);
        let api: BTreeSet<i64> = if want.is_empty() {
            r.expect_error(404, "");
            BTreeSet::new()
        } else {
            r.expect(200)["conversations"]
                .as_array()
                .expect("conversations")
                .iter()
                .map(|c| c["id"].as_i64().expect("id"))
                .collect()
        };
        assert_eq!(api, want, "API: {row}");

        // Each conversation page the viewer may open lists the others it may see.
        let cookie = session(&app, who);
        for conv in &everyone {
            let (status, html) = page(&app, &cookie, &format!("/c/{conv}"));
            if !want.contains(conv) {
                assert_eq!(status, 404, "page {conv}: {row}");
                continue;
            }
            assert_eq!(status, 200, "page {conv}: {row}");
            let mut seen = others_on_page(&html);
            assert!(!seen.contains(conv), "a page does not list itself: {row}");
            seen.insert(*conv);
            assert_eq!(seen, want, "page {conv}: {row}");
        }
    }
}
