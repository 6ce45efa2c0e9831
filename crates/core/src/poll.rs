//! What one poll of one source returns: the vocabulary shared by the connectors that produce it
//! and the ledger that stores it. A leaf: it knows nothing of either.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::money::Currency;

/// Whether the provider billed this spend or Burnrate estimated it from tokens and list prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SpendKind {
    Billed,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketWidth {
    Day,
    Hour,
}

impl BucketWidth {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketWidth::Day => "day",
            BucketWidth::Hour => "hour",
        }
    }
    pub fn seconds(self) -> i64 {
        match self {
            BucketWidth::Day => 86_400,
            BucketWidth::Hour => 3_600,
        }
    }
}

impl SpendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpendKind::Billed => "billed",
            SpendKind::Estimated => "estimated",
        }
    }
}

/// One bucket of spend as a provider reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    /// The provider's key id; empty when the provider did not attribute the spend to a key.
    pub key_id: String,
    /// Empty when the provider does not break this spend down by model.
    pub model: String,
    pub project: String,
    /// Start of the UTC bucket, Unix seconds.
    pub bucket_start: i64,
    pub currency: Currency,
    pub amount_micros: i64,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub requests: Option<i64>,
}

/// Rows covering `[from, to)` (Unix seconds) completely: every existing row of this source,
/// width and kind inside the range is replaced by `rows`.
#[derive(Debug, Clone)]
pub struct SpendWindow {
    pub width: BucketWidth,
    pub kind: SpendKind,
    pub from: i64,
    pub to: i64,
    pub rows: Vec<SpendRow>,
}

/// What a provider says about one of its keys. `None` fields leave what the ledger has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRecord {
    pub provider_key_id: String,
    pub display_name: Option<String>,
    pub fingerprint: Option<String>,
    pub project: Option<String>,
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceSnapshot {
    pub key_id: String,
    pub currency: Currency,
    /// What is left to spend; None when unlimited.
    pub balance_micros: Option<i64>,
    pub limit_micros: Option<i64>,
    pub usage_micros: Option<i64>,
}

/// Everything one poll of one source produced.
#[derive(Debug, Clone, Default)]
pub struct PollResult {
    pub keys: Vec<KeyRecord>,
    pub windows: Vec<SpendWindow>,
    pub balances: Vec<BalanceSnapshot>,
    /// The provider reports only balances: derive spend from their drops after writing them
    /// (see [`crate::balance_spend`]).
    pub derive_spend_from_balances: bool,
}

/// Progress of a long sync (a first sync of history), for progress bars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncProgress {
    pub source: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
    /// What is being counted, e.g. "pages" or "days".
    pub unit: String,
}
