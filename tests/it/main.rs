//! Integration tests: the real HTTP stack over a real SQLite file (one test binary, many modules).

mod auth;
mod bad_input;
mod browser;
mod collab;
mod contract;
mod conversation_page;
mod conversations;
mod errors;
mod events;
mod frame;
mod handoff;
mod inbound;
mod jobs;
mod live;
mod mentions;
mod outbox;
mod phones;
mod redirects;
mod rules;
mod scheduler;
mod search;
mod streams;
mod support;
mod ui;
mod visibility;
mod whatsapp;
