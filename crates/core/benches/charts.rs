//! Chart rendering: a 90-day × 20-key stacked daily chart (top 8 + other) as SVG, from a real
//! ledger file seeded through the CSV import, query included. Target: ≤ 20 ms.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use burnrate_core::charts::{ChartKind, ChartQuery, ChartTheme};
use burnrate_core::clock::FixedClock;
use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::{HttpClient, ProviderId};
use burnrate_core::secrets::MemoryStore;
use burnrate_core::Burnrate;
use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let last = first + Days::days(89);
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
    for d in 0..90 {
        for k in 0..20 {
            let amount = 1 + (d * 7 + k * 13) % 50;
            let day = first + Days::days(d);
            writeln!(csv, "{day},{amount}.{:02},USD,key_FAKE_{k:02},Key {k:02},gpt-5,billed", (d + k) % 100).unwrap();
        }
    }
    core.import_csv("bench", CsvFormat::Generic, csv.as_bytes()).unwrap();
    let query = ChartQuery {
        kind: ChartKind::Daily,
        by: Dimension::Key,
        from: Some(first.to_string()),
        to: Some(last.to_string()),
        currency: None,
        top: None,
        theme: ChartTheme::Light,
        width: None,
        height: None,
        convert_to: None,
    };
    let view = core.chart(&query).unwrap();
    assert_eq!(view.series.len(), 9, "top 8 + other");
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let view = core.chart(&query).unwrap();
        times.push(t.elapsed());
        assert!(view.svg.len() > 10_000);
    }
    times.sort();
    println!(
        "daily chart, 90 days × 20 keys, SVG: {:.1} ms median, {:.1} ms max of 21 ({} bars, {} KB SVG)",
        times[10].as_secs_f64() * 1e3,
        times[20].as_secs_f64() * 1e3,
        view.bars.len(),
        view.svg.len() / 1024
    );
    let cumulative = ChartQuery { kind: ChartKind::Cumulative, ..query };
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        core.chart(&cumulative).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!("cumulative month-to-date chart:       {:.1} ms median", times[10].as_secs_f64() * 1e3);
    dashboard_over_a_million_rows();
}

/// The dashboard's reads (key table, 30-day chart by key, month-to-date chart, tray summary)
/// over a ledger of 1,000,000 spend rows: 200 keys × 10 models × 500 days.
fn dashboard_over_a_million_rows() {
    let dir = tempfile::tempdir().unwrap();
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = first + Days::days(499);
    let core = Burnrate::new(
        Paths::new(dir.path()),
        Box::new(FixedClock(Utc.from_utc_datetime(&last.and_hms_opt(20, 0, 0).unwrap()))),
        Box::new(HashMap::<String, String>::from([("BENCH_FAKE_KEY".into(), "sk-FAKE-bench-0000".into())])),
        Box::new(MemoryStore::default()),
        HttpClient::new(Duration::from_secs(5), RetryPolicy::default()).unwrap(),
    );
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openai,
        name: "big".into(),
        base_url: None,
        key: KeyInput::Env { var: "BENCH_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap();
    // Imported in 50-day files (an import replaces its own days only).
    for part in 0..10 {
        let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
        for d in part * 50..(part + 1) * 50 {
            let day = first + Days::days(d);
            for k in 0..200 {
                for m in 0..10 {
                    writeln!(
                        csv,
                        "{day},0.{:04},USD,key_FAKE_{k:03},,model-{m},billed",
                        1 + (d * 7 + k * 3 + m) % 9000
                    )
                    .unwrap();
                }
            }
        }
        core.import_csv("big", CsvFormat::Generic, csv.as_bytes()).unwrap();
    }
    let daily = ChartQuery {
        kind: ChartKind::Daily,
        by: Dimension::Key,
        from: Some((last - Days::days(29)).to_string()),
        to: Some(last.to_string()),
        currency: None,
        top: None,
        theme: ChartTheme::Light,
        width: None,
        height: None,
        convert_to: None,
    };
    let cumulative = ChartQuery { kind: ChartKind::Cumulative, ..daily.clone() };
    let mut parts: Vec<(&str, Vec<Duration>)> = vec![
        ("key table", vec![]),
        ("30-day chart by key", vec![]),
        ("month-to-date chart", vec![]),
        ("tray summary", vec![]),
    ];
    for _ in 0..7 {
        let t = Instant::now();
        assert_eq!(core.key_table().unwrap().len(), 200);
        parts[0].1.push(t.elapsed());
        let t = Instant::now();
        core.chart(&daily).unwrap();
        parts[1].1.push(t.elapsed());
        let t = Instant::now();
        core.chart(&cumulative).unwrap();
        parts[2].1.push(t.elapsed());
        let t = Instant::now();
        core.tray_status().unwrap();
        parts[3].1.push(t.elapsed());
    }
    let mut headline = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        core.spend_headline().unwrap();
        headline.push(t.elapsed());
    }
    parts.push(("headline", headline));
    let mut total = 0.0;
    for (name, mut times) in parts {
        times.sort();
        let ms = times[3].as_secs_f64() * 1e3;
        if name != "headline" {
            total += ms;
        }
        println!("dashboard over 1,000,000 rows, {name:>20}: {ms:6.1} ms median");
    }
    println!("dashboard over 1,000,000 rows, all four together: {total:6.1} ms");

    // The same reads in a display currency: a USD rate for every weekday of the 500 days, EUR
    // set, each day's rows converted at that day's rate (weekends at Friday's).
    let mut rates = String::from("date,currency,rate\n");
    for d in 0..500 {
        let day = first + Days::days(d);
        if day.format("%u").to_string().parse::<u32>().unwrap() <= 5 {
            writeln!(rates, "{day},USD,1.{:04}", 500 + d % 1000).unwrap();
        }
    }
    core.import_rates(rates.as_bytes()).unwrap();
    core.set_setting("display_currency", "EUR").unwrap();
    let daily_eur = ChartQuery { convert_to: Some("EUR".into()), ..daily };
    let cumulative_eur = ChartQuery { kind: ChartKind::Cumulative, ..daily_eur.clone() };
    let mut converted: Vec<(&str, Vec<Duration>)> = vec![
        ("key table", vec![]),
        ("30-day chart by key", vec![]),
        ("month-to-date chart", vec![]),
        ("headline", vec![]),
    ];
    for _ in 0..7 {
        let t = Instant::now();
        assert!(core
            .key_table()
            .unwrap()
            .iter()
            .all(|r| r.converted_30_days.as_ref().is_some_and(|c| c.amount.is_some())));
        converted[0].1.push(t.elapsed());
        let t = Instant::now();
        assert!(core.chart(&daily_eur).unwrap().converted.unwrap().amount.is_some());
        converted[1].1.push(t.elapsed());
        let t = Instant::now();
        core.chart(&cumulative_eur).unwrap();
        converted[2].1.push(t.elapsed());
        let t = Instant::now();
        assert!(core.spend_headline().unwrap().converted.is_some());
        converted[3].1.push(t.elapsed());
    }
    for (name, mut times) in converted {
        times.sort();
        let ms = times[3].as_secs_f64() * 1e3;
        println!("dashboard over 1,000,000 rows, {name:>20} in EUR: {ms:6.1} ms median");
    }
}
