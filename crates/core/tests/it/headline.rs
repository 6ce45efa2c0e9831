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
            convert_to: None,
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

/// Spend in USD (source `work`, key `key_FAKE_u`) and CNY (source `deep`, key `key_FAKE_c`) on
/// 6, 7, 9 and 10 March 2026, with rates per EUR imported for 6 March (USD 1.25, CNY 8) and
/// 9 March (USD 1.30, CNY 7.9) only: the weekend and the 10th use the last earlier rate.
/// `cny_on_the_5th`: also 5 CNY on 5 March, a day without any CNY rate (missing).
pub fn usd_and_cny_with_rates(dir: &std::path::Path, cny_on_the_5th: bool) -> Burnrate {
    let core = core_on_march_10(dir);
    add(&core, ProviderId::Openai, "work");
    add(&core, ProviderId::Deepseek, "deep");
    let header = "day,amount,currency,key_id,key_name,model,kind\n";
    let usd = "2026-03-06,10,USD,key_FAKE_u,Usd key,gpt-5,billed\n\
               2026-03-07,5,USD,key_FAKE_u,Usd key,gpt-5,billed\n\
               2026-03-09,12.5,USD,key_FAKE_u,Usd key,gpt-5,billed\n\
               2026-03-10,3,USD,key_FAKE_u,Usd key,gpt-5,billed\n";
    core.import_csv("work", CsvFormat::Generic, format!("{header}{usd}").as_bytes()).unwrap();
    let mut cny = String::from(
        "2026-03-06,80,CNY,key_FAKE_c,Cny key,deepseek-chat,billed\n\
         2026-03-09,15.8,CNY,key_FAKE_c,Cny key,deepseek-chat,billed\n\
         2026-03-10,7.9,CNY,key_FAKE_c,Cny key,deepseek-chat,billed\n",
    );
    if cny_on_the_5th {
        cny += "2026-03-05,5,CNY,key_FAKE_c,Cny key,deepseek-chat,billed\n";
    }
    core.import_csv("deep", CsvFormat::Generic, format!("{header}{cny}").as_bytes()).unwrap();
    core.import_rates(
        b"date,currency,rate\n2026-03-06,USD,1.25\n2026-03-06,CNY,8\n2026-03-09,USD,1.30\n2026-03-09,CNY,7.9\n",
    )
    .unwrap();
    core
}

#[test]
fn in_a_display_currency_the_headline_adds_one_figure_at_each_days_rate() {
    let dir = tempfile::tempdir().unwrap();
    let core = usd_and_cny_with_rates(dir.path(), false);
    let before = core.spend_headline().unwrap();
    assert_eq!(before.converted, None, "no display currency: nothing is converted");

    core.set_setting("display_currency", "EUR").unwrap();
    let h = core.spend_headline().unwrap();
    // By hand, EUR = amount ÷ that day's rate (the last earlier one on the weekend and the 10th),
    // each row rounded half to even at six places:
    //   6 Mar: 10 USD ÷ 1.25 = 8.000000;   80 CNY ÷ 8 = 10.000000
    //   7 Mar:  5 USD ÷ 1.25 = 4.000000 (Friday's rate)
    //   9 Mar: 12.5 USD ÷ 1.30 = 9.6153846… → 9.615385;  15.8 CNY ÷ 7.9 = 2.000000
    //  10 Mar:  3 USD ÷ 1.30 = 2.3076923… → 2.307692;   7.9 CNY ÷ 7.9 = 1.000000 (Monday's rates)
    // today = 3.307692; month = 18 + 4 + 11.615385 + 3.307692 = 36.923077.
    let c = h.converted.as_ref().expect("converted with a display currency");
    assert_eq!(
        (c.today.amount.as_deref(), c.month_to_date.amount.as_deref(), c.month_to_date.currency.as_str()),
        (Some("3.307692"), Some("36.923077"), "EUR")
    );
    assert_eq!(
        (c.month_to_date.rate_date.as_deref(), c.month_to_date.rate_date_to.as_deref()),
        (Some("2026-03-06"), Some("2026-03-09")),
        "the rate days used, for the hover"
    );
    assert_eq!((c.today.rate_date.as_deref(), c.month_to_date.missing.as_deref()), (Some("2026-03-09"), None));
    assert_eq!(c.from, ["CNY", "USD"]);
    // Pace over 9, 8, 7, 6 March (11.615385, 0, 4, 18) without the highest and lowest:
    // (11.615385 + 4) ÷ 2 = 7.8076925 → 7.807693; 36.923077 + 21 days × 7.807693 = 200.884630.
    assert_eq!(c.forecast.as_deref(), Some("200.884630"));
    assert_eq!(c.budget, None, "no budget in EUR yet");
    // A monthly EUR budget covers both currencies: 36.923077 of 40 is 92 %, and at 7.807693 a
    // day the month passes 40 tomorrow (36.923077 + 7.807693 = 44.730770).
    core.add_budget(&AddBudgetRequest {
        scope: "total".into(),
        period: "month".into(),
        amount: "40".into(),
        currency: Some("EUR".into()),
        thresholds: None,
    })
    .unwrap();
    let with_budget = core.spend_headline().unwrap();
    let b = with_budget.converted.as_ref().unwrap().budget.as_ref().expect("the EUR budget on the converted line");
    assert_eq!(
        (b.amount.as_str(), b.percent, b.passes_on.as_deref(), b.passed),
        ("40.000000", 92, Some("2026-03-11"), false)
    );
    core.remove_budget(b.id).unwrap();
    // The native lines stay exactly as they were.
    assert_eq!(burnrate_core::headline::SpendHeadline { converted: None, ..h.clone() }, before);
    let native: Vec<_> = h.currencies.iter().map(|c| (c.currency.as_str(), c.month_to_date.as_str())).collect();
    assert_eq!(native, [("CNY", "103.700000"), ("USD", "30.500000")]);

    // The key table: each key's 30 days in EUR next to its native amount.
    let keys = core.key_table().unwrap();
    let eur = |id: &str| {
        let row = keys.iter().find(|r| r.key_id == id).unwrap();
        row.converted_30_days.as_ref().and_then(|c| c.amount.clone())
    };
    assert_eq!(eur("key_FAKE_u").as_deref(), Some("23.923077"), "8 + 4 + 9.615385 + 2.307692");
    assert_eq!(eur("key_FAKE_c").as_deref(), Some("13.000000"), "10 + 2 + 1");

    // Unset again: exactly as before, in the headline and the key table.
    core.set_setting("display_currency", "none").unwrap();
    assert_eq!(core.spend_headline().unwrap(), before);
    assert!(core.key_table().unwrap().iter().all(|r| r.converted_30_days.is_none()));
}

#[test]
fn a_day_without_a_rate_makes_the_month_unknown_not_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let core = usd_and_cny_with_rates(dir.path(), true);
    core.set_setting("display_currency", "EUR").unwrap();
    let budget = AddBudgetRequest {
        scope: "total".into(),
        period: "month".into(),
        amount: "40".into(),
        currency: Some("EUR".into()),
        thresholds: None,
    };
    core.add_budget(&budget).unwrap();
    let h = core.spend_headline().unwrap();
    let c = h.converted.unwrap();
    assert_eq!(c.month_to_date.amount, None, "never 36.923077 with the 5th left out");
    assert_eq!(c.month_to_date.missing.as_deref(), Some("missing rate for CNY since 2026-03-05"));
    assert_eq!(c.today.amount.as_deref(), Some("3.307692"), "today has its rates");
    assert_eq!(c.forecast, None, "a month with an unknown day is not projected");
    assert_eq!(c.budget, None, "no budget line off an unknown month (the missing rate says why)");
    let keys = core.key_table().unwrap();
    let cny = keys.iter().find(|r| r.key_id == "key_FAKE_c").unwrap().converted_30_days.clone().unwrap();
    assert_eq!((cny.amount, cny.missing.as_deref()), (None, Some("missing rate for CNY since 2026-03-05")));
}
