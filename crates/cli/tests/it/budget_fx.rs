//! `burnrate budget` across currencies through the real binary and a real ledger file: a EUR
//! budget over a USD and a CNY source, with a CNY rate missing for the month's last days; the
//! list says so (table and JSON) and `alerts --check` warns, until the rate is imported.

use crate::common;

use common::Cli;
use serde_json::json;

fn write(cli: &Cli, name: &str, text: &str) -> String {
    let path = cli.data_dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn budget_list_shows_a_missing_rate_instead_of_a_smaller_total() {
    let mut cli = Cli::new();
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), "2026-03-12T12:00:00Z".into()));
    cli.env.push(("TZ".into(), "UTC".into()));
    cli.run(&["source", "add", "openai", "--name", "work", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    cli.run(&["source", "add", "deepseek", "--name", "deep", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    // 10 USD and 48 CNY a day, 1 to 12 March.
    let (mut usd, mut cny) = (String::from("day,amount,currency\n"), String::from("day,amount,currency\n"));
    for d in 1..=12 {
        usd += &format!("2026-03-{d:02},10,USD\n");
        cny += &format!("2026-03-{d:02},48,CNY\n");
    }
    let usd = write(&cli, "usd.csv", &usd);
    let cny = write(&cli, "cny.csv", &cny);
    cli.run(&["import", "csv", "--source", "work", &usd, "--format", "generic"]).ok();
    cli.run(&["import", "csv", "--source", "deep", &cny, "--format", "generic"]).ok();
    // 1.25 USD per EUR for the month; the last CNY rate is from 5 February, which stands in
    // for at most 31 days: to 8 March.
    let rates = write(&cli, "rates.csv", "date,currency,rate\n2026-03-01,USD,1.25\n2026-02-05,CNY,8\n");
    cli.run(&["rates", "import", &rates]).ok();

    let added = cli
        .run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "200", "--currency", "eur"])
        .ok();
    assert!(added.stderr.contains("200.00 EUR per month for total"), "{}", added.stderr);

    // Known: 120 USD / 1.25 = 96 EUR, and 8 days × 48 CNY / 8 = 48 EUR: at least 144 EUR.
    let listed = cli.run(&["budget", "list", "--json"]).ok().json();
    let b = &listed[0];
    assert_eq!(
        (&b["spent"], &b["spent_known"], &b["missing_rate"], &b["converted_from"]),
        (&json!("144.000000"), &json!(false), &json!("missing rate for CNY since 2026-03-09"), &json!(["CNY", "USD"]))
    );
    let table = cli.run(&["budget", "list"]).ok().stdout;
    assert!(table.contains("at least 144.00; missing rate for CNY since 2026-03-09"), "{table}");
    let check = cli.run(&["alerts", "--check"]);
    assert_eq!(check.code, 1, "a budget that cannot be counted is a warning: {} {}", check.stdout, check.stderr);
    assert!(check.stdout.contains("missing rate for CNY since 2026-03-09"), "{}", check.stdout);

    // The rate arrives: 576 CNY / 8 = 72 EUR, 168 EUR in all.
    let more = write(&cli, "more.csv", "date,currency,rate\n2026-03-09,CNY,8\n");
    cli.run(&["rates", "import", &more]).ok();
    let b = &cli.run(&["budget", "list", "--json"]).ok().json()[0];
    assert_eq!(
        (&b["spent"], &b["spent_known"], &b["missing_rate"]),
        (&json!("168.000000"), &json!(true), &json!(null))
    );
    let table = cli.run(&["budget", "list"]).ok().stdout;
    assert!(table.contains("168.00 (converted from CNY, USD)"), "{table}");
}
