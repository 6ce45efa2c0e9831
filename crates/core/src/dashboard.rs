//! The key table of the dashboard: which key is spending, how fast, and what is wrong with it
//! (old, dormant, without any limit). Read from the same counted rows as the reports, so a key's
//! figures here always match `report daily --by key`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use ts_rs::TS;

use chrono::{Days, NaiveDate};
use rusqlite::Connection;

use crate::budgets::{self, Scope};
use crate::days::{ts_to_day, ts_to_rfc3339, DayRange};
use crate::error::Result;
use crate::ledger::counted_rows;
use crate::money::format_micros;
use crate::prices::PriceTable;
use crate::providers::ProviderId;

/// One key (in one currency) in the dashboard's key table. Amounts are decimal strings; the
/// sparkline is micro-units per UTC day, oldest first, over the last 30 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KeyRow {
    pub source: String,
    pub provider: String,
    pub key_id: String,
    pub name: Option<String>,
    /// e.g. `sk-…abcd`; never the key.
    pub fingerprint: Option<String>,
    /// Empty for a key without spend in the window.
    pub currency: String,
    pub today: String,
    /// False while the key's provider has not published today's figures (OpenAI and Anthropic
    /// publish a day late): then `today` is "not reported yet", not zero.
    pub today_reported: bool,
    pub last_7_days: String,
    pub last_30_days: String,
    #[ts(type = "number[]")]
    pub sparkline: Vec<i64>,
    /// This key's part of the 30-day total in its currency, in 1/100 of a percent.
    pub share_basis_points: u32,
    /// Some of the amounts are token-based estimates.
    pub estimated: bool,
    /// The provider's spending limit on the key, e.g. "100.000000 USD".
    pub limit: Option<String>,
    /// A Burnrate budget on this key, described.
    pub budget: Option<String>,
    pub created_at: Option<String>,
    #[ts(type = "number | null")]
    pub age_days: Option<i64>,
    /// Older than the rotation period (only when the key's creation date is known).
    pub rotation_due: bool,
    /// Neither spend nor tokens nor requests in the last 30 days.
    pub dormant: bool,
    /// The provider offers per-key limits, and neither one nor a Burnrate budget caps this key.
    pub no_limit: bool,
    /// Tokens of the last 30 days that no list price covers: the estimates leave them out.
    #[ts(type = "number")]
    pub unpriced_tokens: i64,
    pub disabled: bool,
    /// dev, staging or prod, where known.
    pub environment: Option<String>,
    /// `last_30_days` in the display currency (the `display_currency` setting), each day at
    /// that day's rate; None when the setting is unset or the key spent nothing. Its `amount`
    /// is None (unknown, with `missing` saying why) when a day lacks a rate.
    #[serde(default)]
    pub converted_30_days: Option<crate::fx::ConvertedAmount>,
}

/// Days of history the table covers (the sparkline's points).
pub const WINDOW_DAYS: u64 = 30;

#[derive(Default)]
struct Totals {
    daily: BTreeMap<NaiveDate, i64>,
    estimated: bool,
}

/// One row per key and currency with spend in the 30 days up to `today`, plus one per known key
/// without any (dormant), biggest 30-day spend first within each currency.
/// Keys older than `rotation_days` are flagged `rotation_due`.
pub fn key_table(
    conn: &Connection,
    prices: &PriceTable,
    today: NaiveDate,
    now: i64,
    rotation_days: u32,
    display_currency: Option<&str>,
) -> Result<Vec<KeyRow>> {
    let first = today - Days::new(WINDOW_DAYS - 1);
    let window = DayRange::new(first, today)?;
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, true, false, window)?;
    let unpriced = crate::unpriced::by_key(&tx, prices, window)?;
    // Keys used in the window even where no amount is known (tokens of an unpriced model, a
    // provider that has not billed yet): such a key is not dormant.
    let used: HashSet<(i64, String)> = tx
        .prepare(
            "SELECT DISTINCT source_id, key_id FROM spend_daily
             WHERE day >= ?1 AND day < ?2 AND key_id != ''
               AND (amount_micros != 0 OR input_tokens > 0 OR output_tokens > 0 OR requests > 0)",
        )?
        .query_map(rusqlite::params![window.start_ts(), window.end_ts()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let reported_today: HashSet<i64> = tx
        .prepare("SELECT DISTINCT source_id FROM spend_daily WHERE day >= ?1 AND day < ?2")?
        .query_map(rusqlite::params![crate::days::day_start(today), crate::days::day_start(today) + 86_400], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut spend: BTreeMap<(i64, String, String), Totals> = BTreeMap::new();
    for r in rows.into_iter().filter(|r| r.amount != 0) {
        let t = spend.entry((r.source, r.key, r.currency)).or_default();
        let day = t.daily.entry(ts_to_day(r.day)).or_default();
        *day = day.checked_add(r.amount).ok_or_else(crate::money::sum_overflow)?;
        t.estimated |= !r.billed;
    }
    // Each key's 30 days in the display currency: each day's amount at that day's rate.
    let mut converted: HashMap<(i64, String, String), crate::fx::ConvertedAmount> = HashMap::new();
    if let Some(target) = display_currency {
        let mut converter = crate::fx::Converter::load(&tx, target, window)?;
        for ((source_id, key_id, currency), t) in &spend {
            let mut sum = crate::fx::ConvertedSum::default();
            for (day, micros) in &t.daily {
                sum.add(&mut converter, *micros, currency, *day)?;
            }
            let target = converter.target().to_owned();
            converted.insert((*source_id, key_id.clone(), currency.clone()), sum.finish(&target));
        }
    }

    struct KeyInfo {
        source: String,
        provider: String,
        name: Option<String>,
        fingerprint: Option<String>,
        created_at: Option<i64>,
        disabled: bool,
        environment: Option<String>,
    }
    let mut keys: HashMap<(i64, String), KeyInfo> = HashMap::new();
    let mut sources: HashMap<i64, (String, String)> = HashMap::new();
    {
        let mut stmt = tx.prepare("SELECT id, name, provider FROM sources")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            sources.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        }
        let mut stmt = tx.prepare(
            "SELECT k.source_id, k.provider_key_id, k.display_name, k.fingerprint, k.created_at, k.disabled,
                    k.environment
             FROM api_keys k",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let source_id: i64 = r.get(0)?;
            let (source, provider) = sources.get(&source_id).cloned().unwrap_or_default();
            keys.insert(
                (source_id, r.get(1)?),
                KeyInfo {
                    source,
                    provider,
                    name: r.get(2)?,
                    fingerprint: r.get(3)?,
                    created_at: r.get(4)?,
                    disabled: r.get(5)?,
                    environment: r.get(6)?,
                },
            );
        }
    }
    // The provider's own limit of a key: its latest snapshot that has one.
    let mut limits: HashMap<(i64, String), (i64, String)> = HashMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT source_id, key_id, limit_micros, currency FROM balance_snapshots
             WHERE key_id != '' AND limit_micros IS NOT NULL ORDER BY taken_at, id",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            limits.insert((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?));
        }
    }
    let budgets: HashMap<(i64, String), budgets::Budget> = budgets::list(&tx)?
        .into_iter()
        .filter_map(|b| match &b.scope {
            Scope::Key { source_id, key_id, .. } => Some(((*source_id, key_id.clone()), b)),
            _ => None,
        })
        .collect();
    tx.commit()?;

    // Sums of days are checked: a ledger written before implausible amounts were refused at
    // ingest may hold rows whose sum does not fit.
    use crate::money::checked_sum;
    let mut totals_by_currency: HashMap<String, i64> = HashMap::new();
    for ((_, _, currency), t) in &spend {
        let total = totals_by_currency.entry(currency.clone()).or_default();
        *total = total.checked_add(checked_sum(t.daily.values().copied())?).ok_or_else(crate::money::sum_overflow)?;
    }
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= today).collect();
    let week_start = today - Days::new(6);
    let make = |source_id: i64, key_id: &str, currency: &str, t: Option<&Totals>| -> Result<KeyRow> {
        let info = keys.get(&(source_id, key_id.to_owned()));
        let (source, provider) = match info {
            Some(i) => (i.source.clone(), i.provider.clone()),
            None => sources.get(&source_id).cloned().unwrap_or_default(),
        };
        let sum = |from: NaiveDate| t.map_or(Ok(0), |t| checked_sum(t.daily.range(from..).map(|(_, m)| *m)));
        let (last_30, last_7, today_micros) = (sum(first)?, sum(week_start)?, sum(today)?);
        let total = totals_by_currency.get(currency).copied().unwrap_or(0);
        let created_at = info.and_then(|i| i.created_at);
        let age_days = created_at.map(|c| (now - c).div_euclid(86_400));
        let limit = limits.get(&(source_id, key_id.to_owned()));
        let budget = budgets.get(&(source_id, key_id.to_owned()));
        let provider_id = provider.parse::<ProviderId>().ok();
        let limits_per_key = provider_id.is_some_and(ProviderId::offers_key_limits);
        let today_reported =
            reported_today.contains(&source_id) || !provider_id.is_some_and(ProviderId::publishes_days_late);
        Ok(KeyRow {
            source,
            provider,
            key_id: key_id.to_owned(),
            name: info.and_then(|i| i.name.clone()),
            fingerprint: info.and_then(|i| i.fingerprint.clone()),
            currency: currency.to_owned(),
            today: format_micros(today_micros),
            today_reported,
            last_7_days: format_micros(last_7),
            last_30_days: format_micros(last_30),
            sparkline: days.iter().map(|d| t.and_then(|t| t.daily.get(d).copied()).unwrap_or(0)).collect(),
            share_basis_points: if total > 0 { ((i128::from(last_30) * 10_000) / i128::from(total)) as u32 } else { 0 },
            estimated: t.is_some_and(|t| t.estimated),
            limit: limit.map(|(m, c)| format!("{} {c}", format_micros(*m))),
            budget: budget.map(|b| b.describe()),
            created_at: created_at.map(ts_to_rfc3339),
            age_days,
            rotation_due: age_days.is_some_and(|a| a > i64::from(rotation_days)),
            dormant: last_30 == 0 && !used.contains(&(source_id, key_id.to_owned())),
            no_limit: limits_per_key && limit.is_none() && budget.is_none(),
            unpriced_tokens: unpriced.get(&(source_id, key_id.to_owned())).copied().unwrap_or(0),
            disabled: info.is_some_and(|i| i.disabled),
            environment: info.and_then(|i| i.environment.clone()),
            converted_30_days: converted.get(&(source_id, key_id.to_owned(), currency.to_owned())).cloned(),
        })
    };
    let mut out: Vec<KeyRow> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for ((source_id, key_id, currency), t) in &spend {
        if key_id.is_empty() {
            continue; // unattributed spend is not a key
        }
        seen.insert((*source_id, key_id.clone()));
        out.push(make(*source_id, key_id, currency, Some(t))?);
    }
    for (source_id, key_id) in keys.keys() {
        if !seen.contains(&(*source_id, key_id.clone())) {
            out.push(make(*source_id, key_id, "", None)?);
        }
    }
    let micros = |r: &KeyRow| crate::money::parse_micros(&r.last_30_days).unwrap_or(0);
    out.sort_by(|a, b| {
        a.currency
            .is_empty()
            .cmp(&b.currency.is_empty())
            .then_with(|| micros(b).cmp(&micros(a)))
            .then_with(|| (&a.source, &a.key_id).cmp(&(&b.source, &b.key_id)))
    });
    Ok(out)
}

/// The environments a key can be labelled with (the `api_keys.environment` CHECK).
pub const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// Labels a known key dev, staging or prod (None clears it). Syncs never overwrite the label.
pub fn set_environment(conn: &Connection, source: &str, key_id: &str, environment: Option<&str>) -> Result<()> {
    let environment = match environment.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) if ENVIRONMENTS.contains(&e) => Some(e),
        Some(e) => {
            return Err(crate::error::Error::invalid_input(format!(
                "{e:?} is not an environment; use dev, staging or prod, or none to clear it"
            )))
        }
        None => None,
    };
    let changed = conn.execute(
        "UPDATE api_keys SET environment = ?3
         WHERE provider_key_id = ?2 AND source_id = (SELECT id FROM sources WHERE name = ?1)",
        rusqlite::params![source, key_id, environment],
    )?;
    if changed == 0 {
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::KeyNotFound,
            format!(
                "source {source:?} has no key {key_id:?}; sync it first, or pick a key from `burnrate report daily --by key`"
            ),
        ));
    }
    Ok(())
}
