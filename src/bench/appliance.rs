//! `bench --only appliance`: what the shop's mini-PC feels (#12), measured on the real binary as a
//! separate process — start to the first answer of `/healthz` on a generated database (beside the
//! floor of starting the process at all, and a start on an empty data dir), resident memory idle,
//! with 20 connected browsers (each has loaded the inbox page and holds its event stream) and after
//! 20 logins — as shipped and with glibc's malloc defaults beside it — and
//! `teaminbox backup`'s time and archive size for the same database.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::domain::Role;
use crate::domain::time::now_ms;
use crate::store::Store;
use crate::store::tokens::TokenKind;

use super::{BenchArgs, api_channel, corpus, user};

/// Starts measured per configuration; the median is quoted.
const STARTS: usize = 5;
/// Browsers held open for the memory figure (the issue's "20 connected browsers").
const BROWSERS: usize = 20;

/// A `teaminbox serve` child, stopped with SIGTERM (a clean shutdown, as systemd does) on drop.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the part: generates `args.conversations` conversations in `scratch`, then measures.
pub fn run(rt: &tokio::runtime::Runtime, args: &BenchArgs, scratch: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let dir = scratch.join("appliance");
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let (sessions, messages) = {
        let store = Store::open(&dir)?;
        let mut agents = Vec::new();
        for i in 0..8 {
            agents.push(user(&store, &format!("Agent{i}"), Role::Agent)?.0);
        }
        let channel = api_channel(&store)?.id.0;
        let mut sessions = Vec::new();
        for i in 0..BROWSERS {
            let role = if i == 0 { Role::Owner } else { Role::Agent };
            let (id, _) = user(&store, &format!("Staff{i}"), role)?;
            sessions.push(store.write_blocking(move |c| {
                let u = crate::store::users::find_user(c, crate::domain::ids::UserId(id))?
                    .context("user")?;
                Ok::<_, anyhow::Error>(crate::service::auth::issue_token(
                    c,
                    &u,
                    TokenKind::Session,
                    None,
                )?)
            })?);
        }
        drop(store);
        let mut corpus = corpus::Corpus::new(7, args.per_conversation.max(1));
        let messages = crate::store::bench::generate(
            &dir,
            channel,
            &agents,
            args.conversations,
            now_ms(),
            &mut || corpus.customer(),
        )?;
        (sessions, messages)
    };
    // One open and close by the product itself: migrations done and the WAL folded in, so the
    // starts below time a start, not a first upgrade.
    drop(Store::open(&dir)?);
    let db_bytes = file_size(&dir.join("teaminbox.db")) + file_size(&dir.join("teaminbox.db-wal"));
    println!(
        "== The appliance: the real binary on {} conversations / {messages} messages, database {:.0} MiB (generated in {:.0} s)",
        args.conversations,
        db_bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let floor = median(
        (0..STARTS)
            .map(|_| process_floor(&exe))
            .collect::<anyhow::Result<_>>()?,
    );
    let empty = scratch.join("appliance-empty");
    let mut fresh = Vec::new();
    for i in 0..STARTS {
        let d = empty.join(i.to_string());
        fresh.push(start(&exe, &d, Malloc::Shipped)?.1);
    }
    let mut warm = Vec::new();
    for _ in 0..STARTS {
        warm.push(start(&exe, &dir, Malloc::Shipped)?.1);
    }
    let mut cold = Vec::new();
    for _ in 0..STARTS {
        if !drop_page_cache() {
            break;
        }
        cold.push(start(&exe, &dir, Malloc::Shipped)?.1);
    }
    println!("  start to first /healthz answer (median of {STARTS}):");
    println!("    bare floor, `teaminbox --version` spawned and exited: {floor:.1} ms");
    println!(
        "    empty data dir (creates the database): {:.1} ms",
        median(fresh)
    );
    println!(
        "    this database, file in the page cache: {:.1} ms",
        median(warm)
    );
    if cold.is_empty() {
        println!("    this database, page cache dropped: not measured (needs root)");
    } else {
        println!(
            "    this database, page cache dropped first: {:.1} ms",
            median(cold)
        );
    }

    println!(
        "  resident memory of the server (VmRSS, median of 3), as shipped | bare: glibc's malloc defaults:"
    );
    // Alternating, median of three each: a run right after another reads a warmer machine.
    let (mut shipped, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        shipped.push(memory(rt, &exe, &dir, &sessions, Malloc::Shipped)?);
        bare.push(memory(rt, &exe, &dir, &sessions, Malloc::GlibcDefaults)?);
    }
    let (shipped, bare) = (Memory::median(&shipped), Memory::median(&bare));
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (label, a, b) in [
        ("idle after start", shipped.idle, bare.idle),
        (
            "with 20 browsers connected (inbox page loaded, event stream open)",
            shipped.connected,
            bare.connected,
        ),
        (
            "then 20 logins, 4 at a time (a shift change)",
            shipped.logins,
            bare.logins,
        ),
        ("peak (VmHWM)", shipped.peak, bare.peak),
    ] {
        println!("    {label}: {:.1} MiB | {:.1} MiB", mib(a), mib(b));
    }
    let (served, _) = start(&exe, &dir, Malloc::Shipped)?;
    let browsers = rt.block_on(open_browsers(served.addr, &sessions))?;

    // The backup runs beside the serving process, as the daily job and `teaminbox backup` do.
    let archive = scratch.join("appliance-backup.tar.gz");
    let t = Instant::now();
    let status = Command::new(&exe)
        .args(["backup", "--to"])
        .arg(&archive)
        .env("TEAMINBOX_DATA", &dir)
        .stdout(Stdio::null())
        .status()?;
    let took = t.elapsed();
    if !status.success() {
        bail!("teaminbox backup failed: {status}");
    }
    let t = Instant::now();
    let copied = std::fs::copy(dir.join("teaminbox.db"), scratch.join("plain-copy.db"))?;
    let copy_took = t.elapsed();
    println!(
        "  backup while serving: {:.1} s, archive {:.0} MiB ({:.0} % of the database)",
        took.as_secs_f64(),
        file_size(&archive) as f64 / 1048576.0,
        100.0 * file_size(&archive) as f64 / db_bytes.max(1) as f64
    );
    println!(
        "    bare: copying the database file ({:.0} MiB, no snapshot, no compression): {:.1} s",
        copied as f64 / 1048576.0,
        copy_took.as_secs_f64()
    );
    drop(browsers);
    drop(served);
    let _ = std::fs::remove_file(scratch.join("plain-copy.db"));
    println!();
    Ok(())
}

/// How the server's malloc is set up for a run.
#[derive(Clone, Copy, PartialEq)]
enum Malloc {
    /// As the binary sets itself up (`crate::memory`).
    Shipped,
    /// glibc's defaults: a harmless tunable is set, so the server does not tune its own.
    GlibcDefaults,
}

/// Resident memory (KiB) of one server through idle, 20 browsers and 20 logins.
struct Memory {
    idle: u64,
    connected: u64,
    logins: u64,
    peak: u64,
}

impl Memory {
    /// Each figure's median over `runs`.
    fn median(runs: &[Memory]) -> Memory {
        let of = |f: fn(&Memory) -> u64| {
            let mut v: Vec<u64> = runs.iter().map(f).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0)
        };
        Memory {
            idle: of(|m| m.idle),
            connected: of(|m| m.connected),
            logins: of(|m| m.logins),
            peak: of(|m| m.peak),
        }
    }
}

/// Starts a server on `dir` and reads its RSS idle, with the browsers connected, and after every
/// browser's user has logged in (4 at a time: each login hashes with argon2's 19 MiB).
fn memory(
    rt: &tokio::runtime::Runtime,
    exe: &Path,
    dir: &Path,
    sessions: &[String],
    malloc: Malloc,
) -> anyhow::Result<Memory> {
    let (served, _) = start(exe, dir, malloc)?;
    let pid = served.child.id();
    // Idle: started, nobody connected; give the jobs their first round.
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss_kib(pid).context("reading the server's RSS")?;
    let browsers = rt.block_on(open_browsers(served.addr, sessions))?;
    std::thread::sleep(Duration::from_secs(2));
    let connected = rss_kib(pid).context("reading the server's RSS")?;
    rt.block_on(log_in_all(served.addr, sessions.len()))?;
    std::thread::sleep(Duration::from_secs(2));
    let logins = rss_kib(pid).context("reading the server's RSS")?;
    let peak = hwm_kib(pid).unwrap_or(0);
    drop(browsers);
    Ok(Memory {
        idle,
        connected,
        logins,
        peak,
    })
}

/// Logs in `Staff0`…`Staff{n-1}` through the API, 4 at a time.
async fn log_in_all(addr: SocketAddr, n: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(4) {
        let logins = chunk.iter().map(|i| {
            client
                .post(format!("http://{addr}/api/v1/auth/token"))
                .json(&serde_json::json!({
                    "email": format!("staff{i}@bench.test"),
                    "password": super::PASSWORD,
                }))
                .send()
        });
        for r in futures_util::future::join_all(logins).await {
            let r = r?;
            if r.status() != reqwest::StatusCode::CREATED {
                bail!("a login answered {}", r.status());
            }
        }
    }
    Ok(())
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(0.0)
}

/// Milliseconds to spawn this binary and have it exit (`--version`): what any start costs.
fn process_floor(exe: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    Command::new(exe)
        .arg("--version")
        .stdout(Stdio::null())
        .status()?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// Starts `teaminbox serve` on `data` and answers it with the milliseconds from spawn to the first
/// 200 from `/healthz` (asked every millisecond).
fn start(exe: &Path, data: &Path, malloc: Malloc) -> anyhow::Result<(Served, f64)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let t = Instant::now();
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "--bind", &addr.to_string(), "--log", "warn"])
        .args(["--no-mdns", "--no-update-check"])
        .env("TEAMINBOX_DATA", data)
        .env_remove("GLIBC_TUNABLES")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if malloc == Malloc::GlibcDefaults {
        cmd.env("GLIBC_TUNABLES", "glibc.malloc.check=0");
    }
    let child = cmd.spawn()?;
    let mut served = Served { child, addr };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if healthy(addr) {
            return Ok((served, t.elapsed().as_secs_f64() * 1000.0));
        }
        if let Some(status) = served.child.try_wait()? {
            bail!("teaminbox serve exited ({status}) before answering");
        }
        if Instant::now() > deadline {
            bail!("teaminbox serve did not answer /healthz within 60 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `/healthz` answers 200 now (one HTTP/1.1 request on a fresh connection).
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Drops the kernel's page cache so the next start reads the database from disk; false when not
/// allowed (not root).
fn drop_page_cache() -> bool {
    // SAFETY of data: sync first, so dropping clean pages loses nothing.
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status"))).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

/// Opens one "browser" per session: loads the inbox page, then opens the event stream and keeps
/// it (the returned responses hold the streams open until dropped).
async fn open_browsers(
    addr: SocketAddr,
    sessions: &[String],
) -> anyhow::Result<Vec<reqwest::Response>> {
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for s in sessions {
        let cookie = format!("ti_session={s}");
        let page = client
            .get(format!("http://{addr}/"))
            .header("Cookie", &cookie)
            .send()
            .await?;
        if !page.status().is_success() {
            bail!("the inbox page answered {}", page.status());
        }
        page.bytes().await?;
        let stream = client
            .get(format!("http://{addr}/api/v1/events"))
            .header("Cookie", &cookie)
            .header("Accept", "text/event-stream")
            .send()
            .await?;
        if !stream.status().is_success() {
            bail!("the event stream answered {}", stream.status());
        }
        streams.push(stream);
    }
    Ok(streams)
}
