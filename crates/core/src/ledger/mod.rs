//! The spend ledger: what a poll returns, how it is written, and how it is read back.
//!
//! Invariants:
//! - a poll is written in one transaction together with its `sync_runs` row, so the ledger
//!   holds all of a poll or none of it;
//! - a poll *replaces* the rows of the windows it covers (delete then insert), so re-polling
//!   the same days never adds, and a bucket the provider revised down to nothing disappears;
//! - rows of one poll with the same identity are summed (providers split a day across pages).
//!
//! - [`write`]: a poll into `spend` and `api_keys`, in one transaction;
//! - [`rollups`]: the daily roll-ups kept in step with `spend` inside that transaction;
//! - [`runs`]: the `sync_runs` record of every poll, failed or not;
//! - [`reports`]: reading spend back (daily report, reconciliation, the counting rule).

mod buckets;
mod plausible;
mod reports;
mod rollups;
mod runs;
#[cfg(test)]
mod test_support;
mod write;

pub(crate) use reports::{counted_rows, Names};
pub use reports::{
    daily_report, daily_report_converted, reconcile, report_csv, report_csv_converted, ConvertedReport,
    NOT_ATTRIBUTED_TO_A_KEY, NOT_ATTRIBUTED_TO_A_MODEL,
};
pub(crate) use rollups::rebuild_all as rebuild_all_rollups;
pub use runs::{last_run, last_success_window_end, record_failure};
pub use write::write_poll;
pub(crate) use write::write_windows;
