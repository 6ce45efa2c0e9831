//! Alerts: budget thresholds and forecasts, spend spikes per key, and their delivery.

pub mod deliver;
pub mod engine;
pub mod store;
