//! Customers and their identities on each channel.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::Result;
use crate::domain::time::Ts;
use crate::domain::{ChannelId, ContactId};

/// A contact's identity on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// Channel.
    pub channel_id: ChannelId,
    /// Kind of identifier (`api`, `wa_id`, `bsuid`).
    pub kind: String,
    /// The identifier.
    pub identifier: String,
}

/// A contact as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Name.
    pub name: String,
    /// Phone number, if known.
    pub phone: Option<String>,
    /// Free-form attributes.
    pub attributes: Value,
    /// Identities per channel.
    pub identities: Vec<Identity>,
    /// Creation time.
    pub created_at: Ts,
}

/// The contact holding an identity.
pub fn find_identity(
    conn: &Connection,
    channel: ChannelId,
    kind: &str,
    identifier: &str,
) -> Result<Option<ContactId>> {
    Ok(conn
        .prepare_cached(
            "SELECT contact_id FROM contact_identities WHERE channel_id = ?1 AND kind = ?2 AND identifier = ?3",
        )?
        .query_row(params![channel.0, kind, identifier], |r| r.get(0))
        .optional()?
        .map(ContactId))
}

/// Inserts a contact.
pub fn insert_contact(
    conn: &Connection,
    name: &str,
    phone: Option<&str>,
    now: i64,
) -> Result<ContactId> {
    conn.prepare_cached("INSERT INTO contacts (name, phone, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![name, phone, now])?;
    Ok(ContactId(conn.last_insert_rowid()))
}

/// Adds an identity to a contact.
pub fn insert_identity(
    conn: &Connection,
    contact: ContactId,
    channel: ChannelId,
    kind: &str,
    identifier: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO contact_identities (contact_id, channel_id, kind, identifier) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![contact.0, channel.0, kind, identifier])?;
    Ok(())
}

/// Updates a contact's name and phone where given.
pub fn update_contact(
    conn: &Connection,
    id: ContactId,
    name: Option<&str>,
    phone: Option<Option<&str>>,
    attributes: Option<&Value>,
) -> Result<()> {
    if let Some(n) = name {
        conn.prepare_cached("UPDATE contacts SET name = ?2 WHERE id = ?1")?
            .execute(params![id.0, n])?;
    }
    if let Some(p) = phone {
        conn.execute(
            "UPDATE contacts SET phone = ?2 WHERE id = ?1",
            params![id.0, p],
        )?;
    }
    if let Some(a) = attributes {
        conn.execute(
            "UPDATE contacts SET attributes = ?2 WHERE id = ?1",
            params![id.0, a.to_string()],
        )?;
    }
    Ok(())
}

/// One contact with identities.
pub fn find_contact(conn: &Connection, id: ContactId) -> Result<Option<Contact>> {
    let row = conn
        .prepare_cached(
            "SELECT id, name, phone, attributes, created_at FROM contacts WHERE id = ?1",
        )?
        .query_row([id.0], |r| {
            let attrs: String = r.get(3)?;
            Ok(Contact {
                id: ContactId(r.get(0)?),
                name: r.get(1)?,
                phone: r.get(2)?,
                attributes: serde_json::from_str(&attrs)
                    .unwrap_or(Value::Object(Default::default())),
                identities: Vec::new(),
                created_at: Ts(r.get(4)?),
            })
        })
        .optional()?;
    let Some(mut contact) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT channel_id, kind, identifier FROM contact_identities WHERE contact_id = ?1 ORDER BY id",
    )?;
    contact.identities = stmt
        .query_map([id.0], |r| {
            Ok(Identity {
                channel_id: ChannelId(r.get(0)?),
                kind: r.get(1)?,
                identifier: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(contact))
}
