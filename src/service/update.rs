//! Self-update: check the release server for a newer version, install it (signature checked
//! against the key built into this binary, a backup of the data dir first, the old binary kept as
//! `teaminbox.old`), roll back to the kept binary, and restart the systemd service.
//!
//! The release layout is described in [`crate::service::release`]; downloading, the zipsign
//! (ed25519ph) check and the swap of the running executable are `self_update`'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::service::backup::{archive_name, write_archive};
use crate::store::Store;

/// Where releases come from unless `TEAMINBOX_RELEASE_URL` says otherwise.
pub const DEFAULT_RELEASE_URL: &str = "https://releases.teaminbox.app";

/// The release public key (32 raw ed25519 bytes) every downloaded archive must be signed with.
/// Its private half is kept off the repository by the maintainer (`packaging/README.md`).
pub const RELEASE_KEY: [u8; 32] = *include_bytes!("../../packaging/release-key.pub");

/// This binary's version (semver).
pub const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file, in the data dir, through which the web page asks the systemd path unit
/// (`teaminbox-update.path`) to run `teaminbox update` as root.
pub const REQUEST_FILE: &str = "update-requested";

/// Why an update, a check or a rollback did not happen. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The release server could not be read.
    #[error("cannot read the release list at {url}: {reason}")]
    Server {
        /// The manifest URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The archive is not signed by the release key: refused, nothing changed.
    #[error(
        "the downloaded release {version} is not signed with teaminbox's release key ({reason}); it was refused and this teaminbox was left as it is"
    )]
    BadSignature {
        /// The version offered.
        version: String,
        /// What the check said.
        reason: String,
    },
    /// The archive does not match the digest in the manifest: refused, nothing changed.
    #[error(
        "the downloaded release {version} does not match its checksum (damaged or tampered with); it was refused and this teaminbox was left as it is"
    )]
    BadChecksum {
        /// The version offered.
        version: String,
    },
    /// Any other failure of the update itself; nothing was changed.
    #[error("the update to {version} failed: {reason}; this teaminbox was left as it is")]
    Failed {
        /// The version offered.
        version: String,
        /// What went wrong.
        reason: String,
    },
    /// The backup before the update failed, so the update did not start.
    #[error("the backup before the update failed ({0}); nothing was changed")]
    Backup(String),
    /// `--rollback` without a kept binary.
    #[error("there is no previous version to go back to ({0} does not exist)")]
    NoOld(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, UpdateError>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> UpdateError {
    let what = what.into();
    move |source| UpdateError::Io { what, source }
}

/// The release base URL: `TEAMINBOX_RELEASE_URL` or [`DEFAULT_RELEASE_URL`], no trailing `/`.
pub fn release_url() -> String {
    std::env::var("TEAMINBOX_RELEASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_RELEASE_URL.into())
        .trim_end_matches('/')
        .to_string()
}

/// The keys a release may be signed with: [`RELEASE_KEY`], and in debug builds only (the test
/// suite's binary; `cfg(debug_assertions)` is off in every release build) the 32-byte public key
/// in the file named by `TEAMINBOX_UPDATE_EXTRA_KEY`, so tests can sign with a throwaway key.
pub fn verifying_keys() -> Vec<[u8; 32]> {
    #[allow(unused_mut)]
    let mut keys = vec![RELEASE_KEY];
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("TEAMINBOX_UPDATE_EXTRA_KEY") {
        match std::fs::read(&path).map(<[u8; 32]>::try_from) {
            Ok(Ok(k)) => keys.push(k),
            _ => tracing::warn!(
                "TEAMINBOX_UPDATE_EXTRA_KEY does not name a 32-byte public key file; ignored"
            ),
        }
    }
    keys
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// This binary's version.
    pub current: String,
    /// The newest release on the server newer than this one, if any.
    pub newer: Option<String>,
}

fn configure(base: &str, exe: &Path) -> self_update::backends::manifest::UpdateBuilder {
    let mut b = self_update::backends::manifest::Update::configure();
    b.manifest_url(format!("{base}/manifest.json"))
        .bin_name("teaminbox")
        .bin_install_path(exe)
        .target(self_update::get_target())
        .current_version(CURRENT_VERSION)
        .update_strategy(self_update::UpdateStrategy::Latest)
        .timeout(std::time::Duration::from_secs(60))
        .verifying_keys(verifying_keys())
        .unattended();
    b
}

fn server_error(base: &str, e: impl std::fmt::Display) -> UpdateError {
    UpdateError::Server {
        url: format!("{base}/manifest.json"),
        reason: e.to_string(),
    }
}

/// Asks the release server (blocking) whether a newer version than this one exists.
///
/// # Errors
/// [`UpdateError::Server`] when the manifest cannot be fetched or read.
pub fn check(base: &str) -> Result<Check> {
    let exe = current_exe()?;
    let newer = configure(base, &exe)
        .build()
        .and_then(|u| u.is_update_available())
        .map_err(|e| server_error(base, e))?;
    Ok(Check {
        current: CURRENT_VERSION.into(),
        newer: newer.map(|r| r.version().to_string()),
    })
}

/// The running executable (symlinks resolved, so the kept `.old` sits beside the real file).
///
/// # Errors
/// When the operating system cannot say.
pub fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(io("finding the running program"))?;
    Ok(exe.canonicalize().unwrap_or(exe))
}

/// Where the previous binary of `exe` is kept: `<exe>.old` beside it.
pub fn old_path(exe: &Path) -> PathBuf {
    let mut name = exe.file_name().unwrap_or_default().to_os_string();
    name.push(".old");
    exe.with_file_name(name)
}

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing newer on the server.
    UpToDate(String),
    /// Installed `to`; the previous binary is at `old`.
    Updated {
        /// The version before.
        from: String,
        /// The version now installed.
        to: String,
        /// The kept previous binary.
        old: PathBuf,
        /// The backup taken first, if the data dir had a database.
        backup: Option<PathBuf>,
    },
}

/// Installs the newest release over `exe` (blocking): checks, backs up the data dir of `store`
/// (when given) into `<data>/backups`, downloads, verifies the digest and the signature, runs the
/// new binary's `--version`, keeps the old binary as `<exe>.old` and swaps. A refused or failed
/// download leaves `exe` and any earlier `.old` as they were.
///
/// # Errors
/// See [`UpdateError`].
pub fn update(base: &str, exe: &Path, data: Option<(&Store, &Path)>) -> Result<Outcome> {
    let release = configure(base, exe)
        .build()
        .and_then(|u| u.is_update_available())
        .map_err(|e| server_error(base, e))?;
    let Some(release) = release else {
        return Ok(Outcome::UpToDate(CURRENT_VERSION.into()));
    };
    let version = release.version().to_string();
    let backup = match data {
        Some((store, dir)) => {
            let to = dir
                .join("backups")
                .join(archive_name(crate::domain::time::now_ms()));
            let w =
                write_archive(store, dir, &to).map_err(|e| UpdateError::Backup(e.to_string()))?;
            Some(w.path)
        }
        None => None,
    };
    let old = old_path(exe);
    let partial = exe.with_file_name(".teaminbox.old.partial");
    std::fs::copy(exe, &partial).map_err(io(format!("copying {}", exe.display())))?;
    let expect = version.clone();
    let result = configure(base, exe)
        .release_tag(version.clone())
        .verify_binary(move |new| check_new_binary(new, &expect))
        .build()
        .and_then(|u| u.update());
    match result {
        Ok(_) => {
            std::fs::rename(&partial, &old)
                .map_err(io(format!("keeping the old binary as {}", old.display())))?;
            Ok(Outcome::Updated {
                from: CURRENT_VERSION.into(),
                to: version,
                old,
                backup,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(classify(version, e))
        }
    }
}

/// Runs the new binary's `--version` and wants `expect` in its answer, so a release that does not
/// start on this machine (wrong architecture, damaged) never replaces a working one.
fn check_new_binary(new: &Path, expect: &str) -> self_update::errors::Result<()> {
    let out = Command::new(new).arg("--version").output().map_err(|e| {
        self_update::errors::Error::verification_rejected(format!("it does not run here: {e}"))
    })?;
    let said = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && said.split_whitespace().any(|w| w == expect) {
        Ok(())
    } else {
        Err(self_update::errors::Error::verification_rejected(format!(
            "it says {:?}, not version {expect}",
            said.trim()
        )))
    }
}

fn classify(version: String, e: self_update::errors::Error) -> UpdateError {
    use self_update::errors::Error as E;
    match e {
        E::Signature(_) | E::NoSignatures(_) | E::SignatureNonUTF8 => UpdateError::BadSignature {
            version,
            reason: e.to_string(),
        },
        E::ChecksumMismatch { .. } => UpdateError::BadChecksum { version },
        other => UpdateError::Failed {
            version,
            reason: other.to_string(),
        },
    }
}

/// Puts the kept binary back and keeps the replaced one as the new `.old`, so a second rollback
/// undoes the first; there is an executable in place at every moment. Run from `teaminbox` it
/// swaps in `teaminbox.old`; run from `teaminbox.old` itself (for when the new version does not
/// even start) it does the same swap. Returns the installed path.
///
/// # Errors
/// [`UpdateError::NoOld`] without a kept binary; I/O errors.
pub fn rollback(exe: &Path) -> Result<PathBuf> {
    let name = exe.file_name().unwrap_or_default().to_string_lossy();
    let (target, old) = match name.strip_suffix(".old") {
        Some(base) if !base.is_empty() => (exe.with_file_name(base), exe.to_path_buf()),
        _ => (exe.to_path_buf(), old_path(exe)),
    };
    if !old.exists() {
        return Err(UpdateError::NoOld(old.display().to_string()));
    }
    let keep = target.with_file_name(".teaminbox.rollback.partial");
    std::fs::copy(&target, &keep).map_err(io(format!("copying {}", target.display())))?;
    std::fs::rename(&old, &target).map_err(io(format!("moving {} back", old.display())))?;
    std::fs::rename(&keep, &old).map_err(io(format!("keeping {}", old.display())))?;
    Ok(target)
}

/// Whether this process runs under systemd (it sets `INVOCATION_ID` for every unit it starts).
pub fn under_systemd() -> bool {
    std::env::var_os("INVOCATION_ID").is_some()
}

/// Whether the `teaminbox` systemd service is active on this machine.
pub fn service_active() -> bool {
    Command::new("systemctl")
        .args(["is-active", "--quiet", "teaminbox"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Restarts the `teaminbox` service through systemd.
///
/// # Errors
/// When `systemctl` cannot be run or fails.
pub fn restart_service() -> Result<()> {
    let s = Command::new("systemctl")
        .args(["restart", "teaminbox"])
        .status()
        .map_err(io("running systemctl restart teaminbox"))?;
    if s.success() {
        Ok(())
    } else {
        Err(UpdateError::Io {
            what: "systemctl restart teaminbox".into(),
            source: std::io::Error::other(format!("it exited with {s}")),
        })
    }
}

/// Asks the root-run `teaminbox-update.path` unit to update (the service itself may not write
/// its own binary): creates `<data>/update-requested`.
///
/// # Errors
/// When the file cannot be written.
pub fn request_update(data: &Path) -> Result<()> {
    let path = data.join(REQUEST_FILE);
    std::fs::write(&path, format!("{}\n", crate::domain::time::now_ms()))
        .map_err(io(format!("writing {}", path.display())))
}
