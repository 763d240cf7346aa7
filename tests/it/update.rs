//! `teaminbox update` (#12) against a loopback release server: a correctly signed newer release
//! is installed (backup first, old binary kept), `--rollback` restores it (also when run from the
//! kept binary), and badly signed or tampered releases are refused with the running binary
//! untouched.
//!
//! The program updated is a copy of the test binary in a temp dir; it trusts the throwaway key
//! through `TEAMINBOX_UPDATE_EXTRA_KEY`, which only debug builds read. The "newer release" is a
//! shell script answering `--version` like teaminbox 9.9.9 (a real second build would take
//! minutes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::cli_add_user;
use crate::support::releases::{BIN, FileServer, fake_binary, keygen, publish, text};

/// A temp dir with `bin/teaminbox` (a copy of the test binary), a data dir with a database,
/// a release dir served on loopback and a throwaway key pair.
struct Setup {
    dir: tempfile::TempDir,
    server: FileServer,
    key: PathBuf,
    public: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("bin");
        std::fs::create_dir_all(dir.path().join("releases")).expect("releases");
        std::fs::copy(BIN, dir.path().join("bin/teaminbox")).expect("copy binary");
        cli_add_user(&dir.path().join("data"), "olga@shop.example", "owner", &[]);
        let (key, public) = keygen(dir.path(), "test");
        let server = FileServer::start(&dir.path().join("releases"));
        Setup {
            dir,
            server,
            key,
            public,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Publishes a stand-in teaminbox `version` signed with `key`; returns the archive.
    fn publish(&self, version: &str, key: &Path) -> PathBuf {
        let fake = fake_binary(self.dir.path(), version);
        publish(&self.path("releases"), key, &fake, version)
    }

    /// Runs `exe` (relative to the temp dir) with `args`, trusting `extra_key` (if any).
    fn run(&self, exe: &str, args: &[&str], extra_key: Option<&Path>) -> Output {
        let mut c = Command::new(self.path(exe));
        c.args(args)
            .env("TEAMINBOX_DATA", self.path("data"))
            .env("TEAMINBOX_RELEASE_URL", &self.server.url)
            .env_remove("TEAMINBOX_UPDATE_EXTRA_KEY")
            .env_remove("INVOCATION_ID");
        if let Some(k) = extra_key {
            c.env("TEAMINBOX_UPDATE_EXTRA_KEY", k);
        }
        c.output().expect("run teaminbox")
    }

    fn version_of(&self, exe: &str) -> String {
        text(&self.run(exe, &["--version"], None))
            .trim()
            .to_string()
    }

    fn backups(&self) -> usize {
        std::fs::read_dir(self.path("data/backups")).map_or(0, |d| d.count())
    }
}

#[test]
fn a_signed_newer_release_is_installed_with_a_backup_and_rollback_restores_the_old_binary() {
    let s = Setup::new();
    s.publish("9.9.9", &s.key);
    let original = std::fs::read(BIN).expect("read binary");

    let check = s.run("bin/teaminbox", &["update", "--check"], Some(&s.public));
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("0.1.0 is installed; 9.9.9 is available"),
        "{}",
        text(&check)
    );

    let out = s.run(
        "bin/teaminbox",
        &["update", "--no-restart"],
        Some(&s.public),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0.1.0 -> 9.9.9"), "{}", text(&out));
    assert_eq!(s.version_of("bin/teaminbox"), "teaminbox 9.9.9");
    assert!(
        std::fs::read(s.path("bin/teaminbox.old")).expect("old kept") == original,
        "the previous binary is kept as teaminbox.old, byte for byte"
    );
    assert_eq!(s.backups(), 1, "a backup is taken before the swap");
    assert!(!s.path("bin/.teaminbox.old.partial").exists());

    // The new version "does not start" (it is a stub): roll back from the kept binary.
    let back = s.run(
        "bin/teaminbox.old",
        &["update", "--rollback", "--no-restart"],
        None,
    );
    assert!(back.status.success(), "{}", text(&back));
    assert!(
        std::fs::read(s.path("bin/teaminbox")).expect("read") == original,
        "teaminbox is the original binary again"
    );
    assert_eq!(s.version_of("bin/teaminbox.old"), "teaminbox 9.9.9");
    // A second rollback, from the installed binary this time, undoes the first.
    let again = s.run(
        "bin/teaminbox",
        &["update", "--rollback", "--no-restart"],
        None,
    );
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(s.version_of("bin/teaminbox"), "teaminbox 9.9.9");
    assert!(std::fs::read(s.path("bin/teaminbox.old")).expect("read") == original);
}

#[test]
fn check_and_update_say_when_nothing_is_newer_and_rollback_needs_a_kept_binary() {
    let s = Setup::new();
    s.publish("0.0.9", &s.key);
    let check = s.run("bin/teaminbox", &["update", "--check"], Some(&s.public));
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("it is the newest"),
        "{}",
        text(&check)
    );
    let out = s.run(
        "bin/teaminbox",
        &["update", "--no-restart"],
        Some(&s.public),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing to do"), "{}", text(&out));
    assert!(!s.path("bin/teaminbox.old").exists());
    assert_eq!(s.backups(), 0, "no backup when there is nothing to install");

    let back = s.run("bin/teaminbox", &["update", "--rollback"], None);
    assert!(!back.status.success());
    assert!(
        text(&back).contains("there is no previous version to go back to"),
        "{}",
        text(&back)
    );
}

/// Flips a byte in the middle of `file`.
fn tamper(file: &Path) {
    let mut b = std::fs::read(file).expect("read");
    let i = b.len() / 2;
    b[i] ^= 0x55;
    std::fs::write(file, b).expect("write");
}

/// Rewrites the manifest's digest of `archive` to its current content (a server that lies).
fn fix_manifest_digest(releases: &Path, archive: &Path) {
    use sha2::Digest;
    let sum = hex::encode(sha2::Sha256::digest(std::fs::read(archive).expect("read")));
    let path = releases.join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("manifest");
    let mut m: serde_json::Value = serde_json::from_str(&text).expect("json");
    for r in m["releases"].as_array_mut().expect("releases") {
        for a in r["assets"].as_array_mut().expect("assets") {
            a["digest"] = format!("sha256:{sum}").into();
        }
    }
    std::fs::write(path, m.to_string()).expect("write");
}

#[test]
fn badly_signed_and_tampered_releases_are_refused_and_the_binary_is_left_alone() {
    #[derive(Debug, Clone, Copy)]
    enum Case {
        /// Signed with a key the binary does not trust.
        OtherKey,
        /// Signed with the throwaway key, but the binary trusts only its built-in release key.
        OnlyBuiltInKey,
        /// Bytes changed after signing; the manifest's digest no longer matches.
        TamperedDigestMismatch,
        /// Bytes changed and the manifest's digest rewritten to match: only the signature tells.
        TamperedDigestRewritten,
    }
    let cases = [
        (Case::OtherKey, "is not signed with teaminbox's release key"),
        (
            Case::OnlyBuiltInKey,
            "is not signed with teaminbox's release key",
        ),
        (Case::TamperedDigestMismatch, "does not match its checksum"),
        (
            Case::TamperedDigestRewritten,
            "is not signed with teaminbox's release key",
        ),
    ];
    for (case, says) in cases {
        let s = Setup::new();
        let (other, _) = keygen(s.dir.path(), "other");
        let signer = match case {
            Case::OtherKey => other.clone(),
            _ => s.key.clone(),
        };
        let archive = s.publish("9.9.9", &signer);
        match case {
            Case::TamperedDigestMismatch => tamper(&archive),
            Case::TamperedDigestRewritten => {
                tamper(&archive);
                fix_manifest_digest(&s.path("releases"), &archive);
            }
            _ => {}
        }
        std::fs::write(s.path("bin/teaminbox.old"), b"an earlier kept binary").expect("old");
        let before = std::fs::read(s.path("bin/teaminbox")).expect("read");
        let trusted = match case {
            Case::OnlyBuiltInKey => None,
            _ => Some(s.public.as_path()),
        };
        let out = s.run("bin/teaminbox", &["update", "--no-restart"], trusted);
        let said = text(&out);
        assert!(!out.status.success(), "{case:?}: accepted: {said}");
        assert!(said.contains(says), "{case:?}: {said}");
        assert!(
            said.contains("was refused and this teaminbox was left as it is"),
            "{case:?}: {said}"
        );
        assert!(
            std::fs::read(s.path("bin/teaminbox")).expect("read") == before,
            "{case:?}: the running binary is untouched"
        );
        assert_eq!(
            std::fs::read(s.path("bin/teaminbox.old")).expect("old"),
            b"an earlier kept binary",
            "{case:?}: the kept binary is untouched"
        );
        assert!(!s.path("bin/.teaminbox.old.partial").exists(), "{case:?}");
    }
}

#[test]
fn owners_see_the_daily_checks_answer_in_settings_and_update_now_says_how_without_the_unit() {
    for (published, expect) in [
        ("9.9.9", "Update available: teaminbox 9.9.9"),
        ("0.0.9", "no newer version was found"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let releases = dir.path().join("releases");
        std::fs::create_dir_all(&releases).expect("releases");
        let (key, _) = keygen(dir.path(), "test");
        let fake = fake_binary(dir.path(), published);
        publish(&releases, &key, &fake, published);
        let server = FileServer::start(&releases);
        let app = crate::support::TestApp::spawn_with(|c| {
            c.update.enabled = true;
            c.update.release_url = server.url.clone();
        });
        app.wait_until("the update check ran", || {
            app.store
                .read_blocking(|c| {
                    teaminbox::store::settings::find_internal(
                        c,
                        teaminbox::jobs::update_check::CHECKED_AT,
                    )
                })
                .expect("read")
                .is_some()
        });
        let owner = app.session(&app.owner);
        let page = owner.page("/settings");
        assert!(page.contains(expect), "{published}: {page}");
        let manager = app.session(&app.manager);
        assert!(
            !manager.page("/settings").contains("id=\"update\""),
            "only owners see updates"
        );

        let r = manager.form("/settings/update", &[]);
        assert_eq!(
            r.status().as_u16(),
            403,
            "{published}: a manager may not update"
        );
        // No systemd update unit on a test machine: the page says how to update by hand and
        // leaves no request behind.
        let r = owner.form("/settings/update", &[]);
        assert_eq!(r.status().as_u16(), 409, "{published}");
        assert!(
            r.text().expect("html").contains("sudo teaminbox update"),
            "{published}"
        );
        assert!(
            !app.dir
                .path()
                .join(teaminbox::service::update::REQUEST_FILE)
                .exists()
        );
    }
}
