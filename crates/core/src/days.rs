//! UTC days and timestamps: the calendar every poll, roll-up and report shares.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Error, Result};

/// The inclusive UTC day range a sync pass covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self> {
        if from > to {
            return Err(Error::invalid_input(format!("--from {from} is after --to {to}; swap them")));
        }
        Ok(DayRange { from, to })
    }
    /// Start of `from`, Unix seconds.
    pub fn start_ts(&self) -> i64 {
        day_start(self.from)
    }
    /// End of `to` (exclusive: start of the next day), Unix seconds.
    pub fn end_ts(&self) -> i64 {
        day_start(self.to) + 86_400
    }
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

pub fn day_start(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp()
}

pub fn ts_to_day(ts: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(ts, 0).map(|t| t.date_naive()).unwrap_or_default()
}

pub fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid_input(format!("{text:?} is not a day; use YYYY-MM-DD, e.g. 2026-03-01")))
}

/// Unix seconds as RFC 3339 UTC, whole seconds (`2026-03-01T14:05:00Z`).
pub fn ts_to_rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
