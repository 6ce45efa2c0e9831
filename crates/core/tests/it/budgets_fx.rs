//! Budgets across currencies over a real ledger file: a monthly EUR budget over a USD source and
//! a CNY source, each day's spend converted at that day's rate, evaluated day by day with the
//! clock standing on each day; and the same budget with a rate missing for days in the middle of
//! the month (the view, the tray and the alerts say so; nothing fires off a partial sum).
//!
//! Rates are chosen for hand computation: 1.25 USD per EUR (10 USD = 8 EUR) until the 10th,
//! 2 USD per EUR from the 11th (10 USD = 5 EUR), 8 CNY per EUR (48 CNY = 6 EUR) throughout.

use burnrate_core::alerts::{AlertKind, AlertView};
use burnrate_core::budgets::AddBudgetRequest;
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::providers::ProviderId;
use burnrate_core::tray_status::TrayLevel;
use burnrate_core::Burnrate;

use crate::common::TestCore;

fn core_on(dir: &std::path::Path, day: u32) -> Burnrate {
    TestCore::builder(dir)
        .now(&format!("2026-03-{day:02}T20:00:00Z"))
        .env(&[("BUDGET_FX_FAKE_KEY", "sk-FAKE-budget-fx-0000")])
        .build()
}

fn add_source(core: &Burnrate, provider: ProviderId, name: &str) {
    core.add_source(&AddSourceRequest {
        provider,
        name: name.into(),
        base_url: None,
        key: KeyInput::Env { var: "BUDGET_FX_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap();
}

/// A ledger with the two sources and a monthly EUR budget of 200 over both, created on 1 March.
fn setup(dir: &std::path::Path) -> i64 {
    let core = core_on(dir, 1);
    core.set_setting("time_zone", "UTC").unwrap();
    add_source(&core, ProviderId::Openai, "work");
    add_source(&core, ProviderId::Deepseek, "deep");
    let added = core
        .add_budget(&AddBudgetRequest {
            scope: "total".into(),
            period: "month".into(),
            amount: "200".into(),
            currency: Some("EUR".into()),
            thresholds: None,
        })
        .expect("a EUR budget over USD and CNY sources is accepted");
    assert_eq!(added.budget.currency, "EUR");
    added.budget.id
}

/// Day `day`'s spend (10 USD in work, 48 CNY in deep), then its rates when `rates` says which.
fn spend_day(core: &Burnrate, day: u32) {
    let d = format!("2026-03-{day:02}");
    let usd = format!("day,amount,currency,key_id,key_name,model,kind\n{d},10,USD,key_FAKE_w,Work,gpt-5,billed\n");
    core.import_csv("work", CsvFormat::Generic, usd.as_bytes()).unwrap();
    let cny = format!("day,amount,currency,key_id,key_name,model,kind\n{d},48,CNY,,,,billed\n");
    core.import_csv("deep", CsvFormat::Generic, cny.as_bytes()).unwrap();
}

fn rates_of_day(core: &Burnrate, day: u32, cny: bool) {
    let d = format!("2026-03-{day:02}");
    let usd = if day <= 10 { "1.25" } else { "2" };
    let mut csv = format!("date,currency,rate\n{d},USD,{usd}\n");
    if cny {
        csv += &format!("{d},CNY,8\n");
    }
    core.import_rates(csv.as_bytes()).unwrap();
}

fn thresholds(fired: &[AlertView]) -> Vec<Option<u32>> {
    fired.iter().filter(|a| a.kind == AlertKind::Threshold).map(|a| a.threshold).collect()
}

#[test]
fn a_eur_budget_over_usd_and_cny_fires_on_the_day_a_hand_computation_says() {
    let dir = tempfile::tempdir().unwrap();
    let id = setup(dir.path());
    // Running totals in EUR: 14 a day until the 10th (8 + 6), 11 a day after (5 + 6):
    // day 7: 98, day 8: 112 (50 % = 100 passed), day 11: 151, day 12: 162 (80 % = 160 passed),
    // day 15: 195 (100 % not reached).
    let mut fired_on: Vec<(u32, u32)> = Vec::new();
    for day in 1..=15 {
        let core = core_on(dir.path(), day);
        rates_of_day(&core, day, true);
        spend_day(&core, day);
        let fired = core.evaluate_alerts().unwrap();
        for t in thresholds(&fired).into_iter().flatten() {
            fired_on.push((day, t));
        }
        let view = core.list_budgets().unwrap().remove(0);
        assert!(view.spent_known && view.missing_rate.is_none(), "day {day}: {view:?}");
        assert_eq!(view.converted_from, ["CNY", "USD"]);
        let expected = if day <= 10 { 14 * day } else { 140 + 11 * (day - 10) };
        assert_eq!(view.spent, format!("{expected}.000000"), "day {day}");
        if day == 8 {
            let a = &fired[0];
            assert_eq!((a.amount.as_str(), a.currency.as_str()), ("112.000000", "EUR"));
            assert_eq!(
                a.body,
                "112.00 EUR spent of the monthly budget of 200.00 EUR for March 2026. This includes \
                 384.00 CNY = 48.00 EUR at 8 CNY/EUR (rates of 2026-03-01..2026-03-08) and \
                 80.00 USD = 64.00 EUR at 1.25 USD/EUR (rates of 2026-03-01..2026-03-08)."
            );
        }
        if day == 12 {
            let a = &fired[0];
            assert_eq!((a.title.as_str(), a.amount.as_str()), ("80% of the monthly budget: all sources", "162.000000"));
            // USD: 10 days × 8 + 2 days × 5 = 90 EUR; CNY: 12 × 6 = 72 EUR.
            assert!(
                a.body.contains(
                    "576.00 CNY = 72.00 EUR at 8 CNY/EUR (rates of 2026-03-01..2026-03-12) and \
                     120.00 USD = 90.00 EUR at rates of 2026-03-01..2026-03-12 (1.25 to 2 USD/EUR)."
                ),
                "{}",
                a.body
            );
            assert_eq!(a.details["converted"][1]["converted"], "90.000000", "{:#}", a.details);
            assert_eq!(a.details["missing_rate"], serde_json::Value::Null);
        }
    }
    assert_eq!(fired_on, [(8, 50), (12, 80)], "50 % on the 8th, 80 % on the 12th, nothing else");

    // The tray in EUR: the native amounts, then the month converted day by day.
    let core = core_on(dir.path(), 15);
    let tray = core.tray_status().unwrap();
    assert_eq!(tray.summary, "Today 48.00 CNY + 10.00 USD · Month 720.00 CNY + 150.00 USD");
    core.set_setting("display_currency", "EUR").unwrap();
    let tray = core.tray_status().unwrap();
    assert_eq!(tray.summary, "Today 48.00 CNY + 10.00 USD · Month 720.00 CNY + 150.00 USD ≈ 195.00 EUR");
    // 195 of 200 is past the 80 % warning line.
    assert_eq!(tray.level, TrayLevel::Warning);
    assert_eq!(tray.reason.as_deref(), Some("Budget total monthly: 97 % of 200.00 EUR"));
    let _ = id;
}

#[test]
fn a_rate_missing_in_the_middle_of_the_month_is_said_and_fires_nothing_off_a_partial_sum() {
    let dir = tempfile::tempdir().unwrap();
    let id = setup(dir.path());
    // The last CNY rate before March is from 5 February: it stands in up to 31 days, to 8 March.
    // Then none until the 12th: CNY spend of the 9th, 10th and 11th cannot be converted.
    core_on(dir.path(), 1).import_rates(b"date,currency,rate\n2026-02-05,CNY,8\n").unwrap();
    let mut fired_on: Vec<(u32, u32)> = Vec::new();
    for day in 1..=14 {
        let core = core_on(dir.path(), day);
        rates_of_day(&core, day, day >= 12);
        spend_day(&core, day);
        for t in thresholds(&core.evaluate_alerts().unwrap()).into_iter().flatten() {
            fired_on.push((day, t));
        }
        let view = core.list_budgets().unwrap().remove(0);
        if day <= 8 {
            assert!(view.spent_known, "day {day}: {view:?}");
            continue;
        }
        // What could be converted: 112 to the 8th, then only the USD of the 9th and 10th (8 a
        // day) and of the 11th (5): 133; from the 12th both again, 11 a day.
        let known = match day {
            9..=10 => 112 + 8 * (day - 8),
            _ => 133 + 11 * (day - 11),
        };
        assert_eq!(
            (view.spent_known, view.missing_rate.as_deref(), view.spent),
            (false, Some("missing rate for CNY since 2026-03-09"), format!("{known}.000000")),
            "day {day}"
        );
        if day == 11 {
            // The tray says which budget cannot be counted and why, at the warning level.
            let tray = core.tray_status().unwrap();
            assert_eq!(tray.level, TrayLevel::Warning);
            assert_eq!(
                tray.reason.as_deref(),
                Some(format!("Budget #{id}: missing rate for CNY since 2026-03-09").as_str())
            );
            core.set_setting("display_currency", "EUR").unwrap();
            let tray = core.tray_status().unwrap();
            assert!(
                tray.summary.ends_with("≈ ? EUR (missing rate for CNY since 2026-03-09)"),
                "unknown, never a smaller total: {}",
                tray.summary
            );
            core.set_setting("display_currency", "none").unwrap();
            // `alerts --check` warns too.
            let check = core.alert_check().unwrap();
            assert!(check.reasons.iter().any(|r| r.contains("missing rate for CNY")), "{check:?}");
        }
    }
    // With every rate the 80 % line (160) was passed on the 12th (162). The convertible part is
    // 144 on the 12th and 155 on the 13th: nothing fires off it. On the 14th it is 166 alone, so
    // 80 % is passed whatever the missing part adds: it fires, saying what it could not count.
    assert_eq!(fired_on, [(8, 50), (14, 80)]);
    let core = core_on(dir.path(), 14);
    let alert = core
        .list_alerts(None)
        .unwrap()
        .into_iter()
        .find(|a| a.kind == AlertKind::Threshold && a.threshold == Some(80))
        .unwrap();
    assert_eq!(alert.amount, "166.000000");
    assert!(alert.body.starts_with("At least 166.00 EUR spent of the monthly budget"), "{}", alert.body);
    assert!(alert.body.ends_with("Not counted yet: missing rate for CNY since 2026-03-09."), "{}", alert.body);
    assert_eq!(alert.details["missing_rate"], "missing rate for CNY since 2026-03-09");

    // The missing rate arrives: the budget is whole again (166 + 3 × 6 = 184).
    core.import_rates(b"date,currency,rate\n2026-03-09,CNY,8\n").unwrap();
    let view = core.list_budgets().unwrap().remove(0);
    assert_eq!((view.spent_known, view.missing_rate, view.spent.as_str()), (true, None, "184.000000"));
    assert_eq!(core.tray_status().unwrap().reason.as_deref(), Some("Budget total monthly: 92 % of 200.00 EUR"));
}

/// A USD budget over USD spend with no rates stored at all counts exactly as before.
#[test]
fn a_usd_budget_over_usd_spend_needs_no_rates() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_on(dir.path(), 5);
    core.set_setting("time_zone", "UTC").unwrap();
    add_source(&core, ProviderId::Openai, "work");
    core.add_budget(&AddBudgetRequest {
        scope: "source:work".into(),
        period: "month".into(),
        amount: "40".into(),
        currency: None,
        thresholds: None,
    })
    .unwrap();
    for day in 1..=5 {
        let d = format!("2026-03-{day:02}");
        let csv = format!("day,amount,currency,key_id,key_name,model,kind\n{d},10,USD,key_FAKE_w,Work,gpt-5,billed\n");
        core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    }
    assert!(core.list_rates(None, None, None).unwrap().is_empty(), "no rates at all");
    let fired = core.evaluate_alerts().unwrap();
    assert_eq!(thresholds(&fired), [Some(100)]);
    assert_eq!(
        fired[0].body,
        "50.00 USD spent of the monthly budget of 40.00 USD for March 2026. Also past 50% and 80%. \
         While you were away: passed on 2026-03-04."
    );
    let view = core.list_budgets().unwrap().remove(0);
    assert_eq!(
        (view.spent.as_str(), view.spent_known, view.missing_rate, view.converted_from.len()),
        ("50.000000", true, None, 0)
    );
}
