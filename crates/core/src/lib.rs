//! burnrate-core: everything Burnrate knows, with no GUI dependency. The CLI and the desktop
//! shell are thin adapters over [`api::Burnrate`].
//!
//! Data flow: providers (poll) -> ledger (SQLite, idempotent windows) -> reports -> UI/CLI.

pub mod alerts;
pub mod api;
pub mod app_settings;
pub mod auto_disable;
pub mod balance_spend;
pub mod budgets;
pub mod busy_timeout;
pub mod channels;
pub mod charts;
pub mod checklist;
pub mod clock;
pub mod connection_test;
pub mod csv_out;
pub mod dashboard;
pub mod days;
pub mod db;
pub mod doctor;
pub mod dto;
pub mod environment;
pub mod error;
pub mod events;
pub mod fingerprint;
pub mod focus;
pub mod fs;
pub mod fx;
pub mod headline;
pub mod import;
pub mod incident;
pub mod key_actions;
pub mod ledger;
pub mod logging;
pub mod metrics;
pub mod money;
pub mod net;
pub mod notify;
pub mod paths;
pub mod poll;
pub mod poller;
pub mod prices;
pub mod process;
pub mod providers;
pub mod redact;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod sources;
pub mod text;
pub mod tray_status;
pub mod unpriced;
pub mod window_state;

pub use api::Burnrate;
pub use error::{ApiError, Error, ErrorCode, Result};
