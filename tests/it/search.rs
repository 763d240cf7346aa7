//! Search (`GET /api/v1/conversations?q=`): phones however typed and stored, parts of names in
//! any case, accent or script, words of messages, nothing for what matches nothing, and never a
//! conversation the searcher may not see.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::json;

use crate::support::{FakeCallback, Staff, TestApp};
use crate::whatsapp::{FakeGraph, deliver, wa_channel};
use teaminbox::domain::ContactId;
use teaminbox::store::contacts::update_contact;

/// An API-channel customer `name` (with `phone`, if any) writes `text`; returns the conversation.
fn customer(
    app: &TestApp,
    (ch, secret): (i64, &str),
    name: &str,
    phone: Option<&str>,
    text: &str,
) -> i64 {
    let mut contact = json!({"identifier": name, "name": name});
    if let Some(p) = phone {
        contact["phone"] = json!(p);
    }
    app.api
        .raw(
            Method::POST,
            &format!("/api/v1/channels/{ch}/inbound"),
            Some(secret),
            Some(
                json!({"external_id": format!("{name}-{text}"), "contact": contact, "text": text})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .expect(201)["conversation_id"]
        .as_i64()
        .expect("conversation id")
}

/// Stores `phone` on the contact of `conv` exactly as given (data written by older versions or
/// other channels: any punctuation).
fn store_phone(app: &TestApp, conv: i64, phone: &'static str) {
    let contact = app
        .api
        .get(&format!("/api/v1/conversations/{conv}"), &app.owner.token)
        .expect(200)["contact"]["id"]
        .as_i64()
        .expect("contact id");
    app.store
        .write_blocking(move |c| {
            update_contact(c, ContactId(contact), None, Some(Some(phone)), None)
        })
        .expect("store phone");
}

/// The contact names of what `who` finds for `q` (sent URL-encoded), sorted.
fn find(app: &TestApp, who: &Staff, q: &str) -> Vec<String> {
    let encoded = utf8_percent_encode(q, NON_ALPHANUMERIC);
    let body = app
        .api
        .get(
            &format!("/api/v1/conversations?view=all&status=any&q={encoded}"),
            &who.token,
        )
        .expect(200);
    let mut names: Vec<String> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["contact"]["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

/// Runs a table of (query, names expected) for `who`, reporting every failing row at once.
#[track_caller]
fn check(app: &TestApp, who: &Staff, table: &[(&str, &[&str])]) {
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(q, want)| {
            let got = find(app, who, q);
            (got != *want).then(|| format!("{q:?}: found {got:?}, expected {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The phone number id of this file's WhatsApp channel.
const NUMBER: &str = "108000000000001";

#[test]
fn a_phone_number_is_found_however_it_is_typed_and_stored() {
    let app = TestApp::spawn();
    let graph = FakeGraph::start(vec![]);
    // A WhatsApp customer, stored as WhatsApp gives the number: 16505551234.
    wa_channel(&app, &graph, NUMBER);
    let hook = json!({"object": "whatsapp_business_account", "entry": [{"id": "419561257915477",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": NUMBER},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.search.1", "timestamp": "1750000000",
                "type": "text", "text": {"body": "hi"}}]}}]}]});
    deliver(&app, hook.to_string().as_bytes());
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // An API-channel customer who gave "+15550001".
    customer(&app, ch, "Uma", Some("+15550001"), "hi");
    // Numbers stored with punctuation (older data, other doors).
    let de = customer(&app, ch, "Dieter", None, "hallo");
    store_phone(&app, de, "+49 (151) 2345-6789");
    let uk = customer(&app, ch, "Olivia", None, "hello");
    store_phone(&app, uk, "+44 20 7946 0958");
    check(
        &app,
        &app.manager,
        &[
            // The case: typed with +, stored without.
            ("+16505551234", &["Sheena Nelson"]),
            ("16505551234", &["Sheena Nelson"]),
            ("+1 650 555 1234", &["Sheena Nelson"]),
            ("+1 (650) 555-1234", &["Sheena Nelson"]),
            ("001 650 555 1234", &["Sheena Nelson"]),
            ("(650) 555-1234", &["Sheena Nelson"]),
            ("555-1234", &["Sheena Nelson"]),
            ("+15550001", &["Uma"]),
            ("(555) 0001", &["Uma"]),
            ("555-0001", &["Uma"]),
            ("0001", &["Uma"]),
            ("+4915123456789", &["Dieter"]),
            ("+49 151 2345 6789", &["Dieter"]),
            ("0049 151 23456789", &["Dieter"]),
            ("0151 2345 6789", &["Dieter"]),
            ("2345-6789", &["Dieter"]),
            ("+44 20 7946 0958", &["Olivia"]),
            ("020 7946 0958", &["Olivia"]),
            ("07946 0959", &[]),
            ("+1 555 9999", &[]),
        ],
    );
}

#[test]
fn names_are_found_by_any_part_in_any_case_accent_or_script() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    for name in [
        "José Müller",
        "Fatima Haddad",
        "مُحَمَّد الحسن",
        "Maria 🌸",
        "Li Wei",
        "Ørjan Sæther",
    ] {
        customer(&app, ch, name, None, "hi");
    }
    check(
        &app,
        &app.manager,
        &[
            ("Fatima Haddad", &["Fatima Haddad"]),
            ("haddad", &["Fatima Haddad"]),
            ("ADDA", &["Fatima Haddad"]),
            ("tima had", &["Fatima Haddad"]),
            ("jose", &["José Müller"]),
            ("MÜLL", &["José Müller"]),
            ("muller", &["José Müller"]),
            ("محمد", &["مُحَمَّد الحسن"]),
            ("مُحَمَّد", &["مُحَمَّد الحسن"]),
            ("الحسن", &["مُحَمَّد الحسن"]),
            ("حسن", &["مُحَمَّد الحسن"]),
            ("🌸", &["Maria 🌸"]),
            ("aria", &["Maria 🌸"]),
            ("sæther", &["Ørjan Sæther"]),
            // One or two letters: a name word that begins with them.
            ("li", &["Li Wei"]),
            ("Wei", &["Li Wei"]),
            ("m", &["José Müller", "Maria 🌸"]),
            ("ha", &["Fatima Haddad"]),
            ("ad", &[]),
            ("مح", &["مُحَمَّد الحسن"]),
        ],
    );
}

#[test]
fn message_words_are_found_and_what_matches_nothing_finds_nothing() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    let jacket = customer(
        &app,
        ch,
        "Ana Paula",
        None,
        "Is the leather jacket back in stock? 🧥",
    );
    customer(&app, ch, "Omar", None, "شكرا جزيلا على التوصيل");
    customer(&app, ch, "Chloé", None, "Le café est arrivé, merci !");
    customer(&app, ch, "Kim", None, "ok");
    // A staff reply is searchable too.
    app.claim(jacket, &app.ana);
    app.reply(jacket, &app.ana, "Yes, size M is back on Tuesday");
    check(
        &app,
        &app.manager,
        &[
            ("leather", &["Ana Paula"]),
            ("leath", &["Ana Paula"]),
            ("LEATHER JACKET", &["Ana Paula"]),
            ("tuesday", &["Ana Paula"]),
            ("شكرا", &["Omar"]),
            ("التوصيل", &["Omar"]),
            ("cafe arrive", &["Chloé"]),
            ("xylophone", &[]),
            ("leather xylophone", &[]),
            ("\") NEAR( *", &[]),
            ("!!!", &[]),
            // One or two letters do not search message text (most messages would match).
            ("ok", &[]),
        ],
    );
}

#[test]
fn words_from_every_message_of_a_conversation_are_found_together() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // Ana Paula writes twice and staff answer: the words of all three are hers.
    let ana_paula = customer(
        &app,
        ch,
        "Ana Paula",
        None,
        "Is the leather jacket back in stock?",
    );
    customer(
        &app,
        ch,
        "Ana Paula",
        None,
        "Também quero saber da ENCOMENDA de sábado",
    );
    app.claim(ana_paula, &app.ana);
    app.reply(ana_paula, &app.ana, "Yes, size M is back on Tuesday");
    customer(&app, ch, "Omar", None, "شكراً جزيلاً على التوصيل");
    customer(&app, ch, "Kim", None, "a leather wallet, please");
    let table: &[(&str, &[&str])] = &[
        // Words of different messages, the first and the last.
        ("leather tuesday", &["Ana Paula"]),
        ("jacket encomenda", &["Ana Paula"]),
        ("tues jack sabad", &["Ana Paula"]),
        // Beginnings of words, any case and accents.
        ("encom", &["Ana Paula"]),
        ("SÁBADO", &["Ana Paula"]),
        ("tambem", &["Ana Paula"]),
        ("leath", &["Ana Paula", "Kim"]),
        // Arabic, with or without the vowel marks the customer typed.
        ("شكرا جزيلا", &["Omar"]),
        ("شكراً", &["Omar"]),
        ("التوص", &["Omar"]),
        // Every word must be held somewhere in the conversation.
        ("leather xylophone", &[]),
        ("wallet tuesday", &[]),
    ];
    check(&app, &app.manager, table);
    // Ana sees her own conversation; Carla, who may not see it, finds only the pool's.
    assert_eq!(find(&app, &app.ana, "leather tuesday"), vec!["Ana Paula"]);
    assert_eq!(
        find(&app, &app.carla, "leather tuesday"),
        Vec::<String>::new()
    );
    assert_eq!(find(&app, &app.carla, "leather"), vec!["Kim"]);
}

#[test]
fn a_search_never_reveals_a_conversation_the_searcher_may_not_see() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    // Carla (Support) holds Rui's conversation; Sofia waits in Support's pool.
    let rui = customer(
        &app,
        ch,
        "Rui Costa",
        Some("+351 912 000 111"),
        "refund please",
    );
    app.claim(rui, &app.carla);
    let sofia = customer(
        &app,
        ch,
        "Sofia Lima",
        Some("+351 913 000 222"),
        "refund please",
    );
    app.api
        .post(
            &format!("/api/v1/conversations/{sofia}/assign"),
            &app.manager.token,
            json!({"assignee_id": null, "team_id": app.support}),
        )
        .expect(200);
    // Nadia is in the general pool: everyone sees her.
    customer(&app, ch, "Nadia", Some("+351 914 000 333"), "refund please");
    for q in [
        "+351912000111",
        "351 912 000 111",
        "00351 912 000 111",
        "912000111",
        "Rui",
        "costa",
        "+351 913 000 222",
        "sofia",
    ] {
        assert_eq!(find(&app, &app.ana, q), Vec::<String>::new(), "Ana: {q:?}");
    }
    assert_eq!(find(&app, &app.ana, "refund"), vec!["Nadia"]);
    assert_eq!(find(&app, &app.ana, "351"), vec!["Nadia"]);
    assert_eq!(find(&app, &app.carla, "+351912000111"), vec!["Rui Costa"]);
    assert_eq!(
        find(&app, &app.carla, "refund"),
        vec!["Nadia", "Rui Costa", "Sofia Lima"]
    );
    assert_eq!(find(&app, &app.manager, "912 000 111"), vec!["Rui Costa"]);
}

#[test]
fn a_mentioned_agent_finds_that_conversation_by_an_old_message_and_nothing_beyond_their_scope() {
    let app = TestApp::spawn();
    let cb = FakeCallback::start(&[]);
    let (ch, secret) = app.api_channel(&cb.url);
    let ch = (ch, secret.as_str());
    let later = |app: &TestApp, name: &str| {
        for text in ["any news?", "hello again", "still waiting"] {
            customer(app, ch, name, None, text);
        }
    };
    // Carla holds Rui's conversation; its first message has the word, and a note asks Ana in.
    let rui = customer(
        &app,
        ch,
        "Rui Costa",
        None,
        "Where is my parcel from Lisbon?",
    );
    later(&app, "Rui Costa");
    app.claim(rui, &app.carla);
    let note = |conv: i64, text: &str| {
        app.api
            .post(
                &format!("/api/v1/conversations/{conv}/notes"),
                &app.manager.token,
                json!({"text": text}),
            )
            .expect(201);
    };
    note(rui, "@Ana could you check the parcel?");
    // Carla holds Tomás's too, mentioned Ana and resolved since: out of Ana's scope again.
    let tomas = customer(&app, ch, "Tomás Reis", None, "A parcel went to Porto");
    later(&app, "Tomás Reis");
    app.claim(tomas, &app.carla);
    note(tomas, "@Ana same as Rui's?");
    app.api
        .post(
            &format!("/api/v1/conversations/{tomas}/status"),
            &app.carla.token,
            json!({"status": "resolved"}),
        )
        .expect(200);
    // Sofia waits in Support's pool (not Ana's team) with the same word, mentioning no one.
    let sofia = customer(&app, ch, "Sofia Lima", None, "My parcel never came");
    later(&app, "Sofia Lima");
    app.api
        .post(
            &format!("/api/v1/conversations/{sofia}/assign"),
            &app.manager.token,
            json!({"assignee_id": null, "team_id": app.support}),
        )
        .expect(200);
    // Nadia is Ana's own.
    let nadia = customer(&app, ch, "Nadia", None, "parcel tracking number?");
    app.claim(nadia, &app.ana);
    // (agent_visibility, what Ana finds for "parcel" and "lisbon", what Bruno, mentioned
    // nowhere and holding none, finds for "lisbon")
    type Row<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
    let table: [Row; 3] = [
        ("own", &["Nadia", "Rui Costa"], &["Rui Costa"], &[]),
        ("own_and_pool", &["Nadia", "Rui Costa"], &["Rui Costa"], &[]),
        (
            "all_read_only",
            &["Nadia", "Rui Costa", "Sofia Lima", "Tomás Reis"],
            &["Rui Costa"],
            &["Rui Costa"],
        ),
    ];
    let mut wrong = Vec::new();
    for (visibility, parcel, lisbon, bruno) in table {
        app.api
            .patch(
                "/api/v1/settings",
                &app.owner.token,
                json!({"agent_visibility": visibility}),
            )
            .expect(200);
        for (who, q, want) in [
            (&app.ana, "parcel", parcel),
            (&app.ana, "lisbon", lisbon),
            (&app.bruno, "lisbon", bruno),
        ] {
            let got = find(&app, who, q);
            if got != want {
                wrong.push(format!(
                    "{visibility} {} {q:?}: {got:?}, want {want:?}",
                    who.email
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
