//! Alerts: budget thresholds and forecasts, spend spikes per key, gateway price drift, and
//! their delivery.

pub mod check;
pub mod deliver;
mod dto;
pub mod engine;
pub mod forecast;
pub mod price_drift;
pub mod spike_alerts;
pub mod spikes;
pub mod stale;
pub mod store;

pub use dto::{AlertKind, AlertView, ChannelDelivery, DeliveryState};
