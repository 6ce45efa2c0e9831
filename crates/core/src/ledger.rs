//! The spend ledger: what a poll returns, how it is written, and how it is read back.
//!
//! Invariants:
//! - a poll is written in one transaction together with its `sync_runs` row, so the ledger
//!   holds all of a poll or none of it;
//! - a poll *replaces* the rows of the windows it covers (delete then insert), so re-polling
//!   the same days never adds, and a bucket the provider revised down to nothing disappears;
//! - rows of one poll with the same identity are summed (providers split a day across pages).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::dto::{Dimension, ReconcileRow, ReportRow, SpendKind};
use crate::error::{ApiError, Error, ErrorCode, Result};
use crate::money::{format_micros, Currency};
use crate::providers::ProviderId;

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

/// Writes a successful poll and its run record in one transaction. Returns the spend rows written.
pub fn write_poll(
    conn: &mut Connection,
    source_id: i64,
    started_at: i64,
    finished_at: i64,
    range: DayRange,
    poll: &PollResult,
) -> Result<i64> {
    let tx = conn.transaction()?;
    let mut written = write_windows(&tx, source_id, finished_at, &poll.keys, &poll.windows)?;
    for b in &poll.balances {
        tx.execute(
            "INSERT INTO balance_snapshots (source_id, key_id, taken_at, currency, balance_micros, limit_micros, usage_micros)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![source_id, b.key_id, finished_at, b.currency.as_str(), b.balance_micros, b.limit_micros, b.usage_micros],
        )?;
    }
    if poll.derive_spend_from_balances {
        written += crate::balance_spend::derive(&tx, source_id, range)?;
        refresh_daily(&tx, source_id, range.start_ts(), range.end_ts())?;
    }
    tx.execute(
        "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok, rows_written)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
        params![source_id, started_at, finished_at, range.start_ts(), range.end_ts(), written],
    )?;
    tx.commit()?;
    Ok(written)
}

/// Upserts `keys` and replaces each window's rows, inside the caller's transaction (a poll, or
/// a CSV import). Returns the spend rows written.
pub(crate) fn write_windows(
    tx: &rusqlite::Transaction<'_>,
    source_id: i64,
    fetched_at: i64,
    keys: &[KeyRecord],
    windows: &[SpendWindow],
) -> Result<i64> {
    for w in windows {
        if let Some(r) = w.rows.iter().find(|r| r.bucket_start < w.from || r.bucket_start >= w.to) {
            return Err(Error::new(
                ErrorCode::UnexpectedResponse,
                format!(
                    "the provider returned a bucket at {} outside the requested window; nothing was written",
                    r.bucket_start
                ),
            ));
        }
    }
    for k in keys {
        tx.execute(
            "INSERT INTO api_keys (source_id, provider_key_id, display_name, fingerprint, project, created_at, last_used_at, disabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (source_id, provider_key_id) DO UPDATE SET
               display_name = coalesce(excluded.display_name, display_name),
               fingerprint  = coalesce(excluded.fingerprint, fingerprint),
               project      = coalesce(excluded.project, project),
               created_at   = coalesce(excluded.created_at, created_at),
               last_used_at = coalesce(excluded.last_used_at, last_used_at),
               disabled     = excluded.disabled",
            params![source_id, k.provider_key_id, k.display_name, k.fingerprint, k.project, k.created_at, k.last_used_at, k.disabled],
        )?;
    }
    let mut written = 0i64;
    for w in windows {
        // Sum rows of the same identity: a provider may split one bucket across pages or line items.
        let mut merged: BTreeMap<BucketIdentity<'_>, BucketTotals> = BTreeMap::new();
        for r in &w.rows {
            let e = merged
                .entry((r.bucket_start, &r.key_id, &r.model, &r.project, r.currency.as_str()))
                .or_insert((0, None, None, None));
            e.0 = e.0.checked_add(r.amount_micros).ok_or_else(|| Error::internal("amount overflow"))?;
            e.1 = add_opt(e.1, r.input_tokens);
            e.2 = add_opt(e.2, r.output_tokens);
            e.3 = add_opt(e.3, r.requests);
        }
        // Most polls re-fetch recent days that have not changed: reading them back is much
        // cheaper than replacing them and rebuilding their roll-ups.
        if window_unchanged(tx, source_id, w, &merged)? {
            continue;
        }
        tx.execute(
            "DELETE FROM spend WHERE source_id = ?1 AND bucket_width = ?2 AND kind = ?3 AND bucket_start >= ?4 AND bucket_start < ?5",
            params![source_id, w.width.as_str(), w.kind.as_str(), w.from, w.to],
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO spend (source_id, key_id, model, project, bucket_start, bucket_width, currency, kind,
                                amount_micros, input_tokens, output_tokens, requests, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for ((start, key, model, project, currency), (amount, inp, out, req)) in merged {
            insert.execute(params![
                source_id,
                key,
                model,
                project,
                start,
                w.width.as_str(),
                currency,
                w.kind.as_str(),
                amount,
                inp,
                out,
                req,
                fetched_at
            ])?;
            written += 1;
        }
        refresh_daily(tx, source_id, w.from, w.to)?;
    }
    Ok(written)
}

/// Whether the ledger already holds exactly `merged` for this window (amounts and tokens).
fn window_unchanged(
    tx: &Transaction<'_>,
    source_id: i64,
    w: &SpendWindow,
    merged: &BTreeMap<BucketIdentity<'_>, BucketTotals>,
) -> Result<bool> {
    // BINARY collation orders text by bytes, as Rust orders `str`: both sides iterate alike.
    let mut stmt = tx.prepare_cached(
        "SELECT bucket_start, key_id, model, project, currency, amount_micros, input_tokens, output_tokens, requests
         FROM spend WHERE source_id = ?1 AND bucket_width = ?2 AND kind = ?3 AND bucket_start >= ?4 AND bucket_start < ?5
         ORDER BY bucket_start, key_id, model, project, currency",
    )?;
    let mut rows = stmt.query(params![source_id, w.width.as_str(), w.kind.as_str(), w.from, w.to])?;
    let mut expected = merged.iter();
    while let Some(r) = rows.next()? {
        let Some(((start, key, model, project, currency), totals)) = expected.next() else { return Ok(false) };
        let same = r.get::<_, i64>(0)? == *start
            && r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)? == *key
            && r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)? == *model
            && r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)? == *project
            && r.get_ref(4)?.as_str().map_err(rusqlite::Error::from)? == *currency
            && (r.get::<_, i64>(5)?, r.get(6)?, r.get(7)?, r.get(8)?) == *totals;
        if !same {
            return Ok(false);
        }
    }
    Ok(expected.next().is_none())
}

/// (bucket_start, key_id, model, project, currency): what makes a spend row unique in a window.
type BucketIdentity<'a> = (i64, &'a str, &'a str, &'a str, &'a str);
/// (amount_micros, input_tokens, output_tokens, requests).
type BucketTotals = (i64, Option<i64>, Option<i64>, Option<i64>);

fn add_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// Records a failed poll. The ledger's data is untouched.
pub fn record_failure(
    conn: &Connection,
    source_id: i64,
    started_at: i64,
    finished_at: i64,
    range: DayRange,
    error: &Error,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok, error_code, error_message)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
        params![
            source_id, started_at, finished_at, range.start_ts(), range.end_ts(),
            serde_json::to_value(error.code).ok().and_then(|v| v.as_str().map(str::to_owned)),
            error.message()
        ],
    )?;
    Ok(())
}

/// The latest run of a source, for status displays.
pub fn last_run(conn: &Connection, source_id: i64) -> Result<Option<crate::dto::SyncRunView>> {
    conn.query_row(
        "SELECT finished_at, ok, rows_written, error_code, error_message FROM sync_runs
         WHERE source_id = ?1 ORDER BY finished_at DESC, id DESC LIMIT 1",
        [source_id],
        |r| {
            let ok: bool = r.get(1)?;
            let code: Option<String> = r.get(3)?;
            let message: Option<String> = r.get(4)?;
            Ok(crate::dto::SyncRunView {
                finished_at: ts_to_rfc3339(r.get(0)?),
                ok,
                rows_written: r.get(2)?,
                error: (!ok).then(|| ApiError {
                    code: code
                        .and_then(|c| serde_json::from_value(serde_json::Value::String(c)).ok())
                        .unwrap_or(ErrorCode::Internal),
                    message: message.unwrap_or_default(),
                }),
            })
        },
    )
    .optional()
    .map_err(Into::into)
}

/// The end of the last successful window, to sync incrementally from there.
pub fn last_success_window_end(conn: &Connection, source_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT max(window_to) FROM sync_runs WHERE source_id = ?1 AND ok = 1", [source_id], |r| r.get(0))?)
}

pub fn ts_to_rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Label used for spend the provider did not attribute to a key or model.
pub const UNATTRIBUTED: &str = "unattributed";

/// One roll-up row (source, UTC day, key, model, currency, kind) that counts under the report
/// rule; see [`counted_rows`].
#[derive(Debug, Clone)]
pub(crate) struct CountedRow {
    /// The UTC day's start, Unix seconds.
    pub day: i64,
    pub source: i64,
    /// Empty when the provider did not attribute the spend to a key.
    pub key: String,
    /// Empty unless `by_model` was asked (then: empty when not attributed to a model).
    pub model: String,
    pub currency: String,
    pub billed: bool,
    pub amount: i64,
}

/// The rows of the daily roll-ups over `range` that count for a grouping by key and/or model:
/// for each source and day one kind, billed unless the estimates carry a grouped dimension the
/// billed rows lack. Reports and the budget alerts both read spend through this, so they
/// always agree.
pub(crate) fn counted_rows(
    conn: &Connection,
    by_key: bool,
    by_model: bool,
    range: DayRange,
) -> Result<Vec<CountedRow>> {
    let sql = if by_model {
        "SELECT day, source_id, key_id, model, currency, kind, amount_micros, model != '' FROM spend_daily
         WHERE day >= ?1 AND day < ?2"
    } else {
        "SELECT day, source_id, key_id, '', currency, kind, amount_micros, has_model FROM spend_daily_key
         WHERE day >= ?1 AND day < ?2"
    };
    #[derive(Default)]
    struct Seen {
        billed: bool,
        estimated: bool,
        billed_keyed: bool,
        estimated_keyed: bool,
        billed_modeled: bool,
        estimated_modeled: bool,
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<(i64, i64), Seen> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut q = stmt.query(params![range.start_ts(), range.end_ts()])?;
        while let Some(r) = q.next()? {
            let row = CountedRow {
                day: r.get(0)?,
                source: r.get(1)?,
                key: r.get(2)?,
                model: r.get(3)?,
                currency: r.get(4)?,
                billed: r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)? == "billed",
                amount: r.get(6)?,
            };
            let has_model: bool = r.get(7)?;
            let s = seen.entry((row.source, row.day)).or_default();
            let keyed = !row.key.is_empty();
            if row.billed {
                s.billed = true;
                s.billed_keyed |= keyed;
                s.billed_modeled |= has_model;
            } else {
                s.estimated = true;
                s.estimated_keyed |= keyed;
                s.estimated_modeled |= has_model;
            }
            rows.push(row);
        }
    }
    let use_billed = |s: &Seen| {
        s.billed
            && (!by_key || s.billed_keyed || !s.estimated_keyed)
            && (!by_model || s.billed_modeled || !s.estimated_modeled)
    };
    rows.retain(|row| use_billed(&seen[&(row.source, row.day)]) == row.billed);
    Ok(rows)
}

/// Daily totals over the inclusive UTC day range, grouped by the chosen dimensions (hourly
/// buckets roll up into their day). Currencies are never summed together.
///
/// For each source and day only one kind is counted: billed rows, unless the estimates carry a
/// grouped dimension the billed rows lack (OpenAI bills per key but not per model; its token
/// estimates have both). So billed supersedes estimates wherever it can answer, and nothing is
/// counted twice.
///
/// The roll-ups are read with one primary-key range scan and grouped here: reports by key,
/// source or in total read `spend_daily_key` (no model dimension), reports by model read
/// `spend_daily`.
pub fn daily_report(conn: &Connection, by: &[Dimension], range: DayRange) -> Result<Vec<ReportRow>> {
    let by_key = by.contains(&Dimension::Key);
    let by_model = by.contains(&Dimension::Model);
    let by_source = by.contains(&Dimension::Source);
    let rows = counted_rows(conn, by_key, by_model, range)?;
    let names = Names::load(conn, by_source, by_key)?;
    // Sorted like the output: day, source name, key id, model, currency, kind.
    type Group = (i64, Option<String>, Option<String>, Option<String>, String, SpendKind, i64);
    let mut groups: BTreeMap<Group, i64> = BTreeMap::new();
    for row in rows {
        let kind = if row.billed { SpendKind::Billed } else { SpendKind::Estimated };
        let key = (
            row.day,
            by_source.then(|| names.source_name(row.source)),
            by_key.then(|| row.key.clone()).filter(|k| !k.is_empty()),
            by_model.then(|| if row.model.is_empty() { UNATTRIBUTED.to_owned() } else { row.model }),
            row.currency,
            kind,
            // Keys are only unique within a source: keep sources apart when grouping by key.
            if by_key || by_source { row.source } else { 0 },
        );
        let total = groups.entry(key).or_insert(0);
        *total = total.checked_add(row.amount).ok_or_else(|| Error::internal("amount overflow"))?;
    }
    Ok(groups
        .into_iter()
        .map(|((day, source, key_id, model, currency, kind, source_id), amount)| ReportRow {
            day: ts_to_day(day).to_string(),
            provider: source.as_ref().and_then(|_| names.provider(source_id)),
            source,
            key_name: by_key.then(|| match &key_id {
                None => UNATTRIBUTED.to_owned(),
                Some(k) => names.key_name(source_id, k),
            }),
            key_id,
            model,
            currency,
            amount: format_micros(amount),
            kind,
        })
        .collect())
}

/// Source and key display names, loaded once per report.
struct Names {
    sources: HashMap<i64, (String, Option<ProviderId>)>,
    keys: HashMap<(i64, String), String>,
}

impl Names {
    fn load(conn: &Connection, sources: bool, keys: bool) -> Result<Self> {
        let mut names = Names { sources: HashMap::new(), keys: HashMap::new() };
        if sources {
            let mut stmt = conn.prepare_cached("SELECT id, name, provider FROM sources")?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                let provider: String = r.get(2)?;
                names.sources.insert(r.get(0)?, (r.get(1)?, provider.parse().ok()));
            }
        }
        if keys {
            let mut stmt = conn.prepare_cached(
                "SELECT source_id, provider_key_id, coalesce(display_name, fingerprint) FROM api_keys
                 WHERE coalesce(display_name, fingerprint) IS NOT NULL",
            )?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                names.keys.insert((r.get(0)?, r.get(1)?), r.get(2)?);
            }
        }
        Ok(names)
    }
    fn source_name(&self, id: i64) -> String {
        self.sources.get(&id).map(|(n, _)| n.clone()).unwrap_or_default()
    }
    fn provider(&self, id: i64) -> Option<ProviderId> {
        self.sources.get(&id).and_then(|(_, p)| *p)
    }
    fn key_name(&self, source: i64, key: &str) -> String {
        self.keys.get(&(source, key.to_owned())).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// Billed against estimated spend per source, day and currency, where both exist: how far the
/// token-based estimates were from what the provider charged.
pub fn reconcile(conn: &Connection, range: DayRange) -> Result<Vec<ReconcileRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT strftime('%Y-%m-%d', s.day, 'unixepoch'), src.name, s.currency,
                sum(CASE WHEN s.kind = 'billed' THEN s.amount_micros END),
                sum(CASE WHEN s.kind = 'estimated' THEN s.amount_micros END)
         FROM spend_daily s JOIN sources src ON src.id = s.source_id
         WHERE s.day >= ?1 AND s.day < ?2
         GROUP BY s.day, s.source_id, s.currency
         HAVING count(DISTINCT s.kind) = 2
         ORDER BY s.day, src.name, s.currency",
    )?;
    let rows = stmt.query_map(params![range.start_ts(), range.end_ts()], |r| {
        let billed: i64 = r.get(3)?;
        let estimated: i64 = r.get(4)?;
        Ok(ReconcileRow {
            day: r.get(0)?,
            source: r.get(1)?,
            currency: r.get(2)?,
            billed: format_micros(billed),
            estimated: format_micros(estimated),
            difference: format_micros(billed - estimated),
        })
    })?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
}

/// Rebuilds the daily roll-up of `source_id` for the UTC days overlapping `[from, to)` from
/// `spend`. Called inside the poll's transaction after its windows are replaced.
fn refresh_daily(tx: &Transaction<'_>, source_id: i64, from: i64, to: i64) -> Result<()> {
    let from = from - from.rem_euclid(86_400);
    let to = to + (86_400 - to.rem_euclid(86_400)) % 86_400;
    tx.execute(
        "DELETE FROM spend_daily WHERE source_id = ?1 AND day >= ?2 AND day < ?3",
        params![source_id, from, to],
    )?;
    tx.execute(
        "INSERT INTO spend_daily (source_id, day, kind, key_id, model, currency, amount_micros, input_tokens, output_tokens, requests)
         SELECT source_id, bucket_start - bucket_start % 86400, kind, key_id, model, currency,
                sum(amount_micros), sum(input_tokens), sum(output_tokens), sum(requests)
         FROM spend
         WHERE source_id = ?1 AND bucket_start >= ?2 AND bucket_start < ?3
         GROUP BY bucket_start - bucket_start % 86400, kind, key_id, model, currency",
        params![source_id, from, to],
    )?;
    tx.execute(
        "DELETE FROM spend_daily_key WHERE source_id = ?1 AND day >= ?2 AND day < ?3",
        params![source_id, from, to],
    )?;
    tx.execute(
        "INSERT INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model)
         SELECT source_id, day, key_id, currency, kind, sum(amount_micros), max(model != '')
         FROM spend_daily
         WHERE source_id = ?1 AND day >= ?2 AND day < ?3
         GROUP BY day, key_id, currency, kind",
        params![source_id, from, to],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn source(conn: &Connection, name: &str) -> i64 {
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at) VALUES (?1, 'openai', 'http://x', 'env', 'K', 0)",
            [name],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn row(day: &str, key: &str, micros: i64) -> SpendRow {
        SpendRow {
            key_id: key.into(),
            model: String::new(),
            project: String::new(),
            bucket_start: day_start(parse_day(day).unwrap()),
            currency: Currency::usd(),
            amount_micros: micros,
            input_tokens: None,
            output_tokens: None,
            requests: None,
        }
    }

    fn poll(range: DayRange, rows: Vec<SpendRow>) -> PollResult {
        PollResult {
            windows: vec![SpendWindow {
                width: BucketWidth::Day,
                kind: SpendKind::Billed,
                from: range.start_ts(),
                to: range.end_ts(),
                rows,
            }],
            ..Default::default()
        }
    }

    fn total(conn: &Connection) -> i64 {
        conn.query_row("SELECT coalesce(sum(amount_micros), 0) FROM spend", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn rewriting_a_window_replaces_and_never_adds() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-02").unwrap()).unwrap();
        let p = poll(range, vec![row("2026-03-01", "key_a", 1_000_000), row("2026-03-02", "key_b", 2_000_000)]);
        assert_eq!(write_poll(&mut conn, id, 1, 2, range, &p).unwrap(), 2);
        write_poll(&mut conn, id, 3, 4, range, &p).unwrap();
        assert_eq!(total(&conn), 3_000_000);
        // The provider revised key_b's day away: the re-poll removes it.
        let p2 = poll(range, vec![row("2026-03-01", "key_a", 1_500_000)]);
        write_poll(&mut conn, id, 5, 6, range, &p2).unwrap();
        assert_eq!(total(&conn), 1_500_000);
    }

    #[test]
    fn rows_of_one_bucket_split_across_pages_are_summed() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let p = poll(range, vec![row("2026-03-01", "k", 250_000), row("2026-03-01", "k", 750_000)]);
        assert_eq!(write_poll(&mut conn, id, 1, 2, range, &p).unwrap(), 1);
        assert_eq!(total(&conn), 1_000_000);
    }

    #[test]
    fn a_row_outside_its_window_aborts_the_whole_poll() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let p = poll(range, vec![row("2026-03-01", "k", 1), row("2026-03-05", "k", 1)]);
        let e = write_poll(&mut conn, id, 1, 2, range, &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
        assert_eq!(total(&conn), 0);
        let runs: i64 = conn.query_row("SELECT count(*) FROM sync_runs", [], |r| r.get(0)).unwrap();
        assert_eq!(runs, 0);
    }

    #[test]
    fn report_groups_by_dimension_and_never_mixes_currencies() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let mut cny = row("2026-03-01", "k2", 7_000_000);
        cny.currency = "CNY".parse().unwrap();
        let p = poll(range, vec![row("2026-03-01", "k1", 1_000_000), row("2026-03-01", "", 500_000), cny]);
        write_poll(&mut conn, id, 1, 2, range, &p).unwrap();

        let totals = daily_report(&conn, &[], range).unwrap();
        assert_eq!(totals.len(), 2, "{totals:?}");
        let usd = totals.iter().find(|r| r.currency == "USD").unwrap();
        assert_eq!(usd.amount, "1.500000");
        assert_eq!(usd.key_id, None);
        assert_eq!(usd.source, None);

        let by_key = daily_report(&conn, &[Dimension::Key], range).unwrap();
        assert_eq!(by_key.len(), 3);
        let unattributed = by_key.iter().find(|r| r.key_id.is_none()).unwrap();
        assert_eq!(unattributed.key_name.as_deref(), Some(UNATTRIBUTED));
        assert_eq!(unattributed.amount, "0.500000");
    }

    #[test]
    fn billed_supersedes_estimates_where_it_can_answer_the_grouping() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let day1 = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let both = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-02").unwrap()).unwrap();
        // Billed per key (no model) for day 1 only; hourly estimates per key and model for both days.
        let billed = SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Billed,
            from: day1.start_ts(),
            to: day1.end_ts(),
            rows: vec![row("2026-03-01", "k1", 10_000_000)],
        };
        let hour = |day: &str, h: i64, model: &str, micros: i64| SpendRow {
            model: model.into(),
            bucket_start: day_start(parse_day(day).unwrap()) + h * 3600,
            ..row(day, "k1", micros)
        };
        let estimated = SpendWindow {
            width: BucketWidth::Hour,
            kind: SpendKind::Estimated,
            from: both.start_ts(),
            to: both.end_ts(),
            rows: vec![
                hour("2026-03-01", 3, "gpt-4o", 6_000_000),
                hour("2026-03-01", 9, "gpt-4o-mini", 3_000_000),
                hour("2026-03-02", 1, "gpt-4o", 2_000_000),
            ],
        };
        let poll = PollResult { windows: vec![billed, estimated], ..Default::default() };
        write_poll(&mut conn, id, 1, 2, both, &poll).unwrap();

        let amounts = |by: &[Dimension]| -> Vec<(String, Option<String>, String, SpendKind)> {
            daily_report(&conn, by, both).unwrap().into_iter().map(|r| (r.day, r.model, r.amount, r.kind)).collect()
        };
        // Totals and per key: day 1 from the bill, day 2 (no bill yet) from estimates.
        let expected = vec![
            ("2026-03-01".to_string(), None, "10.000000".to_string(), SpendKind::Billed),
            ("2026-03-02".to_string(), None, "2.000000".to_string(), SpendKind::Estimated),
        ];
        assert_eq!(amounts(&[]), expected);
        assert_eq!(amounts(&[Dimension::Key]), expected);
        // Per model: the bill has no models, so estimates answer, marked as such.
        assert_eq!(
            amounts(&[Dimension::Model]),
            vec![
                ("2026-03-01".to_string(), Some("gpt-4o".to_string()), "6.000000".to_string(), SpendKind::Estimated),
                (
                    "2026-03-01".to_string(),
                    Some("gpt-4o-mini".to_string()),
                    "3.000000".to_string(),
                    SpendKind::Estimated
                ),
                ("2026-03-02".to_string(), Some("gpt-4o".to_string()), "2.000000".to_string(), SpendKind::Estimated),
            ]
        );
        // Reconciliation keeps the difference where both exist.
        let rec = reconcile(&conn, both).unwrap();
        assert_eq!(rec.len(), 1);
        assert_eq!(
            (rec[0].billed.as_str(), rec[0].estimated.as_str(), rec[0].difference.as_str()),
            ("10.000000", "9.000000", "1.000000")
        );
    }

    #[test]
    fn an_unchanged_window_is_left_alone_and_a_changed_one_replaced() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-02").unwrap()).unwrap();
        let p = poll(range, vec![row("2026-03-01", "k1", 1_000_000), row("2026-03-02", "k1", 2_000_000)]);
        assert_eq!(write_poll(&mut conn, id, 1, 100, range, &p).unwrap(), 2);
        assert_eq!(write_poll(&mut conn, id, 1, 200, range, &p).unwrap(), 0, "nothing new, nothing written");
        let fetched: i64 = conn.query_row("SELECT max(fetched_at) FROM spend", [], |r| r.get(0)).unwrap();
        assert_eq!(fetched, 100);
        let changed = poll(range, vec![row("2026-03-01", "k1", 1_000_000), row("2026-03-02", "k1", 2_500_000)]);
        assert_eq!(write_poll(&mut conn, id, 1, 300, range, &changed).unwrap(), 2);
        assert_eq!(total(&conn), 3_500_000);
        let rollup: i64 = conn.query_row("SELECT sum(amount_micros) FROM spend_daily_key", [], |r| r.get(0)).unwrap();
        assert_eq!(rollup, 3_500_000);
    }
}
