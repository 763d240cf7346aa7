//! teaminbox: a shared team inbox for small businesses that answer customers on WhatsApp.
//! One binary: the HTTP server, the SQLite store, the background jobs and the admin CLI.

pub mod bench;
pub mod channels;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod jobs;
pub mod lan;
pub mod memory;
pub mod realtime;
pub mod server;
pub mod service;
pub mod store;
pub mod web;

/// Installs the process-wide TLS crypto provider (ring) for outgoing HTTPS. Idempotent.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
