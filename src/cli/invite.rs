//! `teaminbox user invite` and `teaminbox user reset` (#14): a one-time link for the owner at
//! the machine, printed with a terminal QR code, built on the LAN address the server prints at
//! start.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;

use crate::config::{Config, Overrides};
use crate::domain::Role;
use crate::domain::invitation::{DEFAULT_TTL_MS, Kind};
use crate::service::{self, invitations::Issued};
use crate::store::Store;
use crate::store::users::find_user_by_email;

/// The base URL the server in `data` prints first (its configured `bind`, over HTTPS when it
/// has a certificate): the first LAN address, else `localhost`.
fn base_of(data: &Path) -> String {
    let config = Config::load(data.to_path_buf(), Overrides::default()).ok();
    let scheme = if config.as_ref().is_some_and(|c| c.tls.is_some()) {
        "https"
    } else {
        "http"
    };
    let bind = config.map_or_else(|| "0.0.0.0:8080".to_string(), |c| c.bind);
    match bind.parse::<SocketAddr>() {
        Ok(addr) => crate::lan::lan_base(scheme, addr, &crate::lan::addresses(addr)),
        // A host name: it is what phones open.
        Err(_) => format!("{scheme}://{bind}"),
    }
}

/// Prints a link just issued, with its QR code.
fn print_link(who: &str, issued: &Issued, base: &str) {
    let url = issued.url(base);
    let what = match issued.kind {
        Kind::Invite => "Invitation",
        Kind::Reset => "Password reset",
    };
    println!(
        "{what} for {who}: open it on their phone to set a password. It works once and expires \
         in {} hours (at {}).\n  {url}",
        DEFAULT_TTL_MS / 3_600_000,
        crate::domain::time::format_ms(issued.expires_at)
    );
    if let Some(code) = crate::lan::qr(&url) {
        println!("\nScan with the phone's camera to open it:\n{code}");
    }
}

/// `teaminbox user invite`: creates the person without a password (in `teams`, created when
/// missing) and prints their invitation link.
pub(super) fn invite(
    data: &Path,
    store: &Store,
    email: String,
    name: String,
    role: Role,
    teams: Vec<String>,
) -> anyhow::Result<()> {
    let (user, issued) = store.write_blocking(move |c| {
        let ids = teams
            .iter()
            .map(|t| service::teams::find_or_create(c, t))
            .collect::<service::Result<Vec<_>>>()?;
        service::invitations::invite_new(c, email, name, role, &ids, None)
    })?;
    println!("created {} <{}> as {}", user.name, user.email, user.role);
    print_link(
        &format!("{} <{}>", user.name, user.email),
        &issued,
        &base_of(data),
    );
    Ok(())
}

/// `teaminbox user reset`: a password-reset link for the user with `email` (their previous
/// link stops working; their sessions end when they set the new password).
pub(super) fn reset(data: &Path, store: &Store, email: String) -> anyhow::Result<()> {
    let wanted = email.clone();
    let (user, issued) = store
        .write_blocking(move |c| {
            let (user, _) = find_user_by_email(c, &service::users::login_key(&wanted))?
                .ok_or(service::Error::NotFound("user"))?;
            let issued =
                service::invitations::issue(c, user.id, Kind::Reset, None, DEFAULT_TTL_MS)?;
            Ok::<_, service::Error>((user, issued))
        })
        .with_context(|| format!("a reset link for {email}"))?;
    print_link(
        &format!("{} <{}>", user.name, user.email),
        &issued,
        &base_of(data),
    );
    Ok(())
}
