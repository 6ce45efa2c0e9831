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
    // The inserts below are multi-row statements, which SQLite backs with a statement journal.
    // Once a large poll outgrows the page cache, each page it spills is first copied into that
    // journal, a temp file by default: two writes per page. In memory it is a copy. Set for this
    // transaction only (it is read when the transaction starts), so sorts elsewhere still spill
    // to disk.
    let temp_store: i64 = conn.query_row("PRAGMA temp_store", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    let result = write_poll_in_transaction(conn, source_id, started_at, finished_at, range, poll);
    let restored = conn.execute_batch(&format!("PRAGMA temp_store = {temp_store}"));
    let written = result?;
    restored?;
    Ok(written)
}

fn write_poll_in_transaction(
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
    let mut upsert_key = tx.prepare_cached(
        "INSERT INTO api_keys (source_id, provider_key_id, display_name, fingerprint, project, created_at, last_used_at, disabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (source_id, provider_key_id) DO UPDATE SET
               display_name = coalesce(excluded.display_name, display_name),
               fingerprint  = coalesce(excluded.fingerprint, fingerprint),
               project      = coalesce(excluded.project, project),
               created_at   = coalesce(excluded.created_at, created_at),
               last_used_at = coalesce(excluded.last_used_at, last_used_at),
               disabled     = excluded.disabled",
    )?;
    for k in keys {
        upsert_key.execute(params![
            source_id,
            k.provider_key_id,
            k.display_name,
            k.fingerprint,
            k.project,
            k.created_at,
            k.last_used_at,
            k.disabled
        ])?;
    }
    let mut written = 0i64;
    for w in windows {
        let merged = merge_rows(&w.rows)?;
        // Most polls re-fetch recent days that have not changed: reading them back is much
        // cheaper than replacing them and rebuilding their roll-ups.
        if window_unchanged(tx, source_id, w, &merged)? {
            continue;
        }
        tx.prepare_cached(
            "DELETE FROM spend WHERE source_id = ?1 AND bucket_width = ?2 AND kind = ?3 AND bucket_start >= ?4 AND bucket_start < ?5",
        )?
        .execute(params![source_id, w.width.as_str(), w.kind.as_str(), w.from, w.to])?;
        let rollup = rollup_of(tx, source_id, w, &merged)?;
        if rollup != Rollup::Rebuild {
            let kind = w.kind.as_str();
            tx.prepare_cached("DELETE FROM spend_daily WHERE source_id = ?1 AND kind = ?2 AND day >= ?3 AND day < ?4")?
                .execute(params![source_id, kind, w.from, w.to])?;
            tx.prepare_cached(
                "DELETE FROM spend_daily_key WHERE source_id = ?1 AND kind = ?2 AND day >= ?3 AND day < ?4",
            )?
            .execute(params![source_id, kind, w.from, w.to])?;
        }
        if rollup == Rollup::CopyByDay {
            for day in merged.chunk_by(|a, b| a.0 .0 == b.0 .0) {
                insert_spend(tx, source_id, w, fetched_at, day)?;
                copy_day(tx, source_id, w.kind, day[0].0 .0)?;
            }
        } else {
            insert_spend(tx, source_id, w, fetched_at, &merged)?;
        }
        written += merged.len() as i64;
        match rollup {
            Rollup::Rebuild => refresh_daily(tx, source_id, w.from, w.to)?,
            Rollup::FromRows => write_daily_from_rows(tx, source_id, w.kind, &merged)?,
            Rollup::CopyByDay => {
                let rows = merged
                    .iter()
                    .map(|&((start, key, model, _, currency), (amount, ..))| (start, key, model, currency, amount));
                insert_key_rollup(tx, source_id, w.kind, &key_rollup(rows)?)?;
            }
        }
    }
    Ok(written)
}

fn insert_spend(
    tx: &Transaction<'_>,
    source_id: i64,
    w: &SpendWindow,
    fetched_at: i64,
    rows: &[(BucketIdentity<'_>, BucketTotals)],
) -> Result<()> {
    const HEAD: &str =
        "INSERT OR FAIL INTO spend (source_id, key_id, model, project, bucket_start, bucket_width, currency, kind,
                                          amount_micros, input_tokens, output_tokens, requests, fetched_at) VALUES ";
    let Some(&((start, _, _, project, currency), _)) = rows.first() else { return Ok(()) };
    // Rows of one bucket, project and currency (a day of daily spend, usually): those are
    // bound once per statement rather than once per row.
    if rows.iter().all(|&((s, _, _, p, c), _)| (s, p, c) == (start, project, currency)) {
        return insert_batched(
            tx,
            HEAD,
            "(?1, #, #, ?5, ?6, ?2, ?7, ?3, #, #, #, #, ?4)",
            params![source_id, w.width.as_str(), w.kind.as_str(), fetched_at, project, start, currency],
            rows,
            |stmt, i, ((_, key, model, ..), (amount, inp, out, req))| {
                stmt.raw_bind_parameter(i, key)?;
                stmt.raw_bind_parameter(i + 1, model)?;
                stmt.raw_bind_parameter(i + 2, amount)?;
                stmt.raw_bind_parameter(i + 3, inp)?;
                stmt.raw_bind_parameter(i + 4, out)?;
                stmt.raw_bind_parameter(i + 5, req)
            },
        );
    }
    insert_batched(
        tx,
        HEAD,
        "(?1, #, #, #, #, ?2, #, ?3, #, #, #, #, ?4)",
        params![source_id, w.width.as_str(), w.kind.as_str(), fetched_at],
        rows,
        |stmt, i, ((start, key, model, project, currency), (amount, inp, out, req))| {
            stmt.raw_bind_parameter(i, key)?;
            stmt.raw_bind_parameter(i + 1, model)?;
            stmt.raw_bind_parameter(i + 2, project)?;
            stmt.raw_bind_parameter(i + 3, start)?;
            stmt.raw_bind_parameter(i + 4, currency)?;
            stmt.raw_bind_parameter(i + 5, amount)?;
            stmt.raw_bind_parameter(i + 6, inp)?;
            stmt.raw_bind_parameter(i + 7, out)?;
            stmt.raw_bind_parameter(i + 8, req)
        },
    )
}

/// The window's rows with rows of the same identity summed (a provider may split one bucket
/// across pages or line items), sorted by identity, which is the order of `spend`'s primary key.
fn merge_rows(rows: &[SpendRow]) -> Result<Vec<(BucketIdentity<'_>, BucketTotals)>> {
    let mut sorted: Vec<(BucketIdentity<'_>, BucketTotals)> = rows
        .iter()
        .map(|r| {
            let identity =
                (r.bucket_start, r.key_id.as_str(), r.model.as_str(), r.project.as_str(), r.currency.as_str());
            (identity, (r.amount_micros, r.input_tokens, r.output_tokens, r.requests))
        })
        .collect();
    // Stable, so rows of one bucket are summed in the order the provider sent them; connectors
    // mostly send rows already in order, which this sort only checks.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut overflow = false;
    sorted.dedup_by(|(identity, (amount, inp, out, req)), (kept, totals)| {
        let same = identity == kept;
        if same {
            match totals.0.checked_add(*amount) {
                Some(sum) => totals.0 = sum,
                None => overflow = true,
            }
            totals.1 = add_opt(totals.1, *inp);
            totals.2 = add_opt(totals.2, *out);
            totals.3 = add_opt(totals.3, *req);
        }
        same
    });
    if overflow {
        return Err(Error::internal("amount overflow"));
    }
    Ok(sorted)
}

/// Rows per `INSERT … VALUES (…), (…)` statement. One statement inserting many rows keeps
/// SQLite's b-tree cursors where the last row went (rows come in key order, so the next one
/// belongs on the same page); a statement per row seeks from the root every time and pays the
/// statement overhead per row. 64 rows × 9 parameters stays far below SQLite's parameter limit.
const ROWS_PER_INSERT: usize = 64;

/// The callers' statements are `INSERT OR FAIL`: a failing row still fails the poll (the error
/// rolls the whole transaction back), but SQLite need not keep a statement journal to undo a
/// half-applied multi-row statement, which is a measurable part of a large poll's write time.
///
/// Inserts `items` with multi-row statements `head` + `values, values, …`. In `values`, `?N`
/// are the shared parameters (bound once from `shared`) and each `#` is a per-row parameter;
/// `bind(stmt, first, item)` binds one item's parameters, in `#` order, from index `first`.
fn insert_batched<T>(
    tx: &Transaction<'_>,
    head: &str,
    values: &str,
    shared: &[&dyn rusqlite::ToSql],
    items: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> Result<()> {
    let per_row = values.matches('#').count();
    let sql = |rows: usize| {
        let mut sql = String::from(head);
        let mut next = shared.len() + 1;
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            for part in values.split_inclusive('#') {
                match part.strip_suffix('#') {
                    Some(text) => {
                        sql.push_str(text);
                        sql.push('?');
                        sql.push_str(&next.to_string());
                        next += 1;
                    }
                    None => sql.push_str(part),
                }
            }
        }
        sql
    };
    let mut chunks = items.chunks_exact(ROWS_PER_INSERT);
    if items.len() >= ROWS_PER_INSERT {
        let mut stmt = tx.prepare_cached(&sql(ROWS_PER_INSERT))?;
        for (i, value) in shared.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, value)?;
        }
        for chunk in &mut chunks {
            for (row, item) in chunk.iter().enumerate() {
                bind(&mut stmt, shared.len() + 1 + row * per_row, item)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = tx.prepare_cached(&sql(1))?;
        for (i, value) in shared.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, value)?;
        }
        for item in rest {
            bind(&mut stmt, shared.len() + 1, item)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// How the daily roll-ups of a replaced window's days are brought in step with `spend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rollup {
    /// Rebuilt from `spend` ([`refresh_daily`]): the window does not cover whole days, or rows
    /// of another width of its kind share its days.
    Rebuild,
    /// Otherwise the days' roll-ups of this kind are exactly the window's rows summed per day,
    /// built here from the rows in memory.
    FromRows,
    /// Daily rows without projects: each spend row is its own spend_daily row. They are copied
    /// by SQLite a day at a time, right after the day's spend rows went in and while their pages
    /// are still in the page cache.
    CopyByDay,
}

fn rollup_of(
    tx: &Transaction<'_>,
    source_id: i64,
    w: &SpendWindow,
    merged: &[(BucketIdentity<'_>, BucketTotals)],
) -> Result<Rollup> {
    let whole_days = w.from.rem_euclid(86_400) == 0 && w.to.rem_euclid(86_400) == 0;
    if !whole_days {
        return Ok(Rollup::Rebuild);
    }
    let other_width = match w.width {
        BucketWidth::Day => BucketWidth::Hour,
        BucketWidth::Hour => BucketWidth::Day,
    };
    let mixed: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM spend WHERE source_id = ?1 AND bucket_width = ?2 AND kind = ?3
                            AND bucket_start >= ?4 AND bucket_start < ?5)",
        )?
        .query_row(params![source_id, other_width.as_str(), w.kind.as_str(), w.from, w.to], |r| r.get(0))?;
    Ok(if mixed {
        Rollup::Rebuild
    } else if w.width == BucketWidth::Day && merged.iter().all(|((.., project, _), _)| project.is_empty()) {
        Rollup::CopyByDay
    } else {
        Rollup::FromRows
    })
}

/// [`Rollup::CopyByDay`] for the day starting at `day`: its spend rows as spend_daily rows.
/// (A range rather than `bucket_start = ?`, so the primary key's order serves the copy.)
fn copy_day(tx: &Transaction<'_>, source_id: i64, kind: SpendKind, day: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR FAIL INTO spend_daily (source_id, day, kind, key_id, model, currency, amount_micros, input_tokens,
                                  output_tokens, requests)
         SELECT source_id, bucket_start, kind, key_id, model, currency, amount_micros, input_tokens, output_tokens,
                requests
         FROM spend WHERE source_id = ?1 AND bucket_width = 'day' AND kind = ?2 AND bucket_start >= ?3 AND bucket_start < ?4
         ORDER BY bucket_start, key_id, model, project, currency",
    )?
    .execute(params![source_id, kind.as_str(), day, day + 86_400])?;
    Ok(())
}

/// [`Rollup::FromRows`]: spend_daily and spend_daily_key rows as their GROUP BY rebuild
/// computes them, from the window's rows.
fn write_daily_from_rows(
    tx: &Transaction<'_>,
    source_id: i64,
    kind: SpendKind,
    merged: &[(BucketIdentity<'_>, BucketTotals)],
) -> Result<()> {
    // (day, key, model, currency) → sums. `%` truncates like SQLite's, so the day is the one
    // the SQL rebuild computes.
    type DailyIdentity<'a> = (i64, &'a str, &'a str, &'a str);
    let mut days: Vec<(DailyIdentity<'_>, BucketTotals)> = merged
        .iter()
        .map(|&((start, key, model, _project, currency), totals)| {
            ((start - start % 86_400, key, model, currency), totals)
        })
        .collect();
    days.sort_by(|a, b| a.0.cmp(&b.0));
    let mut error = None;
    days.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            match sql_sum(kept.1, next.1) {
                Ok(sum) => kept.1 = sum,
                Err(e) => error = Some(e),
            }
        }
        same
    });
    if let Some(e) = error {
        return Err(e);
    }
    insert_batched(
        tx,
        "INSERT OR FAIL INTO spend_daily (source_id, day, kind, key_id, model, currency, amount_micros, input_tokens,
                                  output_tokens, requests) VALUES ",
        "(?1, #, ?2, #, #, #, #, #, #, #)",
        params![source_id, kind.as_str()],
        &days,
        |stmt, i, ((day, key, model, currency), (amount, inp, out, req))| {
            stmt.raw_bind_parameter(i, day)?;
            stmt.raw_bind_parameter(i + 1, key)?;
            stmt.raw_bind_parameter(i + 2, model)?;
            stmt.raw_bind_parameter(i + 3, currency)?;
            stmt.raw_bind_parameter(i + 4, amount)?;
            stmt.raw_bind_parameter(i + 5, inp)?;
            stmt.raw_bind_parameter(i + 6, out)?;
            stmt.raw_bind_parameter(i + 7, req)
        },
    )?;
    let rows = days.iter().map(|&((day, key, model, currency), (amount, ..))| (day, key, model, currency, amount));
    insert_key_rollup(tx, source_id, kind, &key_rollup(rows)?)
}

fn insert_key_rollup(
    tx: &Transaction<'_>,
    source_id: i64,
    kind: SpendKind,
    keys: &[(KeyIdentity<'_>, (i64, bool))],
) -> Result<()> {
    insert_batched(
        tx,
        "INSERT OR FAIL INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model) VALUES ",
        "(?1, #, #, #, ?2, #, #)",
        params![source_id, kind.as_str()],
        keys,
        |stmt, i, ((day, key, currency), (amount, has_model))| {
            stmt.raw_bind_parameter(i, day)?;
            stmt.raw_bind_parameter(i + 1, key)?;
            stmt.raw_bind_parameter(i + 2, currency)?;
            stmt.raw_bind_parameter(i + 3, amount)?;
            stmt.raw_bind_parameter(i + 4, has_model)
        },
    )
}

/// (day, key_id, currency): a spend_daily_key row's identity within a source and kind.
type KeyIdentity<'a> = (i64, &'a str, &'a str);

/// spend_daily_key from rows (day, key, model, currency, amount) sorted by day and key: the
/// amount per day, key and currency, and whether any of it names a model, in key order.
fn key_rollup<'a>(
    rows: impl Iterator<Item = (i64, &'a str, &'a str, &'a str, i64)>,
) -> Result<Vec<(KeyIdentity<'a>, (i64, bool))>> {
    let mut out: Vec<(KeyIdentity<'a>, (i64, bool))> = Vec::new();
    // Rows of one day and key are contiguous; their currencies are few, summed in `group`.
    let mut group: Vec<(&'a str, i64, bool)> = Vec::new();
    let mut current: Option<(i64, &'a str)> = None;
    let flush = |out: &mut Vec<(KeyIdentity<'a>, (i64, bool))>, group: &mut Vec<(&'a str, i64, bool)>, at| {
        if let Some((day, key)) = at {
            group.sort_by(|a, b| a.0.cmp(b.0));
            out.extend(
                group.drain(..).map(|(currency, amount, has_model)| ((day, key, currency), (amount, has_model))),
            );
        }
    };
    for (day, key, model, currency, amount) in rows {
        if current != Some((day, key)) {
            flush(&mut out, &mut group, current);
            current = Some((day, key));
        }
        match group.iter_mut().find(|(c, ..)| *c == currency) {
            Some((_, sum, has_model)) => {
                *sum = sum.checked_add(amount).ok_or_else(|| Error::internal("amount overflow"))?;
                *has_model |= !model.is_empty();
            }
            None => group.push((currency, amount, !model.is_empty())),
        }
    }
    flush(&mut out, &mut group, current);
    Ok(out)
}

/// SQLite's `sum()` over two rows: NULLs are skipped (all NULL stays NULL), and an integer
/// overflow is an error, never a wrapped or saturated total.
fn sql_sum(a: BucketTotals, b: BucketTotals) -> Result<BucketTotals> {
    let overflow = || Error::internal("amount overflow");
    let opt = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => x.checked_add(y).map(Some).ok_or_else(overflow),
        (x, y) => Ok(x.or(y)),
    };
    Ok((a.0.checked_add(b.0).ok_or_else(overflow)?, opt(a.1, b.1)?, opt(a.2, b.2)?, opt(a.3, b.3)?))
}

/// Whether the ledger already holds exactly `merged` for this window (amounts and tokens).
fn window_unchanged(
    tx: &Transaction<'_>,
    source_id: i64,
    w: &SpendWindow,
    merged: &[(BucketIdentity<'_>, BucketTotals)],
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

/// A daily report as CSV (`report daily --csv`, ledger exports): a header, then one line per row;
/// fields with a comma, quote or newline are quoted.
pub fn report_csv(rows: &[ReportRow]) -> String {
    let esc = |v: &str| {
        if v.contains([',', '"', '\n']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_owned()
        }
    };
    let mut out = String::from("day,source,provider,key_id,key_name,model,currency,amount,kind\n");
    for r in rows {
        let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.day,
            opt(&r.source),
            r.provider.map(|p| p.as_str()).unwrap_or(""),
            opt(&r.key_id),
            opt(&r.key_name),
            opt(&r.model),
            r.currency,
            r.amount,
            r.kind.as_str()
        ));
    }
    out
}

/// Source and key display names, loaded once per report.
pub(crate) struct Names {
    sources: HashMap<i64, (String, Option<ProviderId>)>,
    keys: HashMap<(i64, String), String>,
}

impl Names {
    pub(crate) fn load(conn: &Connection, sources: bool, keys: bool) -> Result<Self> {
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
    pub(crate) fn source_name(&self, id: i64) -> String {
        self.sources.get(&id).map(|(n, _)| n.clone()).unwrap_or_default()
    }
    fn provider(&self, id: i64) -> Option<ProviderId> {
        self.sources.get(&id).and_then(|(_, p)| *p)
    }
    pub(crate) fn key_name(&self, source: i64, key: &str) -> String {
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
/// `spend`. Called inside the poll's transaction after spend was derived from balances, and
/// after a window is replaced whose roll-ups cannot be built from its own rows ([`Rollup`]).
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
         WHERE source_id = ?1 AND bucket_width IN ('day', 'hour') AND kind IN ('billed', 'estimated')
           AND bucket_start >= ?2 AND bucket_start < ?3
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

    /// Both roll-ups, sorted, as (table, day, kind, key, model, currency, amount, tokens…).
    fn rollups(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut stmt = conn
            .prepare(
                "SELECT 'daily', source_id, day, kind, key_id, model, currency, amount_micros, input_tokens, output_tokens, requests
                 FROM spend_daily
                 UNION ALL
                 SELECT 'key', source_id, day, kind, key_id, has_model, currency, amount_micros, NULL, NULL, NULL
                 FROM spend_daily_key
                 ORDER BY 1, 2, 3, 4, 5, 6, 7",
            )
            .unwrap();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cells: Vec<String> = (0..11).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect();
            out.push(cells.join(" "));
        }
        out
    }

    fn assert_rollups_match_a_rebuild(conn: &mut Connection, source_id: i64, range: DayRange) {
        let written = rollups(conn);
        assert!(!written.is_empty());
        let tx = conn.transaction().unwrap();
        refresh_daily(&tx, source_id, range.start_ts(), range.end_ts()).unwrap();
        tx.commit().unwrap();
        assert_eq!(written, rollups(conn));
    }

    #[test]
    fn rollups_written_with_a_poll_match_a_rebuild_from_spend() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-03").unwrap()).unwrap();
        let with =
            |day: &str, key: &str, model: &str, project: &str, currency: &str, micros: i64, tokens: Option<i64>| {
                SpendRow {
                    model: model.into(),
                    project: project.into(),
                    currency: currency.parse().unwrap(),
                    input_tokens: tokens,
                    ..row(day, key, micros)
                }
            };
        let billed_window = |range: DayRange| SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Billed,
            from: range.start_ts(),
            to: range.end_ts(),
            rows: vec![],
        };
        let billed = SpendWindow {
            rows: vec![
                // Three projects of one key and model: one roll-up row. Tokens NULL on one of them.
                with("2026-03-01", "k1", "m1", "p1", "USD", 1_000, Some(10)),
                with("2026-03-01", "k1", "m1", "p2", "USD", 2_000, Some(5)),
                with("2026-03-01", "k1", "m1", "p3", "USD", 0, None),
                with("2026-03-01", "k1", "", "", "USD", 500, None),
                with("2026-03-01", "k1", "m1", "", "CNY", 7_000, Some(3)),
                with("2026-03-03", "", "", "", "USD", 40, None),
                with("2026-03-02", "k2", "m2", "", "USD", 300, Some(1)),
                // Split across pages: summed.
                with("2026-03-02", "k2", "m2", "", "USD", 200, Some(2)),
            ],
            ..billed_window(range)
        };
        let hour = |day: &str, h: i64, key: &str, model: &str, micros: i64| SpendRow {
            model: model.into(),
            bucket_start: day_start(parse_day(day).unwrap()) + h * 3600,
            ..row(day, key, micros)
        };
        let estimated = SpendWindow {
            width: BucketWidth::Hour,
            kind: SpendKind::Estimated,
            from: range.start_ts(),
            to: range.end_ts(),
            rows: vec![
                hour("2026-03-01", 1, "k1", "m1", 10),
                hour("2026-03-01", 5, "k1", "m1", 20),
                hour("2026-03-02", 23, "k2", "", 30),
            ],
        };
        let poll = PollResult { windows: vec![billed.clone(), estimated], ..Default::default() };
        write_poll(&mut conn, id, 1, 2, range, &poll).unwrap();
        assert_rollups_match_a_rebuild(&mut conn, id, range);
        // Hourly billed rows next to the daily ones: the day roll-up must count both, so this
        // window's days are rebuilt from `spend`.
        let mut hourly_billed =
            SpendWindow { width: BucketWidth::Hour, kind: SpendKind::Billed, rows: vec![], ..billed.clone() };
        hourly_billed.rows.push(hour("2026-03-02", 4, "k2", "m2", 9));
        // And a window that does not start at midnight.
        let mut part_day = SpendWindow { kind: SpendKind::Estimated, ..hourly_billed.clone() };
        part_day.from += 3 * 3600;
        part_day.rows = vec![hour("2026-03-01", 4, "k3", "m1", 11)];
        let poll = PollResult { windows: vec![hourly_billed, part_day], ..Default::default() };
        write_poll(&mut conn, id, 3, 4, range, &poll).unwrap();
        assert_rollups_match_a_rebuild(&mut conn, id, range);
        // The provider revises the daily billed window, now next to hourly billed rows.
        let mut revised = billed;
        revised.rows[0].amount_micros += 1;
        write_poll(&mut conn, id, 5, 6, range, &PollResult { windows: vec![revised], ..Default::default() }).unwrap();

        assert_rollups_match_a_rebuild(&mut conn, id, range);

        // Daily rows without projects (the common shape), over days, keys and currencies.
        let other = source(&conn, "b");
        let rows = vec![
            with("2026-03-01", "k1", "m1", "", "USD", 1_000, Some(10)),
            with("2026-03-01", "k1", "m2", "", "USD", 2_000, None),
            with("2026-03-01", "k1", "m2", "", "CNY", 3_000, None),
            with("2026-03-01", "k2", "", "", "USD", 4_000, Some(1)),
            with("2026-03-03", "", "", "", "USD", 5_000, None),
            with("2026-03-03", "k1", "m1", "", "USD", 6_000, Some(2)),
        ];
        let mut expected: Vec<(i64, String, String, String, i64, Option<i64>)> = rows
            .iter()
            .map(|r| {
                let currency = r.currency.as_str().to_owned();
                (r.bucket_start, r.key_id.clone(), r.model.clone(), currency, r.amount_micros, r.input_tokens)
            })
            .collect();
        expected.sort();
        let daily_only =
            PollResult { windows: vec![SpendWindow { rows, ..billed_window(range) }], ..Default::default() };
        write_poll(&mut conn, other, 7, 8, range, &daily_only).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT bucket_start, key_id, model, currency, amount_micros, input_tokens FROM spend
                 WHERE source_id = ?1 AND project = '' AND bucket_width = 'day' AND kind = 'billed' AND fetched_at = 8
                 ORDER BY 1, 2, 3, 4",
            )
            .unwrap();
        let stored: Vec<(i64, String, String, String, i64, Option<i64>)> = stmt
            .query_map([other], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        drop(stmt);
        assert_eq!(stored, expected);
        assert_rollups_match_a_rebuild(&mut conn, other, range);
        let daily: i64 = conn.query_row("SELECT sum(amount_micros) FROM spend_daily", [], |r| r.get(0)).unwrap();
        assert_eq!(daily, total(&conn));
        let keys: i64 = conn.query_row("SELECT sum(amount_micros) FROM spend_daily_key", [], |r| r.get(0)).unwrap();
        assert_eq!(keys, total(&conn));
        let billed_usd_k1: (i64, Option<i64>) = conn
            .query_row(
                "SELECT amount_micros, input_tokens FROM spend_daily
                 WHERE source_id = ?1 AND kind = 'billed' AND key_id = 'k1' AND model = 'm1' AND currency = 'USD'",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(billed_usd_k1, (3_001, Some(15)));
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
