//! Price drift: a gateway's effective price moved away from what its paid test measured.
//!
//! The checklist's paid test stores a source's multiplier (billed ÷ expected at list prices) in
//! `source_price_baselines`. Where the ledger has both billed amounts and token-based estimates
//! for that source (the reconciliation rows), the same ratio over the last complete UTC days is
//! compared with it. A gateway that quietly raises its prices, or starts routing to a pricier
//! model than it reports, shows up here. Sources that report only a balance carry no estimates
//! and are never judged.

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::{params, Connection};
use serde_json::json;

use super::dto::AlertKind;
use super::store::NewAlert;
use crate::days::DayRange;
use crate::error::Result;
use crate::money::format_human;

/// How far (percent of the baseline) the observed multiplier may move before it alerts.
pub const TOLERANCE_PCT: i64 = 20;
/// Complete UTC days looked at, ending yesterday.
pub const WINDOW_DAYS: u64 = 7;
/// Days with both billed and estimated spend needed before judging.
pub const MIN_DAYS: i64 = 3;

fn ratio(bp: i64) -> String {
    format!("{}.{:02}×", bp / 10_000, (bp % 10_000) / 100)
}

/// The drift alerts due on `today` (UTC), at most one per source and ISO week.
pub fn price_drift_alerts(conn: &Connection, today: NaiveDate) -> Result<Vec<NewAlert>> {
    let range = DayRange::new(today - Days::new(WINDOW_DAYS), today - Days::new(1))?;
    let mut baselines = conn.prepare_cached(
        "SELECT b.source_id, s.name, b.multiplier_bp, b.currency, b.measured_at
         FROM source_price_baselines b JOIN sources s ON s.id = b.source_id
         WHERE b.multiplier_bp > 0",
    )?;
    let baselines: Vec<(i64, String, i64, String, i64)> = baselines
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut days = conn.prepare_cached(
        "SELECT count(*), coalesce(sum(billed), 0), coalesce(sum(estimated), 0) FROM (
             SELECT sum(CASE WHEN kind = 'billed' THEN amount_micros END) AS billed,
                    sum(CASE WHEN kind = 'estimated' THEN amount_micros END) AS estimated
             FROM spend_daily WHERE source_id = ?1 AND currency = ?2 AND day >= ?3 AND day < ?4
             GROUP BY day HAVING billed > 0 AND estimated > 0)",
    )?;
    let mut out = Vec::new();
    for (source_id, source, baseline_bp, currency, measured_at) in baselines {
        let (n, billed, estimated): (i64, i64, i64) = days
            .query_row(params![source_id, currency, range.start_ts(), range.end_ts()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if n < MIN_DAYS || estimated <= 0 {
            continue;
        }
        let observed_bp = (i128::from(billed) * 10_000 / i128::from(estimated)) as i64;
        let off = (i128::from(observed_bp) - i128::from(baseline_bp)).abs();
        if off * 100 <= i128::from(baseline_bp) * i128::from(TOLERANCE_PCT) {
            continue;
        }
        let week = today.iso_week();
        let expected_at_baseline = (i128::from(estimated) * i128::from(baseline_bp) / 10_000) as i64;
        let measured = crate::days::ts_to_day(measured_at);
        let direction = if observed_bp > baseline_bp { "more" } else { "less" };
        out.push(NewAlert {
            kind: AlertKind::PriceDrift,
            dedupe_key: format!("price_drift:{source_id}:{}-W{:02}", week.year(), week.week()),
            budget_id: None,
            source_id: Some(source_id),
            key_id: None,
            period_start: Some(range.from.to_string()),
            threshold_pct: None,
            amount_micros: billed,
            limit_micros: Some(expected_at_baseline),
            currency: currency.clone(),
            estimated: false,
            title: format!(
                "{source} now charges {} list price; its paid test measured {}",
                ratio(observed_bp),
                ratio(baseline_bp)
            ),
            body: format!(
                "From {} to {} {source} billed {} for usage worth {} at list prices ({} days with both figures): \
                 {} than the {} measured on {measured}, which would have been {}. Check the gateway's price page \
                 and recent announcements, then re-run the paid test in its checklist.",
                range.from,
                range.to,
                format_human(billed, &currency),
                format_human(estimated, &currency),
                n,
                direction,
                ratio(baseline_bp),
                format_human(expected_at_baseline, &currency),
            ),
            details: json!({
                "baseline_bp": baseline_bp,
                "observed_bp": observed_bp,
                "from": range.from.to_string(),
                "to": range.to.to_string(),
                "days": n,
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::engine::tests::{at, set_day, settings, source};
    use crate::alerts::{engine, store};
    use crate::db;
    use crate::poll::SpendKind;
    use chrono_tz::Tz;

    /// A relay whose paid test measured 1.50× list price, with `days` days of billed and
    /// estimated spend ending 2026-03-09 at `billed_per_10_usd` billed per 10 USD at list price.
    fn relay(days: u32, billed_per_10_usd: i64) -> rusqlite::Connection {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "relay", "litellm");
        conn.execute(
            "INSERT INTO source_price_baselines (source_id, multiplier_bp, billed_micros, expected_micros, currency, measured_at)
             VALUES (?1, 15000, 1500, 1000, 'USD', ?2)",
            params![id, at("2026-03-01T10:00:00Z").timestamp()],
        )
        .unwrap();
        for d in 0..days {
            let day = format!("2026-03-{:02}", 9 - d);
            set_day(&mut conn, id, SpendKind::Estimated, &day, &[("key_FAKE_prod", 10_000_000)]);
            set_day(&mut conn, id, SpendKind::Billed, &day, &[("key_FAKE_prod", billed_per_10_usd)]);
        }
        conn
    }

    fn drift(conn: &mut rusqlite::Connection, now: &str) -> Vec<crate::alerts::AlertView> {
        let ids = store::Announcement::ids(&engine::evaluate(conn, at(now), &settings(Tz::UTC)).unwrap());
        store::get_many(conn, &ids).unwrap().into_iter().filter(|a| a.kind == AlertKind::PriceDrift).collect()
    }

    #[test]
    fn a_gateway_charging_more_than_its_paid_test_alerts_once_a_week() {
        // 20 USD billed per 10 USD at list price: 2.00× against the 1.50× measured.
        let mut conn = relay(5, 20_000_000);
        let fired = drift(&mut conn, "2026-03-10T12:00:00Z");
        assert_eq!(fired.len(), 1);
        let a = &fired[0];
        assert_eq!(a.title, "relay now charges 2.00× list price; its paid test measured 1.50×");
        assert!(
            a.body.contains("From 2026-03-03 to 2026-03-09 relay billed 100.00 USD for usage worth 50.00 USD"),
            "{}",
            a.body
        );
        assert!(a.body.contains("which would have been 75.00 USD"), "{}", a.body);
        assert!(!a.estimated);
        // Same ISO week: not again. The next week: again, if it still drifts.
        assert!(drift(&mut conn, "2026-03-11T12:00:00Z").is_empty());
        for day in ["2026-03-12", "2026-03-13", "2026-03-14"] {
            set_day(&mut conn, 1, SpendKind::Estimated, day, &[("key_FAKE_prod", 10_000_000)]);
            set_day(&mut conn, 1, SpendKind::Billed, day, &[("key_FAKE_prod", 20_000_000)]);
        }
        assert_eq!(drift(&mut conn, "2026-03-16T12:00:00Z").len(), 1);
    }

    #[test]
    fn within_tolerance_or_too_few_days_stays_quiet() {
        // 1.70× is within 20 % of 1.50×.
        assert!(drift(&mut relay(5, 17_000_000), "2026-03-10T12:00:00Z").is_empty());
        // 1.00× is 33 % below: cheaper than measured is news too (a different model?).
        assert_eq!(drift(&mut relay(5, 10_000_000), "2026-03-10T12:00:00Z").len(), 1);
        // Two days are not enough to judge.
        assert!(drift(&mut relay(2, 20_000_000), "2026-03-10T12:00:00Z").is_empty());
    }
}
