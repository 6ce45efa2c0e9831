//! Spend derived from balance snapshots, for providers that report only a balance or a running
//! total (DeepSeek, new-api/one-api relays, custom JSON endpoints).
//!
//! Every poll of such a provider stores one snapshot per currency (taken at the poll's time).
//! The spend of a UTC day is then the sum, over each pair of consecutive snapshots of one series
//! (same key id and currency, ordered by `taken_at`) whose *later* snapshot falls on that day,
//! of the growth of the usage counter `max(next.usage − prev.usage, 0)` when both snapshots
//! carry one (a relay's `used_quota`: exact, unaffected by top-ups; a fall means the counter
//! was reset), else of the balance drop `max(prev.balance − next.balance, 0)`.
//!
//! What this can and cannot know:
//! - A rise is a top-up (or a grant) and is never spend. When a top-up and spending happen
//!   between the same two snapshots only the net change is visible, so the spending is
//!   under-counted by up to the top-up (entirely, when the top-up is larger). Syncing often keeps
//!   that window small. DeepSeek also reports `granted_balance` and `topped_up_balance`, and
//!   charges the granted part first (its pricing page, "Deduction rules"): while granted credit
//!   remains, a drop of `granted_balance` is spend even if `topped_up_balance` rose at the same
//!   time. Using that needs both halves in the snapshots, which hold one balance per currency
//!   (a schema change), so only `total_balance` is used for now.
//! - Spend between two snapshots is booked on the day of the later one; with a gap of several
//!   days it all lands on the last day. Sync at least daily for daily resolution.
//! - The first snapshot of a series has no predecessor: nothing before it is known.
//!
//! The rows are the provider's own money figure (its balance), so they are `billed`, width
//! `day`, with the series' key id (`""` for DeepSeek's account balance) and no model. Currencies
//! are separate series and never summed.

use std::collections::BTreeMap;

use rusqlite::{params, Transaction};

use crate::days::{day_start, ts_to_day, DayRange};
use crate::error::Result;
use crate::poll::BucketWidth;
use crate::poll::SpendKind;

/// Recomputes the derived spend rows of `source_id` for the days in `range` from all its
/// balance snapshots: deletes the source's billed daily rows in `range` and inserts one row per
/// day, key id and currency with a non-zero drop. Running it twice gives the same rows.
/// Returns the number of spend rows written.
pub fn derive(tx: &Transaction<'_>, source_id: i64, range: DayRange) -> Result<i64> {
    // (day start, key id, currency) -> total drop, in micro-units of that currency.
    let mut spend: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    let mut latest_taken = 0i64;
    {
        // Snapshots with neither figure (an unlimited balance and no counter) say nothing.
        let mut stmt = tx.prepare(
            "SELECT key_id, currency, taken_at, balance_micros, usage_micros FROM balance_snapshots
             WHERE source_id = ?1 AND (balance_micros IS NOT NULL OR usage_micros IS NOT NULL)
             ORDER BY key_id, currency, taken_at, id",
        )?;
        let mut rows = stmt.query([source_id])?;
        let mut prev: Option<(String, String, Option<i64>, Option<i64>)> = None;
        while let Some(r) = rows.next()? {
            let key: String = r.get(0)?;
            let currency: String = r.get(1)?;
            let taken_at: i64 = r.get(2)?;
            let balance: Option<i64> = r.get(3)?;
            let usage: Option<i64> = r.get(4)?;
            latest_taken = latest_taken.max(taken_at);
            if let Some((pkey, pcur, pbal, pusage)) = &prev {
                let day = ts_to_day(taken_at);
                if *pkey == key && *pcur == currency && range.contains(day) {
                    let spent = match (pusage, usage, pbal, balance) {
                        (Some(before), Some(after), _, _) => after.saturating_sub(*before).max(0),
                        (_, _, Some(before), Some(after)) => before.saturating_sub(after).max(0),
                        _ => 0,
                    };
                    let e = spend.entry((day_start(day), key.clone(), currency.clone())).or_insert(0);
                    *e = e.checked_add(spent).ok_or_else(crate::money::sum_overflow)?;
                }
            }
            prev = Some((key, currency, balance, usage));
        }
    }

    let (width, kind) = (BucketWidth::Day.as_str(), SpendKind::Billed.as_str());
    tx.execute(
        "DELETE FROM spend WHERE source_id = ?1 AND bucket_width = ?2 AND kind = ?3
         AND bucket_start >= ?4 AND bucket_start < ?5",
        params![source_id, width, kind, range.start_ts(), range.end_ts()],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO spend (source_id, key_id, model, project, bucket_start, bucket_width, currency, kind,
                            amount_micros, fetched_at)
         VALUES (?1, ?2, '', '', ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut written = 0i64;
    // A day whose snapshots show no drop (or only top-ups) gets no row, like a day without usage.
    for ((start, key, currency), amount) in spend.into_iter().filter(|(_, a)| *a > 0) {
        insert.execute(params![source_id, key, start, width, currency, kind, amount, latest_taken])?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::days::parse_day;
    use crate::db;
    use crate::ledger::write_poll;
    use crate::money::Currency;
    use crate::poll::{BalanceSnapshot, PollResult};

    fn source(conn: &Connection) -> i64 {
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at)
             VALUES ('ds', 'deepseek', 'http://x', 'env', 'K', 0)",
            [],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn at(day: &str, hour: i64) -> i64 {
        day_start(parse_day(day).unwrap()) + hour * 3_600
    }

    fn range(from: &str, to: &str) -> DayRange {
        DayRange::new(parse_day(from).unwrap(), parse_day(to).unwrap()).unwrap()
    }

    /// Records one poll at `taken_at` holding these (currency, balance) snapshots, through the
    /// real write path (which calls `derive`).
    fn poll(conn: &mut Connection, id: i64, taken_at: i64, r: DayRange, balances: &[(&str, i64)]) -> i64 {
        let p = PollResult {
            balances: balances
                .iter()
                .map(|(c, b)| BalanceSnapshot {
                    key_id: String::new(),
                    currency: c.parse::<Currency>().unwrap(),
                    balance_micros: Some(*b),
                    limit_micros: None,
                    usage_micros: None,
                })
                .collect(),
            derive_spend_from_balances: true,
            ..Default::default()
        };
        write_poll(conn, id, taken_at, taken_at, r, &p).unwrap()
    }

    /// (day, currency, amount) of every billed daily row, ordered.
    fn rows(conn: &Connection) -> Vec<(String, String, i64)> {
        let mut stmt = conn
            .prepare(
                "SELECT strftime('%Y-%m-%d', bucket_start, 'unixepoch'), currency, amount_micros, key_id, model
                 FROM spend WHERE kind = 'billed' AND bucket_width = 'day' ORDER BY bucket_start, currency",
            )
            .unwrap();
        stmt.query_map([], |r| {
            let (key, model): (String, String) = (r.get(3)?, r.get(4)?);
            assert_eq!((key.as_str(), model.as_str()), ("", ""), "derived rows carry no key or model");
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
    }

    fn row(day: &str, currency: &str, micros: i64) -> (String, String, i64) {
        (day.into(), currency.into(), micros)
    }

    #[test]
    fn drops_are_spend_of_the_later_snapshots_day() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-01", "2026-03-03");
        assert_eq!(poll(&mut conn, id, at("2026-03-01", 8), r, &[("CNY", 110_000_000)]), 0, "first snapshot: no spend");
        poll(&mut conn, id, at("2026-03-01", 20), r, &[("CNY", 104_500_000)]);
        poll(&mut conn, id, at("2026-03-02", 6), r, &[("CNY", 100_000_000)]);
        let written = poll(&mut conn, id, at("2026-03-02", 23), r, &[("CNY", 99_999_999)]);
        assert_eq!(written, 2, "one row per day with a drop");
        assert_eq!(rows(&conn), vec![row("2026-03-01", "CNY", 5_500_000), row("2026-03-02", "CNY", 4_500_001)]);
    }

    #[test]
    fn a_top_up_is_not_spend_and_hides_spend_made_with_it() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-01", "2026-03-03");
        poll(&mut conn, id, at("2026-03-01", 1), r, &[("CNY", 10_000_000)]);
        poll(&mut conn, id, at("2026-03-01", 2), r, &[("CNY", 8_000_000)]); // spent 2
        poll(&mut conn, id, at("2026-03-02", 1), r, &[("CNY", 108_000_000)]); // topped up 100: no spend
        poll(&mut conn, id, at("2026-03-02", 2), r, &[("CNY", 107_250_000)]); // spent 0.75
                                                                              // Topped up 50 and spent 3 between two snapshots: only +47 is visible, the 3 is lost.
        poll(&mut conn, id, at("2026-03-03", 1), r, &[("CNY", 154_250_000)]);
        assert_eq!(rows(&conn), vec![row("2026-03-01", "CNY", 2_000_000), row("2026-03-02", "CNY", 750_000)]);
    }

    #[test]
    fn two_currencies_are_separate_series() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-01", "2026-03-02");
        poll(&mut conn, id, at("2026-03-01", 1), r, &[("CNY", 50_000_000), ("USD", 7_000_000)]);
        poll(&mut conn, id, at("2026-03-01", 9), r, &[("CNY", 45_000_000), ("USD", 7_000_000)]);
        // USD alone drops; if the series were mixed, CNY 45 -> USD 6.9 would look like a huge drop.
        poll(&mut conn, id, at("2026-03-02", 9), r, &[("CNY", 45_000_000), ("USD", 6_900_000)]);
        poll(&mut conn, id, at("2026-03-02", 10), r, &[("CNY", 44_000_000), ("USD", 6_000_000)]);
        assert_eq!(
            rows(&conn),
            vec![
                row("2026-03-01", "CNY", 5_000_000),
                row("2026-03-02", "CNY", 1_000_000),
                row("2026-03-02", "USD", 1_000_000)
            ]
        );
    }

    #[test]
    fn deriving_again_gives_the_same_rows_and_replaces_only_the_range() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let all = range("2026-03-01", "2026-03-02");
        poll(&mut conn, id, at("2026-03-01", 1), all, &[("USD", 9_000_000)]);
        poll(&mut conn, id, at("2026-03-01", 2), all, &[("USD", 8_000_000)]);
        poll(&mut conn, id, at("2026-03-02", 2), all, &[("USD", 7_500_000)]);
        let before = rows(&conn);
        assert_eq!(before, vec![row("2026-03-01", "USD", 1_000_000), row("2026-03-02", "USD", 500_000)]);

        // A stale row inside the range is replaced; a billed row outside it is left alone.
        conn.execute("UPDATE spend SET amount_micros = 42 WHERE bucket_start = ?1", [at("2026-03-02", 0)]).unwrap();
        conn.execute(
            "INSERT INTO spend (source_id, key_id, model, project, bucket_start, bucket_width, currency, kind, amount_micros, fetched_at)
             VALUES (?1, '', '', '', ?2, 'day', 'USD', 'billed', 7, 0)",
            params![id, at("2026-03-05", 0)],
        )
        .unwrap();
        for _ in 0..2 {
            let tx = conn.transaction().unwrap();
            assert_eq!(derive(&tx, id, all).unwrap(), 2);
            tx.commit().unwrap();
        }
        let mut expected = before.clone();
        expected.push(row("2026-03-05", "USD", 7));
        assert_eq!(rows(&conn), expected);
    }

    #[test]
    fn a_day_without_snapshots_gets_no_row_and_a_gap_books_on_the_later_day() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-01", "2026-03-04");
        poll(&mut conn, id, at("2026-03-01", 12), r, &[("CNY", 20_000_000)]);
        poll(&mut conn, id, at("2026-03-01", 13), r, &[("CNY", 19_000_000)]);
        // Nothing on 03-02 and 03-03: the whole drop since 03-01 13:00 lands on 03-04.
        poll(&mut conn, id, at("2026-03-04", 12), r, &[("CNY", 16_000_000)]);
        assert_eq!(rows(&conn), vec![row("2026-03-01", "CNY", 1_000_000), row("2026-03-04", "CNY", 3_000_000)]);
    }

    #[test]
    fn unlimited_balances_and_days_outside_the_range_are_ignored() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-02", "2026-03-02");
        poll(&mut conn, id, at("2026-03-01", 1), r, &[("USD", 5_000_000)]);
        poll(&mut conn, id, at("2026-03-01", 2), r, &[("USD", 4_000_000)]); // 03-01 is outside the range
        conn.execute(
            "INSERT INTO balance_snapshots (source_id, key_id, taken_at, currency, balance_micros) VALUES (?1, '', ?2, 'USD', NULL)",
            params![id, at("2026-03-02", 1)],
        )
        .unwrap();
        poll(&mut conn, id, at("2026-03-02", 2), r, &[("USD", 3_500_000)]);
        assert_eq!(rows(&conn), vec![row("2026-03-02", "USD", 500_000)]);
    }

    #[test]
    fn a_usage_counter_wins_over_the_balance_and_ignores_top_ups() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let r = range("2026-03-01", "2026-03-02");
        let snap = |balance: i64, usage: i64| BalanceSnapshot {
            key_id: String::new(),
            currency: Currency::usd(),
            balance_micros: Some(balance),
            limit_micros: None,
            usage_micros: Some(usage),
        };
        for (t, b, u) in [
            (at("2026-03-01", 1), 10_000_000, 1_000_000),
            (at("2026-03-01", 9), 25_000_000, 3_500_000),
            (at("2026-03-02", 2), 24_000_000, 4_500_000),
        ] {
            let poll =
                PollResult { balances: vec![snap(b, u)], derive_spend_from_balances: true, ..Default::default() };
            write_poll(&mut conn, id, t, t, r, &poll).unwrap();
        }
        // Day 1: the balance rose (a top-up of 17.5 with 2.5 spent); the counter says 2.5.
        assert_eq!(rows(&conn), vec![row("2026-03-01", "USD", 2_500_000), row("2026-03-02", "USD", 1_000_000)]);
    }
}
