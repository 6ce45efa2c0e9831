//! The budget shapes that cross the process boundary (IPC and `--json`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::period::BudgetPeriod;

/// A new budget. `scope` is `total`, `source:NAME`, `key:KEY_ID` or `key:SOURCE/KEY_ID` (the
/// provider's key id, as in a report by key); `period` is `day`, `week` (Monday–Sunday) or
/// `month`, in the user's time zone; `amount` a decimal string such as "50" or "12.50".
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AddBudgetRequest {
    pub scope: String,
    pub period: String,
    pub amount: String,
    /// ISO-4217 code; None: USD. Must be a currency some source in the scope reports.
    #[serde(default)]
    #[ts(optional)]
    pub currency: Option<String>,
    /// Percentages of the amount, ascending, 1–1000; None: 50, 80, 100.
    #[serde(default)]
    #[ts(optional)]
    pub thresholds: Option<Vec<i32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BudgetScopeKind {
    Total,
    Source,
    Key,
}

/// A budget with what was spent in its current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BudgetView {
    #[ts(type = "number")]
    pub id: i64,
    /// As the CLI writes it: `total`, `source:NAME` or `key:SOURCE/KEY_ID`.
    pub scope: String,
    pub scope_kind: BudgetScopeKind,
    pub source: Option<String>,
    pub key_id: Option<String>,
    /// The key's display name and fingerprint when the provider gave them.
    pub key_name: Option<String>,
    pub period: BudgetPeriod,
    /// Decimal string, six places.
    pub amount: String,
    pub currency: String,
    pub thresholds: Vec<u32>,
    pub created_at: String,
    /// The current period's first and last local day, `YYYY-MM-DD`.
    pub period_start: String,
    pub period_end: String,
    /// Spent in the current period so far (decimal string).
    pub spent: String,
    /// Whether `spent` includes token-based estimates.
    pub estimated: bool,
}
