//! Spend derived from balance snapshots, for providers that report only a balance (DeepSeek).
//! (Not written yet.)

use rusqlite::Transaction;

use crate::error::Result;
use crate::ledger::DayRange;

/// Recomputes the derived spend rows of `source_id` for the days in `range` from its balance
/// snapshots. Returns the number of spend rows written.
pub fn derive(_tx: &Transaction<'_>, _source_id: i64, _range: DayRange) -> Result<i64> {
    Ok(0)
}
