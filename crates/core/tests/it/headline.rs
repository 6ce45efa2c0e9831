//! The Spend view's headline over a real ledger file: today and the month per currency, the
//! month's forecast against the monthly budget with the day it is passed, prepaid credit and
//! when it runs out, sources that have not reported today, and no figures before a sync.

use burnrate_core::budgets::AddBudgetRequest;
use burnrate_core::charts::{ChartKind, ChartQuery, ChartTheme};
use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput, ReportQuery};
use burnrate_core::import::CsvFormat;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::ProviderId;
use burnrate_core::Burnrate;

use crate::common::TestCore;

fn add(core: &Burnrate, provider: ProviderId, name: &str) -> i64 {
    core.add_source(&AddSourceRequest {
        provider,
        name: name.into(),
        base_url: None,
        key: KeyInput::Env { var: "HEADLINE_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap()
    .id
}

/// A core whose clock reads 2026-03-10 18:00 UTC, with the fake key its sources read.
fn core_on_march_10(dir: &std::path::Path) -> Burnrate {
    TestCore::builder(dir)
        .now("2026-03-10T18:00:00Z")
        .env(&[("HEADLINE_FAKE_KEY", "sk-FAKE-headline-0000")])
        .retry(RetryPolicy::default())
        .build()
}

#[test]
fn the_headline_answers_how_much_on_track_credit_left_and_as_of_when() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_on_march_10(dir.path());
    let work = add(&core, ProviderId::Openai, "work");
    let credit = add(&core, ProviderId::Deepseek, "deep");
    // Before any sync: no figures, not figures of zero.
    let empty = core.spend_headline().unwrap();
    assert_eq!((empty.as_of, empty.currencies.len(), empty.today.as_str()), (None, 0, "2026-03-10"));
    assert_eq!(empty.now, "2026-03-10T18:00:00Z", "the UI takes now from the core");

    // 10 USD a day in work from 1 March to yesterday, 4 USD today; 2 CNY a day in deep.
    let mut csv = String::from("day,amount,currency,key_id,key_name,model,kind\n");
    for d in 1..=9 {
        csv += &format!("2026-03-{d:02},10,USD,key_FAKE_a,Alpha,gpt-5,billed\n");
    }
    csv += "2026-03-10,4,USD,key_FAKE_a,Alpha,gpt-5,billed\n";
    core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    let mut cny = String::from("day,amount,currency,key_id,key_name,model,kind\n");
    for d in 1..=10 {
        cny += &format!("2026-03-{d:02},2,CNY,,,,billed\n");
    }
    core.import_csv("deep", CsvFormat::Generic, cny.as_bytes()).unwrap();
    core.add_budget(&AddBudgetRequest {
        scope: "total".into(),
        period: "month".into(),
        amount: "200".into(),
        currency: Some("USD".into()),
        thresholds: None,
    })
    .unwrap();
    {
        let db = rusqlite::Connection::open(core.paths.db_path()).unwrap();
        let at = 1_773_165_600; // 2026-03-10T18:00:00Z
        for (source, ok) in [(work, 1), (credit, 1)] {
            db.execute(
                "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok) VALUES (?1, ?2, ?2, 0, 0, ?3)",
                rusqlite::params![source, at - 600, ok],
            )
            .unwrap();
        }
        db.execute(
            "INSERT INTO balance_snapshots (source_id, key_id, taken_at, currency, balance_micros) VALUES (?1, '', ?2, 'CNY', 30000000)",
            rusqlite::params![credit, at - 600],
        )
        .unwrap();
    }
    let h = core.spend_headline().unwrap();
    assert_eq!(h.as_of.as_deref(), Some("2026-03-10T17:50:00Z"));
    let usd = h.currencies.iter().find(|c| c.currency == "USD").unwrap();
    assert_eq!((usd.today.as_str(), usd.month_to_date.as_str()), ("4.000000", "94.000000"));
    // Pace 10 a day: 94 + 21 × 10 = 304 at the month's end; 200 is passed on day 10 + 11.
    assert_eq!(usd.forecast.as_deref(), Some("304.000000"));
    let budget = usd.budget.as_ref().unwrap();
    assert_eq!(
        (budget.amount.as_str(), budget.percent, budget.passes_on.as_deref(), budget.passed),
        ("200.000000", 47, Some("2026-03-21"), false)
    );
    let cny = h.currencies.iter().find(|c| c.currency == "CNY").unwrap();
    assert_eq!(
        (cny.month_to_date.as_str(), cny.budget.as_ref()),
        ("20.000000", None),
        "no budget is no budget, not 'within'"
    );
    // 30 CNY left at 2 a day: 15 days.
    assert_eq!(h.credits.len(), 1);
    let c = &h.credits[0];
    assert_eq!(
        (c.source.as_str(), c.balance.as_str(), c.runs_out_in_days, c.runs_out_on.as_deref()),
        ("deep", "30.000000", Some(15), Some("2026-03-25"))
    );
    assert!(h.not_reported_today.is_empty(), "work has today's figure");

    // The same month, the same figures: the report and the month-to-date chart agree.
    let month = core
        .daily_report(&ReportQuery {
            by: vec![Dimension::Key],
            from: Some("2026-03-01".into()),
            to: Some("2026-03-10".into()),
        })
        .unwrap();
    let usd_total: i64 = month
        .iter()
        .filter(|r| r.currency == "USD")
        .map(|r| burnrate_core::money::parse_micros(&r.amount).unwrap())
        .sum();
    assert_eq!(usd_total, 94_000_000);
    let chart = core
        .chart(&ChartQuery {
            kind: ChartKind::Cumulative,
            by: Dimension::Source,
            from: None,
            to: None,
            currency: Some("USD".into()),
            top: None,
            theme: ChartTheme::Light,
            width: None,
            height: None,
        })
        .unwrap();
    assert_eq!(chart.bars.last().unwrap().amount, usd.month_to_date);
    assert!(chart.svg.contains("304"), "the chart's forecast is the headline's");

    // An OpenAI source synced with nothing for today has not reported yet (it publishes late).
    let late = add(&core, ProviderId::Openai, "late");
    rusqlite::Connection::open(core.paths.db_path())
        .unwrap()
        .execute(
            "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok) VALUES (?1, 1, 2, 0, 0, 1)",
            [late],
        )
        .unwrap();
    assert_eq!(core.spend_headline().unwrap().not_reported_today, ["late"]);
}

/// "Which key" is answered in the headline: the key with the most spend this month per
/// currency, as the reports count it; spend not attributed to a key never names a "top key".
#[test]
fn the_headline_names_the_key_that_spent_most_this_month() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_on_march_10(dir.path());
    add(&core, ProviderId::Openai, "work");
    add(&core, ProviderId::Deepseek, "deep");
    // Alpha: 3 × 10 USD; Beta: 2 × 20 USD, the larger; last month's 500 USD on Alpha is not this month.
    let csv = "day,amount,currency,key_id,key_name,model,kind\n\
               2026-02-20,500,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
               2026-03-01,10,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
               2026-03-02,10,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
               2026-03-03,10,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
               2026-03-04,20,USD,key_FAKE_b,Beta,gpt-5,billed\n\
               2026-03-09,20,USD,key_FAKE_b,Beta,gpt-5,billed\n";
    core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    // CNY spend with no key at all: no top key for CNY.
    core.import_csv("deep", CsvFormat::Generic, b"day,amount,currency\n2026-03-05,99,CNY\n").unwrap();

    let h = core.spend_headline().unwrap();
    let usd = h.currencies.iter().find(|c| c.currency == "USD").unwrap();
    let top = usd.top_key.as_ref().expect("USD has a top key");
    assert_eq!(
        (top.source.as_str(), top.key_id.as_str(), top.name.as_str(), top.month_to_date.as_str(), top.percent),
        ("work", "key_FAKE_b", "Beta", "40.000000", 57),
        "Beta's 40 of the month's 70 USD"
    );
    assert!(!top.estimated);
    let cny = h.currencies.iter().find(|c| c.currency == "CNY").unwrap();
    assert_eq!(cny.top_key, None, "spend not attributed to a key is never the top key");
}
