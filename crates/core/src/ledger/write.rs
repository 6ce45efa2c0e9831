//! Writing a poll: its keys, balances and spend windows, replacing what each window covers.

use rusqlite::{params, Connection, Transaction};

use super::buckets::{insert_batched, merge_rows, BucketIdentity, BucketTotals};
use super::rollups::{
    copy_day, insert_key_rollup, key_rollup, refresh_daily, rollup_of, write_daily_from_rows, Rollup,
};
use crate::days::DayRange;
use crate::error::{Error, ErrorCode, Result};
use crate::poll::{KeyRecord, PollResult, SpendWindow};

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
    super::plausible::check_windows(tx, source_id, windows)?;
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

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
}
