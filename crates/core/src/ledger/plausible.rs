//! The gate every spend row passes before it is written (a poll or a CSV import): amounts a
//! provider could really have charged, or nothing of the poll is written.
//!
//! One absurd row (9,000,000,000,000 USD from a broken or hostile provider) would otherwise be
//! stored and then break every sum that includes it: reports, budgets, alerts and charts. So
//! each row, and each source's day per currency and kind, must stay within the
//! `max_daily_amount` setting (1,000,000 in the currency's units by default). Under that bound
//! no realistic ledger can overflow a 64-bit sum of micro-units: it would take over nine
//! million source-days at the bound.
//!
//! Spend is never negative: a credit or refund netted against a day would hide spend (and a
//! derived remainder would turn it into spend elsewhere). Such a row is refused, named.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use crate::app_settings::{self, MAX_DAILY_AMOUNT};
use crate::days::ts_to_day;
use crate::error::{Error, ErrorCode, Result};
use crate::money::{format_micros, thousands, MICROS_PER_UNIT};
use crate::poll::SpendWindow;

/// Checks `windows` against the source's bound before anything is written.
pub(crate) fn check_windows(conn: &Connection, source_id: i64, windows: &[SpendWindow]) -> Result<()> {
    let bound_micros = app_settings::max_daily_amount_micros(conn)?;
    let source = source_label(conn, source_id)?;
    let mut days: BTreeMap<(i64, &str, &str), i128> = BTreeMap::new();
    for w in windows {
        for r in &w.rows {
            let where_ = || describe_row(&source, r.bucket_start, &r.key_id, &r.model);
            if r.amount_micros < 0 {
                return Err(Error::new(
                    ErrorCode::ImplausibleAmount,
                    format!(
                        "{} reported {} {} of {} spend: Burnrate does not count negative spend (a credit or refund \
                         would hide real spend), so nothing of this sync was written. Check the provider's own \
                         dashboard; the next sync succeeds once the provider reports it as spend again",
                        where_(),
                        format_micros(r.amount_micros),
                        r.currency.as_str(),
                        w.kind.as_str()
                    ),
                ));
            }
            if let Some(tokens) = [r.input_tokens, r.output_tokens, r.requests].into_iter().flatten().find(|&t| t < 0) {
                return Err(Error::new(
                    ErrorCode::ImplausibleAmount,
                    format!("{} reported a negative count ({tokens}); nothing of this sync was written", where_()),
                ));
            }
            // A hostile start near i64::MIN has no day start that fits in an i64: refuse it.
            let Some(day) = r.bucket_start.checked_sub(r.bucket_start.rem_euclid(86_400)) else {
                return Err(Error::new(
                    ErrorCode::ImplausibleAmount,
                    format!(
                        "{} reported a time ({}) that is no day; nothing of this sync was written",
                        where_(),
                        r.bucket_start
                    ),
                ));
            };
            let sum = days.entry((day, r.currency.as_str(), w.kind.as_str())).or_default();
            *sum += i128::from(r.amount_micros);
            if *sum > i128::from(bound_micros) {
                let what = if i128::from(r.amount_micros) > i128::from(bound_micros) {
                    format!("{} reported {} {}", where_(), format_micros(r.amount_micros), r.currency.as_str())
                } else {
                    format!("{source} reported more than that on {} in all", ts_to_day(day))
                };
                return Err(Error::new(
                    ErrorCode::ImplausibleAmount,
                    format!(
                        "{what}: more than the {} {} a day Burnrate accepts from one source, so nothing of this sync \
                         was written. If the amount is real, raise the bound: burnrate settings set {MAX_DAILY_AMOUNT} \
                         <amount>",
                        thousands(bound_micros / MICROS_PER_UNIT),
                        r.currency.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn source_label(conn: &Connection, source_id: i64) -> Result<String> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT name, provider FROM sources WHERE id = ?1", [source_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((name, provider)) => {
            let label = provider.parse::<crate::providers::ProviderId>().map(|p| p.label()).unwrap_or("the provider");
            format!("{label} (source {name})")
        }
        None => format!("source #{source_id}"),
    })
}

fn describe_row(source: &str, bucket_start: i64, key: &str, model: &str) -> String {
    let mut text = format!("{source}, {}", ts_to_day(bucket_start));
    if !key.is_empty() {
        text.push_str(&format!(", key {key}"));
    }
    if !model.is_empty() {
        text.push_str(&format!(", model {model}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::error::ErrorCode;

    fn one_day() -> DayRange {
        DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap()
    }

    /// A source with 5 USD already in the ledger for 2026-03-01.
    fn ledger_with_five_dollars() -> (Connection, i64) {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "team");
        write_poll(&mut conn, id, 1, 2, one_day(), &poll(one_day(), vec![row("2026-03-01", "k", 5_000_000)])).unwrap();
        (conn, id)
    }

    #[test]
    fn an_absurd_amount_is_refused_with_where_it_came_from_and_the_ledger_keeps_what_it_had() {
        let (mut conn, id) = ledger_with_five_dollars();
        let absurd = 9_000_000_000_000 * 1_000_000; // 9 trillion USD in micros
        let p = poll(one_day(), vec![row("2026-03-01", "key_x", absurd)]);
        let e = write_poll(&mut conn, id, 3, 4, one_day(), &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::ImplausibleAmount);
        for part in ["OpenAI (source team), 2026-03-01, key key_x", "9000000000000.000000 USD", "1,000,000 USD a day"] {
            assert!(e.message().contains(part), "{part:?} missing: {}", e.message());
        }
        assert!(e.message().contains("burnrate settings set max_daily_amount"), "{}", e.message());
        assert_eq!(total(&conn), 5_000_000, "the earlier figures stay");
    }

    #[test]
    fn rows_that_are_each_plausible_but_not_together_are_refused_as_a_day() {
        let (mut conn, id) = ledger_with_five_dollars();
        let p = poll(one_day(), (0..3).map(|i| row("2026-03-01", &format!("k{i}"), 400_000 * 1_000_000)).collect());
        let e = write_poll(&mut conn, id, 3, 4, one_day(), &p).unwrap_err();
        assert!(e.message().contains("reported more than that on 2026-03-01 in all"), "{}", e.message());
        assert_eq!(total(&conn), 5_000_000);
    }

    #[test]
    fn the_bound_is_a_setting() {
        let (mut conn, id) = ledger_with_five_dollars();
        crate::app_settings::set(&conn, crate::app_settings::MAX_DAILY_AMOUNT, "5,000,000").unwrap();
        let big = 2_000_000 * 1_000_000;
        write_poll(&mut conn, id, 3, 4, one_day(), &poll(one_day(), vec![row("2026-03-01", "k", big)])).unwrap();
        assert_eq!(total(&conn), big);
        crate::app_settings::set(&conn, crate::app_settings::MAX_DAILY_AMOUNT, "100").unwrap();
        let e = write_poll(&mut conn, id, 5, 6, one_day(), &poll(one_day(), vec![row("2026-03-01", "k", 101_000_000)]))
            .unwrap_err();
        assert!(e.message().contains("more than the 100 USD a day"), "{}", e.message());
        for bad in ["0", "-5", "1e30", "lots"] {
            assert!(crate::app_settings::set(&conn, crate::app_settings::MAX_DAILY_AMOUNT, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_that_is_no_day_is_refused_not_a_panic() {
        let (mut conn, id) = ledger_with_five_dollars();
        let mut r = row("2026-03-01", "k", 1_000_000);
        r.bucket_start = i64::MIN;
        let e = write_poll(&mut conn, id, 3, 4, one_day(), &poll(one_day(), vec![r])).unwrap_err();
        assert_eq!(e.code, ErrorCode::ImplausibleAmount);
        assert!(e.message().contains("a time (-9223372036854775808) that is no day"), "{}", e.message());
        assert_eq!(total(&conn), 5_000_000);
    }

    #[test]
    fn negative_spend_is_refused_not_netted() {
        let (mut conn, id) = ledger_with_five_dollars();
        let p = poll(one_day(), vec![row("2026-03-01", "k", 20_000_000), row("2026-03-01", "credit", -5_000_000)]);
        let e = write_poll(&mut conn, id, 3, 4, one_day(), &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::ImplausibleAmount);
        assert!(e.message().contains("key credit") && e.message().contains("-5.000000 USD"), "{}", e.message());
        assert!(e.message().contains("does not count negative spend"), "{}", e.message());
        assert_eq!(total(&conn), 5_000_000);

        let mut negative_tokens = row("2026-03-01", "k", 1_000_000);
        negative_tokens.input_tokens = Some(-10);
        let e = write_poll(&mut conn, id, 3, 4, one_day(), &poll(one_day(), vec![negative_tokens])).unwrap_err();
        assert!(e.message().contains("negative count (-10)"), "{}", e.message());
    }
}
