//! `Burnrate::metrics` over a real ledger: the cardinality cap (`metrics_top_n`) folds keys
//! and models beyond the top N per source into `other` without changing any total, and the
//! exposition format follows the scraper's Accept header.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput, ReportQuery};
use burnrate_core::import::CsvFormat;
use burnrate_core::metrics::ExpositionFormat;
use burnrate_core::providers::ProviderId;

use crate::common::TestCore;

fn label<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 2;
    let len = line[start..].find('"').unwrap();
    &line[start..start + len]
}

/// Micro-units per (source, currency) of one metric's samples.
fn totals(text: &str, metric: &str) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with(&format!("{metric}{{"))) {
        let value: f64 = line.rsplit_once(' ').unwrap().1.parse().unwrap();
        *out.entry((label(line, "source").to_owned(), label(line, "currency").to_owned())).or_default() +=
            (value * 1e6).round() as i64;
    }
    out
}

#[test]
fn two_hundred_keys_by_ten_models_fold_beyond_the_top_50_and_keep_the_totals() {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path()).env(&[("METRICS_FAKE_KEY", "sk-FAKE-metrics-0001")]).build();
    for name in ["one", "two"] {
        core.add_source(&AddSourceRequest {
            provider: ProviderId::Openai,
            name: name.into(),
            base_url: None,
            key: KeyInput::Env { var: "METRICS_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
    }
    // 200 keys × 10 models on two days (NOW is 2026-03-02), amounts that differ per key so the
    // top 50 are the ones with the larger figures; plus spend attributed to no key or model.
    for (source, scale) in [("one", 1), ("two", 3)] {
        let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
        for day in ["2026-03-01", "2026-03-02"] {
            for k in 0..200 {
                for m in 0..10 {
                    writeln!(csv, "{day},{}.{:02},USD,key_{k:03},Key {k:03},model-{m},billed", k * scale, m * 7)
                        .unwrap();
                }
            }
            writeln!(csv, "{day},5,USD,,,,billed").unwrap();
        }
        core.import_csv(source, CsvFormat::Generic, csv.as_bytes()).unwrap();
    }
    assert_eq!(core.get_settings().unwrap().metrics_top_n, 50, "the default");
    core.set_key_environment("one", "key_199", Some("prod")).unwrap();
    let text = core.metrics(ExpositionFormat::OpenMetrics).unwrap();
    assert_eq!(text, core.metrics(ExpositionFormat::OpenMetrics).unwrap(), "the same ledger, the same text");

    for source in ["one", "two"] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("burnrate_spend_month_to_date{") && label(l, "source") == source)
            .collect();
        let keys: BTreeSet<&str> = lines.iter().map(|l| label(l, "key")).filter(|k| !k.is_empty()).collect();
        let models: BTreeSet<&str> = lines.iter().map(|l| label(l, "model")).filter(|m| !m.is_empty()).collect();
        assert_eq!(keys.len(), 51, "top 50 + other in {source}: {keys:?}");
        assert!(keys.contains("other") && keys.contains("key_199") && !keys.contains("key_000"), "{keys:?}");
        assert_eq!(models.len(), 10, "ten models stay under the cap");
        // A key's environment label rides along; folded keys have none.
        let envs: BTreeSet<(&str, &str)> = lines.iter().map(|l| (label(l, "key"), label(l, "env"))).collect();
        let prod = if source == "one" { "prod" } else { "" };
        assert!(envs.contains(&("key_199", prod)) && envs.contains(&("other", "")), "{envs:?}");
        // The unattributed spend keeps its own series.
        assert!(lines.iter().any(|l| label(l, "key").is_empty() && label(l, "key_name") == "not attributed to a key"));
    }

    // The same total per source and currency as report daily --by source.
    let mut reference: BTreeMap<(String, String), i64> = BTreeMap::new();
    let query =
        ReportQuery { by: vec![Dimension::Source], from: Some("2026-03-01".into()), to: Some("2026-03-02".into()) };
    for r in core.daily_report(&query).unwrap() {
        *reference.entry((r.source.unwrap(), r.currency)).or_default() +=
            burnrate_core::money::parse_micros(&r.amount).unwrap();
    }
    assert_eq!(reference.len(), 2);
    assert_eq!(totals(&text, "burnrate_spend_month_to_date"), reference);

    // A smaller cap folds models too, still without changing a total.
    core.set_setting("metrics_top_n", "3").unwrap();
    let text = core.metrics(ExpositionFormat::PrometheusText).unwrap();
    let models: BTreeSet<&str> =
        text.lines().filter(|l| l.starts_with("burnrate_spend_today{")).map(|l| label(l, "model")).collect();
    assert_eq!(models, BTreeSet::from(["", "model-7", "model-8", "model-9", "other"]));
    assert_eq!(totals(&text, "burnrate_spend_month_to_date"), reference);
    assert!(core.set_setting("metrics_top_n", "0").is_err() && core.set_setting("metrics_top_n", "10001").is_err());
}

#[test]
fn the_format_follows_the_accept_header() {
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    assert_eq!(ExpositionFormat::from_accept(Some(om)), ExpositionFormat::OpenMetrics);
    let prometheus_default = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(ExpositionFormat::from_accept(Some(prometheus_default)), ExpositionFormat::OpenMetrics);
    assert_eq!(ExpositionFormat::from_accept(Some("text/plain")), ExpositionFormat::PrometheusText);
    assert_eq!(ExpositionFormat::from_accept(None), ExpositionFormat::PrometheusText);
    assert_eq!(ExpositionFormat::OpenMetrics.content_type(), om);
    assert_eq!(ExpositionFormat::PrometheusText.content_type(), "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn counters_carry_total_in_both_formats() {
    let text =
        "# HELP a_b Alerts.\n# TYPE a_b counter\na_b_total{kind=\"x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1.0\n# EOF\n";
    assert_eq!(
        burnrate_core::metrics::to_prometheus_text(text),
        "# HELP a_b_total Alerts.\n# TYPE a_b_total counter\na_b_total{kind=\"x\"} 3\n# HELP g G.\n# TYPE g gauge\ng 1.0\n"
    );
}

/// The value of the one sample of `metric` whose labels include every `label="value"` given.
fn value(text: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter(|l| labels.iter().all(|(k, v)| label(l, k) == *v))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
    found.first().copied()
}

#[test]
fn budgets_balances_health_and_the_gateway_multiplier() {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-03-10T18:00:00Z")
        .env(&[("METRICS_FAKE_KEY", "sk-FAKE-metrics-0001")])
        .build();
    let mut ids = Vec::new();
    for (provider, name) in
        [(ProviderId::Openai, "work"), (ProviderId::Deepseek, "deep"), (ProviderId::Openrouter, "down")]
    {
        ids.push(
            core.add_source(&AddSourceRequest {
                provider,
                name: name.into(),
                base_url: None,
                key: KeyInput::Env { var: "METRICS_FAKE_KEY".into() },
                settings: None,
            })
            .unwrap()
            .id,
        );
    }
    // 10 USD a day in work from 1 March to yesterday, 4 USD today (as in the headline's test).
    let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
    for d in 1..=9 {
        csv += &format!("2026-03-{d:02},10,USD,key_FAKE_a,Alpha,gpt-5,billed\n");
    }
    csv += "2026-03-10,4,USD,key_FAKE_a,Alpha,gpt-5,billed\n";
    core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    core.add_budget(&burnrate_core::budgets::AddBudgetRequest {
        scope: "total".into(),
        period: "month".into(),
        amount: "200".into(),
        currency: Some("USD".into()),
        thresholds: None,
    })
    .unwrap();
    let at = 1_773_165_600; // 2026-03-10T18:00:00Z
    {
        let db = rusqlite::Connection::open(core.paths.db_path()).unwrap();
        // work and deep synced; down synced once, then failed.
        for (source, finished, ok) in
            [(ids[0], at - 600, 1), (ids[1], at - 300, 1), (ids[2], at - 7200, 1), (ids[2], at - 60, 0)]
        {
            db.execute(
                "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok) VALUES (?1, ?2, ?2, 0, 0, ?3)",
                rusqlite::params![source, finished, ok],
            )
            .unwrap();
        }
        db.execute(
            "INSERT INTO balance_snapshots (source_id, key_id, taken_at, currency, balance_micros) VALUES (?1, '', ?2, 'CNY', 30000000)",
            rusqlite::params![ids[1], at - 300],
        )
        .unwrap();
        // Two gateway assessments: the latest paid test of one measured 1.25 × list price (an
        // older one 1.1); the other's measured nothing.
        for (id, name) in [(1, "relay-a"), (2, "relay-b")] {
            db.execute(
                "INSERT INTO assessments (id, name, base_url, claim, created_at, updated_at) VALUES (?1, ?2, 'https://relay.example', 'official', 1, 1)",
                rusqlite::params![id, name],
            )
            .unwrap();
        }
        for (assessment, finished, result) in [
            (1, 10, r#"{"multiplier_bp":11000}"#),
            (1, 20, r#"{"multiplier_bp":12500}"#),
            (2, 30, r#"{"multiplier_bp":null}"#),
        ] {
            db.execute(
                "INSERT INTO smoke_runs (assessment_id, started_at, finished_at, result) VALUES (?1, ?2, ?2, ?3)",
                rusqlite::params![assessment, finished, result],
            )
            .unwrap();
        }
    }
    let text = core.metrics(ExpositionFormat::OpenMetrics).unwrap();
    let budget = [("scope", "total"), ("period", "month"), ("currency", "USD")];
    assert_eq!(value(&text, "burnrate_budget_limit", &budget), Some(200.0));
    assert_eq!(value(&text, "burnrate_budget_spent", &budget), Some(94.0));
    // Pace 10 a day: 94 + 21 × 10, what the headline forecasts.
    assert_eq!(value(&text, "burnrate_budget_forecast", &budget), Some(304.0));
    assert_eq!(value(&text, "burnrate_balance", &[("source", "deep"), ("currency", "CNY")]), Some(30.0));
    assert_eq!(value(&text, "burnrate_spend_today", &[("source", "work"), ("key", "key_FAKE_a")]), Some(4.0));
    assert_eq!(value(&text, "burnrate_spend_month_to_date", &[("source", "work")]), Some(94.0));
    for (source, up, last) in [("work", 1.0, at - 600), ("deep", 1.0, at - 300), ("down", 0.0, at - 7200)] {
        assert_eq!(value(&text, "burnrate_source_up", &[("source", source)]), Some(up), "{source}");
        let seen = value(&text, "burnrate_source_last_success_timestamp_seconds", &[("source", source)]);
        assert_eq!(seen, Some(last as f64), "{source}");
    }
    assert_eq!(value(&text, "burnrate_source_poll_interval_seconds", &[("source", "down")]), Some(600.0));
    assert_eq!(value(&text, "burnrate_gateway_price_multiplier", &[("gateway", "relay-a")]), Some(1.25));
    assert_eq!(value(&text, "burnrate_gateway_price_multiplier", &[("gateway", "relay-b")]), None);
    assert!(value(&text, "burnrate_info", &[]).is_some_and(|v| v == 1.0));
}
