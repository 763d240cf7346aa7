//! A minimal mDNS querier for tests: asks the LAN for a service the way a phone does (RFC 6762)
//! and reads the answers' records, with DNS name compression (RFC 1035 section 4.1.4).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The mDNS group and port (RFC 6762 section 3).
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
const PORT: u16 = 5353;

/// One resource record of an answer, as far as the tests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `name` points at the service instance `target`.
    Ptr { name: String, target: String },
    /// The instance `name` runs on `host`, `port`.
    Srv {
        name: String,
        host: String,
        port: u16,
    },
    /// `name` has IPv4 address `ip`.
    A { name: String, ip: Ipv4Addr },
    /// Any other type.
    Other,
}

/// A socket in the mDNS group on every given IPv4 interface.
pub struct Querier {
    sock: UdpSocket,
}

impl Querier {
    /// Binds 0.0.0.0:5353 beside any responder on this machine (address and port reuse) and joins
    /// the group on `interfaces`.
    pub fn join(interfaces: &[IpAddr]) -> Querier {
        use socket2::{Domain, Protocol, Socket, Type};
        let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
        sock.set_reuse_address(true).expect("reuse address");
        sock.set_reuse_port(true).expect("reuse port");
        sock.bind(&SocketAddr::from(([0, 0, 0, 0], PORT)).into())
            .expect("bind 5353");
        for ip in interfaces {
            if let IpAddr::V4(v4) = ip {
                sock.join_multicast_v4(&GROUP, v4).expect("join group");
                sock.set_multicast_if_v4(v4).expect("multicast interface");
            }
        }
        sock.set_read_timeout(Some(Duration::from_millis(250)))
            .expect("timeout");
        Querier { sock: sock.into() }
    }

    /// Asks for PTR records of `service` (e.g. `_http._tcp.local`) and collects the records of
    /// every packet until `found` accepts them or `deadline` passes (then `None`). Asks again each
    /// second, as a browser would after a lost packet.
    pub fn ask_until<T>(
        &self,
        service: &str,
        deadline: Instant,
        mut found: impl FnMut(&[Record]) -> Option<T>,
    ) -> Option<T> {
        let mut query = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in service.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 12, 0, 1]);
        let mut records = Vec::new();
        let mut asked = Instant::now() - Duration::from_secs(1);
        let mut buf = [0u8; 9000];
        while Instant::now() < deadline {
            if asked.elapsed() >= Duration::from_secs(1) {
                self.sock
                    .send_to(&query, (GROUP, PORT))
                    .expect("send query");
                asked = Instant::now();
            }
            let Ok(n) = self.sock.recv(&mut buf) else {
                continue;
            };
            records.extend(parse(&buf[..n]).unwrap_or_default());
            if let Some(t) = found(&records) {
                return Some(t);
            }
        }
        None
    }
}

/// The answer, authority and additional records of a DNS packet; `None` when malformed.
pub fn parse(packet: &[u8]) -> Option<Vec<Record>> {
    let u16_at = |o: usize| Some(u16::from_be_bytes([*packet.get(o)?, *packet.get(o + 1)?]));
    let questions = u16_at(4)?;
    let count = u16_at(6)? as usize + u16_at(8)? as usize + u16_at(10)? as usize;
    let mut at = 12;
    for _ in 0..questions {
        at = name(packet, at)?.1 + 4;
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (owner, next) = name(packet, at)?;
        let kind = u16_at(next)?;
        let len = u16_at(next + 8)? as usize;
        let data = next + 10;
        let rdata = packet.get(data..data + len)?;
        out.push(match kind {
            12 => Record::Ptr {
                name: owner,
                target: name(packet, data)?.0,
            },
            33 => Record::Srv {
                name: owner,
                port: u16::from_be_bytes([*rdata.get(4)?, *rdata.get(5)?]),
                host: name(packet, data + 6)?.0,
            },
            1 if len == 4 => Record::A {
                name: owner,
                ip: Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]),
            },
            _ => Record::Other,
        });
        at = data + len;
    }
    Some(out)
}

/// The name at `at` (labels joined by dots, no trailing dot) and the offset after it, following
/// compression pointers (at most 64 of them, so a pointer loop ends).
fn name(packet: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    for _ in 0..64 {
        let len = *packet.get(at)? as usize;
        if len == 0 {
            return Some((labels.join("."), end.unwrap_or(at + 1)));
        }
        if len & 0xC0 == 0xC0 {
            end.get_or_insert(at + 2);
            at = (len & 0x3F) << 8 | *packet.get(at + 1)? as usize;
            continue;
        }
        labels.push(String::from_utf8_lossy(packet.get(at + 1..at + 1 + len)?).into_owned());
        at += 1 + len;
    }
    None
}

#[test]
fn names_are_read_through_compression_pointers_and_bad_packets_give_none() {
    // An answer with PTR _http._tcp.local → teaminbox._http._tcp.local, its SRV on port 8080 at
    // teaminbox.local (label + pointer to "local"), and teaminbox.local's A record.
    let mut p = vec![0, 0, 0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0];
    p.extend_from_slice(b"\x05_http\x04_tcp\x05local\x00"); // at 12; "local" at 23
    p.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0, 120, 0, 12]);
    p.extend_from_slice(b"\x09teaminbox\xc0\x0c"); // at 40: teaminbox._http._tcp.local
    p.extend_from_slice(&[
        0xc0, 40, 0, 33, 0, 1, 0, 0, 0, 120, 0, 18, 0, 0, 0, 0, 0x1f, 0x90,
    ]);
    p.extend_from_slice(b"\x09teaminbox\xc0\x17"); // at 70: teaminbox.local
    p.extend_from_slice(&[0xc0, 70, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, 2]);
    let want = vec![
        Record::Ptr {
            name: "_http._tcp.local".into(),
            target: "teaminbox._http._tcp.local".into(),
        },
        Record::Srv {
            name: "teaminbox._http._tcp.local".into(),
            host: "teaminbox.local".into(),
            port: 8080,
        },
        Record::A {
            name: "teaminbox.local".into(),
            ip: Ipv4Addr::new(192, 0, 2, 2),
        },
    ];
    assert_eq!(parse(&p), Some(want));
    assert_eq!(parse(&p[..p.len() - 2]), None, "truncated");
    let mut looped = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
    looped.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    assert_eq!(parse(&looped), None, "a pointer to itself");
}
