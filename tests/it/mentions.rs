//! Mentions (#9): `@Name` in a note (or the `mentions` ids) names staff members, who then see
//! the conversation and may write notes on it while it is unresolved, whatever
//! `agent_visibility` says — never reply, never more; they get the note live and find it in
//! `GET /api/v1/me/mentions` until they open the conversation. The owner never changes.

use serde_json::{Value, json};

use crate::support::sse::{self, next_where};
use crate::support::{FakeCallback, PASSWORD, TestApp};

/// Adds an agent of team `team` named `name`; returns their id.
fn agent(app: &TestApp, name: &str, email: &str, team: i64) -> i64 {
    app.api
        .post(
            "/api/v1/users",
            &app.owner.token,
            json!({"name": name, "email": email, "password": PASSWORD, "role": "agent", "teams": [team]}),
        )
        .expect(201)["id"]
        .as_i64()
        .expect("id")
}

/// The ids a `note.created` event names in `mentions`.
fn mentioned(data: &Value) -> Vec<i64> {
    data["mentions"]
        .as_array()
        .expect("mentions")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

#[test]
fn who_a_note_mentions() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (_, _, conv) = app.conversation(&cb.url);
    let mohamed = agent(&app, "محمد علي", "m@shop.test", app.support);
    let ana_maria = agent(&app, "Ana Maria", "am@shop.test", app.sales);
    let dina_l = agent(&app, "Dina Lopes", "dl@shop.test", app.sales);
    let dina_s = agent(&app, "Dina Sousa", "ds@shop.test", app.sales);
    let (ana, bruno, carla) = (app.ana.id, app.bruno.id, app.carla.id);
    // (case, text, explicit ids, who is mentioned)
    let table: Vec<(&str, &str, Vec<i64>, Vec<i64>)> = vec![
        ("first name", "@Bruno can you call?", vec![], vec![bruno]),
        (
            "punctuation after it",
            "thanks @carla, and @Bruno.",
            vec![],
            vec![carla, bruno],
        ),
        (
            "Arabic two-word name",
            "اسأل @محمد علي من فضلك",
            vec![],
            vec![mohamed],
        ),
        (
            "Arabic first name, Arabic comma",
            "@محمد، شكرا",
            vec![],
            vec![mohamed],
        ),
        (
            "two-word name wins over the first",
            "@Ana Maria knows",
            vec![],
            vec![ana_maria],
        ),
        (
            "a full name wins over another's first",
            "@Ana?",
            vec![],
            vec![ana],
        ),
        (
            "e-mail addresses are not mentions",
            "mail ana@shop.test or bruno@x.y",
            vec![],
            vec![],
        ),
        ("unknown names are text", "@Nobody @Anabel", vec![], vec![]),
        (
            "ambiguous first name: neither",
            "@Dina please",
            vec![],
            vec![],
        ),
        (
            "ambiguous, full name names one",
            "@Dina Sousa please",
            vec![],
            vec![dina_s],
        ),
        (
            "explicit ids, then the text",
            "see this @Dina Lopes",
            vec![carla],
            vec![carla, dina_l],
        ),
        (
            "the writer is left out",
            "note to self @Olga",
            vec![app.owner.id],
            vec![],
        ),
    ];
    let path = format!("/api/v1/conversations/{conv}/notes");
    let mut failures = Vec::new();
    for (case, text, explicit, want) in &table {
        let note = app
            .api
            .post(
                &path,
                &app.owner.token,
                json!({"text": text, "mentions": explicit}),
            )
            .expect(201);
        let data = app
            .event_data("note.created")
            .into_iter()
            .find(|d| d["note_id"] == note["id"])
            .expect("note.created");
        if &mentioned(&data) != want {
            failures.push(format!("{case}: {text:?} mentioned {data}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // An id that is not an active staff member: 422, and no note.
    let notes = app.count("notes");
    app.api
        .post(
            &path,
            &app.owner.token,
            json!({"text": "hi", "mentions": [999]}),
        )
        .expect_error(422, "invalid_mention");
    assert_eq!(app.count("notes"), notes);
    // A mention does not change who owns the conversation.
    let c = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200);
    assert_eq!(c["assignee"], Value::Null);
}

/// Expected outcomes for Carla (Support) on a conversation Bruno (Sales) owns.
struct Seen {
    view: u16,
    note: u16,
}

#[test]
fn a_mention_opens_the_conversation_to_its_person_while_unresolved() {
    // (agent_visibility, Carla before the mention, after it, after a resolve)
    let table = [
        (
            "own",
            Seen {
                view: 404,
                note: 404,
            },
            Seen {
                view: 200,
                note: 201,
            },
            Seen {
                view: 404,
                note: 404,
            },
        ),
        (
            "own_and_pool",
            Seen {
                view: 404,
                note: 404,
            },
            Seen {
                view: 200,
                note: 201,
            },
            Seen {
                view: 404,
                note: 404,
            },
        ),
        (
            "all_read_only",
            Seen {
                view: 200,
                note: 201,
            },
            Seen {
                view: 200,
                note: 201,
            },
            Seen {
                view: 200,
                note: 201,
            },
        ),
    ];
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let carla = &app.carla;
    let mut failures = Vec::new();
    for (n, (setting, before, after, resolved)) in table.iter().enumerate() {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"agent_visibility": setting}),
            )
            .expect(200);
        let landed = app
            .inbound(ch, &secret, &format!("m{n}"), &format!("c{n}"), "Hello")
            .expect(201);
        let conv = landed["conversation_id"].as_i64().expect("id");
        let base = format!("/api/v1/conversations/{conv}");
        app.api
            .post(
                &format!("{base}/assign"),
                &app.manager.token,
                json!({"assignee_id": app.bruno.id, "team_id": app.sales}),
            )
            .expect(200);
        let probe = |stage: &str, want: &Seen, failures: &mut Vec<String>| {
            let view = app.api.get(&base, &carla.token).status.as_u16();
            let note = app
                .api
                .post(
                    &format!("{base}/notes"),
                    &carla.token,
                    json!({"text": "from Carla"}),
                )
                .status
                .as_u16();
            if (view, note) != (want.view, want.note) {
                failures.push(format!(
                    "{setting} {stage}: view {view} note {note}, want {} {}",
                    want.view, want.note
                ));
            }
        };
        probe("before", before, &mut failures);
        app.api
            .post(
                &format!("{base}/notes"),
                &app.bruno.token,
                json!({"text": "@Carla what do you think?"}),
            )
            .expect(201);
        probe("mentioned", after, &mut failures);
        // Mentioned: still no reply (the single-owner rule), no tags, no handoff, no status.
        // Tags: what her role allows anyway (all_read_only agents tag what they see).
        let tags = if *setting == "all_read_only" {
            (200, Value::Null)
        } else {
            (403, json!("forbidden"))
        };
        let refusals = [
            ("messages", json!({"text": "hi"}), 409, json!("not_owner")),
            ("tags", json!({"add": ["x"]}), tags.0, tags.1),
            (
                "assign",
                json!({"assignee_id": carla.id}),
                403,
                json!("forbidden"),
            ),
            (
                "status",
                json!({"status": "resolved"}),
                403,
                json!("forbidden"),
            ),
            ("claim", json!({}), 409, json!("already_assigned")),
        ];
        for (act, body, status, code) in refusals {
            let r = app.api.post(&format!("{base}/{act}"), &carla.token, body);
            let got = (r.status.as_u16(), r.body["error"]["code"].clone());
            if got != (status, code.clone()) {
                failures.push(format!(
                    "{setting} mentioned {act}: {got:?}, want {status} {code}"
                ));
            }
        }
        // In her lists and her search too (the same policy).
        let listed = app
            .api
            .get("/api/v1/conversations?view=all&q=Customer", &carla.token)
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == conv);
        if !listed {
            failures.push(format!("{setting}: not in Carla's search while mentioned"));
        }
        let owner = app.api.get(&base, &app.owner.token).expect(200)["assignee"]["id"].clone();
        if owner != json!(app.bruno.id) {
            failures.push(format!("{setting}: the owner changed to {owner}"));
        }
        app.api
            .post(
                &format!("{base}/status"),
                &app.bruno.token,
                json!({"status": "resolved"}),
            )
            .expect(200);
        probe("resolved", resolved, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_mentioned_person_is_told_live_and_sees_it_until_they_open_it() {
    let app = TestApp::spawn();
    app.api
        .patch(
            "/api/v1/settings",
            &app.owner.token,
            json!({"agent_visibility": "own"}),
        )
        .expect(200);
    let cb = FakeCallback::start(&[]);
    let (ch, secret, first) = app.conversation(&cb.url);
    let second = app
        .inbound(ch, &secret, "second", "cust-2", "Hi again")
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("id");
    for conv in [first, second] {
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/assign"),
                &app.manager.token,
                json!({"assignee_id": app.bruno.id}),
            )
            .expect(200);
    }
    let stream = sse::open(&app.api, &app.carla.token, Some(app.last_event_id()));
    app.api
        .post(
            &format!("/api/v1/conversations/{first}/notes"),
            &app.bruno.token,
            json!({"text": "@Carla Dias? no: @Carla, the invoice"}),
        )
        .expect(201);
    // Carla sees nothing of Bruno's conversations ("own"), yet her stream gets this note.
    let (frame, _) = next_where(&stream, "note.created", |d| d["conversation_id"] == first);
    assert_eq!(mentioned(&frame.data["data"]), vec![app.carla.id]);
    app.api
        .post(
            &format!("/api/v1/conversations/{second}/notes"),
            &app.manager.token,
            json!({"text": "and this one", "mentions": [app.carla.id]}),
        )
        .expect(201);

    let mine = |query: &str| {
        app.api
            .get(&format!("/api/v1/me/mentions{query}"), &app.carla.token)
            .expect(200)
    };
    let list = mine("");
    let items = list["items"].as_array().expect("items");
    let convs: Vec<&Value> = items.iter().map(|i| &i["conversation"]["id"]).collect();
    assert_eq!(
        convs,
        vec![&json!(second), &json!(first)],
        "newest first: {list}"
    );
    assert!(items.iter().all(|i| i["seen"] == false), "{list}");
    assert_eq!(items[1]["note"]["author"]["name"], "Bruno");
    assert_eq!(items[1]["conversation"]["assignee"]["id"], app.bruno.id);
    // Paged like other lists.
    let page = mine("?limit=1");
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let next = page["next"].as_str().expect("next").to_string();
    let rest = mine(&format!("?limit=1&before={next}"));
    assert_eq!(rest["items"][0]["conversation"]["id"], first);
    app.api
        .get("/api/v1/me/mentions?before=x", &app.carla.token)
        .expect_error(400, "invalid_cursor");

    // Opening the conversation makes its mention seen; the other stays unseen.
    app.api
        .get(&format!("/api/v1/conversations/{first}"), &app.carla.token)
        .expect(200);
    let list = mine("");
    let seen: Vec<(i64, bool)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["conversation"]["id"].as_i64().expect("id"),
                i["seen"] == true,
            )
        })
        .collect();
    assert_eq!(seen, vec![(second, false), (first, true)]);
    let unseen = mine("?unseen=true");
    assert_eq!(unseen["items"].as_array().expect("items").len(), 1);
    // Someone else opening it changes nothing for Carla.
    app.api
        .get(&format!("/api/v1/conversations/{second}"), &app.bruno.token)
        .expect(200);
    assert_eq!(
        mine("?unseen=true")["items"][0]["conversation"]["id"],
        second
    );
}
