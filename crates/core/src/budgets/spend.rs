//! What a budget's scope spent over a span of local days, in the budget's currency.
//!
//! Spend is read through the same rule as reports ([`crate::ledger::counted_rows`]): per source
//! and UTC day billed spend wins over estimates, unless the budget is per key and only the
//! estimates name keys (Anthropic). A UTC day counts toward the local day with the same date.
//!
//! Spend in the budget's own currency is added as it is, without any rate, so a budget over
//! one currency behaves exactly as before rates existed. Spend in any other currency is
//! converted into the budget's currency at the rate of its own day ([`crate::fx::Converter`]),
//! each row rounded once. When a day's rate is missing, that row is left out of the total and
//! [`PeriodSpend::missing`] says so: the total is then the part that could be converted, a lower
//! bound, and must never be shown or judged as the whole.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rusqlite::Connection;
use rust_decimal::Decimal;

use super::period::LocalPeriod;
use super::{Budget, Scope};
use crate::days::{ts_to_day, DayRange};
use crate::error::Result;
use crate::fx::Converter;
use crate::ledger::counted_rows;
use crate::money::format_human;

/// Spend of a budget's scope over one span of local days, in the budget's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodSpend {
    pub period: LocalPeriod,
    /// The budget's own currency plus every other currency converted at its day's rate. When
    /// [`Self::missing`] is set, only the part that could be converted (a lower bound).
    pub total_micros: i64,
    /// Some of the total is token-based estimates, not billed.
    pub estimated: bool,
    /// Spend per day that has any, ascending, converted like the total.
    pub daily: Vec<(NaiveDate, i64)>,
    /// Per other currency, what was converted into the budget's currency, in currency order.
    pub converted: Vec<ConvertedPart>,
    /// Every other currency the scope spent in this span (converted or not), in order.
    pub other_currencies: Vec<String>,
    /// "missing rate for CNY since 2026-07-03": spend that could not be converted for want of
    /// a rate, and so is not in the total. The ledger holds no negative spend (a poll or import
    /// reporting any is refused), so what is left out can only make the whole larger.
    pub missing: Option<String>,
}

/// The rows of one currency converted into a budget's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedPart {
    pub currency: String,
    /// The converted rows' sum in their own currency.
    pub native_micros: i64,
    /// Their sum in the budget's currency: the sum of the rows, each rounded once.
    pub micros: i64,
    /// The oldest and newest rate day used.
    pub first_rate_day: NaiveDate,
    pub last_rate_day: NaiveDate,
    /// The rates used, as units of `currency` per unit of the budget's currency (rounded to six
    /// significant digits, for showing only).
    pub rates: BTreeSet<Decimal>,
}

impl ConvertedPart {
    /// "1234.50 CNY = 158.02 EUR at 7.8123 CNY/EUR (2026-07-03)", or with several days
    /// "… at rates of 2026-07-01..2026-07-03 (7.8 to 7.9 CNY/EUR)".
    pub fn describe(&self, target: &str) -> String {
        let pair = format!("{}/{target}", self.currency);
        let days = if self.first_rate_day == self.last_rate_day {
            self.first_rate_day.to_string()
        } else {
            format!("{}..{}", self.first_rate_day, self.last_rate_day)
        };
        let rates: Vec<String> = self.rates.iter().map(Decimal::to_string).collect();
        let at = match rates.as_slice() {
            [one] if self.first_rate_day == self.last_rate_day => format!("at {one} {pair} ({days})"),
            [one] => format!("at {one} {pair} (rates of {days})"),
            [low, .., high] => format!("at rates of {days} ({low} to {high} {pair})"),
            [] => format!("at rates of {days}"),
        };
        format!("{} = {} {at}", format_human(self.native_micros, &self.currency), format_human(self.micros, target))
    }
}

impl PeriodSpend {
    /// Whether `pct` percent of `amount` is certainly reached: by the whole, or, with a rate
    /// missing, by the convertible part alone (what is left out can only add to it). A
    /// threshold the convertible part does not reach is not reached yet, whatever the whole.
    pub fn reached(&self, amount: i64, pct: u32) -> bool {
        reached(self.total_micros, amount, pct)
    }

    /// "This includes 120.00 USD = 90.00 EUR at … and 576.00 CNY = 72.00 EUR at …." for an
    /// alert's body; None when nothing was converted.
    pub fn conversion_note(&self, target: &str) -> Option<String> {
        if self.converted.is_empty() {
            return None;
        }
        let parts: Vec<String> = self.converted.iter().map(|p| p.describe(target)).collect();
        Some(format!("This includes {}.", parts.join(" and ")))
    }

    /// The converted parts as alert details (JSON).
    pub fn conversion_details(&self) -> serde_json::Value {
        self.converted
            .iter()
            .map(|p| {
                serde_json::json!({
                    "currency": p.currency,
                    "amount": crate::money::format_micros(p.native_micros),
                    "converted": crate::money::format_micros(p.micros),
                    "rate_date": p.first_rate_day.to_string(),
                    "rate_date_to": p.last_rate_day.to_string(),
                    "rates": p.rates.iter().map(Decimal::to_string).collect::<Vec<_>>(),
                })
            })
            .collect()
    }
}

/// Whether `spent` reached `pct` percent of `amount`.
pub fn reached(spent: i64, amount: i64, pct: u32) -> bool {
    i128::from(spent) * 100 >= i128::from(amount) * i128::from(pct)
}

/// Units of the source per unit of the target, from a conversion's target-per-source rate.
fn shown_rate(target_per_source: Decimal) -> Decimal {
    if target_per_source.is_zero() {
        return Decimal::ZERO;
    }
    (Decimal::ONE / target_per_source).round_sf(6).unwrap_or_default().normalize()
}

/// What a budget's scope spent in `period` (any span of local days), in the budget's currency.
pub fn period_spend(conn: &Connection, budget: &Budget, period: LocalPeriod) -> Result<PeriodSpend> {
    let range = DayRange::new(period.start, period.end)?;
    let by_key = matches!(budget.scope, Scope::Key { .. });
    let target = budget.currency.as_str();
    let mut daily: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut estimated = false;
    // Rates are read only when some spend is in another currency.
    let mut converter: Option<Converter> = None;
    let mut parts: BTreeMap<String, ConvertedPart> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    for row in counted_rows(conn, by_key, false, range)? {
        let in_scope = match &budget.scope {
            Scope::Total => true,
            Scope::Source { source_id, .. } => row.source == *source_id,
            Scope::Key { source_id, key_id, .. } => row.source == *source_id && row.key == *key_id,
        };
        if !in_scope || row.amount == 0 {
            continue;
        }
        let day = ts_to_day(row.day);
        let micros = if row.currency == target {
            row.amount
        } else {
            others.insert(row.currency.clone());
            if converter.is_none() {
                converter = Some(Converter::load(conn, target, range)?);
            }
            let c = converter.as_mut().expect("loaded just above");
            match c.convert_or_lacking(row.amount, &row.currency, day)? {
                Ok(converted) => {
                    let used = converted.rate_date();
                    let part = parts.entry(row.currency.clone()).or_insert_with(|| ConvertedPart {
                        currency: row.currency.clone(),
                        native_micros: 0,
                        micros: 0,
                        first_rate_day: used,
                        last_rate_day: used,
                        rates: BTreeSet::new(),
                    });
                    part.native_micros =
                        part.native_micros.checked_add(row.amount).ok_or_else(crate::money::sum_overflow)?;
                    part.micros = part.micros.checked_add(converted.micros).ok_or_else(crate::money::sum_overflow)?;
                    part.first_rate_day = part.first_rate_day.min(used);
                    part.last_rate_day = part.last_rate_day.max(used);
                    part.rates.insert(shown_rate(converted.rate()));
                    converted.micros
                }
                // Left out of the total; the converter remembers it for `missing`.
                Err(_lacking) => continue,
            }
        };
        estimated |= !row.billed;
        let entry = daily.entry(day).or_insert(0);
        *entry = entry.checked_add(micros).ok_or_else(crate::money::sum_overflow)?;
    }
    let total_micros = crate::money::checked_sum(daily.values().copied())?;
    Ok(PeriodSpend {
        period,
        total_micros,
        estimated,
        daily: daily.into_iter().collect(),
        converted: parts.into_values().collect(),
        other_currencies: others.into_iter().collect(),
        missing: converter.as_ref().and_then(Converter::missing_text),
    })
}
