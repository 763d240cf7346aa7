//! Mentions: who a note names (`@Ana`, `@Ana Maria` or the API's `mentions` ids), recording
//! them with the note, each person's list of the notes that named them, and marking them seen
//! when that person opens the conversation. What a mention allows is decided in
//! `domain::policy` (see [`crate::domain::policy::Ownership::mentions`]).

use rusqlite::Connection;
use serde::Serialize;

use super::{Error, Result, invalid};
use crate::domain::events::Named;
use crate::domain::mentions::{self, Mentionable};
use crate::domain::policy::{self, Actor};
use crate::domain::time::Ts;
use crate::domain::{ConversationId, NoteId, UserId};
use crate::store::conversations::{self as convs, Conversation};
use crate::store::{mentions as store, settings, users};

/// Most people one note may name through the `mentions` list.
pub const MAX_MENTIONS: usize = 20;

/// The people a note by `author` with `text` mentions: those named in the text (see
/// [`crate::domain::mentions`]) and those in `explicit`, each once, the author left out, in
/// order of first mention. An `explicit` id that is not an active staff member is a 422
/// `invalid_mention`; a name in the text that is nobody's is plain text.
pub fn resolve(
    conn: &Connection,
    author: UserId,
    text: &str,
    explicit: &[UserId],
) -> Result<Vec<Named>> {
    if explicit.len() > MAX_MENTIONS {
        return Err(invalid(
            "too_many_mentions",
            format!("at most {MAX_MENTIONS} mentions in one note"),
        ));
    }
    let staff: Vec<Mentionable> = users::list_users(conn)?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| Mentionable {
            id: u.id,
            name: u.name,
        })
        .collect();
    for id in explicit {
        if !staff.iter().any(|s| s.id == *id) {
            return Err(invalid(
                "invalid_mention",
                format!("mentions: there is no active staff member {id}"),
            ));
        }
    }
    let mut ids: Vec<UserId> = Vec::new();
    for id in explicit
        .iter()
        .copied()
        .chain(mentions::parse(text, &staff))
    {
        if id != author && !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            staff.iter().find(|s| s.id == id).map(|s| Named {
                id: id.0,
                name: s.name.clone(),
            })
        })
        .collect())
}

/// Stores that note `note` of `conv` mentions `who`, in the caller's transaction.
pub fn record(
    conn: &Connection,
    note: NoteId,
    conv: ConversationId,
    who: &[Named],
    now: i64,
) -> Result<()> {
    for n in who {
        store::insert_mention(conn, note, conv, UserId(n.id), now)?;
    }
    Ok(())
}

/// A note that mentions the caller, as `GET /api/v1/me/mentions` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MentionItem {
    /// The mention's id.
    pub id: i64,
    /// When the note was written.
    pub at: Ts,
    /// Whether the caller has opened the conversation since.
    pub seen: bool,
    /// When they did (`null`: not yet).
    pub seen_at: Option<Ts>,
    /// The note: `{"id","text","author":{"id","name"}}`.
    pub note: MentionNote,
    /// The conversation, as `GET /api/v1/conversations/{id}` shows it.
    pub conversation: Conversation,
}

/// The note of a [`MentionItem`].
#[derive(Debug, Clone, Serialize)]
pub struct MentionNote {
    /// Id.
    pub id: NoteId,
    /// Text.
    pub text: String,
    /// Who wrote it.
    pub author: Named,
}

/// One page of the caller's mentions, newest first, and the cursor of the next (a mention id,
/// as text). Only mentions in conversations the caller may see now are listed (a resolved
/// conversation they see only through the mention drops out), so a page may hold fewer than
/// `limit` while `next` is set. `unseen_only` keeps the ones not yet opened (the UI's view).
pub fn list_mine(
    conn: &Connection,
    actor: &Actor,
    unseen_only: bool,
    before: Option<&str>,
    limit: i64,
) -> Result<(Vec<MentionItem>, Option<String>)> {
    let before = match before.filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(
            super::cursor::<1>(b)
                .ok_or_else(super::invalid_cursor)?
                .first()
                .copied()
                .unwrap_or(0),
        ),
    };
    let visibility = settings::load_settings(conn)?.agent_visibility;
    let mut rows = store::list_mentions(conn, actor.id, unseen_only, before, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(state) = convs::find_conv_state(conn, r.conversation_id)? else {
            continue;
        };
        if !policy::can_see(actor, visibility, &state.ownership()) {
            continue;
        }
        let conversation = convs::find_conversation(conn, r.conversation_id)?
            .ok_or(Error::NotFound("conversation"))?;
        items.push(MentionItem {
            id: r.id,
            at: Ts(r.created_at),
            seen: r.seen_at.is_some(),
            seen_at: r.seen_at.map(Ts),
            note: MentionNote {
                id: r.note_id,
                text: r.text,
                author: Named {
                    id: r.author.0,
                    name: r.author.1,
                },
            },
            conversation,
        });
    }
    Ok((items, next))
}

/// How many mentions of `user` wait to be opened (the Mentions tab's figure).
pub fn unseen_count(conn: &Connection, user: UserId) -> Result<i64> {
    Ok(store::count_unseen(conn, user)?)
}

/// Whether `user` has an unseen mention in `conv` (read first, so that opening a conversation
/// writes only when there is something to mark).
pub fn has_unseen(conn: &Connection, conv: ConversationId, user: UserId) -> Result<bool> {
    Ok(store::find_unseen(conn, conv, user)?)
}

/// Marks `user`'s mentions in `conv` seen: they opened it. Returns how many were unseen.
pub fn mark_seen(conn: &Connection, conv: ConversationId, user: UserId) -> Result<usize> {
    Ok(store::update_seen(
        conn,
        conv,
        user,
        crate::domain::time::now_ms(),
    )?)
}
