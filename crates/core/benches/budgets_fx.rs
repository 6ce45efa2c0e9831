//! Budgets across currencies: what converting costs when budgets are listed and alerts are
//! evaluated. A real ledger file with a USD source and a CNY source, 200 keys each, every day of
//! a 90-day span (36,000 daily key rows), ECB-like rates imported for every day. Measured: the
//! same operations with USD budgets only over USD spend (no conversion) and with EUR budgets over
//! both sources (every non-EUR row converted) and the tray's month in EUR.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use burnrate_core::budgets::AddBudgetRequest;
use burnrate_core::clock::FixedClock;
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::{HttpClient, ProviderId};
use burnrate_core::secrets::MemoryStore;
use burnrate_core::Burnrate;
use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};

const KEYS: i64 = 200;
const DAYS: i64 = 90;

fn ledger(dir: &std::path::Path, last: NaiveDate) -> Burnrate {
    let first = last - Days::days(DAYS - 1);
    let core = Burnrate::new(
        Paths::new(dir),
        Box::new(FixedClock(Utc.from_utc_datetime(&last.and_hms_opt(20, 0, 0).unwrap()))),
        Box::new(HashMap::<String, String>::from([("BENCH_FAKE_KEY".into(), "sk-FAKE-bench-0000".into())])),
        Box::new(MemoryStore::default()),
        HttpClient::new(Duration::from_secs(5), RetryPolicy::default()).unwrap(),
    );
    core.set_setting("time_zone", "UTC").unwrap();
    let mut rates = String::from("date,currency,rate\n");
    for d in 0..DAYS {
        let day = first + Days::days(d);
        writeln!(rates, "{day},USD,1.{:04}\n{day},CNY,7.{:04}", 800 + d, 8000 + d * 3).unwrap();
    }
    core.import_rates(rates.as_bytes()).unwrap();
    for (name, provider, currency) in [("usd", ProviderId::Openai, "USD"), ("cny", ProviderId::Deepseek, "CNY")] {
        core.add_source(&AddSourceRequest {
            provider,
            name: name.into(),
            base_url: None,
            key: KeyInput::Env { var: "BENCH_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
        let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
        for d in 0..DAYS {
            let day = first + Days::days(d);
            for k in 0..KEYS {
                writeln!(csv, "{day},0.{:04},{currency},key_FAKE_{k:03},,m,billed", 1 + (d * 7 + k * 3) % 9000)
                    .unwrap();
            }
        }
        core.import_csv(name, CsvFormat::Generic, csv.as_bytes()).unwrap();
    }
    core
}

fn budget(core: &Burnrate, scope: &str, period: &str, currency: &str) {
    core.add_budget(&AddBudgetRequest {
        scope: scope.into(),
        period: period.into(),
        // High enough that no threshold fires: every evaluation does the same work.
        amount: "100000000".into(),
        currency: Some(currency.into()),
        thresholds: None,
    })
    .unwrap();
}

fn median_ms(mut f: impl FnMut()) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[10].as_secs_f64() * 1e3, times[20].as_secs_f64() * 1e3)
}

fn main() {
    let last = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    for (label, budgets, display) in [
        ("USD budgets over USD spend, no conversion", [("source:usd", "USD"), ("source:usd", "USD")], None),
        (
            "EUR budgets over USD + CNY spend, converted; tray in EUR",
            [("total", "EUR"), ("source:cny", "EUR")],
            Some("EUR"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let core = ledger(dir.path(), last);
        if let Some(currency) = display {
            core.set_setting("display_currency", currency).unwrap();
            assert!(core.tray_status().unwrap().summary.contains("≈"));
        }
        for (scope, currency) in budgets {
            budget(&core, scope, "month", currency);
            budget(&core, scope, "week", currency);
        }
        let views = core.list_budgets().unwrap();
        assert!(views.iter().all(|v| v.spent_known), "{views:?}");
        let (list, list_max) = median_ms(|| {
            core.list_budgets().unwrap();
        });
        let (eval, eval_max) = median_ms(|| {
            core.evaluate_alerts().unwrap();
        });
        let (tray, _) = median_ms(|| {
            core.tray_status().unwrap();
        });
        println!(
            "{label}: 4 budgets, {} daily key rows: budget list {list:.1} ms median ({list_max:.1} max), \
             alert evaluation {eval:.1} ms ({eval_max:.1} max), tray {tray:.1} ms",
            2 * KEYS * DAYS
        );
    }
}
