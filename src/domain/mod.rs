//! Pure rules of the product: no actix, no SQL, no HTTP. The conversation state machine, the
//! policy of who may do what (events included), the typed events, and workspace settings with their validation.

pub mod bot;
pub mod calendar;
pub mod calendar_ruler;
pub mod conversation;
pub mod events;
pub mod ids;
pub mod invitation;
pub mod mentions;
pub mod metrics;
pub mod phone;
pub mod policy;
pub mod routing;
pub mod search;
pub mod settings;
pub mod shift;
pub mod sla;
pub mod snooze;
pub mod throttle;
pub mod time;
pub mod types;
pub mod webhooks;

pub use ids::*;
pub use types::*;
