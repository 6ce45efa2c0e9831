//! Tokens the price list cannot price. An estimate is tokens × list price; a model the list
//! does not know would be estimated at 0, which reads as "this key costs nothing". So such
//! tokens are counted and named wherever the estimates are shown, with how to add a price.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::days::{ts_to_day, DayRange};
use crate::error::Result;
use crate::money::thousands;
use crate::prices::PriceTable;

/// Tokens of one model of one source that no list price covers, over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UnpricedModel {
    pub source: String,
    /// The provider's model id; empty when the provider named none.
    pub model: String,
    /// Input and output tokens (cache reads and writes included in input).
    #[ts(type = "number")]
    pub tokens: i64,
    /// The keys that used them (provider key ids; empty for tokens without a key).
    pub keys: Vec<String>,
    /// e.g. "1,234,567 tokens of claude-opus-5 not priced".
    pub message: String,
    /// How to price them from the terminal.
    pub fix: String,
    /// The list prices the model now, but these tokens were estimated before it did: a sync of
    /// `first_day..=last_day` re-estimates them.
    pub priced_since: bool,
    pub first_day: String,
    pub last_day: String,
}

/// One source, model and key with unpriced tokens.
struct Row {
    source_id: i64,
    source: String,
    model: String,
    key: String,
    tokens: i64,
    first_day: i64,
    last_day: i64,
    priced_since: bool,
}

/// Below this many tokens a 0 estimate of a priced model can be rounding (a few tokens of a
/// cheap model cost less than a micro-unit); from here on it means "estimated before priced".
const ROUNDING_TOKENS: i64 = 1_000;

/// Estimated rows at 0 with tokens whose model the current price list does not price, summed
/// per source, model and key.
fn rows(conn: &Connection, prices: &PriceTable, range: DayRange) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.source_id, s.name, d.model, d.key_id, sum(coalesce(d.input_tokens, 0) + coalesce(d.output_tokens, 0)),
                min(d.day), max(d.day)
         FROM spend_daily d JOIN sources s ON s.id = d.source_id
         WHERE d.day >= ?1 AND d.day < ?2 AND d.kind = 'estimated' AND d.amount_micros = 0
         GROUP BY d.source_id, d.model, d.key_id
         HAVING sum(coalesce(d.input_tokens, 0) + coalesce(d.output_tokens, 0)) > 0",
    )?;
    let mut out = Vec::new();
    let mut q = stmt.query(params![range.start_ts(), range.end_ts()])?;
    while let Some(r) = q.next()? {
        let model: String = r.get(2)?;
        let tokens: i64 = r.get(4)?;
        let priced_since = !model.is_empty() && prices.prices(&model);
        if priced_since && tokens < ROUNDING_TOKENS {
            continue;
        }
        out.push(Row {
            source_id: r.get(0)?,
            source: r.get(1)?,
            model,
            key: r.get(3)?,
            tokens,
            first_day: r.get(5)?,
            last_day: r.get(6)?,
            priced_since,
        });
    }
    Ok(out)
}

/// Unpriced tokens per (source id, key id) over `range`: the key table's flag.
pub(crate) fn by_key(conn: &Connection, prices: &PriceTable, range: DayRange) -> Result<HashMap<(i64, String), i64>> {
    let mut out: HashMap<(i64, String), i64> = HashMap::new();
    for r in rows(conn, prices, range)? {
        let t = out.entry((r.source_id, r.key)).or_default();
        *t = t.saturating_add(r.tokens);
    }
    Ok(out)
}

/// The unpriced tokens over `range`, per source and model, most tokens first.
pub fn unpriced(conn: &Connection, prices: &PriceTable, range: DayRange) -> Result<Vec<UnpricedModel>> {
    #[derive(Default)]
    struct Model {
        tokens: i64,
        keys: Vec<String>,
        days: Option<(i64, i64)>,
        priced_since: bool,
    }
    let mut models: BTreeMap<(String, String), Model> = BTreeMap::new();
    for r in rows(conn, prices, range)? {
        let m = models.entry((r.source, r.model)).or_default();
        m.tokens = m.tokens.saturating_add(r.tokens);
        m.keys.push(r.key);
        m.days = Some(m.days.map_or((r.first_day, r.last_day), |(a, b)| (a.min(r.first_day), b.max(r.last_day))));
        m.priced_since = r.priced_since;
    }
    let mut out: Vec<UnpricedModel> = models
        .into_iter()
        .map(|((source, model), m)| {
            let (first, last) = m.days.unwrap_or_default();
            let (first_day, last_day) = (ts_to_day(first).to_string(), ts_to_day(last).to_string());
            let name = if model.is_empty() { "a model the provider did not name" } else { model.as_str() };
            let (message, fix) = if m.priced_since {
                (
                    format!("{} tokens of {name} estimated before it had a price", thousands(m.tokens)),
                    format!("burnrate sync --source {source} --from {first_day} --to {last_day}"),
                )
            } else if model.is_empty() {
                (
                    format!("{} tokens of {name} not priced", thousands(m.tokens)),
                    "the provider sends no model name, so no list price applies".to_owned(),
                )
            } else {
                (
                    format!("{} tokens of {name} not priced", thousands(m.tokens)),
                    format!("burnrate prices set {model} --input USD_PER_MILLION --output USD_PER_MILLION"),
                )
            };
            UnpricedModel {
                message,
                fix,
                priced_since: m.priced_since,
                first_day,
                last_day,
                source,
                model,
                tokens: m.tokens,
                keys: m.keys,
            }
        })
        .collect();
    out.sort_by(|a, b| b.tokens.cmp(&a.tokens).then_with(|| (&a.source, &a.model).cmp(&(&b.source, &b.model))));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::parse_day;
    use crate::ledger::write_poll;
    use crate::poll::{BucketWidth, PollResult, SpendKind, SpendRow, SpendWindow};

    #[test]
    fn tokens_of_a_model_without_a_price_are_counted_not_worth_zero() {
        let mut conn = crate::db::open_in_memory().unwrap();
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at)
             VALUES ('work', 'anthropic', 'http://x', 'env', 'K', 0)",
            [],
        )
        .unwrap();
        let day = parse_day("2026-03-01").unwrap();
        let range = DayRange::new(day, day).unwrap();
        let row = |key: &str, model: &str, amount: i64, tokens: i64| SpendRow {
            bucket_start: range.start_ts(),
            key_id: key.into(),
            model: model.into(),
            project: String::new(),
            currency: "USD".parse().unwrap(),
            amount_micros: amount,
            input_tokens: Some(tokens),
            output_tokens: Some(tokens / 10),
            requests: None,
        };
        let window = SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Estimated,
            from: range.start_ts(),
            to: range.end_ts(),
            rows: vec![
                row("k1", "claude-fake-unlisted", 0, 1_000_000),
                row("k2", "claude-fake-unlisted", 0, 10_000),
                row("k1", "claude-sonnet-4-20250514", 3_300_000, 1_000_000),
                // Priced, and too few tokens to be worth a micro-unit: rounding, not flagged.
                row("k1", "gpt-4o-mini", 0, 3),
                // Priced since the sync: estimated at 0 before, so a sync must re-estimate it.
                row("k1", "gpt-4o", 0, 500_000),
                row("k3", "", 0, 70),
            ],
        };
        write_poll(&mut conn, 1, 1, 2, range, &PollResult { windows: vec![window], ..Default::default() }).unwrap();
        let found = unpriced(&conn, &PriceTable::bundled(), range).unwrap();
        let brief: Vec<(&str, i64, Vec<&str>)> =
            found.iter().map(|u| (u.model.as_str(), u.tokens, u.keys.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            brief,
            [
                ("claude-fake-unlisted", 1_111_000, vec!["k1", "k2"]),
                ("gpt-4o", 550_000, vec!["k1"]),
                ("", 77, vec!["k3"])
            ]
        );
        assert_eq!(found[1].message, "550,000 tokens of gpt-4o estimated before it had a price");
        assert_eq!(found[1].fix, "burnrate sync --source work --from 2026-03-01 --to 2026-03-01");
        assert_eq!(found[0].message, "1,111,000 tokens of claude-fake-unlisted not priced");
        assert_eq!(
            found[0].fix,
            "burnrate prices set claude-fake-unlisted --input USD_PER_MILLION --output USD_PER_MILLION"
        );
    }
}
