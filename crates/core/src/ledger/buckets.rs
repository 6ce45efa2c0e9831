//! Spend rows as the ledger stores them: one row per bucket identity, inserted in batches.

use rusqlite::Transaction;

use crate::error::Result;
use crate::poll::SpendRow;

/// (bucket_start, key_id, model, project, currency): what makes a spend row unique in a window.
pub(super) type BucketIdentity<'a> = (i64, &'a str, &'a str, &'a str, &'a str);
/// (amount_micros, input_tokens, output_tokens, requests).
pub(super) type BucketTotals = (i64, Option<i64>, Option<i64>, Option<i64>);

pub(super) fn add_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// The window's rows with rows of the same identity summed (a provider may split one bucket
/// across pages or line items), sorted by identity, which is the order of `spend`'s primary key.
pub(super) fn merge_rows(rows: &[SpendRow]) -> Result<Vec<(BucketIdentity<'_>, BucketTotals)>> {
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
        return Err(crate::money::sum_overflow());
    }
    Ok(sorted)
}

/// Rows per `INSERT … VALUES (…), (…)` statement. One statement inserting many rows keeps
/// SQLite's b-tree cursors where the last row went (rows come in key order, so the next one
/// belongs on the same page); a statement per row seeks from the root every time and pays the
/// statement overhead per row. 64 rows × 9 parameters stays far below SQLite's parameter limit.
pub(super) const ROWS_PER_INSERT: usize = 64;

/// The callers' statements are `INSERT OR FAIL`: a failing row still fails the poll (the error
/// rolls the whole transaction back), but SQLite need not keep a statement journal to undo a
/// half-applied multi-row statement, which is a measurable part of a large poll's write time.
///
/// Inserts `items` with multi-row statements `head` + `values, values, …`. In `values`, `?N`
/// are the shared parameters (bound once from `shared`) and each `#` is a per-row parameter;
/// `bind(stmt, first, item)` binds one item's parameters, in `#` order, from index `first`.
pub(super) fn insert_batched<T>(
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
