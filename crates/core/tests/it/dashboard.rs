//! The dashboard's key table over a real ledger file: spend today / 7 / 30 days per key and
//! currency, the sparkline, the share, and the inventory flags (rotation, dormant, no limit).

use burnrate_core::budgets::AddBudgetRequest;
use burnrate_core::dashboard::KeyRow;
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::ProviderId;
use chrono::{TimeZone, Utc};

use crate::common::TestCore;

#[test]
fn key_table_sums_windows_and_flags_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-03-30T12:00:00Z")
        .env(&[("DASH_FAKE_KEY", "sk-FAKE-dash-0000")])
        .retry(RetryPolicy::default())
        .build();
    // OpenRouter: keys carry their own limits there, so "no limit" is news.
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openrouter,
        name: "work".into(),
        base_url: None,
        key: KeyInput::Env { var: "DASH_FAKE_KEY".into() },
        settings: None,
    })
    .unwrap();
    let csv = "day,amount,currency,key_id,key_name,model,kind\n\
        2026-03-30,2,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
        2026-03-25,3,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
        2026-03-10,5,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
        2026-02-01,100,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
        2026-03-29,12,USD,key_FAKE_b,Beta,gpt-5,billed\n\
        2026-03-29,7,CNY,key_FAKE_c,Gamma,deepseek-chat,billed\n\
        2026-03-29,1,USD,,,gpt-5,billed\n\
        2026-02-01,4,USD,key_FAKE_old,Old,gpt-5,billed\n";
    core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    {
        // What a sync would know about the keys: creation times, a provider limit on Beta.
        let db = rusqlite::Connection::open(core.paths.db_path()).unwrap();
        let day = |d: &str| {
            Utc.from_utc_datetime(
                &chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().and_hms_opt(0, 0, 0).unwrap(),
            )
            .timestamp()
        };
        db.execute("UPDATE api_keys SET created_at = ?1 WHERE provider_key_id = 'key_FAKE_a'", [day("2025-11-01")])
            .unwrap();
        db.execute(
            "UPDATE api_keys SET created_at = ?1, environment = 'prod' WHERE provider_key_id = 'key_FAKE_b'",
            [day("2026-03-01")],
        )
        .unwrap();
        db.execute(
            "INSERT INTO balance_snapshots (source_id, key_id, taken_at, currency, balance_micros, limit_micros, usage_micros)
             SELECT id, 'key_FAKE_b', 1, 'USD', 40000000, 50000000, 10000000 FROM sources WHERE name = 'work'",
            [],
        )
        .unwrap();
    }
    core.add_budget(&AddBudgetRequest {
        scope: "key:work/key_FAKE_c".into(),
        period: "month".into(),
        amount: "100".into(),
        currency: Some("CNY".into()),
        thresholds: None,
    })
    .unwrap();

    let table = core.key_table().unwrap();
    let row = |id: &str| -> &KeyRow { table.iter().find(|r| r.key_id == id).unwrap() };
    let order: Vec<(&str, &str)> = table.iter().map(|r| (r.key_id.as_str(), r.currency.as_str())).collect();
    // USD keys by 30-day spend, then CNY; the key without spend last; unattributed spend is no key.
    assert_eq!(order, [("key_FAKE_b", "USD"), ("key_FAKE_a", "USD"), ("key_FAKE_c", "CNY"), ("key_FAKE_old", "")]);

    let a = row("key_FAKE_a");
    assert_eq!(
        (a.today.as_str(), a.last_7_days.as_str(), a.last_30_days.as_str()),
        ("2.000000", "5.000000", "10.000000")
    );
    assert_eq!(a.sparkline.len(), 30);
    assert_eq!((a.sparkline[0], a.sparkline[29], a.sparkline[24]), (0, 2_000_000, 3_000_000));
    assert_eq!(a.sparkline.iter().sum::<i64>(), 10_000_000, "the 100 USD of February is outside the window");
    // 10 of the 23 USD the USD keys and the unattributed spend made in 30 days.
    assert_eq!(a.share_basis_points, 4347);
    assert_eq!((a.age_days, a.rotation_due, a.no_limit, a.dormant), (Some(149), true, true, false));
    assert_eq!(a.name.as_deref(), Some("Alpha"));

    let b = row("key_FAKE_b");
    assert_eq!((b.rotation_due, b.no_limit, b.limit.as_deref()), (false, false, Some("50.000000 USD")));
    assert_eq!(b.environment.as_deref(), Some("prod"));
    let c = row("key_FAKE_c");
    assert_eq!((c.share_basis_points, c.no_limit), (10_000, false), "alone in CNY, capped by a budget");
    assert_eq!(c.budget.as_deref(), Some("monthly budget of 100.00 CNY"));
    let old = row("key_FAKE_old");
    assert!(old.dormant && old.sparkline.iter().all(|m| *m == 0));
    assert_eq!(old.last_30_days, "0.000000");
    assert!(!serde_json::to_string(&table).unwrap().contains("sk-FAKE-dash"));

    // A longer rotation period clears Alpha's flag (149 days old); a shorter one flags Beta (29).
    core.set_setting("key_rotation_days", "180").unwrap();
    assert!(!core.key_table().unwrap().iter().find(|r| r.key_id == "key_FAKE_a").unwrap().rotation_due);
    assert_eq!(core.set_setting("key_rotation_days", "20").unwrap().key_rotation_days, 20);
    assert!(core.key_table().unwrap().iter().find(|r| r.key_id == "key_FAKE_b").unwrap().rotation_due);
    assert_eq!(core.set_setting("key_rotation_days", "0").unwrap_err().code, burnrate_core::ErrorCode::InvalidInput);
    assert_eq!(core.set_setting("key_rotation_days", "default").unwrap().key_rotation_days, 90);

    // Environment labels: set, changed, cleared; unknown values and keys are refused.
    let env_of = |table: &[KeyRow], id: &str| table.iter().find(|r| r.key_id == id).unwrap().environment.clone();
    let table = core.set_key_environment("work", "key_FAKE_a", Some("staging")).unwrap();
    assert_eq!(env_of(&table, "key_FAKE_a").as_deref(), Some("staging"));
    let table = core.set_key_environment("work", "key_FAKE_b", None).unwrap();
    assert_eq!(env_of(&table, "key_FAKE_b"), None);
    let bad = core.set_key_environment("work", "key_FAKE_a", Some("production")).unwrap_err();
    assert_eq!(bad.code, burnrate_core::ErrorCode::InvalidInput);
    assert!(bad.message().contains("dev, staging or prod"));
    let missing = core.set_key_environment("work", "key_FAKE_nope", Some("dev")).unwrap_err();
    assert_eq!(missing.code, burnrate_core::ErrorCode::KeyNotFound);
    assert_eq!(env_of(&core.key_table().unwrap(), "key_FAKE_a").as_deref(), Some("staging"), "unchanged by refusals");
    // A later import (like a sync) keeps the label.
    core.import_csv("work", CsvFormat::Generic, csv.as_bytes()).unwrap();
    assert_eq!(env_of(&core.key_table().unwrap(), "key_FAKE_a").as_deref(), Some("staging"));
}

#[test]
fn a_key_with_unpriced_tokens_is_neither_dormant_nor_free_and_no_limit_needs_a_provider_that_has_them() {
    use burnrate_core::days::{parse_day, DayRange};
    use burnrate_core::poll::{BucketWidth, PollResult, SpendKind, SpendRow, SpendWindow};
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-03-30T12:00:00Z")
        .env(&[("DASH_FAKE_KEY", "sk-ant-admin-FAKE-0000")])
        .retry(RetryPolicy::default())
        .build();
    let source = core
        .add_source(&AddSourceRequest {
            provider: ProviderId::Anthropic,
            name: "claude".into(),
            base_url: None,
            key: KeyInput::Env { var: "DASH_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
    // An hour of usage of a model no list price covers: the estimate is 0, the tokens are kept.
    let day = parse_day("2026-03-29").unwrap();
    let range = DayRange::new(day, day).unwrap();
    let row = |model: &str, amount: i64, tokens: i64| SpendRow {
        key_id: "apikey_FAKE_1".into(),
        model: model.into(),
        project: String::new(),
        bucket_start: range.start_ts() + 3600,
        currency: "USD".parse().unwrap(),
        amount_micros: amount,
        input_tokens: Some(tokens),
        output_tokens: Some(0),
        requests: None,
    };
    let poll = PollResult {
        windows: vec![SpendWindow {
            width: BucketWidth::Hour,
            kind: SpendKind::Estimated,
            from: range.start_ts(),
            to: range.end_ts(),
            rows: vec![row("claude-fake-unlisted", 0, 2_500_000)],
        }],
        ..Default::default()
    };
    let mut db = rusqlite::Connection::open(core.paths.db_path()).unwrap();
    burnrate_core::ledger::write_poll(&mut db, source.id, 1, 2, range, &poll).unwrap();
    db.execute(
        "INSERT INTO api_keys (source_id, provider_key_id, display_name) VALUES (?1, 'apikey_FAKE_1', 'batch')",
        [source.id],
    )
    .unwrap();
    let table = core.key_table().unwrap();
    let key = table.iter().find(|r| r.key_id == "apikey_FAKE_1").unwrap();
    assert_eq!((key.dormant, key.unpriced_tokens, key.last_30_days.as_str()), (false, 2_500_000, "0.000000"));
    assert!(!key.no_limit, "Anthropic keys have no limits of their own");
    assert!(!key.rotation_due, "age unknown: no rotation advice");
    assert!(!key.today_reported, "Anthropic has not published today (03-30) yet: not reported, not zero");
    let unpriced = core.unpriced(None, None).unwrap();
    assert_eq!(unpriced.len(), 1);
    assert_eq!(unpriced[0].message, "2,500,000 tokens of claude-fake-unlisted not priced");
    // Priced now, but these tokens were estimated before: still named, with the sync that
    // re-estimates them, until it has run.
    core.set_model_price("claude-fake-unlisted", "3", "15").unwrap();
    let stale = core.unpriced(None, None).unwrap();
    assert_eq!(stale.len(), 1);
    assert!(stale[0].priced_since);
    assert_eq!(stale[0].message, "2,500,000 tokens of claude-fake-unlisted estimated before it had a price");
    assert_eq!(stale[0].fix, "burnrate sync --source claude --from 2026-03-29 --to 2026-03-29");
    let poll = PollResult {
        windows: vec![SpendWindow {
            rows: vec![row("claude-fake-unlisted", 7_500_000, 2_500_000)],
            ..poll.windows[0].clone()
        }],
        ..Default::default()
    };
    burnrate_core::ledger::write_poll(&mut db, source.id, 3, 4, range, &poll).unwrap();
    assert!(core.unpriced(None, None).unwrap().is_empty(), "re-estimated: nothing left to name");
    assert_eq!(core.key_table().unwrap().iter().find(|r| r.key_id == "apikey_FAKE_1").unwrap().unpriced_tokens, 0);
}
