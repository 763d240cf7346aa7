//! Kept WhatsApp webhook bodies from the signature check to their end: which channels a signed
//! body may speak for, keeping an identical body once, processing in batches (failures retried
//! with backoff, then set aside), and deleting processed bodies after the retention period. What
//! a body says is turned into conversations by [`super::whatsapp::process`].

use std::collections::HashMap;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::Result;
use crate::channels::whatsapp::webhook::{self, Addressee, Parsed};
use crate::domain::ChannelId;
use crate::domain::webhooks::{self as rules, AfterFailure, Verdict};
use crate::store::whatsapp::{self as wa, MediaJob, SetAside};
use crate::store::{StoreError, isolated};

/// Longest failure reason kept with a body, in bytes.
const ERROR_MAX: usize = 1000;

/// Judges a webhook request (rule: [`rules::judge`]): checks `signature` (`X-Hub-Signature-256`)
/// over the raw `body` under each WhatsApp channel's app secret (constant-time, each distinct
/// secret once), then, if any verifies, which channels the body's changes name. An unsigned body
/// is never parsed.
pub fn authenticate(conn: &Connection, signature: &str, body: &[u8]) -> Result<Verdict> {
    let channels = wa::list_whatsapp_channels(conn)?;
    let secret = |c: &crate::store::channels::ChannelRecord| {
        c.config["app_secret"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let mut checked: HashMap<String, bool> = HashMap::new();
    let mut signed_by = Vec::new();
    for c in &channels {
        let key = secret(c);
        let ok = *checked
            .entry(key)
            .or_insert_with_key(|k| webhook::verify_signature(k, signature, body));
        if ok {
            signed_by.push(c.id);
        }
    }
    if signed_by.is_empty() {
        return Ok(Verdict::Refuse);
    }
    let config = |c: &crate::store::channels::ChannelRecord, key: &str| {
        c.config[key].as_str().map(str::to_string)
    };
    // A body we cannot read names nobody: kept under any channel's secret, never acted on.
    let named: Vec<Vec<ChannelId>> = webhook::addressees(body)
        .unwrap_or_default()
        .into_iter()
        .map(|a| match a {
            // The channel processing routes the number to (the first by id, as
            // `store::whatsapp::find_channel_by_phone_number_id`).
            Some(Addressee::Number(n)) => channels
                .iter()
                .find(|c| config(c, "phone_number_id").as_deref() == Some(n.as_str()))
                .map(|c| vec![c.id])
                .unwrap_or_default(),
            Some(Addressee::Account(w)) => channels
                .iter()
                .filter(|c| config(c, "waba_id").as_deref() == Some(w.as_str()))
                .map(|c| c.id)
                .collect(),
            None => Vec::new(),
        })
        .collect();
    Ok(rules::judge(&named, &signed_by))
}

/// A body kept by [`accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Its id (the same for every replay of the same bytes).
    pub id: i64,
    /// Whether this call kept it (`false`: the same bytes were kept already).
    pub new: bool,
}

/// Keeps a body [`authenticate`] let in, with the channels it was verified for; the caller
/// answers 200 once this is committed. Identical bytes (same sha256) are kept once: a replay
/// gets the id of the first and stores nothing — unless it is verified for channels the first
/// was not (two apps subscribed to one WhatsApp Business Account each get the same bytes signed
/// with their own secret): then those channels are added and the body is processed again
/// (idempotent) by the next sweep.
pub fn accept(conn: &Connection, body: &[u8], verified: &[ChannelId], now: i64) -> Result<Kept> {
    let sha = Sha256::digest(body);
    if let Some((id, stored)) = wa::find_webhook_by_sha256(conn, &sha)? {
        if let Some(stored) = stored
            && verified.iter().any(|c| !stored.contains(c))
        {
            let mut all: Vec<ChannelId> = stored.iter().chain(verified).copied().collect();
            all.sort();
            all.dedup();
            wa::update_webhook_verified(conn, id, &all)?;
            tracing::info!(
                webhook = id,
                "a kept WhatsApp webhook came again signed for more channels; processing it again"
            );
        }
        return Ok(Kept { id, new: false });
    }
    let id = wa::insert_webhook(conn, body, &sha, verified, now)?;
    Ok(Kept { id, new: true })
}

/// Removes from `parsed` the messages and statuses of channels whose app secret did not sign the
/// body (`verified`; `None`: a body kept before per-channel checks, all stay); returns one line
/// per removal for the body's outcome. Changes for numbers of no channel stay (they are reported
/// as such by processing).
pub(super) fn drop_unverified(
    conn: &Connection,
    webhook_id: i64,
    parsed: &mut Parsed,
    verified: Option<&[ChannelId]>,
) -> Result<Vec<String>> {
    let Some(verified) = verified else {
        return Ok(Vec::new());
    };
    let mut routes: HashMap<String, Option<ChannelId>> = HashMap::new();
    let mut foreign = |number: &str| -> Result<Option<ChannelId>> {
        if let Some(c) = routes.get(number) {
            return Ok(c.filter(|c| !verified.contains(c)));
        }
        let c = wa::find_channel_by_phone_number_id(conn, number)?;
        routes.insert(number.to_string(), c);
        Ok(c.filter(|c| !verified.contains(c)))
    };
    let mut dropped = Vec::new();
    let mut messages = Vec::with_capacity(parsed.messages.len());
    for m in std::mem::take(&mut parsed.messages) {
        match foreign(&m.phone_number_id)? {
            Some(c) => dropped.push(format!("message {}: not signed by channel {c}", m.id)),
            None => messages.push(m),
        }
    }
    parsed.messages = messages;
    let mut statuses = Vec::with_capacity(parsed.statuses.len());
    for s in std::mem::take(&mut parsed.statuses) {
        match foreign(&s.phone_number_id)? {
            Some(c) => dropped.push(format!("status of {}: not signed by channel {c}", s.id)),
            None => statuses.push(s),
        }
    }
    parsed.statuses = statuses;
    if !dropped.is_empty() {
        tracing::warn!(
            webhook = webhook_id,
            dropped = dropped.len(),
            "ignored the changes of a WhatsApp webhook for channels whose app secret did not sign it"
        );
    }
    Ok(dropped)
}

/// A body whose processing failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The body.
    pub id: i64,
    /// Why.
    pub error: String,
    /// What follows (`None`: the failure could not be counted, as for a body no longer pending).
    pub next: Option<AfterFailure>,
}

/// What [`process_batch`] made of a batch of kept webhook bodies.
#[derive(Debug, Default)]
pub struct Processed {
    /// Media to download, of the messages that came in.
    pub media: Vec<MediaJob>,
    /// Bodies that failed; each failure is counted with the body (retry time or set aside).
    pub failed: Vec<Failure>,
}

/// Processes kept webhook bodies in the caller's transaction, each in a savepoint of its own, so
/// one body that fails is rolled back alone and the others land; a failure is counted with its
/// body ([`record_failure`]) at `now` (ms). A fault of the database itself (not of one body)
/// fails the whole batch instead.
pub fn process_batch(conn: &Connection, ids: &[i64], now: i64) -> Result<Processed> {
    let mut out = Processed::default();
    for &id in ids {
        match isolated(conn, || super::whatsapp::process(conn, id)) {
            Ok(media) => out.media.extend(media),
            Err(super::Error::Store(e)) if is_fatal(&e) => return Err(e.into()),
            Err(e) => {
                let error = e.to_string();
                let next = record_failure(conn, id, &error, now)?;
                out.failed.push(Failure { id, error, next });
            }
        }
    }
    Ok(out)
}

/// The writer or the pool is gone: nothing to do with any one body.
fn is_fatal(e: &StoreError) -> bool {
    matches!(e, StoreError::WriterGone | StoreError::Pool(_))
}

/// Counts a failed processing attempt of a pending body at `now` (ms) and keeps why: it is tried
/// again after a backoff, or set aside after [`rules::ATTEMPTS`] attempts (kept, never retried by
/// the sweep, never pruned). `None` if the body is no longer pending.
pub fn record_failure(
    conn: &Connection,
    id: i64,
    error: &str,
    now: i64,
) -> Result<Option<AfterFailure>> {
    let mut error = error.to_string();
    if error.len() > ERROR_MAX {
        let mut cut = ERROR_MAX;
        while !error.is_char_boundary(cut) {
            cut -= 1;
        }
        error.truncate(cut);
    }
    let Some(attempts) = wa::update_webhook_failed(conn, id, &error)? else {
        return Ok(None);
    };
    let next = rules::after_failure(attempts, now);
    match next {
        AfterFailure::RetryAt(at) => wa::update_webhook_retry_at(conn, id, at)?,
        AfterFailure::SetAside => wa::update_webhook_set_aside(conn, id, now)?,
    }
    Ok(Some(next))
}

/// Whether some processed body is older than the retention period at `now` (ms) — a cheap check
/// before [`prune`] takes the writer.
pub fn due_for_pruning(conn: &Connection, now: i64) -> Result<bool> {
    Ok(wa::find_prunable(conn, now - rules::RETENTION_MS)?)
}

/// Deletes up to `limit` bodies processed more than [`rules::RETENTION_MS`] before `now` (ms),
/// oldest first; returns how many. Pending and set-aside bodies are never deleted.
pub fn prune(conn: &Connection, now: i64, limit: i64) -> Result<usize> {
    Ok(wa::delete_processed_webhooks(
        conn,
        now - rules::RETENTION_MS,
        limit,
    )?)
}

/// Bodies set aside after failing processing for good, oldest first (at most `limit`).
pub fn list_set_aside(conn: &Connection, limit: i64) -> Result<Vec<SetAside>> {
    Ok(wa::list_set_aside(conn, limit)?)
}

/// Puts a set-aside body back in line with a fresh count of attempts (the sweep tries it within
/// a minute); `NotFound` unless body `id` is set aside.
pub fn retry(conn: &Connection, id: i64) -> Result<()> {
    if wa::update_webhook_retry_now(conn, id)? {
        Ok(())
    } else {
        Err(super::Error::NotFound("set-aside webhook"))
    }
}
