//! The alert shapes that cross the process boundary (IPC and `--json`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AlertKind {
    /// A budget threshold was reached.
    Threshold,
    /// A budget will be passed before its period ends at the recent pace.
    Forecast,
    /// A key spent far more than its own baseline.
    Spike,
    /// A gateway's effective price (billed ÷ list-price estimate) moved away from the
    /// multiplier its paid test measured.
    PriceDrift,
    /// A page attached as gateway evidence (terms, pricing, data policy) changed; its amount is 0.
    TermsChanged,
    /// A source has not synced for two of its poll intervals: its spend is no longer watched.
    /// Its amount is 0.
    SourceStale,
}

/// An alert that fired, with whether it reached the desktop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertView {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: AlertKind,
    #[ts(type = "number | null")]
    pub budget_id: Option<i64>,
    pub source: Option<String>,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    /// The key's display fingerprint (`sk-…abcd`), never the key.
    pub fingerprint: Option<String>,
    /// The budget period's first local day (threshold and forecast alerts).
    pub period_start: Option<String>,
    /// The threshold reached, in percent of the budget.
    pub threshold: Option<u32>,
    /// Spend that fired the alert (decimal string).
    pub amount: String,
    /// The budget amount, or the spike's baseline (decimal string).
    pub limit: Option<String>,
    pub currency: String,
    /// The amount includes token-based estimates.
    pub estimated: bool,
    pub title: String,
    pub body: String,
    /// RFC 3339.
    pub fired_at: String,
    /// Shown on the desktop.
    pub notified: bool,
    pub notified_at: Option<String>,
    /// Why it was not shown (alerts paused, quiet hours, no notification daemon, …).
    pub notify_error: Option<String>,
    /// Kind-specific facts (spike window and baseline, forecast crossing date, …).
    #[ts(type = "Record<string, unknown>")]
    pub details: serde_json::Value,
    /// Its delivery to each alert channel (webhook, Slack, e-mail, …), oldest first.
    pub deliveries: Vec<ChannelDelivery>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DeliveryState {
    /// Not delivered yet: waiting for its first try, a retry, or the end of quiet hours.
    Pending,
    Delivered,
    /// Given up after a day of retries; `last_error` says why.
    Failed,
}

/// One alert's delivery to one channel (one row per announcement: a growing spike episode is
/// announced again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChannelDelivery {
    pub channel: String,
    /// 0 for the alert; 1, 2, … when it was announced again.
    pub round: u32,
    pub state: DeliveryState,
    pub attempts: u32,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

#[cfg(test)]
impl AlertView {
    /// An alert on key k1 of source "work" (9.00 USD), for unit tests to adjust.
    pub(crate) fn sample(kind: AlertKind, fired_at: &str, title: &str) -> Self {
        AlertView {
            id: 1,
            kind,
            budget_id: None,
            source: Some("work".into()),
            key_id: Some("k1".into()),
            key_name: None,
            fingerprint: None,
            period_start: None,
            threshold: None,
            amount: "9.000000".into(),
            limit: None,
            currency: "USD".into(),
            estimated: false,
            title: title.into(),
            body: String::new(),
            fired_at: fired_at.into(),
            notified: true,
            notified_at: None,
            notify_error: None,
            details: serde_json::json!({}),
            deliveries: Vec::new(),
        }
    }
}

impl AlertView {
    /// Needs attention now: a spike, or a budget at or past 100 %. Desktop notifications stay on
    /// screen, ntfy and webhooks get the high priority. A stopped source is a warning: nothing
    /// is known to be spending, only no longer watched.
    pub fn is_critical(&self) -> bool {
        match self.kind {
            AlertKind::Spike => true,
            AlertKind::Threshold => self.threshold.is_some_and(|t| t >= 100),
            AlertKind::Forecast | AlertKind::PriceDrift | AlertKind::TermsChanged | AlertKind::SourceStale => false,
        }
    }
}
