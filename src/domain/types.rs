//! Small enumerations shared by every layer, with their stored and wire spelling.

use serde::{Deserialize, Serialize};

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $variant),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }

            /// Parses the stored and wire spelling.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

str_enum!(
    /// A staff member's role.
    Role { Owner = "owner", Manager = "manager", Agent = "agent" }
);

str_enum!(
    /// A conversation's status.
    Status { Open = "open", Pending = "pending", Snoozed = "snoozed", Resolved = "resolved" }
);

str_enum!(
    /// A staff member's availability.
    UserStatus { Available = "available", Busy = "busy", Offline = "offline" }
);

str_enum!(
    /// What agents may see (workspace setting `agent_visibility`).
    Visibility { Own = "own", OwnAndPool = "own_and_pool", AllReadOnly = "all_read_only" }
);

str_enum!(
    /// Direction of a message.
    Direction { In = "in", Out = "out" }
);

str_enum!(
    /// Delivery state of a message.
    DeliveryStatus {
        Received = "received",
        Queued = "queued",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
    }
);

str_enum!(
    /// Kind of channel.
    ChannelKind { Api = "api", Whatsapp = "whatsapp" }
);

str_enum!(
    /// A conversation's priority, set by routing rules or by hand.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

str_enum!(
    /// A team's routing mode.
    Assignment { Manual = "manual", RoundRobin = "round_robin", LeastLoaded = "least_loaded" }
);

impl DeliveryStatus {
    /// Whether moving from `self` to `next` goes forward (statuses never move back; `failed`
    /// replaces queued or sent only).
    pub fn can_become(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        let rank = |s: DeliveryStatus| match s {
            Received => 0,
            Queued => 1,
            Sent => 2,
            Delivered => 3,
            Read => 4,
            Failed => 5,
        };
        match (self, next) {
            (Failed, _) | (Received, _) | (_, Received) => false,
            (Queued | Sent, Failed) => true,
            (_, Failed) => false,
            (a, b) => rank(b) > rank(a),
        }
    }
}

impl ChannelKind {
    /// Whether the channel only allows free text within 24 h of the customer's last message.
    pub fn has_service_window(self) -> bool {
        matches!(self, ChannelKind::Whatsapp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_only_moves_forward() {
        use DeliveryStatus::*;
        assert!(Queued.can_become(Sent));
        assert!(Sent.can_become(Read));
        assert!(!Read.can_become(Delivered));
        assert!(!Delivered.can_become(Sent));
        assert!(Sent.can_become(Failed));
        assert!(!Delivered.can_become(Failed));
        assert!(!Failed.can_become(Sent));
        assert!(!Read.can_become(Read));
    }

    #[test]
    fn spelling_round_trips() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Role::parse("boss"), None);
    }
}
