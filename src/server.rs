//! The composition root: open the store, start every background job, bind HTTP. `serve`, the
//! benchmark and the tests all start the server through here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix_web::middleware::DefaultHeaders;
use actix_web::web::Data;
use actix_web::{App, HttpServer};
use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::throttle::Throttle;
use crate::service;
use crate::store::Store;
use crate::web::{AppState, CSP, configure};

/// A started server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The server future (await it to serve; its handle stops it).
    pub server: actix_web::dev::Server,
    /// The database.
    pub store: Store,
}

/// Opens the data dir, prints the setup link while there is no user, starts the outbox
/// dispatcher and binds the HTTP server. Call inside an actix system.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    crate::install_crypto();
    let store = Store::open(&config.data)?;
    let setup = store.write(service::auth::ensure_setup_token).await?;
    let outbox_wake = Arc::new(Notify::new());
    crate::jobs::outbox::spawn(store.clone(), config.outbox.clone(), outbox_wake.clone());
    let hub = crate::realtime::Hub::start(store.clone());
    crate::jobs::spawn(store.clone(), hub.clone());
    let state = Data::new(AppState {
        store: store.clone(),
        throttle: Mutex::new(Throttle::default()),
        outbox_wake,
        hub: hub.clone(),
    });
    let app = configure(state);
    let http = HttpServer::new(move || {
        App::new()
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CSP))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .wrap(actix_web::middleware::Compress::default())
            .wrap(crate::web::request_id::RequestId)
            .configure(app.clone())
    })
    .workers(config.workers)
    .shutdown_timeout(5)
    .bind(&config.bind)
    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
    let addr = *http
        .addrs()
        .first()
        .ok_or_else(|| anyhow::anyhow!("no address to listen on"))?;
    if let Some(token) = setup {
        let host = if addr.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            addr.ip().to_string()
        };
        println!(
            "No users yet. Create the owner account within this run:\n  http://{host}:{}/setup?token={token}\n  (or: teaminbox user add --role owner ...)",
            addr.port()
        );
    }
    tracing::info!(%addr, data = %config.data.display(), "teaminbox is serving");
    Ok(Running {
        addr,
        server: http.run(),
        store,
    })
}

/// A server running on its own thread and actix system (for tests and the benchmark).
pub struct Background {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The database.
    pub store: Store,
    /// Stops the server.
    pub handle: actix_web::dev::ServerHandle,
    /// The server's thread.
    pub thread: std::thread::JoinHandle<()>,
}

impl Background {
    /// Stops the server gracefully and waits for its thread.
    pub fn stop(self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        let _ = self.thread.join();
    }
}

/// Starts [`start`] on a new thread with its own actix system and waits until it listens.
pub fn spawn_background(config: Config) -> anyhow::Result<Background> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match start(&config).await {
                Ok(running) => {
                    let _ = tx.send(Ok((
                        running.addr,
                        running.store.clone(),
                        running.server.handle(),
                    )));
                    if let Err(e) = running.server.await {
                        tracing::error!(error = %e, "server stopped with an error");
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let (addr, store, handle) = rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the server thread ended before listening"))??;
    Ok(Background {
        addr,
        store,
        handle,
        thread,
    })
}
