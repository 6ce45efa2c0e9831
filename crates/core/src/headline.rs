//! The first thing the Spend view says: how much today and this month, whether the month stays
//! within its budget (and the day it will not), how much prepaid credit is left and when it
//! runs out, which tokens have no price, and as of when. Read through the same counting rule
//! as every report ([`crate::ledger::counted_rows`]), so the headline, the tray, the charts and
//! `report daily` agree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::forecast::{self, Forecast};
use crate::budgets::{self, Budget, BudgetPeriod, Scope};
use crate::days::{ts_to_day, DayRange};
use crate::error::Result;
use crate::fx::{ConvertedAmount, ConvertedSum, Converter};
use crate::ledger::counted_rows;
use crate::money::format_micros;
use crate::providers::ProviderId;
use crate::unpriced::UnpricedModel;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpendHeadline {
    /// The core's clock (RFC 3339): what "today" and "as of" are measured from. `BURNRATE_NOW`
    /// replays a past moment in the app too.
    pub now: String,
    /// The UTC day the figures call today (providers report UTC days).
    pub today: String,
    /// The latest successful sync of any source (RFC 3339); None before the first: then there
    /// are no figures to show, not figures of zero.
    pub as_of: Option<String>,
    /// One entry per currency with spend this month (currencies are never added together).
    pub currencies: Vec<CurrencyHeadline>,
    /// Prepaid balances (DeepSeek, OpenRouter credits, relays): the latest of each source.
    pub credits: Vec<Credit>,
    /// Sources that synced but have no figure for today yet (OpenAI publishes costs late).
    pub not_reported_today: Vec<String>,
    /// Tokens of the last 30 days that no list price covers.
    pub unpriced: Vec<UnpricedModel>,
    /// Every currency's spend in one figure, when the `display_currency` setting names one
    /// and the month has spend: each day's rows converted at that day's rate. None otherwise
    /// (then nothing is converted, as before the setting existed).
    pub converted: Option<ConvertedHeadline>,
}

/// Today and the month so far over all currencies, in the display currency. The native
/// figures ([`SpendHeadline::currencies`]) stay: this is a reading of them, not a replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConvertedHeadline {
    pub today: ConvertedAmount,
    pub month_to_date: ConvertedAmount,
    /// The month's end at the recent pace of the converted daily totals, in the display
    /// currency; None with fewer than 3 days of history or when a day of the pace or the month
    /// lacks a rate (an unknown day is not a zero day).
    pub forecast: Option<String>,
    /// Some of the month's amount is token estimates.
    pub estimated: bool,
    /// The native currencies the figures were converted from, e.g. `["CNY", "USD"]`.
    pub from: Vec<String>,
    /// The monthly total budget in the display currency (which covers every currency, each
    /// day at its rate), against the converted month. None without one, or while the month is
    /// unknown for a missing rate (then `month_to_date.missing` says why).
    pub budget: Option<MonthBudget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CurrencyHeadline {
    pub currency: String,
    /// Decimal strings with six places.
    pub today: String,
    pub month_to_date: String,
    /// Some of the month's amount is token estimates.
    pub estimated: bool,
    /// Projected spend at the month's end; None with fewer than 3 days of history.
    pub forecast: Option<String>,
    /// The monthly budget over all sources in this currency, if there is one.
    pub budget: Option<MonthBudget>,
    /// The key that spent most of this currency this month: "which key" without scrolling.
    /// None when no spend is attributed to a key.
    pub top_key: Option<TopKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TopKey {
    pub source: String,
    pub key_id: String,
    /// The key's name, or its fingerprint when it has none.
    pub name: String,
    /// Decimal string with six places: its month to date, counted as every report counts it.
    pub month_to_date: String,
    /// Its month to date as a whole percentage of the currency's (rounded down).
    pub percent: u32,
    /// Some of its amount is token estimates (the provider bills the workspace, not the key).
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MonthBudget {
    #[ts(type = "number")]
    pub id: i64,
    pub amount: String,
    /// Month to date as a whole percentage of the amount (rounded down).
    pub percent: u32,
    /// The day the month's spend passed (or, at the current pace, will pass) the amount;
    /// None when it stays within it.
    pub passes_on: Option<String>,
    /// `passes_on` is today or earlier.
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Credit {
    pub source: String,
    pub currency: String,
    pub balance: String,
    /// When the provider last reported it (RFC 3339).
    pub as_of: String,
    /// Days until the balance reaches 0 at the source's recent daily pace (the forecasts'
    /// pace); None without spend or with fewer than 3 days of history.
    #[ts(type = "number | null")]
    pub runs_out_in_days: Option<i64>,
    pub runs_out_on: Option<String>,
}

/// The month of one currency: its days (from a week before the month, for the pace), the
/// monthly total budget in that currency and the projection to the month's end. The month-to-
/// date chart draws exactly this.
pub(crate) struct MonthOutlook {
    pub currency: String,
    pub daily: BTreeMap<NaiveDate, i64>,
    pub estimated: bool,
    pub budget: Option<Budget>,
    pub projection: Option<Forecast>,
    pub month_start: NaiveDate,
    pub month_end: NaiveDate,
}

impl MonthOutlook {
    pub fn month_to_date(&self, today: NaiveDate) -> i64 {
        self.daily.range(self.month_start..=today).map(|(_, m)| *m).fold(0, i64::saturating_add)
    }
}

/// The month's outlook per currency with spend in the month or the week before it.
pub(crate) fn month_outlooks(conn: &Connection, today: NaiveDate) -> Result<Vec<MonthOutlook>> {
    let month_start = today.with_day(1).expect("day 1 exists");
    let month_end = BudgetPeriod::Month.containing(today).end;
    // The pace looks back up to a week before the month: read from there.
    let history_from = month_start.min(today - Days::new(u64::from(forecast::PACE_WINDOW_DAYS)));
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, false, false, DayRange::new(history_from, today)?)?;
    let all_budgets = budgets::list(&tx)?;
    tx.commit()?;
    let mut by_currency: BTreeMap<String, (BTreeMap<NaiveDate, i64>, bool)> = BTreeMap::new();
    for row in rows {
        let (daily, estimated) = by_currency.entry(row.currency).or_default();
        let day = daily.entry(ts_to_day(row.day)).or_default();
        *day = day.saturating_add(row.amount);
        *estimated |= !row.billed;
    }
    Ok(by_currency
        .into_iter()
        .map(|(currency, (daily, estimated))| {
            let budget = all_budgets
                .iter()
                .find(|b| {
                    b.period == BudgetPeriod::Month
                        && matches!(b.scope, Scope::Total)
                        && b.currency.as_str() == currency
                })
                .cloned();
            let history: Vec<(NaiveDate, i64)> = daily.iter().map(|(d, m)| (*d, *m)).collect();
            let limit = budget.as_ref().map_or(i64::MAX, |b| b.amount_micros);
            let projection = forecast::project(&history, month_start, month_end, today, limit);
            MonthOutlook { currency, daily, estimated, budget, projection, month_start, month_end }
        })
        .collect())
}

/// The month of every currency together in `target`: each day's rows converted at that day's
/// rate (see [`crate::fx::Converter`]), from a week before the month for the pace. A day with
/// a row that has no rate is left out of `outlook.daily` and listed in `missing_days`; the
/// projection is then None (a pace or month with an unknown day is not projected).
pub(crate) struct ConvertedMonth {
    /// `currency` is `target`; `budget` is the monthly total budget in `target`, if any.
    pub outlook: MonthOutlook,
    pub today: ConvertedAmount,
    pub month_to_date: ConvertedAmount,
    /// Days (from the pace's first day to today) that could not be converted.
    pub missing_days: BTreeSet<NaiveDate>,
    /// The native currencies with spend in the month.
    pub from: Vec<String>,
}

pub(crate) fn converted_month(conn: &Connection, today: NaiveDate, target: &str) -> Result<ConvertedMonth> {
    let month_start = today.with_day(1).expect("day 1 exists");
    let month_end = BudgetPeriod::Month.containing(today).end;
    let history_from = month_start.min(today - Days::new(u64::from(forecast::PACE_WINDOW_DAYS)));
    let range = DayRange::new(history_from, today)?;
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, false, false, range)?;
    let all_budgets = budgets::list(&tx)?;
    let mut converter = Converter::load(&tx, target, range)?;
    tx.commit()?;
    let target = converter.target().to_owned();
    let (mut month_sum, mut today_sum) = (ConvertedSum::default(), ConvertedSum::default());
    let mut daily: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut missing_days = BTreeSet::new();
    let mut from = BTreeSet::new();
    let mut estimated = false;
    // A zero row converts to zero whatever the rate: it can neither need nor lack one.
    for row in rows.into_iter().filter(|r| r.amount != 0) {
        let day = ts_to_day(row.day);
        if day >= month_start {
            month_sum.add(&mut converter, row.amount, &row.currency, day)?;
            estimated |= !row.billed;
            from.insert(row.currency.clone());
        }
        if day == today {
            today_sum.add(&mut converter, row.amount, &row.currency, day)?;
        }
        match converter.convert(row.amount, &row.currency, day)? {
            Some(c) => {
                let sum = daily.entry(day).or_default();
                *sum = sum.checked_add(c.micros).ok_or_else(crate::money::sum_overflow)?;
            }
            None => {
                missing_days.insert(day);
            }
        }
    }
    for day in &missing_days {
        daily.remove(day);
    }
    let budget = all_budgets
        .into_iter()
        .find(|b| b.period == BudgetPeriod::Month && matches!(b.scope, Scope::Total) && b.currency.as_str() == target);
    let projection = if missing_days.is_empty() {
        let history: Vec<(NaiveDate, i64)> = daily.iter().map(|(d, m)| (*d, *m)).collect();
        let limit = budget.as_ref().map_or(i64::MAX, |b| b.amount_micros);
        forecast::project(&history, month_start, month_end, today, limit)
    } else {
        None
    };
    Ok(ConvertedMonth {
        today: today_sum.finish(&target),
        month_to_date: month_sum.finish(&target),
        missing_days,
        from: from.into_iter().collect(),
        outlook: MonthOutlook { currency: target, daily, estimated, budget, projection, month_start, month_end },
    })
}

/// The month's budget line of an outlook: how much of it is spent and the day it is (or will
/// be) passed at the current pace.
fn month_budget(o: &MonthOutlook, today: NaiveDate) -> Option<MonthBudget> {
    let month_to_date = o.month_to_date(today);
    o.budget.as_ref().map(|b| {
        let passes_on = o.projection.as_ref().and_then(|f| f.crosses_on);
        MonthBudget {
            id: b.id,
            amount: format_micros(b.amount_micros),
            percent: percent(month_to_date, b.amount_micros),
            passes_on: passes_on.map(|d| d.to_string()),
            passed: passes_on.is_some_and(|d| d <= today) || month_to_date > b.amount_micros,
        }
    })
}

/// Builds the headline at `now` (UTC days). `as_of`: the latest successful sync;
/// `unpriced`: the last 30 days' unpriced tokens; `display_currency`: the setting, which adds
/// [`SpendHeadline::converted`].
pub(crate) fn headline(
    conn: &Connection,
    now: DateTime<Utc>,
    as_of: Option<String>,
    unpriced: Vec<UnpricedModel>,
    display_currency: Option<&str>,
) -> Result<SpendHeadline> {
    let today = now.date_naive();
    let mut top_keys = top_keys_of_month(conn, today)?;
    let currencies = month_outlooks(conn, today)?
        .into_iter()
        .filter(|o| o.daily.range(o.month_start..=today).next().is_some())
        .map(|o| {
            let month_to_date = o.month_to_date(today);
            let budget = month_budget(&o, today);
            CurrencyHeadline {
                today: format_micros(o.daily.get(&today).copied().unwrap_or(0)),
                month_to_date: format_micros(month_to_date),
                estimated: o.estimated,
                forecast: o.projection.as_ref().map(|f| format_micros(f.projected_micros)),
                budget,
                top_key: top_keys.remove(&o.currency).map(|(mut top, micros)| {
                    top.percent = percent(micros, month_to_date);
                    top
                }),
                currency: o.currency,
            }
        })
        .collect::<Vec<_>>();
    let converted = match display_currency {
        Some(target) if !currencies.is_empty() => {
            let month = converted_month(conn, today, target)?;
            let known = month.month_to_date.amount.is_some();
            Some(ConvertedHeadline {
                budget: month_budget(&month.outlook, today).filter(|_| known),
                forecast: month.outlook.projection.as_ref().map(|f| format_micros(f.projected_micros)),
                estimated: month.outlook.estimated,
                today: month.today,
                month_to_date: month.month_to_date,
                from: month.from,
            })
        }
        _ => None,
    };
    Ok(SpendHeadline {
        now: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        today: today.to_string(),
        as_of,
        currencies,
        credits: credits(conn, today)?,
        not_reported_today: not_reported_today(conn, today)?,
        unpriced,
        converted,
    })
}

/// Per currency, the key with the most spend this month (ties: the first by source and key id,
/// so the headline does not flicker), with its micro-units. Remainders not attributed to a key
/// are never a "top key".
fn top_keys_of_month(conn: &Connection, today: NaiveDate) -> Result<HashMap<String, (TopKey, i64)>> {
    let month_start = today.with_day(1).expect("day 1 exists");
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, true, false, DayRange::new(month_start, today)?)?;
    let names = crate::ledger::Names::load(&tx, true, true)?;
    tx.commit()?;
    // (currency, source, key) -> (amount, estimated)
    let mut per_key: BTreeMap<(String, i64, String), (i64, bool)> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| !r.key.is_empty()) {
        let entry = per_key.entry((row.currency, row.source, row.key)).or_default();
        entry.0 = entry.0.saturating_add(row.amount);
        entry.1 |= !row.billed;
    }
    let mut top: HashMap<String, (TopKey, i64)> = HashMap::new();
    for ((currency, source, key), (micros, estimated)) in per_key {
        if micros <= 0 || top.get(&currency).is_some_and(|(_, best)| *best >= micros) {
            continue;
        }
        let key_top = TopKey {
            source: names.source_name(source),
            name: names.key_name(source, &key),
            key_id: key,
            month_to_date: format_micros(micros),
            percent: 0,
            estimated,
        };
        top.insert(currency, (key_top, micros));
    }
    Ok(top)
}

fn percent(spent: i64, amount: i64) -> u32 {
    if amount <= 0 || spent <= 0 {
        return 0;
    }
    u32::try_from(i128::from(spent) * 100 / i128::from(amount)).unwrap_or(u32::MAX)
}

/// The latest account balance of each source and currency, with when it runs out at the
/// source's pace.
fn credits(conn: &Connection, today: NaiveDate) -> Result<Vec<Credit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.source_id, s.name, b.currency, b.balance_micros, b.taken_at
         FROM balance_snapshots b JOIN sources s ON s.id = b.source_id
         WHERE b.key_id = '' AND b.balance_micros IS NOT NULL
           AND b.id = (SELECT b2.id FROM balance_snapshots b2
                       WHERE b2.source_id = b.source_id AND b2.currency = b.currency AND b2.key_id = ''
                         AND b2.balance_micros IS NOT NULL
                       ORDER BY b2.taken_at DESC, b2.id DESC LIMIT 1)
         ORDER BY s.name, b.currency",
    )?;
    let balances: Vec<(i64, String, String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if balances.is_empty() {
        return Ok(Vec::new());
    }
    let from = today - Days::new(u64::from(forecast::PACE_WINDOW_DAYS) + 1);
    let mut daily: HashMap<(i64, String), Vec<(NaiveDate, i64)>> = HashMap::new();
    for row in counted_rows(conn, false, false, DayRange::new(from, today)?)? {
        daily.entry((row.source, row.currency)).or_default().push((ts_to_day(row.day), row.amount));
    }
    Ok(balances
        .into_iter()
        .map(|(source_id, source, currency, balance, taken_at)| {
            let pace = daily
                .get(&(source_id, currency.clone()))
                .and_then(|days| forecast::project(days, today, today, today, i64::MAX))
                .map(|f| f.daily_pace_micros)
                .filter(|p| *p > 0);
            let runs_out_in_days = pace.map(|p| if balance <= 0 { 0 } else { balance.div_euclid(p) });
            Credit {
                source,
                balance: format_micros(balance),
                as_of: crate::days::ts_to_rfc3339(taken_at),
                runs_out_on: runs_out_in_days
                    .and_then(|d| today.checked_add_days(Days::new(u64::try_from(d).unwrap_or(0))))
                    .map(|d| d.to_string()),
                runs_out_in_days,
                currency,
            }
        })
        .collect())
}

/// Sources with a successful sync whose ledger has nothing for today yet, of providers that
/// publish a day late (elsewhere nothing today means nothing spent today).
fn not_reported_today(conn: &Connection, today: NaiveDate) -> Result<Vec<String>> {
    let range = DayRange::new(today, today)?;
    let reported: BTreeSet<i64> = conn
        .prepare_cached("SELECT DISTINCT source_id FROM spend_daily WHERE day >= ?1 AND day < ?2")?
        .query_map([range.start_ts(), range.end_ts()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let synced: Vec<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT s.id, s.name, s.provider FROM sources s
             WHERE EXISTS (SELECT 1 FROM sync_runs r WHERE r.source_id = s.id AND r.ok = 1)
             ORDER BY s.name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(synced
        .into_iter()
        .filter(|(id, _, provider)| {
            !reported.contains(id) && provider.parse::<ProviderId>().is_ok_and(ProviderId::publishes_days_late)
        })
        .map(|(_, name, _)| name)
        .collect())
}
