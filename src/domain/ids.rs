//! Typed ids, so that a user id cannot be passed where a conversation id is wanted.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A staff member.
    UserId,
    /// A team (Sales, Support…).
    TeamId,
    /// A conversation.
    ConversationId,
    /// A channel (an API channel, a WhatsApp number).
    ChannelId,
    /// A customer.
    ContactId,
    /// A message.
    MessageId,
    /// A private note.
    NoteId,
    /// An event.
    EventId,
);
