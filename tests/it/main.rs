//! Integration tests: the real HTTP stack over a real SQLite file (one test binary, many modules).

mod auth;
mod bad_input;
mod browser;
mod conversations;
mod errors;
mod events;
mod inbound;
mod jobs;
mod live;
mod outbox;
mod redirects;
mod rules;
mod search;
mod support;
mod ui;
mod visibility;
mod whatsapp;
