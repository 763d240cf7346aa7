//! The composition root: open the store, start every background job, bind HTTP, and stop them
//! in the right order. `serve`, the benchmark and the tests all start the server through here.
//!
//! Stopping: the jobs and every open event stream end first (an event stream is a response that
//! never finishes by itself, so actix would otherwise wait out its shutdown timeout), then
//! actix finishes the requests in flight, then the store's writer ends with the last handle.

use std::net::SocketAddr;
use std::sync::Mutex;

use actix_web::middleware::DefaultHeaders;
use actix_web::web::Data;
use actix_web::{App, HttpServer};

use crate::config::Config;
use crate::domain::throttle::Throttle;
use crate::jobs::{self, Jobs};
use crate::service;
use crate::store::Store;
use crate::web::in_flight::InFlight;
use crate::web::{AppState, CSP, configure};

/// Longest wait for requests in flight (other than event streams, which end at once) when the
/// server stops.
const SHUTDOWN_TIMEOUT_SECS: u64 = 5;

/// A started server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The HTTP server (await it to serve; [`Running::stop`] stops it).
    pub server: actix_web::dev::Server,
    /// The database.
    pub store: Store,
    /// The background jobs.
    pub jobs: Jobs,
    /// Requests being handled, for stopping.
    pub in_flight: InFlight,
    /// The data dir's lock, held while serving (restore and a second server are refused).
    pub lock: crate::store::backup::DataDirLock,
    /// The mDNS announcement, withdrawn when the server stops.
    pub mdns: Option<crate::lan::Announcement>,
}

/// Opens the data dir, prints the setup link while there is no user, starts every background
/// job and binds the HTTP server. Call inside an actix system. The server does not handle
/// signals itself: the caller decides when to stop ([`serve_until`]).
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    crate::install_crypto();
    let streams = match raise_open_files_limit() {
        Some(open_files) => {
            let fitted = config.streams.fitted(open_files);
            if fitted.total < config.streams.total {
                tracing::warn!(
                    configured = config.streams.total,
                    allowed = fitted.total,
                    open_files,
                    "fewer live event streams allowed than configured, to fit the open-files limit"
                );
            }
            fitted
        }
        None => config.streams,
    };
    std::fs::create_dir_all(&config.data)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", config.data.display()))?;
    let lock = crate::store::backup::DataDirLock::try_acquire(&config.data)?;
    let store = Store::open(&config.data)?;
    let setup = store.write(service::auth::ensure_setup_token).await?;
    let jobs = jobs::spawn_all(
        &store,
        config.outbox.clone(),
        (config.data.clone(), config.backup.clone()),
        config.update.clone(),
    );
    let state = Data::new(AppState {
        store: store.clone(),
        throttle: Mutex::new(Throttle::default()),
        hub: jobs.hub.clone().with_limits(streams),
        jobs: jobs.handle.clone(),
    });
    let app = configure(state);
    let metrics = Data::new(crate::web::metrics::Metrics::new(
        config.metrics_token.clone(),
    ));
    let in_flight = InFlight::default();
    let counter = in_flight.clone();
    let http = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .wrap(actix_web::middleware::from_fn(crate::web::metrics::record))
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CSP))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .wrap(actix_web::middleware::from_fn(
                crate::web::notice::clear_shown,
            ))
            .wrap(actix_web::middleware::Compress::default())
            .wrap(counter.clone())
            .wrap(crate::web::request_id::RequestId)
            .configure(app.clone())
    })
    .workers(config.workers)
    // A client that closes its side has gone (browsers and HTTP clients never half-close to wait
    // for an answer): drop the connection when its EOF is read. Otherwise an event stream, which
    // only writes, would keep a closed client's descriptor until a keep-alive write failed
    // (15–30 s later).
    .h1_allow_half_closed(false)
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
            && let Err(e) = drop_dead_peers(tcp)
        {
            tracing::debug!(error = %e, "cannot set the dead-peer timeout on a connection");
        }
    })
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .disable_signals();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let http = match &config.tls {
        Some(files) => http.bind_rustls_0_23(&config.bind, tls_config(files)?),
        None => http.bind(&config.bind),
    }
    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
    let addr = *http
        .addrs()
        .first()
        .ok_or_else(|| anyhow::anyhow!("no address to listen on"))?;
    let lan = crate::lan::addresses(addr);
    let mdns = if config.mdns && !addr.ip().is_loopback() {
        match crate::lan::announce(addr.port(), &lan) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "cannot announce teaminbox.local on the network (mDNS)");
                None
            }
        }
    } else {
        None
    };
    print_addresses(scheme, addr, &lan, mdns.is_some(), setup.as_deref());
    tracing::info!(%addr, data = %config.data.display(), "teaminbox is serving");
    Ok(Running {
        addr,
        server: http.run(),
        store,
        jobs,
        in_flight,
        lock,
        mdns,
    })
}

/// Prints where to open teaminbox: every LAN address, `teaminbox.local` when announced, and a
/// QR code of the first address — of the setup link while there is no user, built on a LAN
/// address so a phone can open it.
fn print_addresses(
    scheme: &str,
    addr: SocketAddr,
    lan: &[std::net::IpAddr],
    mdns: bool,
    setup: Option<&str>,
) {
    use crate::lan::{MDNS_HOST, base_url, qr};
    let port = addr.port();
    let mut urls: Vec<String> = lan.iter().map(|ip| base_url(scheme, *ip, port)).collect();
    let local = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        base_url(scheme, std::net::Ipv4Addr::LOCALHOST.into(), port)
            .replace("127.0.0.1", "localhost")
    } else {
        base_url(scheme, addr.ip(), port)
    };
    if urls.is_empty() {
        urls.push(local.clone());
    }
    let mut out = String::from("teaminbox is serving. Open it on a phone on the shop's network:\n");
    for u in &urls {
        out.push_str(&format!("  {u}/\n"));
    }
    if mdns {
        let named = match (scheme, port) {
            ("http", 80) | ("https", 443) => format!("{scheme}://{MDNS_HOST}"),
            _ => format!("{scheme}://{MDNS_HOST}:{port}"),
        };
        out.push_str(&format!(
            "  {named}/   (on phones and computers that resolve .local names)\n"
        ));
    }
    if !lan.is_empty() && local != urls[0] {
        out.push_str(&format!("  {local}/   (on this machine)\n"));
    }
    let shown = match setup {
        Some(token) => {
            let link = format!("{}/setup?token={token}", urls[0]);
            out.push_str(&format!(
                "\nNo users yet. Create the owner account within this run:\n  {link}\n  (or: teaminbox user add --role owner ...)\n"
            ));
            link
        }
        None => format!("{}/", urls[0]),
    };
    if let Some(code) = qr(&shown) {
        out.push_str(&format!(
            "\nScan with the phone's camera to open {shown}\n{code}\n"
        ));
    }
    println!("{out}");
}

/// The TLS settings for `files`: the certificate chain and key read from their PEM files.
///
/// # Errors
/// A message naming the file and what is wrong (unreadable, no certificate, no key, a key that
/// does not belong to the certificate).
fn tls_config(files: &crate::config::TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            anyhow::anyhow!("cannot read the certificate {}: {e}", files.cert.display())
        })?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "cannot read a private key from {}: {e}",
            files.key.display()
        )
    })?;
    crate::install_crypto();
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!(
                "the key {} does not fit the certificate {}: {e}",
                files.key.display(),
                files.cert.display()
            )
        })
}

/// How long data sent to a client may stay unacknowledged before the kernel drops the
/// connection (`TCP_USER_TIMEOUT`, RFC 5482; Linux and Android). An event stream writes a
/// keep-alive every 15 s, so a phone that vanished without closing (left the Wi-Fi, lost power)
/// frees its stream within about a minute instead of after the kernel's ~15 minutes of
/// retransmissions.
pub const DEAD_PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

/// Sets [`DEAD_PEER_TIMEOUT`] on a connection, where the platform has the option (elsewhere it
/// does nothing). Errors: what the operating system said.
#[cfg(unix)]
pub fn drop_dead_peers(socket: &impl std::os::fd::AsFd) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket2::SockRef::from(socket).set_tcp_user_timeout(Some(DEAD_PEER_TIMEOUT))?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = socket;
    Ok(())
}

/// Does nothing where sockets are not file descriptors.
#[cfg(not(unix))]
pub fn drop_dead_peers<T>(_socket: &T) -> std::io::Result<()> {
    Ok(())
}

/// Raises this process's soft open-files limit (`RLIMIT_NOFILE`) to its hard limit and returns
/// the limit now in force (`None` where there is none to read). Service managers start programs
/// with a soft limit of 1,024 while allowing far more; each open event stream and connection
/// takes a descriptor. Logged at info; a failure is logged and the old limit kept.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (before, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
            Ok(limits) => limits,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the open-files limit");
                return None;
            }
        };
        match rlimit::increase_nofile_limit(hard) {
            Ok(now) => {
                tracing::info!(before, now, hard, "open-files limit");
                Some(now)
            }
            Err(e) => {
                tracing::warn!(error = %e, before, hard, "cannot raise the open-files limit");
                Some(before)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves until `stop` resolves (or the HTTP server fails), then stops everything in order: no
/// new connections; jobs and event streams told to end; the requests in flight (event streams
/// included, which end at once) finished, within [`SHUTDOWN_TIMEOUT_SECS`]; then every idle
/// connection closed at once (actix's own graceful stop would re-check them only every second).
pub async fn serve_until(
    running: Running,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let Running {
        server,
        jobs,
        in_flight,
        ..
    } = running;
    let handle = server.handle();
    let mut server = actix_web::rt::spawn(server);
    let outcome = tokio::select! {
        done = &mut server => Some(done),
        _ = stop => None,
    };
    tracing::info!("stopping");
    // Streams and loops first (they end at once), then the requests in flight finish while the
    // jobs finish their step.
    jobs.signal();
    match outcome {
        Some(done) => {
            jobs.stop().await;
            done.unwrap_or_else(|e| Err(std::io::Error::other(e)))
        }
        None => {
            let ((), done) = tokio::join!(jobs.stop(), async {
                handle.pause().await;
                let limit = std::time::Duration::from_secs(SHUTDOWN_TIMEOUT_SECS);
                if !in_flight.idle(limit).await {
                    tracing::warn!(
                        requests = in_flight.count(),
                        "requests still in flight at the shutdown timeout; cut off"
                    );
                }
                handle.stop(false).await;
                (&mut server).await
            });
            done.unwrap_or_else(|e| Err(std::io::Error::other(e)))
        }
    }
}

/// Resolves on SIGTERM (systemd, `kill`) or SIGINT (Ctrl-C). The CLI waits for a second one
/// while stopping, to exit at once.
pub async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A server running on its own thread and actix system (for tests and the benchmark).
pub struct Background {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The database.
    pub store: Store,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    /// Stops the server as a signal would (jobs and streams first) and waits for its thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Starts [`start`] on a new thread with its own actix system and waits until it listens.
pub fn spawn_background(config: Config) -> anyhow::Result<Background> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match start(&config).await {
                Ok(running) => {
                    let _ = tx.send(Ok((running.addr, running.store.clone())));
                    let stopped = async {
                        let _ = stop_rx.await;
                    };
                    if let Err(e) = serve_until(running, stopped).await {
                        tracing::error!(error = %e, "server stopped with an error");
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let (addr, store) = rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the server thread ended before listening"))??;
    Ok(Background {
        addr,
        store,
        stop,
        thread,
    })
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn accepted_connections_get_the_dead_peer_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let _client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        let sock = socket2::SockRef::from(&accepted);
        assert_eq!(
            sock.tcp_user_timeout().expect("read"),
            None,
            "kernel default"
        );
        drop_dead_peers(&accepted).expect("set");
        assert_eq!(
            sock.tcp_user_timeout().expect("read"),
            Some(DEAD_PEER_TIMEOUT)
        );
    }
}
