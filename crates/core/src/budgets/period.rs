//! A budget's period in the user's local calendar: a day, an ISO week, a calendar month.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BudgetPeriod {
    Day,
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
        }
    }

    /// "daily", "weekly", "monthly": for alert texts.
    pub fn adjective(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "daily",
            BudgetPeriod::Week => "weekly",
            BudgetPeriod::Month => "monthly",
        }
    }

    /// The period containing the local day `day`.
    pub fn containing(self, day: NaiveDate) -> LocalPeriod {
        let start = match self {
            BudgetPeriod::Day => day,
            BudgetPeriod::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            BudgetPeriod::Month => day.with_day(1).expect("the first of a month exists"),
        };
        let end = match self {
            BudgetPeriod::Day => start,
            BudgetPeriod::Week => start + Days::new(6),
            BudgetPeriod::Month => start + Months::new(1) - Days::new(1),
        };
        LocalPeriod { start, end }
    }
}

impl FromStr for BudgetPeriod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(BudgetPeriod::Day),
            "week" | "weekly" => Ok(BudgetPeriod::Week),
            "month" | "monthly" => Ok(BudgetPeriod::Month),
            _ => Err(Error::invalid_input(format!("{s:?} is not a budget period; use day, week or month"))),
        }
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A budget period's inclusive local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl LocalPeriod {
    /// The period just before this one.
    pub fn previous(self, period: BudgetPeriod) -> LocalPeriod {
        period.containing(self.start - Days::new(1))
    }
}
