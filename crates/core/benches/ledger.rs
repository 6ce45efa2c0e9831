//! Ledger benchmarks: `cargo bench -p burnrate-core --bench ledger`.
//!
//! 1. Raw SQLite: prepared inserts of spend rows in one transaction (the ceiling).
//! 2. End to end: a year of daily spend for 200 keys × 10 models (730,000 rows) served by a
//!    loopback LiteLLM mock, fetched, parsed and written by `Burnrate::sync`.
//! 3. An incremental poll with nothing new (process CPU time, mock server included).
//! 4. `report daily --by key` over a 1,000,000-row roll-up, plain and `--convert-to EUR`
//!    (`BENCH=report` runs only this one).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burnrate_core::clock::FixedClock;
use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput, ReportQuery};
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::{HttpClient, ProviderId};
use burnrate_core::secrets::MemoryStore;
use burnrate_core::Burnrate;
use chrono::{Datelike, Duration as Days, NaiveDate, TimeZone, Utc};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEYS: usize = 200;
const MODELS: usize = 10;
const DAYS: i64 = 365;
const DAYS_PER_PAGE: i64 = 5;

#[allow(unsafe_code, reason = "libc has no safe wrapper for the process CPU clock")]
fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
}

/// One page of /user/daily/activity: DAYS_PER_PAGE days, each with every model × key cell.
fn activity_page(page: i64) -> String {
    let start = (page - 1) * DAYS_PER_PAGE;
    let pages = (DAYS + DAYS_PER_PAGE - 1) / DAYS_PER_PAGE;
    activity_days(start, (start + DAYS_PER_PAGE).min(DAYS), page < pages)
}

/// Days `start..end` (offsets from the first day) as one /user/daily/activity response.
fn activity_days(start: i64, end: i64, has_more: bool) -> String {
    let mut out = String::from(r#"{"results":["#);
    for d in start..end {
        let date = first_day() + Days::days(d);
        let mut day_total = 0i64; // micro-dollars
        let mut models = String::new();
        for m in 0..MODELS {
            let mut keys = String::new();
            let mut model_total = 0i64;
            for k in 0..KEYS {
                let micros = 1_000 + (k as i64 * 37 + m as i64 * 11 + d * 3) % 5_000;
                model_total += micros;
                if k > 0 {
                    keys.push(',');
                }
                write!(
                    keys,
                    r#""hash_fake_{k:04}":{{"metrics":{{"spend":0.{micros:06}}},"metadata":{{"key_alias":"key-{k}"}}}}"#
                )
                .unwrap();
            }
            day_total += model_total;
            if m > 0 {
                models.push(',');
            }
            write!(
                models,
                r#""model-{m}":{{"metrics":{{"spend":{}.{:06}}},"api_key_breakdown":{{{keys}}}}}"#,
                model_total / 1_000_000,
                model_total % 1_000_000
            )
            .unwrap();
        }
        if d > start {
            out.push(',');
        }
        write!(
            out,
            r#"{{"date":"{date}","metrics":{{"spend":{}.{:06}}},"breakdown":{{"models":{{{models}}},"api_keys":{{}}}}}}"#,
            day_total / 1_000_000,
            day_total % 1_000_000
        )
        .unwrap();
    }
    write!(out, r#"],"metadata":{{"has_more":{has_more}}}}}"#).unwrap();
    out
}

fn raw_sqlite_rate(rows: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("raw.sqlite3")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE spend (source_id INTEGER, key_id TEXT, model TEXT, project TEXT, bucket_start INTEGER,
           bucket_width TEXT, currency TEXT, kind TEXT, amount_micros INTEGER, fetched_at INTEGER,
           PRIMARY KEY (source_id, bucket_width, kind, bucket_start, key_id, model, project, currency)) WITHOUT ROWID;",
    )
    .unwrap();
    let t = Instant::now();
    let tx = conn.unchecked_transaction().unwrap();
    {
        let mut stmt =
            tx.prepare("INSERT INTO spend VALUES (1, ?1, ?2, '', ?3, 'day', 'USD', 'billed', ?4, 0)").unwrap();
        for i in 0..rows {
            let (k, m, d) = (i % KEYS, (i / KEYS) % MODELS, i / (KEYS * MODELS));
            stmt.execute(rusqlite::params![
                format!("hash_fake_{k:04}"),
                format!("model-{m}"),
                d as i64 * 86_400,
                1_000
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    rows as f64 / t.elapsed().as_secs_f64()
}

/// `report daily --by key` over a ledger of 1,000,000 roll-up rows (200 keys × 10 models × 500 days).
fn report_bench() {
    let dir = tempfile::tempdir().unwrap();
    let to_day = first_day() + Days::days(DAYS - 1);
    let now = Utc.from_utc_datetime(&to_day.and_hms_opt(23, 0, 0).unwrap());
    let core = Burnrate::new(
        Paths::new(dir.path()),
        Box::new(FixedClock(now)),
        Box::new(HashMap::<String, String>::from([(
            "BENCH_FAKE_KEY".into(),
            "sk-FAKE-bench-master-key-000000".into(),
        )])),
        Box::new(MemoryStore::default()),
        HttpClient::default_client().unwrap(),
    );
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Litellm,
        name: "bench".into(),
        base_url: Some("http://127.0.0.1:9".into()),
        key: KeyInput::Env { var: "BENCH_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("ledger.sqlite3")).unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    {
        let mut stmt = tx
            .prepare("INSERT INTO spend_daily (source_id, day, kind, key_id, model, currency, amount_micros) VALUES (1, ?1, 'billed', ?2, ?3, 'USD', 1000)")
            .unwrap();
        let last = to_day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        for i in 0..1_000_000usize {
            let (k, m, d) = (i % KEYS, (i / KEYS) % MODELS, (i / (KEYS * MODELS)) as i64);
            stmt.execute(rusqlite::params![last - d * 86_400, format!("hash_fake_{k:04}"), format!("model-{m}")])
                .unwrap();
        }
    }
    // The key-level roll-up, as refresh_daily builds it.
    tx.execute_batch(
        "INSERT INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model)
         SELECT source_id, day, key_id, currency, kind, sum(amount_micros), max(model != '') FROM spend_daily
         GROUP BY source_id, day, key_id, currency, kind",
    )
    .unwrap();
    tx.commit().unwrap();
    drop(conn);
    // ECB-like rates for `--convert-to EUR`: USD and CNY on weekdays only (weekends use Friday's),
    // from a month before the longest range to its end.
    let mut rates = String::from("date,currency,rate\n");
    for d in 0..400 {
        let day = to_day - Days::days(d);
        if day.weekday().number_from_monday() <= 5 {
            writeln!(rates, "{day},USD,1.{:04}\n{day},CNY,7.{:04}", 700 + d % 300, 6000 + d % 3000).unwrap();
        }
    }
    core.import_rates(rates.as_bytes()).unwrap();
    let to = to_day.to_string();
    for (label, by, days) in [
        ("--by key, 30 days", vec![Dimension::Key], 30),
        ("--by key, 365 days", vec![Dimension::Key], 365),
        ("--by model, 30 days", vec![Dimension::Model], 30),
    ] {
        let query = ReportQuery { by, from: Some((to_day - Days::days(days - 1)).to_string()), to: Some(to.clone()) };
        let _ = core.daily_report(&query).unwrap(); // warm the page cache
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..7 {
            let t = Instant::now();
            n = core.daily_report(&query).unwrap().len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "report daily {label:>20}: {:>6.1} ms median ({n} rows out, 1,000,000-row roll-up)",
            times[3].as_secs_f64() * 1e3
        );
        // The same report with every row converted at its own day's rate.
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let report = core.daily_report_converted(&query, "EUR").unwrap();
            times.push(t.elapsed());
            assert_eq!(report.rows.len(), n);
            assert!(report.total.amount.is_some(), "{:?}", report.total.missing);
        }
        times.sort();
        println!("  --convert-to EUR {label:>15}: {:>6.1} ms median", times[3].as_secs_f64() * 1e3);
    }
}

#[allow(clippy::disallowed_methods, reason = "a benchmark's own switch, not the app's environment")]
fn main() {
    // BENCH=report runs only the report benchmark.
    if std::env::var("BENCH").as_deref() == Ok("report") {
        return report_bench();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rows = KEYS * MODELS * DAYS as usize;

    let raw = raw_sqlite_rate(rows);
    println!("raw SQLite inserts:            {:>10.0} rows/s ({rows} rows, one transaction)", raw);

    runtime.block_on(async {
        let server = MockServer::start().await;
        let pages = (DAYS + DAYS_PER_PAGE - 1) / DAYS_PER_PAGE;
        for page in 1..=pages {
            Mock::given(method("GET"))
                .and(path("/user/daily/activity"))
                .and(query_param("page", page.to_string()))
                .respond_with(ResponseTemplate::new(200).set_body_raw(activity_page(page), "application/json"))
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/key/list"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(
                    r#"{"keys":[],"total_count":0,"current_page":1,"total_pages":1}"#,
                    "application/json",
                ),
            )
            .mount(&server)
            .await;

        let dir = tempfile::tempdir().unwrap();
        let now = Utc.from_utc_datetime(&(first_day() + Days::days(DAYS - 1)).and_hms_opt(23, 0, 0).unwrap());
        let env: HashMap<String, String> =
            [("BENCH_FAKE_KEY".to_string(), "sk-FAKE-bench-master-key-000000".to_string())].into();
        let core = Arc::new(Burnrate::new(
            Paths::new(dir.path()),
            Box::new(FixedClock(now)),
            Box::new(env),
            Box::new(MemoryStore::default()),
            HttpClient::new(Duration::from_secs(120), RetryPolicy { max_attempts: 1, ..RetryPolicy::default() })
                .unwrap(),
        ));
        core.add_source(&AddSourceRequest {
            provider: ProviderId::Litellm,
            name: "bench".into(),
            base_url: Some(server.uri()),
            key: KeyInput::Env { var: "BENCH_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();

        let from = first_day().to_string();
        let to = (first_day() + Days::days(DAYS - 1)).to_string();
        let t = Instant::now();
        let outcomes = core.sync(None, Some(&from), Some(&to)).await.unwrap();
        let elapsed = t.elapsed();
        assert!(outcomes[0].ok, "{outcomes:?}");
        let written = outcomes[0].rows_written as f64;
        println!(
            "end-to-end ingest (LiteLLM):   {:>10.0} rows/s ({} rows in {:.2} s; {:.0}% of raw SQLite)",
            written / elapsed.as_secs_f64(),
            written,
            elapsed.as_secs_f64(),
            100.0 * written / elapsed.as_secs_f64() / raw
        );

        // Nothing new: the incremental window (the last synced day and the three before it,
        // which providers may still revise) comes back exactly as before.
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/user/daily/activity"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(activity_days(DAYS - 4, DAYS, false), "application/json"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/key/list"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(
                    r#"{"keys":[],"total_count":0,"current_page":1,"total_pages":1}"#,
                    "application/json",
                ),
            )
            .mount(&server)
            .await;
        let mut cpu = Vec::new();
        for _ in 0..5 {
            let c0 = cpu_time();
            let o = core.sync(None, None, None).await.unwrap();
            assert!(o[0].ok);
            cpu.push(cpu_time() - c0);
        }
        cpu.sort();
        println!(
            "incremental poll, nothing new: {:>7.1} ms CPU (median of 5, mock server included)",
            cpu[2].as_secs_f64() * 1e3
        );
    });
    report_bench();
}
