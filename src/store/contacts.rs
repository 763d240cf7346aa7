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

/// Updates a contact's name and phone where given. A name equal to the stored one writes nothing:
/// every customer message passes its sender's name, and a rewrite would re-index the contact's
/// search entry each time.
pub fn update_contact(
    conn: &Connection,
    id: ContactId,
    name: Option<&str>,
    phone: Option<Option<&str>>,
    attributes: Option<&Value>,
) -> Result<()> {
    if let Some(n) = name {
        conn.prepare_cached("UPDATE contacts SET name = ?2 WHERE id = ?1 AND name IS NOT ?2")?
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

/// A contact's phone (canonical `+digits`), `None` when the contact has none or does not exist.
pub fn find_phone(conn: &Connection, id: ContactId) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT phone FROM contacts WHERE id = ?1")?
        .query_row([id.0], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Sets one key of a contact's attributes (a JSON object), keeping the others.
pub fn update_attribute(conn: &Connection, id: ContactId, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE contacts SET attributes = json_set(CASE WHEN json_valid(attributes) THEN attributes ELSE '{}' END, '$.' || json_quote(?2), ?3) WHERE id = ?1",
    )?
    .execute(params![id.0, key, value])?;
    Ok(())
}

/// The contact of a conversation.
pub fn find_contact_of_conversation(
    conn: &Connection,
    conversation: crate::domain::ConversationId,
) -> Result<Option<ContactId>> {
    Ok(conn
        .prepare_cached("SELECT contact_id FROM conversations WHERE id = ?1")?
        .query_row([conversation.0], |r| r.get(0))
        .optional()?
        .map(ContactId))
}

/// The conversation a change to a contact is shown in: their latest on `channel`, else their
/// latest on any channel.
pub fn find_latest_conversation(
    conn: &Connection,
    id: ContactId,
    channel: Option<ChannelId>,
) -> Result<Option<crate::domain::ConversationId>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM conversations WHERE contact_id = ?1
              ORDER BY channel_id IS ?2 DESC, id DESC LIMIT 1",
        )?
        .query_row(params![id.0, channel.map(|c| c.0)], |r| r.get(0))
        .optional()?
        .map(crate::domain::ConversationId))
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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use crate::domain::phone;

    /// The name every customer message passes is written only when it differs.
    #[test]
    fn a_name_is_written_only_when_it_changes() {
        let mut conn = Connection::open_in_memory().expect("db");
        super::super::migrations()
            .to_latest(&mut conn)
            .expect("schema");
        let id = super::insert_contact(&conn, "Ana", None, 1).expect("insert");
        let name = |conn: &Connection| -> String {
            conn.query_row("SELECT name FROM contacts WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .expect("name")
        };
        for (given, writes, stored) in [
            ("Ana", false, "Ana"),
            ("Ana Maria", true, "Ana Maria"),
            ("Ana Maria", false, "Ana Maria"),
            ("Ana", true, "Ana"),
        ] {
            let before = conn.total_changes();
            super::update_contact(&conn, id, Some(given), None, None).expect("update");
            // A rename rewrites the search entry too (the trigger's rows count).
            assert_eq!(conn.total_changes() > before, writes, "{given}: written");
            assert_eq!(name(&conn), stored);
        }
    }

    /// Migration 007 rewrites stored phones as `domain::phone::canonical` would, and moves what
    /// cannot be a number to the attributes; every shape the older code stored is here.
    #[test]
    fn migration_007_agrees_with_the_canonical_form() {
        let stored = [
            "4915123456789",
            "+4915123456789",
            "442079460958",
            "+44 20 7946 0958",
            "0049 (151) 234.567.89",
            "(+49) 151 23456789",
            "+1/555/0001234",
            "15550001",
            "6834002",
            "12345",
            "123456789012345678",
            "0151 23456789",
            "+0049151234567",
            "call me maybe",
            "+49 151 ext 12",
            "  +351 912-000-111 ",
        ];
        let mut conn = Connection::open_in_memory().expect("db");
        let all = super::super::migrations();
        // Schema version 6 is 006_webhooks.sql, the one before 007.
        all.to_version(&mut conn, 6).expect("up to 006");
        for (i, p) in stored.iter().enumerate() {
            conn.execute(
                "INSERT INTO contacts (id, name, phone, attributes, created_at) VALUES (?1, 'x', ?2, '{\"vip\":true}', 0)",
                rusqlite::params![i as i64 + 1, p],
            )
            .expect("insert");
        }
        all.to_latest(&mut conn).expect("007");
        for (i, p) in stored.iter().enumerate() {
            let (phone, given, vip): (Option<String>, Option<String>, bool) = conn
                .query_row(
                    "SELECT phone, attributes ->> '$.phone_as_given', attributes ->> '$.vip' FROM contacts WHERE id = ?1",
                    [i as i64 + 1],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .expect("row");
            match phone::canonical(p) {
                Ok(c) => assert_eq!((phone, given), (Some(c), None), "{p:?}"),
                Err(_) => assert_eq!((phone, given.as_deref()), (None, Some(*p)), "{p:?}"),
            }
            assert!(vip, "{p:?}: other attributes stay");
        }
    }
}
