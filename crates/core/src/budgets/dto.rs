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
    /// ISO-4217 code; None: USD. A currency the scope reports, or one Burnrate has exchange
    /// rates for (spend in other currencies is then converted at each day's rate).
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
    /// Spent in the current period so far (decimal string, in `currency`): spend in the
    /// budget's currency plus every other currency's converted at the rate of its own day.
    /// When `spent_known` is false, only the part that could be converted: a lower bound.
    pub spent: String,
    /// Whether `spent` includes token-based estimates.
    pub estimated: bool,
    /// False when some spend could not be converted for want of a rate (`missing_rate` says
    /// which): `spent` is then "at least", and must be shown as unknown, never as the total.
    pub spent_known: bool,
    /// "missing rate for CNY since 2026-07-03" when `spent_known` is false.
    pub missing_rate: Option<String>,
    /// The other currencies the scope spent in this period, converted into `currency` (or
    /// waiting for a rate), e.g. ["CNY", "USD"]; empty when all spend is in `currency`.
    pub converted_from: Vec<String>,
}
