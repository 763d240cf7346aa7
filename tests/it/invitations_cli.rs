//! Invitation links from the real binary (#14): `teaminbox user invite|reset` print the link on
//! the LAN address with a terminal QR code, and a served link's token never reaches the log.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::invitations::token_of;
use crate::support::session::browser_client;
use crate::support::{PASSWORD, cli_add_user, free_port, start_server, test_config};

/// A `teaminbox` command on `data`; its standard output, or the failure with its error.
fn cli(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(args)
        .env("TEAMINBOX_DATA", data)
        .output()
        .expect("teaminbox");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The link a CLI command printed.
#[track_caller]
fn printed_link(out: &str) -> String {
    out.lines()
        .map(str::trim)
        .find(|l| l.contains("/invite?token="))
        .unwrap_or_else(|| panic!("no link printed:\n{out}"))
        .to_string()
}

#[test]
fn the_cli_prints_invite_and_reset_links_with_a_qr_code_on_the_lan_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    cli_add_user(dir.path(), "olga@shop.test", "owner", &[]);
    let (ok, out, err) = cli(
        dir.path(),
        &[
            "user",
            "invite",
            "--email",
            "ana@shop.test",
            "--name",
            "Ana",
            "--role",
            "agent",
            "--team",
            "Sales",
        ],
    );
    assert!(ok, "{err}");
    let link = printed_link(&out);
    // The default bind (0.0.0.0:8080): the link is on the address the server prints first.
    let bind: std::net::SocketAddr = "0.0.0.0:8080".parse().expect("addr");
    let base = teaminbox::lan::lan_base("http", bind, &teaminbox::lan::addresses(bind));
    assert!(
        link.starts_with(&format!("{base}/invite?token=")),
        "{link} not on {base}"
    );
    assert!(
        out.contains("Scan with the phone's camera") && out.contains('▀'),
        "{out}"
    );
    let (ok, out2, err) = cli(dir.path(), &["user", "reset", "--email", "OLGA@shop.test"]);
    assert!(ok, "{err}");
    assert!(
        out2.contains("Password reset for Olga") || out2.contains("Password reset for olga"),
        "{out2}"
    );
    let reset = printed_link(&out2);
    let (ok, _, err) = cli(
        dir.path(),
        &["user", "reset", "--email", "nobody@shop.test"],
    );
    assert!(!ok && err.contains("user not found"), "{err}");

    // Both links work on the server over that data dir.
    let server = start_server(test_config(dir.path().to_path_buf()));
    let api = crate::support::Api::new(&format!("http://{}", server.addr));
    let post = |token: String, password: &str| {
        api.raw(
            Method::POST,
            "/api/v1/invitations/accept",
            None,
            Some(
                json!({"token": token, "password": password})
                    .to_string()
                    .into_bytes(),
            ),
        )
    };
    let ana = post(token_of(&link), "ana's password").expect(201);
    assert_eq!(ana["user"]["teams"][0]["name"], "Sales");
    post(token_of(&reset), "olga's new password").expect(201);
    api.login("olga@shop.test", PASSWORD)
        .expect_error(401, "unauthenticated");
    api.login("olga@shop.test", "olga's new password")
        .expect(201);
    server.stop();
}

#[test]
fn the_token_never_appears_in_the_log() {
    let data = tempfile::tempdir().expect("tempdir");
    cli_add_user(data.path(), "olga@shop.test", "owner", &[]);
    let log = data.path().join("server.log");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log",
            "debug",
            "--no-mdns",
            "--no-update-check",
        ])
        .env("TEAMINBOX_DATA", data.path())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("serve");
    // Read what it prints until it serves, and keep reading (a closed pipe would fail its
    // next print).
    let out = child.stdout.take().expect("stdout");
    let (ready, serving) = std::sync::mpsc::channel();
    // The log goes to standard output, after the addresses.
    let printed = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("Scan with the phone's camera") {
                let _ = ready.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    serving.recv().expect("the server printed its addresses");
    let api = crate::support::Api::new(&format!("http://127.0.0.1:{port}"));
    let owner = api.login("olga@shop.test", PASSWORD).expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let made = api
        .post(
            "/api/v1/users",
            &owner,
            json!({"name": "Ana", "email": "ana@shop.test", "role": "agent"}),
        )
        .expect(201);
    let token = token_of(made["invitation"]["url"].as_str().expect("url"));
    let client = browser_client();
    let get = |t: &str| {
        client
            .get(format!("{}/invite?token={t}", api.base))
            .send()
            .expect("page")
    };
    assert_eq!(get(&token).status().as_u16(), 200);
    api.raw(
        Method::POST,
        "/api/v1/invitations/accept",
        None,
        Some(
            json!({"token": token, "password": "ana's password"})
                .to_string()
                .into_bytes(),
        ),
    )
    .expect(201);
    assert_eq!(get(&token).status().as_u16(), 410);
    // A request that fails on the query itself.
    assert_eq!(get(&format!("{token}&token=twice")).status().as_u16(), 400);
    let _ = child.kill();
    let _ = child.wait();
    let raw = printed.join().expect("output") + &std::fs::read_to_string(&log).expect("log");
    // Without the terminal colours (ESC [ … m) the log puts between field names and values.
    let mut text = String::new();
    let mut rest = raw.as_str();
    while let Some(i) = rest.find('\u{1b}') {
        text.push_str(&rest[..i]);
        rest = rest[i..].find('m').map_or("", |j| &rest[i + j + 1..]);
    }
    text.push_str(rest);
    // The log was captured, with the lines written while handling those requests (whose
    // span names the path).
    for said in [
        "teaminbox is serving",
        "a password was set with an invitation link",
        "an invitation link that cannot be used was tried",
        "path=/invite",
    ] {
        assert!(text.contains(said), "{said:?} not in the log:\n{text}");
    }
    assert!(!text.contains(&token), "the token is in the log:\n{text}");
}
