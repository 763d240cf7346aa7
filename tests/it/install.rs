//! `install.sh` (#12) against a loopback release server, with `--prefix` into a temp root and
//! `--no-systemd`: installs, upgrades on a second run, installs a chosen `--version`, refuses
//! tampered and badly signed releases with a clear message (nothing changed), uninstalls keeping
//! the data unless `--purge`.
//!
//! The installer run is the one `packaging/release.sh` publishes (the repository's install.sh
//! with the throwaway release key filled in). It needs `sh`, `curl` or `wget`, `openssl`, `tar`
//! and `sha256sum`, as a fresh Debian with curl has; a missing tool fails the test by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::releases::{FileServer, fake_binary, keygen, publish, text};

struct Setup {
    dir: tempfile::TempDir,
    server: FileServer,
    key: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        for tool in ["openssl", "tar", "sha256sum"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(found, "install.sh needs `{tool}`: apt-get install {tool}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("releases")).expect("releases");
        let (key, _) = keygen(dir.path(), "test");
        let server = FileServer::start(&dir.path().join("releases"));
        Setup { dir, server, key }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn publish(&self, version: &str, key: &Path) -> PathBuf {
        let fake = fake_binary(self.dir.path(), version);
        publish(&self.path("releases"), key, &fake, version)
    }

    /// Runs the published install.sh with `args` and `--prefix <tmp>/root --no-systemd`.
    fn install(&self, args: &[&str]) -> Output {
        Command::new("sh")
            .arg(self.path("releases/install.sh"))
            .args(args)
            .arg("--prefix")
            .arg(self.path("root"))
            .arg("--no-systemd")
            .env("TEAMINBOX_RELEASE_URL", &self.server.url)
            .output()
            .expect("run install.sh")
    }

    fn installed_version(&self) -> Option<String> {
        let bin = self.path("root/bin/teaminbox");
        let o = Command::new(bin).arg("--version").output().ok()?;
        Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
    }
}

#[test]
fn install_sh_installs_upgrades_pins_a_version_and_uninstalls_keeping_the_data() {
    let s = Setup::new();
    s.publish("1.0.0", &s.key);
    let out = s.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("teaminbox 1.0.0 installed"),
        "{}",
        text(&out)
    );
    assert_eq!(s.installed_version().as_deref(), Some("teaminbox 1.0.0"));
    let data = s.path("root/var/lib/teaminbox");
    assert!(data.is_dir(), "the data dir is created");
    std::fs::write(data.join("teaminbox.db"), b"the shop's data").expect("data");

    // A newer release: running the installer again upgrades.
    s.publish("1.1.0", &s.key);
    let out = s.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("upgraded from 1.0.0 to 1.1.0"),
        "{}",
        text(&out)
    );
    assert_eq!(s.installed_version().as_deref(), Some("teaminbox 1.1.0"));

    // --version installs exactly that one.
    let out = s.install(&["--version", "1.0.0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.installed_version().as_deref(), Some("teaminbox 1.0.0"));
    let missing = s.install(&["--version", "7.7.7"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("version 7.7.7 is not on"),
        "{}",
        text(&missing)
    );

    let out = s.install(&["--uninstall"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Your data is still in"),
        "{}",
        text(&out)
    );
    assert!(
        !s.path("root/bin/teaminbox").exists(),
        "the program is gone"
    );
    assert_eq!(
        std::fs::read(data.join("teaminbox.db")).expect("data kept"),
        b"the shop's data"
    );

    let out = s.install(&["--uninstall", "--purge"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!data.exists(), "--purge removes the data");
}

#[test]
fn install_sh_refuses_tampered_and_badly_signed_releases_and_changes_nothing() {
    #[derive(Debug, Clone, Copy)]
    enum Case {
        /// Archive bytes changed after signing.
        TamperedArchive,
        /// Archive changed and SHA256SUMS rewritten to match (its signature no longer does).
        TamperedSums,
        /// Everything signed, but by a key that is not the installer's.
        OtherKey,
        /// No SHA256SUMS.sig at all.
        NoSignature,
    }
    let cases = [
        (
            Case::TamperedArchive,
            "does not match its signed checksum (damaged or tampered with); nothing was installed",
        ),
        (
            Case::TamperedSums,
            "the signature of release 2.0.0 is not valid",
        ),
        (
            Case::OtherKey,
            "the signature of release 2.0.0 is not valid",
        ),
        (Case::NoSignature, "version 2.0.0 has no signature"),
    ];
    for (case, says) in cases {
        let s = Setup::new();
        s.publish("1.0.0", &s.key);
        let ok = s.install(&[]);
        assert!(ok.status.success(), "{case:?}: {}", text(&ok));
        let (other, _) = keygen(s.dir.path(), "other");
        let archive = match case {
            Case::OtherKey => {
                // The other key publishes 2.0.0 into a copy; its install.sh would trust it, the
                // one installed from our release server does not.
                let other_dir = s.path("other-releases");
                let fake = fake_binary(s.dir.path(), "2.0.0");
                let a = publish(&other_dir, &other, &fake, "2.0.0");
                std::fs::rename(other_dir.join("2.0.0"), s.path("releases/2.0.0")).expect("move");
                std::fs::write(s.path("releases/LATEST"), "2.0.0\n").expect("latest");
                s.path("releases/2.0.0").join(a.file_name().expect("name"))
            }
            _ => s.publish("2.0.0", &s.key),
        };
        let version_dir = s.path("releases/2.0.0");
        match case {
            Case::TamperedArchive => tamper(&archive),
            Case::TamperedSums => {
                tamper(&archive);
                use sha2::Digest;
                let sum = hex::encode(sha2::Sha256::digest(std::fs::read(&archive).expect("a")));
                let name = archive.file_name().expect("name").to_string_lossy();
                std::fs::write(version_dir.join("SHA256SUMS"), format!("{sum}  {name}\n"))
                    .expect("sums");
            }
            Case::NoSignature => {
                std::fs::remove_file(version_dir.join("SHA256SUMS.sig")).expect("rm sig")
            }
            Case::OtherKey => {}
        }
        let before = std::fs::read(s.path("root/bin/teaminbox")).expect("installed");
        let out = s.install(&[]);
        let said = text(&out);
        assert!(!out.status.success(), "{case:?}: accepted: {said}");
        assert!(said.contains(says), "{case:?}: {said}");
        assert!(
            std::fs::read(s.path("root/bin/teaminbox")).expect("still installed") == before,
            "{case:?}: the installed program is untouched"
        );
        assert_eq!(s.installed_version().as_deref(), Some("teaminbox 1.0.0"));
        assert!(!s.path("root/bin/teaminbox.old").exists(), "{case:?}");
    }
}

/// Flips a byte in the middle of `file`.
fn tamper(file: &Path) {
    let mut b = std::fs::read(file).expect("read");
    let i = b.len() / 2;
    b[i] ^= 0x55;
    std::fs::write(file, b).expect("write");
}
