//! The alert engine: pure logic over the ledger, run after every sync. It records what fired
//! (once per dedupe key, so a restart or a second process never repeats an alert; a spike
//! episode once, then updated: [`super::spike_alerts`]) and returns what to announce; delivery
//! is [`super::deliver`].
//!
//! Budget spend is read through the same rule as reports ([`crate::ledger::counted_rows`]): per
//! source and UTC day billed spend wins over estimates, unless the budget is per key and only
//! the estimates name keys (Anthropic). Providers bucket by UTC day; a UTC day counts toward the
//! local day with the same date (so a month budget adds up the UTC days 1…31 of that month). Near
//! a period's edge this is off by at most the zone's offset from UTC; hourly data would allow
//! better, but bills are daily. Spend in other currencies is converted at each day's rate
//! ([`crate::budgets::spend::period_spend`]); a threshold fires off a sum with a missing rate only when
//! the part that could be converted passes it alone.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::json;

use super::dto::AlertKind;
use super::forecast::{project, PACE_WINDOW_DAYS};
use super::spike_alerts::record_spike_episodes;
use super::spikes::SpikeConfig;
pub use super::store::Announcement;
use super::store::{self, key_label_of, NewAlert};
use crate::app_settings::AppSettings;
use crate::budgets::spend::reached;
pub use crate::budgets::spend::{period_spend, PeriodSpend};
use crate::budgets::{self, Budget, BudgetPeriod, LocalPeriod, Scope};
use crate::days::ts_to_day;
use crate::error::Result;
use crate::money::format_human;

/// The first day on which the running total reached `pct` percent of `amount`.
fn crossing_day(spend: &PeriodSpend, amount: i64, pct: u32) -> Option<NaiveDate> {
    let mut running = 0i64;
    spend.daily.iter().find_map(|(day, micros)| {
        running = running.saturating_add(*micros);
        reached(running, amount, pct).then_some(*day)
    })
}

/// How a budget's scope is named in alerts: "all sources", "source work", "key Prod (sk-…abcd) of work".
pub fn scope_label(conn: &Connection, scope: &Scope) -> Result<String> {
    Ok(match scope {
        Scope::Total => "all sources".to_owned(),
        Scope::Source { source, .. } => format!("source {source}"),
        Scope::Key { source_id, source, key_id } => {
            format!("key {} of {source}", key_label_of(conn, *source_id, key_id)?)
        }
    })
}

/// "March 2026", "the week of 2026-03-02", "2026-03-02".
fn period_label(period: BudgetPeriod, p: LocalPeriod) -> String {
    match period {
        BudgetPeriod::Day => p.start.to_string(),
        BudgetPeriod::Week => format!("the week of {}", p.start),
        BudgetPeriod::Month => p.start.format("%B %Y").to_string(),
    }
}

const ESTIMATE_NOTE: &str = "This is an estimate (token-based), not yet billed; the provider's bill may differ.";

/// The threshold alert a budget's period calls for now, if any: the highest threshold reached
/// that is above every threshold already fired in this period. Lower ones are then never fired
/// for this period.
fn threshold_alert(
    conn: &Connection,
    budget: &Budget,
    period: LocalPeriod,
    today: NaiveDate,
) -> Result<Option<NewAlert>> {
    let spend = period_spend(conn, budget, period)?;
    // With a rate missing, only thresholds the convertible part passes alone (the whole can
    // only be more) fire; the rest wait until the rate is there.
    let reached_now: Vec<u32> =
        budget.thresholds.iter().copied().filter(|&p| spend.reached(budget.amount_micros, p)).collect();
    let Some(&highest) = reached_now.last() else { return Ok(None) };
    let period_start = period.start.to_string();
    let already = store::highest_threshold_fired(conn, budget.id, &period_start)?;
    if already.is_some_and(|a| a >= highest) {
        return Ok(None);
    }
    let skipped: Vec<u32> =
        reached_now.iter().copied().filter(|&p| p < highest && already.is_none_or(|a| p > a)).collect();
    let crossed_on = crossing_day(&spend, budget.amount_micros, highest).unwrap_or(today);
    let away = crossed_on < today;
    let scope = scope_label(conn, &budget.scope)?;
    let currency = budget.currency.as_str();
    let estimate = if spend.estimated { " (estimate)" } else { "" };
    let title = format!("{highest}% of the {} budget: {scope}{estimate}", budget.period.adjective());
    let at_least = if spend.missing.is_some() { "At least " } else { "" };
    let mut body = format!(
        "{at_least}{} spent of the {} for {}.",
        format_human(spend.total_micros, currency),
        budget.describe(),
        period_label(budget.period, period)
    );
    if !skipped.is_empty() {
        let listed: Vec<String> = skipped.iter().map(|p| format!("{p}%")).collect();
        body.push_str(&format!(" Also past {}.", listed.join(" and ")));
    }
    if let Some(note) = spend.conversion_note(currency) {
        body.push(' ');
        body.push_str(&note);
    }
    if let Some(missing) = &spend.missing {
        body.push_str(&format!(" Not counted yet: {missing}."));
    }
    if spend.estimated {
        body.push(' ');
        body.push_str(ESTIMATE_NOTE);
    }
    if away {
        body.push_str(&format!(" While you were away: passed on {crossed_on}."));
    }
    Ok(Some(NewAlert {
        kind: AlertKind::Threshold,
        // The budget's creation time keeps a later budget that reuses a removed one's id apart.
        dedupe_key: format!("threshold:{}:{}:{period_start}:{highest}", budget.id, budget.created_at),
        budget_id: Some(budget.id),
        source_id: budget.scope.source_id(),
        key_id: budget.scope.key_id().map(str::to_owned),
        period_start: Some(period_start),
        threshold_pct: Some(highest),
        amount_micros: spend.total_micros,
        limit_micros: Some(budget.amount_micros),
        currency: currency.to_owned(),
        estimated: spend.estimated,
        title,
        body,
        details: json!({
            "period": budget.period.as_str(),
            "period_end": period.end.to_string(),
            "crossed_on": crossed_on.to_string(),
            "while_away": away,
            "also_passed": skipped,
            "converted": spend.conversion_details(),
            "missing_rate": spend.missing,
        }),
    }))
}

/// The first local day with any spend of the budget's scope (any currency), for the forecast's
/// history: days before it are unknown, not zero.
fn first_data_day(conn: &Connection, scope: &Scope) -> Result<Option<NaiveDate>> {
    let first: Option<i64> = match scope {
        Scope::Total => conn.query_row("SELECT min(day) FROM spend_daily_key", [], |r| r.get(0))?,
        Scope::Source { source_id, .. } => {
            conn.query_row("SELECT min(day) FROM spend_daily_key WHERE source_id = ?1", [source_id], |r| r.get(0))?
        }
        Scope::Key { source_id, key_id, .. } => conn.query_row(
            "SELECT min(day) FROM spend_daily_key WHERE source_id = ?1 AND key_id = ?2",
            rusqlite::params![source_id, key_id],
            |r| r.get(0),
        )?,
    };
    Ok(first.map(ts_to_day))
}

/// The forecast alert of a week or month budget's current period: once per period, when the
/// recent pace passes the budget before the period ends (and it has not been passed yet).
fn forecast_alert(conn: &Connection, budget: &Budget, today: NaiveDate) -> Result<Option<NewAlert>> {
    if budget.period == BudgetPeriod::Day {
        return Ok(None);
    }
    let period = budget.period.containing(today);
    let Some(first) = first_data_day(conn, &budget.scope)? else { return Ok(None) };
    let history_start = (today - chrono::Days::new(u64::from(PACE_WINDOW_DAYS))).max(first).min(period.start);
    let span = LocalPeriod { start: history_start, end: today };
    let spend = period_spend(conn, budget, span)?;
    let mut daily = spend.daily.clone();
    // Days without spend since the scope's data begins are zeros, not missing history.
    daily.push((history_start.max(first), 0));
    let Some(f) = project(&daily, period.start, period.end, today, budget.amount_micros) else { return Ok(None) };
    let Some(crosses_on) = f.crosses_on.filter(|d| *d > today && *d <= period.end) else { return Ok(None) };
    let estimated = spend.estimated;
    let scope = scope_label(conn, &budget.scope)?;
    let currency = budget.currency.as_str();
    let period_start = period.start.to_string();
    let mut body = format!(
        "At the recent pace of {} a day (last {} days), {} will have spent about {} by {}, passing the {} on {crosses_on}. Spent so far: {}.",
        format_human(f.daily_pace_micros, currency),
        f.basis_days,
        scope,
        format_human(f.projected_micros, currency),
        period.end,
        budget.describe(),
        format_human(f.spent_micros, currency),
    );
    if estimated {
        body.push(' ');
        body.push_str(ESTIMATE_NOTE);
    }
    if let Some(missing) = &spend.missing {
        body.push_str(&format!(" Not counted yet: {missing}."));
    }
    Ok(Some(NewAlert {
        kind: AlertKind::Forecast,
        dedupe_key: format!("forecast:{}:{}:{period_start}", budget.id, budget.created_at),
        budget_id: Some(budget.id),
        source_id: budget.scope.source_id(),
        key_id: budget.scope.key_id().map(str::to_owned),
        period_start: Some(period_start),
        threshold_pct: None,
        amount_micros: f.spent_micros,
        limit_micros: Some(budget.amount_micros),
        currency: currency.to_owned(),
        estimated,
        title: format!(
            "Forecast: {scope} passes the {} budget on {crosses_on}{}",
            budget.period.adjective(),
            if estimated { " (estimate)" } else { "" }
        ),
        body,
        details: json!({
            "period": budget.period.as_str(),
            "period_end": period.end.to_string(),
            "crosses_on": crosses_on.to_string(),
            "projected": crate::money::format_micros(f.projected_micros),
            "daily_pace": crate::money::format_micros(f.daily_pace_micros),
            "basis_days": f.basis_days,
        }),
    }))
}

/// The periods of a budget worth looking at on `today`: the current one, and the one before if
/// the budget already existed then (an app that was offline over a period's end still reports
/// what happened in it).
fn periods_to_check(budget: &Budget, today: NaiveDate, created_local: NaiveDate) -> Vec<LocalPeriod> {
    let current = budget.period.containing(today);
    let previous = current.previous(budget.period);
    if created_local <= previous.end {
        vec![previous, current]
    } else {
        vec![current]
    }
}

/// Evaluates every budget (thresholds, forecasts), every key (spike episodes) and every gateway
/// (price drift) at `now` and records what fires. Runs in one immediate transaction, so two
/// processes evaluating at once never both fire (or both update) the same thing.
///
/// Returns what must be announced (shown through [`super::deliver::deliver`]), in firing order:
/// every new alert, and every spike episode recorded earlier whose amount has at least tripled
/// since it was last announced (`renotify`; its title and body already say it grew). A spike
/// episode that tripped again without tripling is updated and not returned.
pub fn evaluate(conn: &mut Connection, now: DateTime<Utc>, settings: &AppSettings) -> Result<Vec<Announcement>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let tz = settings.zone;
    let today = now.with_timezone(&tz).date_naive();
    let fired_at = now.timestamp();
    let mut fired = Vec::new();
    for budget in budgets::list(&tx)? {
        let created_local = DateTime::<Utc>::from_timestamp(budget.created_at, 0)
            .map(|t| t.with_timezone(&tz).date_naive())
            .unwrap_or(today);
        for period in periods_to_check(&budget, today, created_local) {
            if let Some(alert) = threshold_alert(&tx, &budget, period, today)? {
                if let Some(id) = store::insert(&tx, &alert, fired_at)? {
                    tracing::info!(alert = id, budget = budget.id, threshold = ?alert.threshold_pct, "threshold alert fired");
                    fired.push(Announcement::new_alert(id));
                }
            }
        }
        // Passing the budget is news the threshold alerts already carry.
        let current = budget.period.containing(today).start.to_string();
        if store::highest_threshold_fired(&tx, budget.id, &current)?.is_some_and(|t| t >= 100) {
            continue;
        }
        if let Some(alert) = forecast_alert(&tx, &budget, today)? {
            if let Some(id) = store::insert(&tx, &alert, fired_at)? {
                tracing::info!(alert = id, budget = budget.id, "forecast alert fired");
                fired.push(Announcement::new_alert(id));
            }
        }
    }
    fired.extend(record_spike_episodes(&tx, now, tz, &SpikeConfig::default())?);
    for alert in super::price_drift::price_drift_alerts(&tx, now.date_naive())? {
        if let Some(id) = store::insert(&tx, &alert, fired_at)? {
            tracing::info!(alert = id, source = ?alert.source_id, "price drift alert fired");
            fired.push(Announcement::new_alert(id));
        }
    }
    tx.commit()?;
    Ok(fired)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app_settings::{QuietHours, ZoneSetting};
    use crate::budgets::AddBudgetRequest;
    use crate::days::{day_start, parse_day, DayRange};
    use crate::db;
    use crate::ledger::write_poll;
    use crate::money::Currency;
    use crate::notify::{Notice, Notifier};
    use crate::poll::SpendKind;
    use crate::poll::{BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
    use chrono_tz::Tz;
    use rusqlite::params;
    use std::sync::Mutex;

    pub fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    pub fn settings(zone: Tz) -> AppSettings {
        AppSettings {
            time_zone: ZoneSetting::Named(zone),
            zone,
            quiet_hours: None,
            alerts_paused_until: None,
            key_rotation_days: 90,
            close_to_tray: true,
            start_at_login_offered: false,
            max_daily_amount_micros: crate::app_settings::DEFAULT_MAX_DAILY_AMOUNT_MICROS,
            metrics_top_n: crate::app_settings::DEFAULT_METRICS_TOP_N,
            serve_local: false,
            serve_port: crate::app_settings::DEFAULT_SERVE_PORT,
            display_currency: None,
            convertible_currencies: Vec::new(),
        }
    }

    pub fn source(conn: &Connection, name: &str, provider: &str) -> i64 {
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at) VALUES (?1, ?2, 'http://x', 'env', 'K', 0)",
            params![name, provider],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    /// Replaces `source`'s `kind` spend of one UTC day with `rows` (key id, micros), as a poll would.
    pub fn set_day(conn: &mut Connection, source: i64, kind: SpendKind, day: &str, rows: &[(&str, i64)]) {
        set_day_in(conn, source, kind, day, "USD", rows)
    }

    /// [`set_day`] in another currency than USD.
    pub fn set_day_in(
        conn: &mut Connection,
        source: i64,
        kind: SpendKind,
        day: &str,
        currency: &str,
        rows: &[(&str, i64)],
    ) {
        let currency: Currency = currency.parse().unwrap();
        let d = parse_day(day).unwrap();
        let range = DayRange::new(d, d).unwrap();
        let poll = PollResult {
            keys: vec![KeyRecord {
                provider_key_id: "key_FAKE_prod".into(),
                display_name: Some("Production".into()),
                fingerprint: Some("sk-…abcd".into()),
                ..Default::default()
            }],
            windows: vec![SpendWindow {
                width: BucketWidth::Day,
                kind,
                from: range.start_ts(),
                to: range.end_ts(),
                rows: rows
                    .iter()
                    .map(|(key, micros)| SpendRow {
                        key_id: (*key).into(),
                        model: String::new(),
                        project: String::new(),
                        bucket_start: day_start(d),
                        currency: currency.clone(),
                        amount_micros: *micros,
                        input_tokens: None,
                        output_tokens: None,
                        requests: None,
                    })
                    .collect(),
            }],
            ..Default::default()
        };
        write_poll(conn, source, 0, 0, range, &poll).unwrap();
    }

    pub fn request(scope: &str, period: &str, amount: &str) -> AddBudgetRequest {
        AddBudgetRequest {
            scope: scope.into(),
            period: period.into(),
            amount: amount.into(),
            currency: None,
            thresholds: None,
        }
    }

    pub fn budget(conn: &Connection, created: &str, scope: &str, period: &str, amount: &str) -> Budget {
        budgets::add(conn, at(created).timestamp(), &request(scope, period, amount)).unwrap()
    }

    fn fire_all(conn: &mut Connection, now: &str, zone: Tz) -> Vec<crate::alerts::AlertView> {
        let ids = Announcement::ids(&evaluate(conn, at(now), &settings(zone)).unwrap());
        store::get_many(conn, &ids).unwrap()
    }

    /// The threshold alerts an evaluation fires (spikes and forecasts have their own tests).
    fn fire(conn: &mut Connection, now: &str, zone: Tz) -> Vec<crate::alerts::AlertView> {
        fire_all(conn, now, zone).into_iter().filter(|a| a.kind == AlertKind::Threshold).collect()
    }

    const M: i64 = 1_000_000;

    #[test]
    fn each_threshold_fires_exactly_once_per_period() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-01", &[("key_FAKE_prod", 10 * M)]);
        let b = budget(&conn, "2026-03-01T00:00:00Z", "key:key_FAKE_prod", "month", "100");
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 30 * M)]);
        assert!(fire(&mut conn, "2026-03-02T10:00:00Z", Tz::UTC).is_empty(), "40 % reaches nothing");

        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 45 * M)]);
        let first = fire(&mut conn, "2026-03-02T11:00:00Z", Tz::UTC);
        assert_eq!(first.len(), 1);
        let a = &first[0];
        assert_eq!(
            (a.threshold, a.budget_id, a.amount.as_str(), a.currency.as_str()),
            (Some(50), Some(b.id), "55.000000", "USD")
        );
        assert_eq!(a.limit.as_deref(), Some("100.000000"));
        assert!(!a.estimated);
        assert_eq!(a.title, "50% of the monthly budget: key Production (sk-…abcd) of work");
        assert_eq!(a.body, "55.00 USD spent of the monthly budget of 100.00 USD for March 2026.");
        assert!(fire(&mut conn, "2026-03-02T11:30:00Z", Tz::UTC).is_empty(), "evaluated again: nothing new");

        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 75 * M)]);
        assert_eq!(fire(&mut conn, "2026-03-02T12:00:00Z", Tz::UTC)[0].threshold, Some(80));
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 95 * M)]);
        assert_eq!(fire(&mut conn, "2026-03-02T13:00:00Z", Tz::UTC)[0].threshold, Some(100));
        assert!(fire(&mut conn, "2026-03-02T14:00:00Z", Tz::UTC).is_empty());
        let thresholds: Vec<Option<u32>> = store::list(&conn, None)
            .unwrap()
            .iter()
            .filter(|a| a.kind == AlertKind::Threshold)
            .map(|a| a.threshold)
            .collect();
        assert_eq!(thresholds, vec![Some(100), Some(80), Some(50)]);
        // Next month starts over.
        set_day(&mut conn, src, SpendKind::Billed, "2026-04-01", &[("key_FAKE_prod", 60 * M)]);
        let april = fire(&mut conn, "2026-04-01T12:00:00Z", Tz::UTC);
        assert_eq!(
            (april.len(), april[0].threshold, april[0].period_start.as_deref()),
            (1, Some(50), Some("2026-04-01"))
        );
    }

    #[test]
    fn a_jump_past_several_thresholds_fires_one_alert_and_the_lower_ones_never() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        budget(&conn, "2026-03-01T00:00:00Z", "source:work", "month", "100");
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 90 * M)]);
        let fired = fire(&mut conn, "2026-03-02T12:00:00Z", Tz::UTC);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].threshold, Some(80));
        assert!(fired[0].body.contains("Also past 50%."), "{}", fired[0].body);
        assert_eq!(fired[0].title, "80% of the monthly budget: source work");
        // The provider revises the day down to 60 %: 50 % does not fire later.
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 60 * M)]);
        assert!(fire(&mut conn, "2026-03-02T13:00:00Z", Tz::UTC).is_empty());
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 300 * M)]);
        let last = fire(&mut conn, "2026-03-02T14:00:00Z", Tz::UTC);
        assert_eq!(last[0].threshold, Some(100));
        assert!(!last[0].body.contains("Also past"), "{}", last[0].body);
        let count: i64 =
            conn.query_row("SELECT count(*) FROM alerts WHERE kind = 'threshold'", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn estimated_spend_fires_and_says_it_is_an_estimate() {
        let mut conn = db::open_in_memory().unwrap();
        // Anthropic-like: the bill has no key; per-key amounts are token estimates.
        let src = source(&conn, "claude", "anthropic");
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("", 70 * M)]);
        set_day(&mut conn, src, SpendKind::Estimated, "2026-03-02", &[("key_FAKE_prod", 60 * M), ("key_other", 5 * M)]);
        budget(&conn, "2026-03-01T00:00:00Z", "key:key_FAKE_prod", "day", "100");
        budget(&conn, "2026-03-01T00:00:00Z", "source:claude", "day", "100");
        let fired = fire(&mut conn, "2026-03-02T12:00:00Z", Tz::UTC);
        assert_eq!(fired.len(), 2, "{fired:?}");
        let key = fired.iter().find(|a| a.key_id.is_some()).unwrap();
        assert!(key.estimated);
        assert_eq!(key.amount, "60.000000");
        assert!(key.title.ends_with("(estimate)"), "{}", key.title);
        assert!(key.body.contains("estimate"), "{}", key.body);
        // The source as a whole is billed: the bill wins over the estimates.
        let whole = fired.iter().find(|a| a.key_id.is_none()).unwrap();
        assert_eq!((whole.amount.as_str(), whole.estimated), ("70.000000", false));
        assert!(!whole.title.contains("estimate"));
    }

    #[test]
    fn periods_follow_the_time_zone_and_a_budget_created_after_a_period_skips_it() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-31", &[("key_FAKE_prod", 120 * M)]);
        // 16:00 UTC on March 31 is 01:00 on April 1 in Tokyo.
        budget(&conn, "2026-03-31T15:30:00Z", "total", "month", "100");
        assert!(fire(&mut conn, "2026-03-31T16:00:00Z", chrono_tz::Asia::Tokyo).is_empty(), "April has no spend yet");
        let utc = fire(&mut conn, "2026-03-31T16:00:00Z", Tz::UTC);
        assert_eq!((utc.len(), utc[0].period_start.as_deref()), (1, Some("2026-03-01")), "in UTC it is still March");
        // In New York it is still March 31 at 03:00 UTC on April 1 (UTC-4): April's spend is not counted.
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        budget(&conn, "2026-03-01T00:00:00Z", "total", "day", "10");
        set_day(&mut conn, src, SpendKind::Billed, "2026-04-01", &[("key_FAKE_prod", 20 * M)]);
        assert!(fire(&mut conn, "2026-04-01T03:00:00Z", chrono_tz::America::New_York).is_empty());
        let fired = fire(&mut conn, "2026-04-01T05:00:00Z", chrono_tz::America::New_York);
        assert_eq!(fired[0].period_start.as_deref(), Some("2026-04-01"));
    }

    #[test]
    fn weeks_start_on_monday() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        budget(&conn, "2026-03-01T00:00:00Z", "total", "week", "100");
        // Sunday 2026-03-01 belongs to the week before; Monday 2026-03-02 starts a new one.
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-01", &[("key_FAKE_prod", 40 * M)]);
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 40 * M)]);
        assert!(
            fire(&mut conn, "2026-03-02T12:00:00Z", Tz::UTC).is_empty(),
            "40 + 40 across two weeks is 40 % of each"
        );
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-08", &[("key_FAKE_prod", 15 * M)]);
        let fired = fire(&mut conn, "2026-03-08T12:00:00Z", Tz::UTC);
        assert_eq!((fired[0].threshold, fired[0].period_start.as_deref()), (Some(50), Some("2026-03-02")));
        assert!(fired[0].body.contains("the week of 2026-03-02"), "{}", fired[0].body);
    }

    /// A EUR budget over CNY spend with no CNY rate at all: nothing is known, nothing fires
    /// (not even 0 % of the budget is claimed); once the day's rate is imported the alert
    /// names the amount converted and the one rate used.
    #[test]
    fn spend_without_a_rate_fires_nothing_until_the_rate_is_there() {
        let mut conn = db::open_in_memory().unwrap();
        let deep = source(&conn, "deep", "deepseek");
        let req = AddBudgetRequest { currency: Some("EUR".into()), ..request("total", "month", "100") };
        budgets::add(&conn, at("2026-03-01T00:00:00Z").timestamp(), &req).unwrap();
        set_day_in(&mut conn, deep, SpendKind::Billed, "2026-03-03", "CNY", &[("", 800 * M)]);
        let b = budgets::list(&conn).unwrap().remove(0);
        let spend = period_spend(&conn, &b, b.period.containing(parse_day("2026-03-03").unwrap())).unwrap();
        assert_eq!(
            (spend.total_micros, spend.missing.as_deref(), spend.other_currencies.clone()),
            (0, Some("missing rate for CNY since 2026-03-03"), vec!["CNY".to_owned()])
        );
        assert!(fire(&mut conn, "2026-03-03T12:00:00Z", Tz::UTC).is_empty(), "800 CNY is not 0 EUR");
        crate::fx::import_csv(&mut conn, b"date,currency,rate\n2026-03-03,CNY,8\n", at("2026-03-03T13:00:00Z"))
            .unwrap();
        let fired = fire(&mut conn, "2026-03-03T14:00:00Z", Tz::UTC);
        assert_eq!((fired.len(), fired[0].threshold, fired[0].amount.as_str()), (1, Some(100), "100.000000"));
        assert_eq!(
            fired[0].body,
            "100.00 EUR spent of the monthly budget of 100.00 EUR for March 2026. Also past 50% and 80%. \
             This includes 800.00 CNY = 100.00 EUR at 8 CNY/EUR (2026-03-03)."
        );
    }

    #[test]
    fn a_crossing_found_on_a_later_day_says_while_you_were_away() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        budget(&conn, "2026-02-10T00:00:00Z", "total", "month", "100");
        // Offline from Feb 20 to Mar 2: February passed 100 % on the 27th, March 50 % on the 1st.
        set_day(&mut conn, src, SpendKind::Billed, "2026-02-20", &[("key_FAKE_prod", 60 * M)]);
        set_day(&mut conn, src, SpendKind::Billed, "2026-02-27", &[("key_FAKE_prod", 50 * M)]);
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-01", &[("key_FAKE_prod", 55 * M)]);
        let fired = fire(&mut conn, "2026-03-02T09:00:00Z", Tz::UTC);
        assert_eq!(fired.len(), 2, "{fired:?}");
        assert_eq!((fired[0].period_start.as_deref(), fired[0].threshold), (Some("2026-02-01"), Some(100)));
        assert!(fired[0].body.ends_with("While you were away: passed on 2026-02-27."), "{}", fired[0].body);
        assert!(fired[0].body.contains("February 2026"), "{}", fired[0].body);
        assert!(fired[1].body.ends_with("While you were away: passed on 2026-03-01."), "{}", fired[1].body);
        // Crossed today: no "away".
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-02", &[("key_FAKE_prod", 30 * M)]);
        let today = fire(&mut conn, "2026-03-02T10:00:00Z", Tz::UTC);
        assert_eq!(today[0].threshold, Some(80));
        assert!(!today[0].body.contains("away"), "{}", today[0].body);
    }

    #[test]
    fn a_forecast_names_the_day_the_budget_will_be_passed_once_per_period() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        let b = budget(&conn, "2026-02-01T00:00:00Z", "source:work", "month", "250");
        // 10 USD every day from February 20, with one odd 60 USD day that must not set the pace.
        let mut day = parse_day("2026-02-20").unwrap();
        while day <= parse_day("2026-03-10").unwrap() {
            let micros = if day == parse_day("2026-03-07").unwrap() { 60 * M } else { 10 * M };
            set_day(&mut conn, src, SpendKind::Billed, &day.to_string(), &[("key_FAKE_prod", micros)]);
            day = day.succ_opt().unwrap();
        }
        // March 1–10: 150 USD spent (60 %: the 50 % alert fires too); pace 10 a day;
        // 150 + 10 × j > 250 first for j = 11 days after the 10th: March 21.
        let fired = fire_all(&mut conn, "2026-03-10T12:00:00Z", Tz::UTC);
        let forecast: Vec<_> = fired.iter().filter(|a| a.kind == AlertKind::Forecast).collect();
        assert_eq!(forecast.len(), 1, "{fired:#?}");
        let f = forecast[0];
        assert_eq!(f.title, "Forecast: source work passes the monthly budget on 2026-03-21");
        assert_eq!(f.details["crosses_on"], "2026-03-21");
        assert_eq!(f.details["daily_pace"], "10.000000");
        assert_eq!(
            (f.budget_id, f.amount.as_str(), f.limit.as_deref()),
            (Some(b.id), "150.000000", Some("250.000000"))
        );
        assert!(f.body.contains("about 360.00 USD by 2026-03-31"), "{}", f.body);
        // The next day the forecast still holds: it is not repeated in this period.
        set_day(&mut conn, src, SpendKind::Billed, "2026-03-11", &[("key_FAKE_prod", 10 * M)]);
        assert!(fire_all(&mut conn, "2026-03-11T12:00:00Z", Tz::UTC).iter().all(|a| a.kind != AlertKind::Forecast));
        // A slower pace in April: 5 a day projects to 150, under the budget: no forecast.
        for d in 1..=5 {
            set_day(&mut conn, src, SpendKind::Billed, &format!("2026-04-0{d}"), &[("key_FAKE_prod", 5 * M)]);
        }
        assert!(fire_all(&mut conn, "2026-04-05T12:00:00Z", Tz::UTC).iter().all(|a| a.kind != AlertKind::Forecast));
    }

    #[derive(Default)]
    pub struct Captured(pub Mutex<Vec<Notice>>);
    impl Notifier for Captured {
        fn notify(&self, notice: &Notice) -> Result<()> {
            self.0.lock().unwrap().push(notice.clone());
            Ok(())
        }
    }
    pub struct NoDaemon;
    impl Notifier for NoDaemon {
        fn notify(&self, _: &Notice) -> Result<()> {
            Err(crate::error::Error::internal(
                "no notification daemon on the session bus (org.freedesktop.Notifications)",
            ))
        }
    }

    #[test]
    fn delivery_records_shown_alerts_and_why_others_were_not_shown() {
        use super::super::deliver::deliver;
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        set_day(&mut conn, src, SpendKind::Billed, "2026-02-01", &[("key_FAKE_prod", M)]);
        budget(&conn, "2026-03-01T00:00:00Z", "key:key_FAKE_prod", "day", "10");
        let mut deliver_at = |day: &str, now: &str, s: &AppSettings, n: Option<&dyn Notifier>| {
            set_day(&mut conn, src, SpendKind::Billed, day, &[("key_FAKE_prod", 20 * M)]);
            let ids = Announcement::ids(&evaluate(&mut conn, at(now), s).unwrap());
            let fired: Vec<_> =
                store::get_many(&conn, &ids).unwrap().into_iter().filter(|a| a.kind == AlertKind::Threshold).collect();
            assert_eq!(fired.len(), 1);
            deliver(&conn, &fired, n, at(now), s).unwrap().remove(0)
        };
        let captured = Captured::default();
        let plain = settings(Tz::UTC);
        let shown = deliver_at("2026-03-02", "2026-03-02T12:00:00Z", &plain, Some(&captured));
        assert!(shown.notified && shown.notify_error.is_none());
        assert_eq!(shown.notified_at.as_deref(), Some("2026-03-02T12:00:00Z"));
        let notices = captured.0.lock().unwrap().clone();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].summary, "100% of the daily budget: key Production (sk-…abcd) of work");
        assert!(notices[0].body.contains("20.00 USD spent of the daily budget of 10.00 USD"), "{}", notices[0].body);
        assert_eq!(notices[0].open_target.as_deref(), Some("key:work/key_FAKE_prod"));

        let quiet = AppSettings { quiet_hours: QuietHours::parse("22:00-07:00").unwrap(), ..settings(Tz::UTC) };
        let q = deliver_at("2026-03-03", "2026-03-03T23:00:00Z", &quiet, Some(&captured));
        assert!(!q.notified);
        assert!(q.notify_error.unwrap().contains("quiet hours"));

        let paused =
            AppSettings { alerts_paused_until: Some(at("2026-03-04T13:00:00Z").timestamp()), ..settings(Tz::UTC) };
        let p = deliver_at("2026-03-04", "2026-03-04T12:00:00Z", &paused, Some(&captured));
        assert!(p.notify_error.unwrap().contains("paused until 2026-03-04T13:00:00Z"));

        let d = deliver_at("2026-03-05", "2026-03-05T12:00:00Z", &plain, Some(&NoDaemon));
        assert!(!d.notified);
        assert!(d.notify_error.unwrap().contains("no notification daemon"));
        let headless = deliver_at("2026-03-06", "2026-03-06T12:00:00Z", &plain, None);
        assert!(headless.notify_error.unwrap().contains("desktop notifications are off"));

        assert_eq!(captured.0.lock().unwrap().len(), 1, "only the first was shown");
        let thresholds = store::list(&conn, None).unwrap().into_iter().filter(|a| a.kind == AlertKind::Threshold);
        assert_eq!(thresholds.count(), 5, "every alert is recorded");
    }
}
