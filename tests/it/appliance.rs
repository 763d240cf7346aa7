//! The appliance on the shop's network (#12): the addresses printed at start with the setup link
//! on a LAN address (never `localhost` when the machine has one), the mDNS announcement as
//! `teaminbox.local` (and `--no-mdns`), and HTTPS with `--tls-cert/--tls-key`.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{WAIT, free_port, start_server, test_config};

/// A `teaminbox serve` process; killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary on all interfaces and reads what it prints up to the QR code.
fn serve(extra: &[&str]) -> (Served, Vec<String>, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args([
            "serve",
            "--bind",
            &format!("0.0.0.0:{port}"),
            "--log",
            "warn",
        ])
        .args(extra)
        .env("TEAMINBOX_DATA", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let served = Served(child);
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.expect("line");
        let done = line.starts_with("Scan with the phone's camera");
        lines.push(line);
        if done {
            break;
        }
    }
    (served, lines, data)
}

/// The machine's addresses a phone could use (what `lan::addresses` looks at).
fn machine_ipv4() -> Vec<IpAddr> {
    teaminbox::lan::addresses("0.0.0.0:1".parse().expect("addr"))
}

#[test]
fn the_setup_link_is_built_on_a_lan_address_with_a_qr_code() {
    let (_served, lines, _data) = serve(&["--no-mdns"]);
    let text = lines.join("\n");
    let link = lines
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("http")
                .filter(|r| r.contains("/setup?token="))
        })
        .map(|r| format!("http{r}"))
        .unwrap_or_else(|| panic!("no setup link in:\n{text}"));
    let lan = machine_ipv4();
    match lan.first() {
        Some(ip) => {
            assert!(
                link.starts_with(&format!("http://{ip}:")),
                "the setup link {link} is not on the LAN address {ip}:\n{text}"
            );
            for ip in &lan {
                assert!(
                    text.contains(&format!("http://{ip}:")),
                    "{ip} not listed:\n{text}"
                );
            }
        }
        // A machine with only loopback: localhost is all there is.
        None => assert!(link.starts_with("http://localhost:"), "{text}"),
    }
    assert!(
        !text.contains("teaminbox.local"),
        "--no-mdns still announced:\n{text}"
    );
    assert!(
        text.contains(&format!("Scan with the phone's camera to open {link}")),
        "{text}"
    );
}

#[test]
fn the_server_announces_teaminbox_local_over_mdns() {
    assert!(
        !machine_ipv4().is_empty(),
        "this machine has no LAN interface to announce on (mDNS needs one)"
    );
    // Ask for it as a phone's browser does (RFC 6762/6763): which `_http._tcp` services are there,
    // on which host and port, and the host's address. Answers are read as DNS records, not bytes:
    // name compression (RFC 1035 section 4.1.4) writes `teaminbox.local` as a label and a pointer.
    use crate::support::mdns::{Querier, Record};
    let lan = machine_ipv4();
    let querier = Querier::join(&lan);
    let (_served, lines, _data) = serve(&[]);
    let text = lines.join("\n");
    assert!(text.contains("http://teaminbox.local:"), "{text}");
    let port: u16 = text
        .split("http://teaminbox.local:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    // Another teaminbox on the LAN (a second test run) may answer too: ours is the one on `port`.
    let found = querier.ask_until("_http._tcp.local", Instant::now() + WAIT, |records| {
        let instance = records.iter().find_map(|r| match r {
            Record::Srv {
                name,
                host,
                port: p,
            } if host == "teaminbox.local" && *p == port => Some(name.clone()),
            _ => None,
        })?;
        let listed = records
            .iter()
            .any(|r| matches!(r, Record::Ptr { target, .. } if *target == instance));
        let address = records.iter().find_map(|r| match r {
            Record::A { name, ip }
                if name == "teaminbox.local" && lan.contains(&IpAddr::V4(*ip)) =>
            {
                Some(*ip)
            }
            _ => None,
        })?;
        listed.then_some(address)
    });
    assert!(
        found.is_some(),
        "no mDNS answer for teaminbox.local on port {port} with one of {lan:?}"
    );
}

/// Whoever reads the server's output may leave (`teaminbox | head`, a supervisor that stopped
/// reading, this file's `serve` after the QR code): the server keeps serving. It used to panic on
/// the broken pipe while printing its addresses, which also ended its mDNS announcement.
#[test]
fn the_server_keeps_serving_when_its_output_is_closed() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
            "--no-mdns",
        ])
        .env("TEAMINBOX_DATA", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // The reader leaves before the server has printed anything.
    drop(child.stdout.take());
    let mut served = Served(child);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let deadline = Instant::now() + WAIT;
    // Nothing to await but the port itself: ask until it answers or the process is gone.
    loop {
        if let Some(status) = served.0.try_wait().expect("wait") {
            panic!("the server exited ({status}) when its output was closed");
        }
        let health = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send();
        if health.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "/healthz never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        served.0.try_wait().expect("wait").is_none(),
        "exited after answering"
    );
}

#[test]
fn https_with_a_certificate_and_clear_errors_for_bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    let cert = params.self_signed(&key).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("key");

    let data = tempfile::tempdir().expect("data");
    let mut config = test_config(data.path().to_path_buf());
    config.tls = Some(teaminbox::config::TlsFiles {
        cert: cert_path.clone(),
        key: key_path.clone(),
    });
    let server = start_server(config);
    teaminbox::install_crypto();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let url = format!("https://localhost:{}/healthz", server.addr.port());
    let resp = client.get(&url).send().expect("https request");
    assert_eq!(resp.status(), 200);
    // Plain HTTP on the HTTPS port gets no page.
    let plain = reqwest::blocking::get(format!("http://localhost:{}/healthz", server.addr.port()));
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    server.stop();

    // Bad files: the server does not start, and says which file and why.
    let other = rcgen::KeyPair::generate().expect("key");
    let other_key = dir.path().join("other-key.pem");
    std::fs::write(&other_key, other.serialize_pem()).expect("key");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a pem file").expect("junk");
    let missing = dir.path().join("missing.pem");
    let cases = [
        (&missing, &key_path, "cannot read the certificate"),
        (&junk, &key_path, "holds no PEM certificate"),
        (&cert_path, &junk, "cannot read a private key"),
        (&cert_path, &other_key, "does not fit the certificate"),
    ];
    for (c, k, expected) in cases {
        let data = tempfile::tempdir().expect("data");
        let mut config = test_config(data.path().to_path_buf());
        config.tls = Some(teaminbox::config::TlsFiles {
            cert: c.clone(),
            key: k.clone(),
        });
        let err = teaminbox::server::spawn_background(config)
            .err()
            .unwrap_or_else(|| panic!("started with cert {c:?} and key {k:?}"));
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
}

/// The server runs with glibc's malloc tuned (`teaminbox::memory`): started without
/// `GLIBC_TUNABLES` it runs itself again with them (same pid, so a service manager sees one
/// process); a value the user set is kept. The systemd unit sets the same value.
#[test]
fn the_server_runs_with_tuned_malloc_and_keeps_a_users_setting() {
    let ours = format!("GLIBC_TUNABLES={}", teaminbox::memory::GLIBC_TUNABLES);
    let theirs = "GLIBC_TUNABLES=glibc.malloc.arena_max=4";
    for (given, expected) in [(None, ours.as_str()), (Some(theirs), theirs)] {
        let data = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_teaminbox"));
        cmd.args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--no-mdns",
        ])
        .env("TEAMINBOX_DATA", data.path())
        .env_remove("GLIBC_TUNABLES")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        if let Some(v) = given {
            let (k, v) = v.split_once('=').expect("name=value");
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let pid = child.id();
        let served = Served(child);
        // The first line is printed by the run that serves (after any restart).
        let first = BufReader::new(out).lines().next();
        assert!(
            matches!(first, Some(Ok(_))),
            "the server printed nothing: {first:?}"
        );
        let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| v.starts_with("GLIBC_TUNABLES="))
            .collect();
        // glibc's loader splits the value in place while parsing it, so the process's copy may
        // end at the first `:`.
        assert!(
            vars.len() == 1
                && expected.starts_with(vars[0].as_str())
                && vars[0].contains("arena_max"),
            "given {given:?}: {vars:?}"
        );
        drop(served);
    }
    let unit = include_str!("../../packaging/teaminbox.service");
    assert!(
        unit.lines().any(|l| l == format!("Environment={ours}")),
        "the systemd unit sets {ours}"
    );
}
