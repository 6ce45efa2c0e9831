//! What the tray shows: a level for the icon (normal, warning, over budget), a one-line
//! summary of today and month-to-date, and the keys spending most today. Pure: built from the
//! budgets, reports and alerts the other operations already produce, so it is tested without a
//! desktop and the shell only draws it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::{AlertKind, AlertView};
use crate::budgets::BudgetView;
use crate::dto::{ReportRow, SourceView};
use crate::error::Result;
use crate::fx::{ConvertedAmount, ConvertedSum, Converter};
use crate::money::{format_human, parse_micros};

/// How many keys the tray menu lists.
pub const TOP_KEYS: usize = 5;
/// A spike or forecast alert keeps the icon at "warning" this long after it fired.
pub const RECENT_ALERT_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TrayLevel {
    Normal,
    /// A budget passed a warning threshold, or a spike or forecast alert fired in the last day.
    Warning,
    /// A budget's current period is at or over its amount.
    Over,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TrayKey {
    pub source: String,
    pub key_id: String,
    /// e.g. "prod-backend (sk-…abcd): 12.34 USD"
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TrayStatus {
    pub level: TrayLevel,
    /// Why the level is what it is, e.g. "Budget total monthly: 104 % of 50.00 USD".
    pub reason: Option<String>,
    /// "Today 12.34 USD · Month 345.67 USD" (each currency on its own, never summed); with a
    /// display currency set and spend in other currencies, the month also converted, each day
    /// at its own rate: "Month 30.00 CNY + 100.00 USD ≈ 96.15 EUR", or "≈ ? EUR (missing rate
    /// for CNY since 2026-07-03)" when a rate is missing (never a smaller total).
    pub summary: String,
    /// The keys that spent most today (UTC day), highest first.
    pub top_keys: Vec<TrayKey>,
    /// RFC 3339 while desktop alerts are paused.
    pub alerts_paused_until: Option<String>,
    /// When the figures were last brought up to date: the latest successful sync of any
    /// source (RFC 3339), None before the first.
    pub as_of: Option<String>,
    /// Sources whose figures can no longer be trusted to be current, and why.
    pub stale: Vec<StaleSource>,
}

/// A source that has not synced for two of its intervals, or whose last sync failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StaleSource {
    pub source: String,
    /// e.g. "last sync failed: OpenRouter rejected the key" or "no sync since 2026-11-23 09:05 UTC".
    pub reason: String,
}

/// A source is stale this many of its poll intervals after its last successful sync.
pub const STALE_AFTER_INTERVALS: i32 = 2;

/// When the figures were last brought up to date, and which sources are stale at `now`.
pub fn freshness(sources: &[SourceView], now: DateTime<Utc>) -> (Option<String>, Vec<StaleSource>) {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc));
    let mut as_of: Option<DateTime<Utc>> = None;
    let mut stale = Vec::new();
    for s in sources.iter().filter(|s| s.provider.connector().is_some()) {
        let interval = Duration::from_std(s.provider.poll_interval()).unwrap_or(Duration::minutes(15));
        let reason = match &s.last_sync {
            Some(run) if !run.ok => Some(format!(
                "last sync failed: {}",
                run.error.as_ref().map_or("no reason recorded", |e| e.message.as_str())
            )),
            Some(run) => match parse(&run.finished_at) {
                Some(at) => {
                    as_of = as_of.max(Some(at));
                    (now - at > interval * STALE_AFTER_INTERVALS)
                        .then(|| format!("no sync since {}", at.format("%Y-%m-%d %H:%M UTC")))
                }
                None => None,
            },
            // Never synced: stale once it has waited two intervals since it was added.
            None => parse(&s.created_at)
                .filter(|added| now - *added > interval * STALE_AFTER_INTERVALS)
                .map(|_| "never synced".to_owned()),
        };
        if let Some(reason) = reason {
            stale.push(StaleSource { source: s.name.clone(), reason });
        }
    }
    (as_of.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)), stale)
}

/// Sums amounts per currency, in currency order.
fn per_currency(rows: &[ReportRow]) -> BTreeMap<&str, i64> {
    let mut sums = BTreeMap::new();
    for row in rows {
        let sum = sums.entry(row.currency.as_str()).or_insert(0i64);
        // Saturating: the tray is a glance; the reports it summarises have checked their sums.
        *sum = sum.saturating_add(parse_micros(&row.amount).unwrap_or(0));
    }
    sums
}

fn money_list(sums: &BTreeMap<&str, i64>) -> String {
    if sums.is_empty() {
        return format_human(0, "USD");
    }
    sums.iter().map(|(c, m)| format_human(*m, c)).collect::<Vec<_>>().join(" + ")
}

/// Percent of `amount` that `spent` is, rounded down; amounts are validated positive.
fn percent(spent: i64, amount: i64) -> i64 {
    if amount <= 0 {
        return 0;
    }
    (i128::from(spent) * 100 / i128::from(amount)) as i64
}

/// The level a budget puts the tray at, with its reason. A budget whose spend could not all be
/// converted for want of a rate warns and says so, unless what could be converted already
/// passes the budget (the whole can only be more).
fn budget_level(budget: &BudgetView) -> (TrayLevel, Option<String>) {
    let spent = parse_micros(&budget.spent).unwrap_or(0);
    let amount = parse_micros(&budget.amount).unwrap_or(0);
    let pct = percent(spent, amount);
    let missing = budget.missing_rate.as_deref().filter(|_| !budget.spent_known);
    // Warn from the highest threshold below 100 % (80 % with the defaults).
    let warn_at = budget.thresholds.iter().copied().filter(|t| *t < 100).max().unwrap_or(80);
    let level = if pct >= 100 {
        TrayLevel::Over
    } else if let Some(missing) = missing {
        return (TrayLevel::Warning, Some(format!("Budget #{}: {missing}", budget.id)));
    } else if pct >= i64::from(warn_at) {
        TrayLevel::Warning
    } else {
        return (TrayLevel::Normal, None);
    };
    let estimate = if budget.estimated { " (estimate)" } else { "" };
    let (at_least, missing) = match missing {
        Some(m) => ("at least ", format!(" ({m})")),
        None => ("", String::new()),
    };
    let reason = format!(
        "Budget {} {}: {at_least}{pct} % of {}{estimate}{missing}",
        budget.scope,
        budget.period.adjective(),
        format_human(amount, &budget.currency)
    );
    (level, Some(reason))
}

/// The month's report rows (one per day and currency) as one total in `converter`'s currency,
/// each day at its own rate; None when every row is already in that currency (nothing to
/// convert, the native figure says it all).
pub fn month_converted(rows: &[ReportRow], converter: &mut Converter) -> Result<Option<ConvertedAmount>> {
    if rows.iter().all(|r| r.currency == converter.target()) {
        return Ok(None);
    }
    let mut sum = ConvertedSum::default();
    for row in rows {
        let Ok(day) = crate::days::parse_day(&row.day) else { continue };
        sum.add(converter, parse_micros(&row.amount)?, &row.currency, day)?;
    }
    let target = converter.target().to_owned();
    Ok(Some(sum.finish(&target)))
}

/// " ≈ 212.40 EUR", or " ≈ ? EUR (missing rate for CNY since 2026-07-03)".
fn converted_text(c: &ConvertedAmount) -> String {
    match (&c.amount, &c.missing) {
        (Some(a), _) => format!(" ≈ {}", format_human(parse_micros(a).unwrap_or(0), &c.currency)),
        (None, Some(missing)) => format!(" ≈ ? {} ({missing})", c.currency),
        (None, None) => format!(" ≈ ? {}", c.currency),
    }
}

/// Builds the tray's state. `today_by_key`: today's report grouped by key; `month_total`: the
/// month-to-date report without grouping; `month_converted`: that month in the display
/// currency ([`month_converted`]), when one is set; `alerts`: recent alerts, newest first.
#[allow(clippy::too_many_arguments)]
pub fn tray_status(
    sources: &[SourceView],
    budgets: &[BudgetView],
    today_by_key: &[ReportRow],
    month_total: &[ReportRow],
    month_converted: Option<&ConvertedAmount>,
    alerts: &[AlertView],
    alerts_paused_until: Option<String>,
    now: DateTime<Utc>,
) -> TrayStatus {
    let mut level = TrayLevel::Normal;
    let mut reason = None;
    for budget in budgets {
        let (l, r) = budget_level(budget);
        if l > level {
            level = l;
            reason = r;
        }
    }
    if level == TrayLevel::Normal {
        let since = now - Duration::hours(RECENT_ALERT_HOURS);
        let recent = alerts.iter().find(|a| {
            matches!(a.kind, AlertKind::Spike | AlertKind::Forecast)
                && DateTime::parse_from_rfc3339(&a.fired_at).is_ok_and(|t| t >= since)
        });
        if let Some(alert) = recent {
            level = TrayLevel::Warning;
            reason = Some(alert.title.clone());
        }
    }

    let (as_of, stale) = freshness(sources, now);
    // Before a first sync there are no figures: "Today 0.00 USD" would claim nothing was spent.
    let summary = if as_of.is_none() && today_by_key.is_empty() && month_total.is_empty() {
        if sources.is_empty() {
            "No sources yet: add one in the app"
        } else {
            "No figures yet: waiting for a first sync"
        }
        .to_owned()
    } else {
        format!(
            "Today {} · Month {}{}",
            money_list(&per_currency(today_by_key)),
            money_list(&per_currency(month_total)),
            month_converted.map(converted_text).unwrap_or_default()
        )
    };

    let mut keys: Vec<(&ReportRow, i64)> = today_by_key
        .iter()
        .filter(|r| r.key_id.as_deref().is_some_and(|k| !k.is_empty()))
        .map(|r| (r, parse_micros(&r.amount).unwrap_or(0)))
        .filter(|(_, m)| *m > 0)
        .collect();
    // Highest first; ties in a stable order so the menu does not shuffle between refreshes.
    keys.sort_by(|(a, am), (b, bm)| bm.cmp(am).then_with(|| a.key_id.cmp(&b.key_id)));
    let top_keys = keys
        .into_iter()
        .take(TOP_KEYS)
        .map(|(row, micros)| {
            let key_id = row.key_id.clone().unwrap_or_default();
            let name = row.key_name.clone().unwrap_or_else(|| key_id.clone());
            TrayKey {
                source: row.source.clone().unwrap_or_default(),
                key_id,
                label: format!("{name}: {}", format_human(micros, &row.currency)),
            }
        })
        .collect();

    TrayStatus { level, reason, summary, top_keys, alerts_paused_until, as_of, stale }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budgets::BudgetPeriod;
    use crate::budgets::BudgetScopeKind;
    use crate::poll::SpendKind;

    fn now() -> DateTime<Utc> {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    fn budget(spent: &str, amount: &str, thresholds: &[u32]) -> BudgetView {
        BudgetView {
            id: 1,
            scope: "total".into(),
            scope_kind: BudgetScopeKind::Total,
            source: None,
            key_id: None,
            key_name: None,
            period: BudgetPeriod::Month,
            amount: amount.into(),
            currency: "USD".into(),
            thresholds: thresholds.to_vec(),
            created_at: "2026-11-01T00:00:00Z".into(),
            period_start: "2026-11-01".into(),
            period_end: "2026-11-30".into(),
            spent: spent.into(),
            estimated: false,
            spent_known: true,
            missing_rate: None,
            converted_from: vec![],
        }
    }

    fn row(key: &str, amount: &str, currency: &str) -> ReportRow {
        ReportRow {
            day: "2026-11-23".into(),
            source: Some("work".into()),
            provider: None,
            key_id: Some(key.into()),
            key_name: Some(format!("name-{key}")),
            model: None,
            model_name: None,
            currency: currency.into(),
            amount: amount.into(),
            kind: SpendKind::Billed,
        }
    }

    fn alert(kind: AlertKind, fired_at: &str) -> AlertView {
        AlertView::sample(kind, fired_at, "Spike on k1")
    }

    #[test]
    fn the_level_follows_the_worst_budget() {
        let s = |budgets: &[BudgetView]| tray_status(&[], budgets, &[], &[], None, &[], None, now());
        assert_eq!(s(&[]).level, TrayLevel::Normal);
        assert_eq!(s(&[budget("39.99", "50", &[50, 80, 100])]).level, TrayLevel::Normal);
        let warn = s(&[budget("40", "50", &[50, 80, 100])]);
        assert_eq!(warn.level, TrayLevel::Warning);
        assert_eq!(warn.reason.as_deref(), Some("Budget total monthly: 80 % of 50.00 USD"));
        // Custom thresholds: the highest one under 100 % is the warning line.
        assert_eq!(s(&[budget("40", "50", &[90, 100])]).level, TrayLevel::Normal);
        let over = s(&[budget("10", "50", &[]), budget("52", "50", &[50, 80, 100])]);
        assert_eq!(over.level, TrayLevel::Over);
        assert_eq!(over.reason.as_deref(), Some("Budget total monthly: 104 % of 50.00 USD"));
    }

    #[test]
    fn a_budget_with_a_missing_rate_warns_and_says_which_rate() {
        let s = |budgets: &[BudgetView]| tray_status(&[], budgets, &[], &[], None, &[], None, now());
        let missing = |spent: &str| BudgetView {
            spent_known: false,
            missing_rate: Some("missing rate for CNY since 2026-11-03".into()),
            converted_from: vec!["CNY".into()],
            id: 7,
            ..budget(spent, "50", &[50, 80, 100])
        };
        // 10 of 50 could be converted: unknown, not 20 %.
        let warn = s(&[missing("10")]);
        assert_eq!(
            (warn.level, warn.reason.as_deref()),
            (TrayLevel::Warning, Some("Budget #7: missing rate for CNY since 2026-11-03"))
        );
        // What could be converted passes the budget alone: over, at least.
        let over = s(&[missing("52")]);
        assert_eq!(
            (over.level, over.reason.as_deref()),
            (
                TrayLevel::Over,
                Some("Budget total monthly: at least 104 % of 50.00 USD (missing rate for CNY since 2026-11-03)")
            )
        );
        // A budget already over outranks another's missing rate.
        assert_eq!(s(&[missing("1"), budget("60", "50", &[100])]).level, TrayLevel::Over);
    }

    #[test]
    fn the_month_in_the_display_currency_is_one_converted_figure_or_unknown() {
        let mut conn = crate::db::open_in_memory().unwrap();
        crate::fx::import_csv(
            &mut conn,
            b"date,currency,rate\n2026-11-01,USD,1.25\n2026-11-02,USD,2\n2026-11-01,CNY,8\n",
            now(),
        )
        .unwrap();
        let range = crate::days::DayRange::new(
            crate::days::parse_day("2026-11-01").unwrap(),
            crate::days::parse_day("2026-11-23").unwrap(),
        )
        .unwrap();
        let on = |day: &str, amount: &str, currency: &str| ReportRow { day: day.into(), ..row("", amount, currency) };
        // 10 USD at 1.25 = 8 EUR, 10 USD at 2 = 5 EUR, 40 CNY at 8 = 5 EUR, 3 EUR as it is.
        let month = [
            on("2026-11-01", "10.000000", "USD"),
            on("2026-11-02", "10.000000", "USD"),
            on("2026-11-02", "40.000000", "CNY"),
            on("2026-11-03", "3.000000", "EUR"),
        ];
        let mut eur = Converter::load(&conn, "EUR", range).unwrap();
        let converted = month_converted(&month, &mut eur).unwrap().unwrap();
        assert_eq!(converted.amount.as_deref(), Some("21.000000"));
        let status = tray_status(&[], &[], &[], &month, Some(&converted), &[], None, now());
        assert_eq!(status.summary, "Today 0.00 USD · Month 40.00 CNY + 3.00 EUR + 20.00 USD ≈ 21.00 EUR");
        // A CNY day before any CNY rate: unknown, never the 5 EUR that converts.
        let range = crate::days::DayRange::new(
            crate::days::parse_day("2026-10-20").unwrap(),
            crate::days::parse_day("2026-11-23").unwrap(),
        )
        .unwrap();
        let late = [on("2026-11-02", "10.000000", "USD"), on("2026-10-20", "40.000000", "CNY")];
        let mut eur = Converter::load(&conn, "EUR", range).unwrap();
        let unknown = month_converted(&late, &mut eur).unwrap().unwrap();
        let status = tray_status(&[], &[], &[], &late, Some(&unknown), &[], None, now());
        assert!(status.summary.ends_with("≈ ? EUR (missing rate for CNY since 2026-10-20)"), "{}", status.summary);
        // Everything already in the display currency: nothing to add.
        let mut usd = Converter::load(&conn, "USD", range).unwrap();
        assert_eq!(month_converted(&month[..2], &mut usd).unwrap(), None);
    }

    #[test]
    fn a_recent_spike_or_forecast_warns_for_a_day() {
        let s = |alerts: &[AlertView]| tray_status(&[], &[], &[], &[], None, alerts, None, now()).level;
        assert_eq!(s(&[alert(AlertKind::Spike, "2026-11-23T02:00:00Z")]), TrayLevel::Warning);
        assert_eq!(s(&[alert(AlertKind::Forecast, "2026-11-22T12:00:00Z")]), TrayLevel::Warning);
        assert_eq!(s(&[alert(AlertKind::Spike, "2026-11-22T11:59:59Z")]), TrayLevel::Normal);
        // Threshold alerts are represented by the budget's own level, not by their age.
        assert_eq!(s(&[alert(AlertKind::Threshold, "2026-11-23T11:00:00Z")]), TrayLevel::Normal);
    }

    #[test]
    fn the_summary_keeps_currencies_apart_and_lists_top_keys() {
        let today = [
            row("k1", "1.500000", "USD"),
            row("k2", "12.000000", "USD"),
            row("k3", "3.000000", "CNY"),
            row("k4", "0.000000", "USD"),
        ];
        let month = [row("", "100.000000", "USD"), row("", "30.000000", "CNY")];
        let status = tray_status(&[], &[], &today, &month, None, &[], None, now());
        assert_eq!(status.summary, "Today 3.00 CNY + 13.50 USD · Month 30.00 CNY + 100.00 USD");
        let labels: Vec<_> = status.top_keys.iter().map(|k| k.label.as_str()).collect();
        assert_eq!(labels, ["name-k2: 12.00 USD", "name-k3: 3.00 CNY", "name-k1: 1.50 USD"], "no zero-spend key");
        assert_eq!(status.top_keys[0].key_id, "k2");
    }

    #[test]
    fn no_figures_before_a_first_sync_and_zero_only_after_one() {
        let status = tray_status(&[], &[], &[], &[], None, &[], None, now());
        assert_eq!(status.summary, "No sources yet: add one in the app");
        assert!(status.top_keys.is_empty());
        let waiting = [source("work", "2026-11-23T09:55:00Z", None)];
        let status = tray_status(&waiting, &[], &[], &[], None, &[], None, now());
        assert_eq!(status.summary, "No figures yet: waiting for a first sync");
        let synced = [source("work", "2026-11-23T09:00:00Z", Some(("2026-11-23T09:55:00Z", None)))];
        let status = tray_status(&synced, &[], &[], &[], None, &[], None, now());
        assert_eq!(status.summary, "Today 0.00 USD · Month 0.00 USD", "synced and nothing spent: zero is true");
    }

    #[test]
    fn at_most_five_keys_are_listed() {
        let today: Vec<_> = (0..8).map(|i| row(&format!("k{i}"), &format!("{}.000000", i + 1), "USD")).collect();
        let status = tray_status(&[], &[], &today, &[], None, &[], None, now());
        assert_eq!(status.top_keys.len(), TOP_KEYS);
        assert_eq!(status.top_keys[0].key_id, "k7");
    }

    fn source(name: &str, added: &str, last: Option<(&str, Option<&str>)>) -> SourceView {
        use crate::dto::{KeyStorage, SyncRunView};
        use crate::error::{ApiError, ErrorCode};
        SourceView {
            id: 1,
            name: name.into(),
            provider: crate::providers::ProviderId::Openrouter,
            base_url: "https://openrouter.ai/api/v1".into(),
            key_storage: KeyStorage::Env,
            key_env_var: Some("K".into()),
            key_fingerprint: None,
            cleartext_warning: None,
            created_at: added.into(),
            settings: Default::default(),
            last_sync: last.map(|(at, failed)| SyncRunView {
                finished_at: at.into(),
                ok: failed.is_none(),
                rows_written: 0,
                error: failed.map(|m| ApiError { code: ErrorCode::KeyRejected, message: m.into() }),
            }),
        }
    }

    #[test]
    fn figures_are_as_of_the_latest_sync_and_a_source_is_stale_after_two_intervals() {
        // OpenRouter polls every 10 minutes: stale 20 minutes after its last good sync.
        let fresh = source("fresh", "2026-11-01T00:00:00Z", Some(("2026-11-23T11:45:00Z", None)));
        let late = source("late", "2026-11-01T00:00:00Z", Some(("2026-11-23T11:39:00Z", None)));
        let (as_of, stale) = freshness(&[fresh.clone(), late], now());
        assert_eq!(as_of.as_deref(), Some("2026-11-23T11:45:00Z"));
        assert_eq!(
            stale,
            vec![StaleSource { source: "late".into(), reason: "no sync since 2026-11-23 11:39 UTC".into() }]
        );
        let status = tray_status(&[fresh], &[], &[], &[], None, &[], None, now());
        assert_eq!((status.as_of.as_deref(), status.stale.len()), (Some("2026-11-23T11:45:00Z"), 0));
    }

    #[test]
    fn a_failed_sync_is_stale_at_once_and_a_new_source_only_after_two_intervals() {
        let failed =
            source("bad", "2026-11-01T00:00:00Z", Some(("2026-11-23T11:58:00Z", Some("the key was rejected"))));
        let new = source("new", "2026-11-23T11:55:00Z", None);
        let forgotten = source("forgotten", "2026-11-23T11:00:00Z", None);
        let (as_of, stale) = freshness(&[failed, new, forgotten], now());
        assert_eq!(as_of, None, "no source has synced successfully");
        let reasons: Vec<(&str, &str)> = stale.iter().map(|s| (s.source.as_str(), s.reason.as_str())).collect();
        assert_eq!(reasons, vec![("bad", "last sync failed: the key was rejected"), ("forgotten", "never synced")]);
    }
}
