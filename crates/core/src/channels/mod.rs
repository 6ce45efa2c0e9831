//! Alert channels: where alerts go besides the desktop (a webhook, Slack, Discord, ntfy,
//! e-mail, a local command), and the outbox that delivers each alert to them at least once.
//!
//! - A channel's URL or SMTP password is a secret like an API key (a webhook URL carries its
//!   token): OS secret store or environment variable, never the ledger, logs or exports.
//! - Recording an alert queues its deliveries in the same transaction ([`outbox::enqueue`],
//!   called by `alerts::store::insert`); [`crate::Burnrate::deliver_outbox`] sends what is due.

mod dto;
pub mod message;
mod ops;
pub mod outbox;
pub mod send;
pub mod store;

pub use dto::{
    AddChannelRequest, ChannelKind, ChannelTestResult, ChannelView, EmailSettings, ExecSettings, SecretStorage, SmtpTls,
};
pub use outbox::OutboxReport;
