//! `Burnrate::metrics` (what a Prometheus scrape or `burnrate metrics` costs) over a month of
//! 200 keys × 10 models × 31 days in one source, from a real ledger file seeded through the CSV
//! import, with the default cap (top 50 keys and models, the rest as other) and without one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use burnrate_core::clock::FixedClock;
use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::metrics::ExpositionFormat;
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::{HttpClient, ProviderId};
use burnrate_core::secrets::MemoryStore;
use burnrate_core::Burnrate;
use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let last = first + Days::days(30);
    let core = Burnrate::new(
        Paths::new(dir.path()),
        Box::new(FixedClock(Utc.from_utc_datetime(&last.and_hms_opt(20, 0, 0).unwrap()))),
        Box::new(HashMap::<String, String>::from([("BENCH_FAKE_KEY".into(), "sk-FAKE-bench-0000".into())])),
        Box::new(MemoryStore::default()),
        HttpClient::new(Duration::from_secs(5), RetryPolicy::default()).unwrap(),
    );
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openai,
        name: "bench".into(),
        base_url: None,
        key: KeyInput::Env { var: "BENCH_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap();
    let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
    for d in 0..31 {
        let day = first + Days::days(d);
        for k in 0..200 {
            for m in 0..10 {
                let amount = 1 + (d * 7 + k * 13 + m * 3) % 50;
                writeln!(csv, "{day},0.{amount:02},USD,key_FAKE_{k:03},Key {k:03},model-{m},billed").unwrap();
            }
        }
    }
    core.import_csv("bench", CsvFormat::Generic, csv.as_bytes()).unwrap();
    // The parts: the ledger read behind the spend series, and the month's unpriced tokens.
    let query = burnrate_core::dto::ReportQuery {
        by: vec![Dimension::Source, Dimension::Key, Dimension::Model],
        from: Some(first.to_string()),
        to: Some(last.to_string()),
    };
    let t = Instant::now();
    let rows = core.daily_report(&query).unwrap().len();
    println!("  of which daily_report by source, key, model: {:.1} ms ({rows} rows)", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    core.unpriced(Some(first.to_string()), Some(last.to_string())).unwrap();
    println!("  of which unpriced: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    for top_n in ["50", "10000"] {
        core.set_setting("metrics_top_n", top_n).unwrap();
        for format in [ExpositionFormat::OpenMetrics, ExpositionFormat::PrometheusText] {
            let mut times = Vec::new();
            let mut text = String::new();
            for _ in 0..11 {
                let t = Instant::now();
                text = core.metrics(format).unwrap();
                times.push(t.elapsed());
            }
            times.sort();
            let series = text.lines().filter(|l| !l.starts_with('#')).count();
            println!(
                "metrics, 200 keys × 10 models × 31 days, metrics_top_n {top_n:>5}, {format:?}: {:.1} ms median, \
                 {:.1} ms max of 11; {series} series, {} KB",
                times[5].as_secs_f64() * 1e3,
                times[10].as_secs_f64() * 1e3,
                text.len() / 1024
            );
        }
    }
}
