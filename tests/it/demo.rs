//! `teaminbox demo` (#12): the real binary serves a populated workspace — every conversation
//! state, notes, a recorded handoff — signs in with the printed passwords, its simulated customer's
//! messages arrive live on the event stream, and Ctrl-C/SIGTERM stops it and deletes its data.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::support::{Api, free_port, sse};

/// The demo process, killed if the test ends early.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_serves_a_populated_inbox_and_its_customer_writes_live() {
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args([
            "demo",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--interval-ms",
            "300",
            "--no-mdns",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut child = Reaped(child);
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let ready = line == "demo ready";
        printed.push(line);
        if ready {
            break;
        }
    }
    let ready_after = started.elapsed();
    let text = printed.join("\n");
    assert!(
        text.ends_with("demo ready"),
        "the demo never got ready:\n{text}"
    );
    eprintln!("demo ready after {:.2} s", ready_after.as_secs_f64());
    // Each role's sign-in is printed, and works.
    let api = Api::new(&format!("http://127.0.0.1:{port}"));
    let mut tokens = Vec::new();
    for role in ["owner", "manager", "agent"] {
        let line = printed
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{role} ")))
            .unwrap_or_else(|| panic!("no {role} sign-in printed:\n{text}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let (email, password) = (words[1], words[3]);
        let login = api.login(email, password).expect(201);
        tokens.push(login["token"].as_str().expect("token").to_string());
    }
    let owner = &tokens[0];
    let mut items = Vec::new();
    for s in ["open", "pending", "snoozed", "resolved"] {
        let list = api
            .get(&format!("/api/v1/conversations?view=all&status={s}"), owner)
            .expect(200);
        let found = list["items"].as_array().expect("items").clone();
        assert!(!found.is_empty(), "no {s} conversation");
        items.extend(found);
    }
    assert!(
        items
            .iter()
            .any(|c| c["assignee"].is_null() && c["status"] == "open"),
        "nothing waits unassigned"
    );
    // A handoff with its note, and a private note, are on the timelines.
    let mut kinds = BTreeSet::new();
    let mut handoff_with_note = false;
    for c in &items {
        let id = c["id"].as_i64().expect("id");
        let tl = api
            .get(
                &format!("/api/v1/conversations/{id}/timeline?limit=200"),
                owner,
            )
            .expect(200);
        for e in tl["items"].as_array().expect("timeline") {
            let kind = e["kind"]
                .as_str()
                .or(e["type"].as_str())
                .unwrap_or_default()
                .to_string();
            if kind == "conversation.assigned" && !e["data"]["note_id"].is_null() {
                handoff_with_note = true;
            }
            kinds.insert(kind);
        }
    }
    assert!(handoff_with_note, "no handoff with a note: {kinds:?}");
    assert!(kinds.contains("note"), "no note: {kinds:?}");
    // The simulated customer's messages arrive live.
    let rx = sse::open(&api, owner, None);
    let (frame, _) = sse::next_where(&rx, "message.created", |d| d["data"]["direction"] == "in");
    assert!(frame.data["conversation_id"].is_i64(), "{:?}", frame.data);
    // SIGTERM stops it and it says it deletes its data.
    let pid = child.0.id().to_string();
    drop(rx);
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.0.wait().expect("wait");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "the demo exited with {status}");
    assert!(
        rest.iter().any(|l| l.contains("deleting its data")),
        "{rest:?}"
    );
}
