//! The daily roll-ups (`spend_daily` per key and model, `spend_daily_key` per key) that reports
//! read, kept equal to a rebuild from `spend` inside the poll's transaction.

use rusqlite::{params, Transaction};

use super::buckets::{insert_batched, BucketIdentity, BucketTotals};
use crate::error::Result;
use crate::poll::{BucketWidth, SpendKind, SpendWindow};

/// How the daily roll-ups of a replaced window's days are brought in step with `spend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollup {
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

pub(super) fn rollup_of(
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
pub(super) fn copy_day(tx: &Transaction<'_>, source_id: i64, kind: SpendKind, day: i64) -> Result<()> {
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
pub(super) fn write_daily_from_rows(
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

pub(super) fn insert_key_rollup(
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
pub(super) type KeyIdentity<'a> = (i64, &'a str, &'a str);

/// spend_daily_key from rows (day, key, model, currency, amount) sorted by day and key: the
/// amount per day, key and currency, and whether any of it names a model, in key order.
pub(super) fn key_rollup<'a>(
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
                *sum = sum.checked_add(amount).ok_or_else(crate::money::sum_overflow)?;
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
pub(super) fn sql_sum(a: BucketTotals, b: BucketTotals) -> Result<BucketTotals> {
    let overflow = crate::money::sum_overflow;
    let opt = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => x.checked_add(y).map(Some).ok_or_else(overflow),
        (x, y) => Ok(x.or(y)),
    };
    Ok((a.0.checked_add(b.0).ok_or_else(overflow)?, opt(a.1, b.1)?, opt(a.2, b.2)?, opt(a.3, b.3)?))
}

/// Rebuilds the daily roll-up of `source_id` for the UTC days overlapping `[from, to)` from
/// `spend`. Called inside the poll's transaction after spend was derived from balances, and
/// after a window is replaced whose roll-ups cannot be built from its own rows ([`Rollup`]).
pub(super) fn refresh_daily(tx: &Transaction<'_>, source_id: i64, from: i64, to: i64) -> Result<()> {
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

/// Rebuilds every roll-up from `spend`: after `burnrate doctor` salvaged a damaged ledger, the
/// roll-ups it could read may disagree with the spend rows it could read.
pub(crate) fn rebuild_all(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch("DELETE FROM spend_daily; DELETE FROM spend_daily_key;")?;
    let spans: Vec<(i64, i64, i64)> = tx
        .prepare("SELECT source_id, min(bucket_start), max(bucket_start) FROM spend GROUP BY source_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (source_id, first, last) in spans {
        refresh_daily(tx, source_id, first, last.saturating_add(1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

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
