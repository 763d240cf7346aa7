//! Finding teaminbox on the shop's network: the addresses a phone can open (printed at start,
//! the first as a QR code, the setup link built on one of them instead of `localhost`), and the
//! mDNS announcement (RFC 6762/6763) as `teaminbox.local` with an `_http._tcp` service.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The mDNS host name the server announces.
pub const MDNS_HOST: &str = "teaminbox.local";

/// Whether `ip` is in a private range a shop's router hands out (RFC 1918, and the IPv6
/// unique-local range of RFC 4193).
fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Whether a phone on the LAN could reach `ip`: not loopback, not unspecified, not link-local
/// (169.254/16, fe80::/10 — they change and need a zone), not multicast.
fn reachable(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_unspecified() || v4.is_link_local() || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Orders the addresses to show: IPv4 before IPv6 (easier to type), private before public,
/// then by value; drops those a phone could not use and duplicates.
pub fn order(mut found: Vec<IpAddr>) -> Vec<IpAddr> {
    found.retain(reachable);
    found.sort_by_key(|ip| (ip.is_ipv6(), !is_private(ip), *ip));
    found.dedup();
    found
}

/// The addresses of this machine a phone can open for a server bound to `bind`: every LAN
/// address of the machine when bound to all interfaces (0.0.0.0 or ::), the bound address
/// otherwise. Empty when the machine has no usable interface (only loopback).
pub fn addresses(bind: SocketAddr) -> Vec<IpAddr> {
    if !bind.ip().is_unspecified() {
        return if bind.ip().is_loopback() {
            Vec::new()
        } else {
            vec![bind.ip()]
        };
    }
    let all = if_addrs::get_if_addrs().unwrap_or_default();
    let found = all
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| bind.is_ipv6() || ip.is_ipv4())
        .collect();
    order(found)
}

/// `scheme://host:port` for `ip` (IPv6 in brackets); the port is left out when it is the
/// scheme's default.
pub fn base_url(scheme: &str, ip: IpAddr, port: u16) -> String {
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    match (scheme, port) {
        ("http", 80) | ("https", 443) => format!("{scheme}://{host}"),
        _ => format!("{scheme}://{host}:{port}"),
    }
}

/// `text` as a QR code drawn with Unicode half blocks, two modules per character row, with its
/// quiet zone, dark on light (the way phone cameras read a terminal). `None` when the text is
/// too long for a QR code.
pub fn qr(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// The running mDNS announcement; dropping it withdraws it.
pub struct Announcement {
    daemon: mdns_sd::ServiceDaemon,
}

impl Drop for Announcement {
    fn drop(&mut self) {
        let _ = self.daemon.shutdown();
    }
}

/// Announces `teaminbox.local` on the LAN: an `_http._tcp` service named "teaminbox" on `port`
/// whose host is `teaminbox.local`, with the machine's addresses (kept current as they change).
///
/// # Errors
/// When the mDNS socket cannot be opened (port 5353 refused, no multicast interface).
pub fn announce(port: u16, addresses: &[IpAddr]) -> Result<Announcement, mdns_sd::Error> {
    let daemon = mdns_sd::ServiceDaemon::new()?;
    let ips: Vec<IpAddr> = if addresses.is_empty() {
        vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)]
    } else {
        addresses.to_vec()
    };
    let ips: Vec<IpAddr> = ips.into_iter().filter(|ip| !ip.is_unspecified()).collect();
    let info = mdns_sd::ServiceInfo::new(
        "_http._tcp.local.",
        "teaminbox",
        &format!("{MDNS_HOST}."),
        ips.as_slice(),
        port,
        &[("path", "/")][..],
    )?
    .enable_addr_auto();
    daemon.register(info)?;
    Ok(Announcement { daemon })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_see_private_ipv4_first_and_never_loopback_or_link_local() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let found = vec![
            ip("127.0.0.1"),
            ip("fe80::1"),
            ip("2001:db8::5"),
            ip("203.0.113.7"),
            ip("192.168.1.20"),
            ip("169.254.3.3"),
            ip("10.0.0.5"),
            ip("fd00::9"),
            ip("192.168.1.20"),
            ip("::1"),
        ];
        assert_eq!(
            order(found),
            vec![
                ip("10.0.0.5"),
                ip("192.168.1.20"),
                ip("203.0.113.7"),
                ip("fd00::9"),
                ip("2001:db8::5"),
            ]
        );
    }

    #[test]
    fn urls_bracket_ipv6_and_drop_default_ports() {
        let cases = [
            ("http", "192.168.1.20", 8080, "http://192.168.1.20:8080"),
            ("http", "192.168.1.20", 80, "http://192.168.1.20"),
            ("https", "192.168.1.20", 443, "https://192.168.1.20"),
            ("https", "192.168.1.20", 80, "https://192.168.1.20:80"),
            ("http", "fd00::9", 8080, "http://[fd00::9]:8080"),
        ];
        for (scheme, ip, port, want) in cases {
            assert_eq!(base_url(scheme, ip.parse().expect("ip"), port), want);
        }
    }

    #[test]
    fn a_setup_link_fits_in_a_qr_code_a_terminal_can_show() {
        let link = format!("http://192.168.100.200:8080/setup?token={}", "a".repeat(64));
        let code = qr(&link).expect("qr");
        let rows: Vec<&str> = code.lines().collect();
        // Version 5 at level L holds it: 37 modules + 8 of quiet zone, two rows per line.
        let width = rows[0].chars().count();
        assert!(width <= 53, "{width} columns");
        assert!(rows.iter().all(|r| r.chars().count() == width));
        assert!(qr(&"x".repeat(5000)).is_none());
    }
}
