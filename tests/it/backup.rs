//! Backups (#12): `teaminbox backup` while the server takes messages, `teaminbox restore` into a
//! fresh data dir and the refusals (a live data dir, damaged or foreign archives), the data dir
//! lock, and the scheduled backup's retention.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use teaminbox::store::backup::check_database;

use crate::support::{Api, TestApp, WAIT, start_server, test_config};

/// Runs the real binary with `args` on the data dir `data`.
fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teaminbox"))
        .args(args)
        .env("TEAMINBOX_DATA", data)
        .output()
        .expect("run teaminbox")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// External ids of every inbound message in the database file at `db`.
fn external_ids(db: &Path) -> std::collections::BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut st = conn
        .prepare("SELECT external_id FROM messages WHERE direction = 'in'")
        .expect("prepare");
    st.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

fn sha(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).expect("read")).to_vec()
}

#[test]
fn a_backup_taken_under_write_load_restores_every_acknowledged_message() {
    let app = TestApp::spawn();
    let (ch, secret) = app.api_channel("http://127.0.0.1:9/");
    // A media file, as the WhatsApp job stores them, travels with the archive.
    let media = app.dir.path().join("media/1/42.jpg");
    std::fs::create_dir_all(media.parent().expect("parent")).expect("media dir");
    std::fs::write(&media, b"\xff\xd8 not really a jpeg").expect("media");

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (stop, acked, secret) = (stop.clone(), acked.clone(), secret.clone());
            let api = Api::new(&app.api.base);
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("w{w}-{n}");
                    let body = json!({"external_id": id, "contact": {"identifier": format!("c{w}-{}", n % 7), "name": "Load"}, "text": format!("message {n}")});
                    let r = api.raw(
                        Method::POST,
                        &format!("/api/v1/channels/{ch}/inbound"),
                        Some(&secret),
                        Some(body.to_string().into_bytes()),
                    );
                    if r.status.is_success() {
                        acked.lock().expect("lock").push(id);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Some load first, then the backup while the writers keep going.
    let started = Instant::now();
    while acked.lock().expect("lock").len() < 60 {
        assert!(
            started.elapsed() < WAIT,
            "the writers got nothing acknowledged"
        );
        std::thread::yield_now();
    }
    let before: Vec<String> = acked.lock().expect("lock").clone();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let archive = out_dir.path().join("shop.tar.gz");
    let o = cli(
        app.dir.path(),
        &["backup", "--to", archive.to_str().expect("utf-8")],
    );
    assert!(o.status.success(), "backup failed: {}", text(&o));
    assert!(text(&o).contains("backup written to"), "{}", text(&o));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(before.len() >= 60);

    // A second backup to the same file is refused, the first one untouched.
    let first = sha(&archive);
    let o = cli(
        app.dir.path(),
        &["backup", "--to", archive.to_str().expect("utf-8")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("exists already"), "{}", text(&o));
    assert_eq!(sha(&archive), first);

    // Restoring into the live data dir is refused, and the live data is untouched.
    let live_db = app.dir.path().join("teaminbox.db");
    let o = cli(
        app.dir.path(),
        &["restore", archive.to_str().expect("utf-8")],
    );
    assert!(!o.status.success(), "restore ran against a live server");
    assert!(
        text(&o).contains("another teaminbox process is using"),
        "{}",
        text(&o)
    );
    assert!(live_db.exists());

    // Into a fresh data dir: sound, every message acknowledged before the backup began.
    let fresh = tempfile::tempdir().expect("tempdir");
    let o = cli(fresh.path(), &["restore", archive.to_str().expect("utf-8")]);
    assert!(o.status.success(), "restore failed: {}", text(&o));
    let db = fresh.path().join("teaminbox.db");
    let check = check_database(&db).expect("check");
    assert_eq!(check.integrity, "ok");
    let restored = external_ids(&db);
    let missing: Vec<&String> = before.iter().filter(|id| !restored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but not restored: {missing:?}"
    );
    assert_eq!(
        std::fs::read(fresh.path().join("media/1/42.jpg")).expect("media restored"),
        b"\xff\xd8 not really a jpeg"
    );

    // The restored data dir serves: the owner's token still works and the messages are there.
    let server = start_server(test_config(fresh.path().to_path_buf()));
    let api = Api::new(&format!("http://{}", server.addr));
    let list = api
        .get("/api/v1/conversations?view=all", &app.owner.token)
        .expect(200);
    assert!(
        !list["items"].as_array().expect("items").is_empty(),
        "{list}"
    );
    server.stop();
}

/// Builds a `.tar.gz` holding `entries` (name, bytes) at `path`.
fn tarball(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).expect("create");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        // The name goes in raw: the tar crate refuses to write `..`, an attacker's tool does not.
        let field = &mut h.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, *bytes).expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gz");
}

/// Unpacks a real archive's manifest and database bytes.
fn parts_of(archive: &Path) -> (serde_json::Value, Vec<u8>) {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(archive).expect("open"),
    ));
    let (mut manifest, mut db) = (serde_json::Value::Null, Vec::new());
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").display().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).expect("read");
        match name.as_str() {
            "manifest.json" => manifest = serde_json::from_slice(&bytes).expect("manifest"),
            "teaminbox.db" => db = bytes,
            _ => {}
        }
    }
    (manifest, db)
}

#[test]
fn restore_refuses_damaged_and_foreign_archives_and_leaves_the_data_dir_alone() {
    // A real archive of a small workspace to take apart.
    let mut app = TestApp::spawn();
    let (ch, secret) = app.api_channel("http://127.0.0.1:9/");
    app.inbound(ch, &secret, "m1", "cust-1", "hello")
        .expect(201);
    let work = tempfile::tempdir().expect("tempdir");
    let good = work.path().join("good.tar.gz");
    let o = cli(
        app.dir.path(),
        &["backup", "--to", good.to_str().expect("utf-8")],
    );
    assert!(o.status.success(), "{}", text(&o));
    app.stop();
    let (manifest, db) = parts_of(&good);
    let manifest_bytes = serde_json::to_vec(&manifest).expect("json");

    // A database from a newer teaminbox: same archive, user_version far ahead, checksum right.
    let newer_db = work.path().join("newer.db");
    std::fs::write(&newer_db, &db).expect("write");
    rusqlite::Connection::open(&newer_db)
        .expect("open")
        .pragma_update(None, "user_version", 999)
        .expect("pragma");
    let newer_bytes = std::fs::read(&newer_db).expect("read");
    let mut newer_manifest = manifest.clone();
    newer_manifest["database_sha256"] = json!(hex::encode({
        use sha2::Digest;
        sha2::Sha256::digest(&newer_bytes)
    }));
    let newer_manifest = serde_json::to_vec(&newer_manifest).expect("json");
    let mut future_format = manifest.clone();
    future_format["format"] = json!(2);
    let future_format = serde_json::to_vec(&future_format).expect("json");
    let mut tampered = db.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0xff;
    let good_bytes = std::fs::read(&good).expect("read");

    type Make = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "random bytes",
            Box::new(|p: &Path| std::fs::write(p, b"definitely not an archive").expect("w")),
            "cannot be restored",
        ),
        (
            "truncated archive",
            Box::new({
                let b = good_bytes.clone();
                move |p: &Path| std::fs::write(p, &b[..b.len() / 2]).expect("w")
            }),
            "cannot be restored",
        ),
        (
            "no manifest",
            Box::new({
                let db = db.clone();
                move |p: &Path| tarball(p, &[("teaminbox.db", &db)])
            }),
            "no manifest.json",
        ),
        (
            "no database",
            Box::new({
                let m = manifest_bytes.clone();
                move |p: &Path| tarball(p, &[("manifest.json", &m)])
            }),
            "holds no database",
        ),
        (
            "database changed after the checksum",
            Box::new({
                let (m, t) = (manifest_bytes.clone(), tampered.clone());
                move |p: &Path| tarball(p, &[("manifest.json", &m), ("teaminbox.db", &t)])
            }),
            "does not match the checksum",
        ),
        (
            "unknown archive format",
            Box::new({
                let (m, d) = (future_format.clone(), db.clone());
                move |p: &Path| tarball(p, &[("manifest.json", &m), ("teaminbox.db", &d)])
            }),
            "archive format 2 is unknown",
        ),
        (
            "schema newer than this binary",
            Box::new({
                let (m, d) = (newer_manifest.clone(), newer_bytes.clone());
                move |p: &Path| tarball(p, &[("manifest.json", &m), ("teaminbox.db", &d)])
            }),
            "newer teaminbox",
        ),
        (
            "an entry outside the data dir",
            Box::new({
                let (m, d) = (manifest_bytes.clone(), db.clone());
                move |p: &Path| {
                    tarball(
                        p,
                        &[
                            ("manifest.json", &m),
                            ("teaminbox.db", &d),
                            ("media/../../escaped.txt", b"x"),
                        ],
                    )
                }
            }),
            "unexpected entry",
        ),
        (
            "an unexpected file",
            Box::new({
                let (m, d) = (manifest_bytes.clone(), db.clone());
                move |p: &Path| {
                    tarball(
                        p,
                        &[
                            ("manifest.json", &m),
                            ("teaminbox.db", &d),
                            ("teaminbox.db-wal", b"x"),
                        ],
                    )
                }
            }),
            "unexpected entry",
        ),
    ];
    // The data dir the restores aim at: the stopped workspace's own.
    let live_db = app.dir.path().join("teaminbox.db");
    let before = sha(&live_db);
    for (name, make, expected) in &cases {
        let archive = work
            .path()
            .join(format!("{}.tar.gz", name.replace(' ', "-")));
        make(&archive);
        let o = cli(
            app.dir.path(),
            &["restore", archive.to_str().expect("utf-8")],
        );
        assert!(!o.status.success(), "{name}: restored");
        assert!(
            text(&o).contains(expected),
            "{name}: expected {expected:?} in {}",
            text(&o)
        );
        assert!(!text(&o).contains("panicked"), "{name}: {}", text(&o));
        assert_eq!(sha(&live_db), before, "{name}: the live database changed");
        let leftovers: Vec<PathBuf> = std::fs::read_dir(app.dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".restore-"))
            })
            .collect();
        assert!(leftovers.is_empty(), "{name}: left {leftovers:?}");
    }
    assert!(
        !work.path().join("escaped.txt").exists() && !app.dir.path().join("escaped.txt").exists()
    );

    // The good archive restores over the stopped workspace, keeping what it replaced.
    let o = cli(app.dir.path(), &["restore", good.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("the data it replaced is in"),
        "{}",
        text(&o)
    );
    let kept: Vec<PathBuf> = std::fs::read_dir(app.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pre-restore-"))
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(sha(&kept[0].join("teaminbox.db")), before);
    assert!(external_ids(&live_db).contains("m1"));
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let app = TestApp::spawn();
    let err = teaminbox::server::spawn_background(test_config(app.dir.path().to_path_buf()))
        .err()
        .expect("a second server started on a data dir in use");
    assert!(
        err.to_string()
            .contains("another teaminbox process is using"),
        "{err}"
    );
    // The first one still serves.
    app.api.get("/api/v1/me", &app.owner.token).expect(200);
}

#[test]
fn backup_without_a_database_says_so() {
    let empty = tempfile::tempdir().expect("tempdir");
    let o = cli(empty.path(), &["backup"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("nothing to back up"), "{}", text(&o));
}

#[test]
fn the_scheduled_backup_keeps_the_newest_archives() {
    let backups = tempfile::tempdir().expect("tempdir");
    let dir = backups.path().to_path_buf();
    let app = TestApp::spawn_with(|c| {
        c.backup.dir = dir.clone();
        c.backup.keep = 2;
        c.backup.interval_secs = 1;
    });
    let (ch, secret) = app.api_channel("http://127.0.0.1:9/");
    app.inbound(ch, &secret, "m1", "cust-1", "hello")
        .expect(201);
    let list = || {
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".tar.gz"))
            .collect();
        v.sort();
        v
    };
    // Files appear without a commit to wait on: look every 50 ms until the deadline.
    let wait_for = |what: &str, check: &dyn Fn(&[String]) -> bool| {
        let deadline = Instant::now() + WAIT + Duration::from_secs(10);
        loop {
            let now = list();
            if check(&now) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {now:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let first_two = wait_for("two archives", &|l| l.len() >= 2);
    let oldest = first_two[0].clone();
    // Between writing an archive and pruning, `keep + 1` exist for a moment: wait for the pass
    // to finish (a job that never prunes times out here).
    let third = wait_for("a third archive and the oldest pruned", &|l| {
        l.iter().any(|n| !first_two.contains(n)) && !l.contains(&oldest)
    });
    assert!(third.len() <= 2, "more than `keep` archives: {third:?}");
    // Each is a sound archive: it restores.
    let fresh = tempfile::tempdir().expect("tempdir");
    let newest = dir.join(third.last().expect("newest"));
    let o = cli(fresh.path(), &["restore", newest.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(external_ids(&fresh.path().join("teaminbox.db")).contains("m1"));
}
