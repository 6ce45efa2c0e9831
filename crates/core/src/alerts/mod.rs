//! Alerts: budget thresholds and forecasts, spend spikes per key, and their delivery.

pub mod deliver;
pub mod engine;
pub mod forecast;
pub mod spike_alerts;
pub mod spikes;
pub mod store;
