//! Integration tests: the real HTTP stack over a real SQLite file (one test binary, many modules).

mod auth;
mod bad_input;
mod browser;
mod conversations;
mod inbound;
mod live;
mod outbox;
mod rules;
mod support;
mod ui;
mod whatsapp;
