//! Provider webhooks (WhatsApp Cloud API).

use actix_web::web;

/// Registers the webhook routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
