//! A loopback release server for `teaminbox update` and `install.sh`: a tiny HTTP/1.0 file
//! server over a temp dir (GET only, 404 for what is not there), and releases published into it
//! with a throwaway key through the real `teaminbox release` commands.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The test binary (the one under test, a debug build).
pub const BIN: &str = env!("CARGO_BIN_EXE_teaminbox");

/// A file server on `127.0.0.1:<port 0>` serving `root`; stops when dropped.
pub struct FileServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Arc<AtomicBool>,
}

impl FileServer {
    /// Serves `root` until dropped.
    pub fn start(root: &Path) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let (root, flag) = (root.to_path_buf(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Headers up to the blank line; nothing in them matters here.
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    h.clear();
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/");
                let rel = path.trim_start_matches('/');
                let file = root.join(rel);
                let body = (!rel.contains("..")).then(|| std::fs::read(&file).ok());
                let _ = match body.flatten() {
                    Some(b) => conn
                        .write_all(
                            format!(
                                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                b.len()
                            )
                            .as_bytes(),
                        )
                        .and_then(|_| conn.write_all(&b)),
                    None => conn.write_all(
                        b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                };
            }
        });
        FileServer { url, stop }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// Output of a command as one string (stdout then stderr).
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A throwaway signing key pair in `dir`: (private, public).
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (private, public) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    );
    let o = Command::new(BIN)
        .args(["release", "keygen", "--private"])
        .arg(&private)
        .arg("--public")
        .arg(&public)
        .output()
        .expect("run keygen");
    assert!(o.status.success(), "keygen: {}", text(&o));
    (private, public)
}

/// A stand-in "teaminbox" of `version`: a shell script that answers `--version` as the real
/// one does and says who it is otherwise (a real build per version would cost minutes).
pub fn fake_binary(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join(format!("teaminbox-{version}.sh"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo \"teaminbox {version}\"; exit 0; fi\necho \"fake teaminbox {version}: $*\"\n"
        ),
    )
    .expect("write fake");
    make_executable(&path);
    path
}

/// Sets mode 0755.
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Publishes `binary` as `version` into the release dir `out` with `key` through
/// `packaging/release.sh` (which calls `teaminbox release publish`); returns the archive path.
pub fn publish(out: &Path, key: &Path, binary: &Path, version: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/release.sh");
    let o = Command::new("sh")
        .arg(&script)
        .arg("--key")
        .arg(key)
        .arg("--binary")
        .arg(binary)
        .args(["--version", version, "--tool", BIN, "--out"])
        .arg(out)
        .output()
        .expect("run release.sh");
    assert!(o.status.success(), "release.sh: {}", text(&o));
    let target = target();
    out.join(version)
        .join(format!("teaminbox-{version}-{target}.tar.gz"))
}

/// The target triple the test binary was built for, as `teaminbox update` looks it up.
pub fn target() -> String {
    let arch = std::env::consts::ARCH;
    format!("{arch}-unknown-linux-gnu")
}
