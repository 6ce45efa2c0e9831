//! The ledger as FOCUS 1.2 rows (the FinOps Foundation's FinOps Open Cost and Usage
//! Specification), so a FinOps tool can load Burnrate's AI spend next to its cloud bills.
//! Which column holds what, and why, is in `docs/focus.md`.
//!
//! One row per source, key, model, UTC day and currency, read through the same rule as every
//! report ([`crate::ledger::counted_rows`]): per source and day either the bill answers, or the
//! token estimates do and the bill minus the estimates follows as a billed row without key or
//! model. Estimates are never presented as billed: their `BilledCost` is 0, their
//! `EffectiveCost` is the estimate and `x_CostKind` says `estimated`. The bill they share is
//! carried whole by the source's unattributed billed row (its `EffectiveCost` stays the
//! remainder), so per day and currency `BilledCost` adds up to what `report daily --by source`
//! counts as billed and `EffectiveCost` adds up to the same total the reports show: a tool
//! summing either column counts nothing twice.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::{params, Connection};

use crate::csv_out::{Cell, CsvTable};
use crate::days::{ts_to_day, DayRange};
use crate::error::Result;
use crate::ledger::counted_rows;
use crate::money::format_micros;
use crate::providers::ProviderId;

/// The specification version the columns follow.
pub const FOCUS_VERSION: &str = "1.2";

/// The columns, in order: every column FOCUS 1.2 marks Mandatory, the Recommended and
/// Conditional ones Burnrate can fill, and the custom `x_` columns.
pub const FOCUS_COLUMNS: [&str; 30] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ResourceName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "Tags",
    "x_CostKind",
];

/// One FOCUS row before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FocusRow {
    day: i64,
    source: i64,
    key: String,
    model: String,
    currency: String,
    billed: bool,
    /// Micro-units: what the provider billed for this row (0 for estimates).
    billed_cost: i64,
    /// Micro-units: what this row costs under the report rule.
    effective_cost: i64,
    tokens: Option<i64>,
}

struct KeyInfo {
    name: Option<String>,
    project: Option<String>,
    environment: Option<String>,
}

/// The ledger over `range` as a FOCUS 1.2 CSV document.
pub fn focus_csv(conn: &Connection, range: DayRange) -> Result<String> {
    let rows = focus_rows(conn, range)?;
    let sources = load_sources(conn)?;
    let keys = load_keys(conn)?;
    let mut table = CsvTable::new(FOCUS_COLUMNS);
    for row in &rows {
        let day = ts_to_day(row.day);
        let (source_name, provider) = sources.get(&row.source).cloned().unwrap_or_default();
        let provider_name = provider.map_or("unknown provider", |p| p.label());
        let key = (!row.key.is_empty()).then(|| keys.get(&(row.source, row.key.clone())));
        let key_name = key.map(|k| k.and_then(|k| k.name.clone()).unwrap_or_else(|| row.key.clone()));
        let tags = key.flatten().and_then(tags_json);
        let month = day.with_day(1).expect("day 1 exists in every month");
        let next_month = month.checked_add_months(chrono::Months::new(1)).expect("a month after a ledger day exists");
        let next_day = day.checked_add_days(Days::new(1)).expect("a day after a ledger day exists");
        let effective = format_micros(row.effective_cost);
        let billed = format_micros(row.billed_cost);
        let description = description(row, provider_name);
        let tokens = row.tokens.map(|t| t.to_string());
        let service = format!("{provider_name} API");
        let (quantity, unit) = match &tokens {
            Some(t) => (t.as_str(), "Tokens"),
            // FOCUS wants a quantity on every usage row: without a token count the row prices
            // one day of use.
            None => ("1", "Days"),
        };
        table.row([
            Cell::decimal(&billed),
            Cell::text(&source_name),
            Cell::text(&source_name),
            Cell::text(&row.currency),
            Cell::text(&iso(next_month)),
            Cell::text(&iso(month)),
            Cell::text("Usage"),
            Cell::text(""),
            Cell::text(&description),
            Cell::text("Usage-Based"),
            Cell::text(&iso(next_day)),
            Cell::text(&iso(day)),
            Cell::decimal(tokens.as_deref().unwrap_or("")),
            Cell::text(if tokens.is_some() { "Tokens" } else { "" }),
            Cell::decimal(&effective),
            Cell::decimal(&effective),
            Cell::text(provider_name),
            Cell::decimal(&effective),
            Cell::decimal(quantity),
            Cell::text(unit),
            Cell::text(provider_name),
            Cell::text(provider_name),
            Cell::text(&row.key),
            Cell::text(key_name.as_deref().unwrap_or("")),
            Cell::text("AI and Machine Learning"),
            Cell::text(&service),
            Cell::text("Generative AI"),
            Cell::text(&row.model),
            Cell::text(tags.as_deref().unwrap_or("")),
            Cell::text(if row.billed { "billed" } else { "estimated" }),
        ]);
    }
    Ok(table.finish())
}

/// `YYYY-MM-DDT00:00:00Z`: FOCUS date/times are ISO 8601 in UTC with the `Z` indicator.
fn iso(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

fn description(row: &FocusRow, provider: &str) -> String {
    let model = if row.model.is_empty() { "usage" } else { row.model.as_str() };
    if !row.billed {
        format!("{provider} {model}, estimated from tokens (not billed)")
    } else if row.key.is_empty() && row.model.is_empty() && row.billed_cost != row.effective_cost {
        format!("{provider} bill; EffectiveCost is the part its per-key or per-model estimates do not cover")
    } else {
        format!("{provider} {model}, billed")
    }
}

fn tags_json(key: &KeyInfo) -> Option<String> {
    let mut tags = serde_json::Map::new();
    if let Some(p) = key.project.as_ref().filter(|p| !p.is_empty()) {
        tags.insert("project".into(), p.clone().into());
    }
    if let Some(e) = &key.environment {
        tags.insert("environment".into(), e.clone().into());
    }
    (!tags.is_empty()).then(|| serde_json::Value::Object(tags).to_string())
}

/// The counted rows per source, key, model, day and currency, with each source's bill moved
/// whole into `BilledCost` (see the module documentation).
fn focus_rows(conn: &Connection, range: DayRange) -> Result<Vec<FocusRow>> {
    let overflow = crate::money::sum_overflow;
    let tokens = load_tokens(conn, range)?;
    let mut rows: Vec<FocusRow> = counted_rows(conn, true, true, range)?
        .into_iter()
        .map(|r| FocusRow {
            tokens: tokens
                .get(&(r.day, r.source, r.billed, r.key.clone(), r.model.clone(), r.currency.clone()))
                .copied()
                .flatten(),
            billed_cost: if r.billed { r.amount } else { 0 },
            effective_cost: r.amount,
            day: r.day,
            source: r.source,
            key: r.key,
            model: r.model,
            currency: r.currency,
            billed: r.billed,
        })
        .collect();
    // What a grouping by source counts as billed, per day, source and currency.
    let mut bills: BTreeMap<(i64, i64, String), i64> = BTreeMap::new();
    for r in counted_rows(conn, false, false, range)?.into_iter().filter(|r| r.billed) {
        let b = bills.entry((r.day, r.source, r.currency)).or_insert(0);
        *b = b.checked_add(r.amount).ok_or_else(overflow)?;
    }
    // What the rows already carry as billed, and where each group's unattributed billed row is
    // (one pass, so a year of keys and models stays linear).
    let mut shown: HashMap<(i64, i64, String), i64> = HashMap::new();
    let mut unattributed: HashMap<(i64, i64, String), usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let group = (r.day, r.source, r.currency.clone());
        if r.billed && r.key.is_empty() && r.model.is_empty() {
            unattributed.insert(group.clone(), i);
        }
        let s = shown.entry(group).or_insert(0);
        *s = s.checked_add(r.billed_cost).ok_or_else(overflow)?;
    }
    for (group, bill) in bills {
        let missing = bill.checked_sub(shown.get(&group).copied().unwrap_or(0)).ok_or_else(overflow)?;
        if missing == 0 {
            continue;
        }
        match unattributed.get(&group) {
            Some(&i) => rows[i].billed_cost = rows[i].billed_cost.checked_add(missing).ok_or_else(overflow)?,
            // The estimates matched the bill exactly, so no remainder row was made: one carries
            // the bill with nothing left to count as effective.
            None => {
                let (day, source, currency) = group;
                rows.push(FocusRow {
                    day,
                    source,
                    key: String::new(),
                    model: String::new(),
                    currency,
                    billed: true,
                    billed_cost: missing,
                    effective_cost: 0,
                    tokens: None,
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        (a.day, a.source, &a.key, &a.model, &a.currency, a.billed).cmp(&(
            b.day,
            b.source,
            &b.key,
            &b.model,
            &b.currency,
            b.billed,
        ))
    });
    Ok(rows)
}

type TokenKey = (i64, i64, bool, String, String, String);

/// Input plus output tokens per roll-up row, where the provider reported them.
fn load_tokens(conn: &Connection, range: DayRange) -> Result<HashMap<TokenKey, Option<i64>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, source_id, kind = 'billed', key_id, model, currency, input_tokens, output_tokens
         FROM spend_daily WHERE day >= ?1 AND day < ?2",
    )?;
    let mut q = stmt.query(params![range.start_ts(), range.end_ts()])?;
    let mut tokens = HashMap::new();
    while let Some(r) = q.next()? {
        let input: Option<i64> = r.get(6)?;
        let output: Option<i64> = r.get(7)?;
        let total = match (input, output) {
            (None, None) => None,
            (i, o) => i.unwrap_or(0).checked_add(o.unwrap_or(0)),
        };
        tokens.insert((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?), total);
    }
    Ok(tokens)
}

fn load_sources(conn: &Connection) -> Result<HashMap<i64, (String, Option<ProviderId>)>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, provider FROM sources")?;
    let mut q = stmt.query([])?;
    let mut sources = HashMap::new();
    while let Some(r) = q.next()? {
        let provider: String = r.get(2)?;
        sources.insert(r.get(0)?, (r.get(1)?, provider.parse().ok()));
    }
    Ok(sources)
}

/// Key names (the display name, else the fingerprint: never the secret), projects and
/// environments.
fn load_keys(conn: &Connection) -> Result<HashMap<(i64, String), KeyInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source_id, provider_key_id, coalesce(display_name, fingerprint), project, environment FROM api_keys",
    )?;
    let mut q = stmt.query([])?;
    let mut keys = HashMap::new();
    while let Some(r) = q.next()? {
        keys.insert((r.get(0)?, r.get(1)?), KeyInfo { name: r.get(2)?, project: r.get(3)?, environment: r.get(4)? });
    }
    Ok(keys)
}
