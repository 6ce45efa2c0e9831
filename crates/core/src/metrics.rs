//! Prometheus/OpenMetrics exposition of what Burnrate knows: spend today and this month per
//! source, key and model, budgets, balances, source health, unpriced tokens and alerts. The
//! metric names are a contract (alert rules and dashboards are written against them; see
//! docs/metrics.md). `burnrate metrics` writes it; `burnrate serve` answers scrapes with it.
//!
//! Money is a float in the currency's units here and only here: the exposition formats have no
//! other number. The figures come from the same counting rule as `report daily`
//! ([`crate::ledger::daily_report`]), so the series of a source and currency add up to its
//! `report daily --by source` total.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Days, NaiveDate};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rusqlite::Connection;

use crate::alerts::{engine, forecast};
use crate::api::Burnrate;
use crate::budgets::{self, LocalPeriod};
use crate::days::DayRange;
use crate::error::{Error, Result};
use crate::ledger::{counted_rows, Names, NOT_ATTRIBUTED_TO_A_KEY};
use crate::money::parse_micros;

/// The label value of the keys and models folded together beyond `metrics_top_n`.
pub const OTHER: &str = "other";

/// Which text format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpositionFormat {
    /// OpenMetrics 1.0 text (what Prometheus asks for first).
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (node_exporter's textfile collector, older scrapers).
    PrometheusText,
}

impl ExpositionFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ExpositionFormat::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// OpenMetrics when the scraper's Accept header names it, else the 0.0.4 text format every
    /// scraper reads.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.to_ascii_lowercase().contains("application/openmetrics-text") => ExpositionFormat::OpenMetrics,
            _ => ExpositionFormat::PrometheusText,
        }
    }
}

type Labels = Vec<(&'static str, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>;

/// Micro-units as a float in the currency's units.
fn units(micros: i64) -> f64 {
    // Exact for any amount below 2^53 micro-units (9 billion units): far beyond a bound the
    // ledger accepts per day.
    micros as f64 / crate::money::MICROS_PER_UNIT as f64
}

/// One spend series: (source, provider, key, key_name, env, model, currency, kind).
type SpendSeries = (String, String, String, String, String, String, String, &'static str);

/// (source id, key, model, currency, billed) of the ledger's counted rows.
type SpendGroup = (i64, String, String, String, bool);

/// Spend of the month to date per source, key, model, currency and kind, with keys and models
/// beyond the top `top_n` per source folded into `other`: (today, month to date) micro-units.
///
/// Read through [`crate::ledger::counted_rows`], the rule behind `report daily`, grouped by
/// source, key and model: so per source and currency the series add up to `report daily --by
/// source` (spend a grouping cannot attribute is a row without key or model, never dropped).
pub(crate) fn spend_series(
    conn: &Connection,
    today: NaiveDate,
    top_n: u32,
) -> Result<BTreeMap<SpendSeries, (i64, i64)>> {
    let month_start = today.with_day(1).expect("day 1 exists");
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, true, true, DayRange::new(month_start, today)?)?;
    let names = Names::load(&tx, true, true)?;
    // Environments are the user's labels of keys: (source id, key id) -> dev|staging|prod.
    let mut envs: HashMap<(i64, String), String> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT source_id, provider_key_id, environment FROM api_keys WHERE environment IS NOT NULL",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            envs.insert((r.get(0)?, r.get(1)?), r.get(2)?);
        }
    }
    tx.commit()?;
    let today_ts = crate::days::day_start(today);
    // (source id, key, model, currency, billed) -> (today, month to date).
    let mut grouped: HashMap<SpendGroup, (i64, i64)> = HashMap::new();
    // Month-to-date per (source, key) and (source, model), for the top N.
    let mut key_rank: HashMap<(i64, String), i64> = HashMap::new();
    let mut model_rank: HashMap<(i64, String), i64> = HashMap::new();
    for r in rows {
        if !r.key.is_empty() {
            let e = key_rank.entry((r.source, r.key.clone())).or_default();
            *e = e.saturating_add(r.amount);
        }
        if !r.model.is_empty() {
            let e = model_rank.entry((r.source, r.model.clone())).or_default();
            *e = e.saturating_add(r.amount);
        }
        let e = grouped.entry((r.source, r.key, r.model, r.currency, r.billed)).or_default();
        if r.day == today_ts {
            e.0 = e.0.checked_add(r.amount).ok_or_else(crate::money::sum_overflow)?;
        }
        e.1 = e.1.checked_add(r.amount).ok_or_else(crate::money::sum_overflow)?;
    }
    let kept_keys = top(key_rank, top_n);
    let kept_models = top(model_rank, top_n);
    let mut series: BTreeMap<SpendSeries, (i64, i64)> = BTreeMap::new();
    for ((source, key, model, currency, billed), (day, month)) in grouped {
        // Spend not attributed to a key or model keeps its own series (one per source).
        let (key, key_name, env) = if key.is_empty() {
            (key, NOT_ATTRIBUTED_TO_A_KEY.to_owned(), String::new())
        } else if kept_keys.contains(&(source, key.clone())) {
            let env = envs.get(&(source, key.clone())).cloned().unwrap_or_default();
            let name = names.key_name(source, &key);
            (key, name, env)
        } else {
            (OTHER.to_owned(), OTHER.to_owned(), String::new())
        };
        let model =
            if model.is_empty() || kept_models.contains(&(source, model.clone())) { model } else { OTHER.to_owned() };
        let kind = if billed { "billed" } else { "estimated" };
        let provider = names.provider(source).map(|p| p.as_str().to_owned()).unwrap_or_default();
        let e =
            series.entry((names.source_name(source), provider, key, key_name, env, model, currency, kind)).or_default();
        e.0 = e.0.checked_add(day).ok_or_else(crate::money::sum_overflow)?;
        e.1 = e.1.checked_add(month).ok_or_else(crate::money::sum_overflow)?;
    }
    Ok(series)
}

/// The `n` largest of each source by amount (ties by name, so a scrape is stable).
fn top(amounts: HashMap<(i64, String), i64>, n: u32) -> HashSet<(i64, String)> {
    let mut by_source: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for ((source, name), amount) in amounts {
        by_source.entry(source).or_default().push((amount, name));
    }
    let mut kept = HashSet::new();
    for (source, mut names) in by_source {
        names.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, name) in names.into_iter().take(n as usize) {
            kept.insert((source, name));
        }
    }
    kept
}

fn gauge(registry: &mut Registry, name: &str, help: &str) -> GaugeFamily {
    let family = GaugeFamily::default();
    registry.register(name, help, family.clone());
    family
}

/// Sets one series. Label values are provider-supplied text: the encoder escapes `\\`, `"` and
/// line breaks, and here every line break and control or bidirectional character is made inert
/// first, so a dashboard shows one line of what the name says. Added, not set: two names that
/// differ only in such characters become one series carrying both amounts, so totals stay right.
fn set(family: &GaugeFamily, mut labels: Labels, value: f64) {
    for (_, v) in &mut labels {
        if let std::borrow::Cow::Owned(clean) = crate::text::single_line(v) {
            *v = clean;
        }
    }
    family.get_or_create(&labels).inc_by(value);
}

impl Burnrate {
    /// Every metric as of the core's clock (`BURNRATE_NOW` honoured), in `format`.
    pub fn metrics(&self, format: ExpositionFormat) -> Result<String> {
        let now = self.clock.now();
        // The headline's today and month: UTC days, as providers report them.
        let today = now.date_naive();
        let sources = self.list_sources()?;
        let budget_views = self.list_budgets()?;
        let unpriced =
            self.unpriced(Some(today.with_day(1).expect("day 1 exists").to_string()), Some(today.to_string()))?;
        let conn = self.open()?;
        let settings = self.settings_in(&conn)?;
        let mut registry = Registry::default();

        let info = gauge(&mut registry, "burnrate_info", "Burnrate's version; always 1");
        set(&info, vec![("version", env!("CARGO_PKG_VERSION").to_owned())], 1.0);

        let spend_today = gauge(
            &mut registry,
            "burnrate_spend_today",
            "Spend of the current UTC day in the currency's units, as report daily counts it (providers revise recent days, so a gauge)",
        );
        let spend_month = gauge(
            &mut registry,
            "burnrate_spend_month_to_date",
            "Spend of the current UTC month to date in the currency's units, as report daily counts it",
        );
        for ((source, provider, key, key_name, env, model, currency, kind), (day, month)) in
            spend_series(&conn, today, settings.metrics_top_n)?
        {
            let labels = vec![
                ("source", source),
                ("provider", provider),
                ("key", key),
                ("key_name", key_name),
                ("env", env),
                ("model", model),
                ("currency", currency),
                ("kind", kind.to_owned()),
            ];
            set(&spend_today, labels.clone(), units(day));
            set(&spend_month, labels, units(month));
        }

        let limit = gauge(&mut registry, "burnrate_budget_limit", "A budget's amount in its currency's units");
        let spent = gauge(&mut registry, "burnrate_budget_spent", "What a budget's scope spent in its current period");
        let projected = gauge(
            &mut registry,
            "burnrate_budget_forecast",
            "A budget's projected spend at its period's end (absent with under 3 days of history)",
        );
        let local_today = now.with_timezone(&settings.zone).date_naive();
        let stored_budgets = budgets::list(&conn)?;
        for v in &budget_views {
            let labels = vec![
                ("budget", v.id.to_string()),
                ("scope", v.scope.clone()),
                ("period", v.period.as_str().to_owned()),
                ("currency", v.currency.clone()),
            ];
            set(&limit, labels.clone(), units(parse_micros(&v.amount)?));
            // A spend with a missing exchange rate is unknown: absent, never a smaller number.
            if v.spent_known {
                set(&spent, labels.clone(), units(parse_micros(&v.spent)?));
            }
            if let Some(b) = stored_budgets.iter().find(|b| b.id == v.id) {
                let period = b.period.containing(local_today);
                // The pace looks back a week before the period, like the forecast alerts.
                let history_from = period.start - Days::new(u64::from(forecast::PACE_WINDOW_DAYS));
                let history = engine::period_spend(
                    &conn,
                    b,
                    LocalPeriod { start: history_from, end: local_today.max(history_from) },
                )?;
                if let Some(f) =
                    forecast::project(&history.daily, period.start, period.end, local_today, b.amount_micros)
                        .filter(|_| history.missing.is_none())
                {
                    set(&projected, labels, units(f.projected_micros));
                }
            }
        }

        let balance = gauge(&mut registry, "burnrate_balance", "Prepaid credit left, as the provider last reported it");
        let mut stmt = conn.prepare_cached(
            "SELECT s.name, s.provider, b.currency, b.balance_micros
             FROM balance_snapshots b JOIN sources s ON s.id = b.source_id
             WHERE b.key_id = '' AND b.balance_micros IS NOT NULL
               AND b.id = (SELECT b2.id FROM balance_snapshots b2
                           WHERE b2.source_id = b.source_id AND b2.currency = b.currency AND b2.key_id = ''
                             AND b2.balance_micros IS NOT NULL
                           ORDER BY b2.taken_at DESC, b2.id DESC LIMIT 1)",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            set(
                &balance,
                vec![("source", r.get(0)?), ("provider", r.get(1)?), ("currency", r.get(2)?)],
                units(r.get(3)?),
            );
        }
        drop(q);
        drop(stmt);

        let multiplier = gauge(
            &mut registry,
            "burnrate_gateway_price_multiplier",
            "Billed over list price measured by a gateway assessment's latest paid test (1 = list price)",
        );
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.name, json_extract(r.result, '$.multiplier_bp') FROM assessments a
             JOIN smoke_runs r ON r.id = (SELECT r2.id FROM smoke_runs r2 WHERE r2.assessment_id = a.id
                                          ORDER BY r2.finished_at DESC, r2.id DESC LIMIT 1)",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let bp: Option<i64> = r.get(2).ok().flatten();
            if let Some(bp) = bp {
                let id: i64 = r.get(0)?;
                set(&multiplier, vec![("assessment", id.to_string()), ("gateway", r.get(1)?)], bp as f64 / 10_000.0);
            }
        }
        drop(q);
        drop(stmt);

        let up = gauge(&mut registry, "burnrate_source_up", "1 when the source's last sync succeeded, else 0");
        let last_success = gauge(
            &mut registry,
            "burnrate_source_last_success_timestamp_seconds",
            "When the source last synced successfully (Unix seconds)",
        );
        let interval = gauge(
            &mut registry,
            "burnrate_source_poll_interval_seconds",
            "How often the app polls the source (stale after two intervals without a success)",
        );
        for s in &sources {
            let labels = vec![("source", s.name.clone()), ("provider", s.provider.as_str().to_owned())];
            set(&up, labels.clone(), if s.last_sync.as_ref().is_some_and(|r| r.ok) { 1.0 } else { 0.0 });
            let last: Option<i64> = conn.query_row(
                "SELECT MAX(finished_at) FROM sync_runs WHERE source_id = ?1 AND ok = 1",
                [s.id],
                |r| r.get(0),
            )?;
            if let Some(t) = last {
                set(&last_success, labels.clone(), t as f64);
            }
            set(&interval, labels, s.provider.poll_interval().as_secs_f64());
        }

        let unpriced_tokens = gauge(
            &mut registry,
            "burnrate_unpriced_tokens",
            "Tokens of the current UTC month that no list price covers",
        );
        let mut unpriced_sum: BTreeMap<(String, String), i64> = BTreeMap::new();
        for u in unpriced.into_iter().filter(|u| !u.priced_since) {
            let e = unpriced_sum.entry((u.source, u.model)).or_default();
            *e = e.saturating_add(u.tokens);
        }
        for ((source, model), tokens) in unpriced_sum {
            set(&unpriced_tokens, vec![("source", source), ("model", model)], tokens as f64);
        }

        let alerts = Family::<Labels, Counter>::default();
        registry.register("burnrate_alerts", "Alerts recorded in the ledger, by kind, all time", alerts.clone());
        let mut stmt = conn.prepare_cached("SELECT kind, COUNT(*) FROM alerts GROUP BY kind")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let n: i64 = r.get(1)?;
            alerts.get_or_create(&vec![("kind", r.get(0)?)]).inc_by(u64::try_from(n).unwrap_or(0));
        }
        drop(q);
        drop(stmt);

        let mut text = String::new();
        encode(&mut text, &registry).map_err(|e| Error::internal(format!("cannot write the metrics: {e}")))?;
        let text = sorted_samples(&text);
        Ok(match format {
            ExpositionFormat::OpenMetrics => text,
            ExpositionFormat::PrometheusText => to_prometheus_text(&text),
        })
    }
}

/// The text with each family's samples in label order: the registry keeps series in a hash
/// map, and a scrape (or a textfile) that reads the same for the same ledger diffs cleanly.
fn sorted_samples(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut samples: Vec<&str> = Vec::new();
    let flush = |samples: &mut Vec<&str>, out: &mut String| {
        samples.sort_unstable();
        for s in samples.drain(..) {
            out.push_str(s);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut samples, &mut out);
            out.push_str(line);
            out.push('\n');
        } else {
            samples.push(line);
        }
    }
    flush(&mut samples, &mut out);
    out
}

/// The 0.0.4 text format from OpenMetrics text: no `# EOF` nor `# UNIT`, and a counter's
/// `# HELP`/`# TYPE` name carries the `_total` its samples carry (0.0.4 has no families).
pub fn to_prometheus_text(open_metrics: &str) -> String {
    let mut counters: Vec<String> = Vec::new();
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.push(name.to_owned());
            }
        }
    }
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let mut renamed = None;
        for prefix in ["# HELP ", "# TYPE "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let name = rest.split(' ').next().unwrap_or("");
                if counters.iter().any(|c| c == name) {
                    renamed = Some(format!("{prefix}{name}_total{}", &rest[name.len()..]));
                }
            }
        }
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Writes `text` to `path` so a reader (node_exporter's textfile collector) never sees half a
/// file: a temporary file in the same directory, flushed, then renamed over `path`.
pub fn write_atomically(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let fail = |e: std::io::Error| {
        Error::invalid_input(format!(
            "cannot write the metrics to {}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    };
    let mut tmp =
        tempfile::Builder::new().prefix(".burnrate-metrics-").suffix(".tmp").tempfile_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    // Scrapers run as another user: the file is readable like one written with `>`.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(fail)?;
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
