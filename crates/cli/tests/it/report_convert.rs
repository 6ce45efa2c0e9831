//! `burnrate report daily --convert-to EUR` end to end: the real binary and a real ledger file
//! with a USD and a CNY source (seeded through `import csv`) and rates imported for chosen days:
//! a Friday with its weekend, 34 days without a rate, then Easter (a company rate on Good
//! Friday, none on the Saturday). Every converted amount below is computed by hand from those
//! rates: amount ÷ units per EUR, rounded half to even to six places.

use crate::common;

use common::Cli;
use serde_json::{json, Value};

/// After every day of the data and the rates, so none is in the future.
const NOW: &str = "2026-04-10T12:00:00Z";

const USD_SPEND: &str = "day,amount,currency,key_id,key_name,model,kind\n\
    2026-02-27,10.000000,USD,,,,billed\n\
    2026-02-28,4.000000,USD,,,,billed\n\
    2026-04-03,3.333333,USD,,,,billed\n\
    2026-04-04,1.234567,USD,,,,billed\n\
    2026-04-06,0.500000,USD,,,,billed\n";

const CNY_SPEND: &str = "day,amount,currency,key_id,key_name,model,kind\n\
    2026-02-28,100.000000,CNY,,,,billed\n\
    2026-03-31,50.000000,CNY,,,,billed\n\
    2026-04-04,12.345678,CNY,,,,billed\n\
    2026-04-06,8.000000,CNY,,,,billed\n";

/// Units per EUR. Friday 27 February, then nothing until Thursday 2 April; Good Friday
/// (3 April) has a company rate, the Easter weekend none, Easter Monday one.
const RATES: &str = "date,currency,rate\n\
    2026-02-27,USD,1.0823\n2026-02-27,CNY,7.8123\n\
    2026-04-02,USD,1.0790\n2026-04-02,CNY,7.8250\n\
    2026-04-03,USD,1.0750\n2026-04-03,CNY,7.8000\n\
    2026-04-06,USD,1.0800\n2026-04-06,CNY,7.8300\n";

const MISSING: &str =
    "missing rate for CNY since 2026-03-31; import rates with `burnrate rates import` or run `burnrate rates sync`";

fn write(cli: &Cli, name: &str, text: &str) -> String {
    let path = cli.data_dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn ledger() -> Cli {
    let mut cli = Cli::new();
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), NOW.into()));
    for (name, spend) in [("usd-books", USD_SPEND), ("cny-relay", CNY_SPEND)] {
        cli.run(&["source", "add", "openai", "--name", name, "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
        let file = write(&cli, &format!("{name}.csv"), spend);
        cli.run(&["import", "csv", "--source", name, &file, "--format", "generic"]).ok();
    }
    let rates = write(&cli, "rates.csv", RATES);
    cli.run(&["rates", "import", &rates]).ok();
    cli
}

fn report(cli: &Cli, from: &str, to: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["report", "daily", "--from", from, "--to", to];
    args.extend(extra);
    cli.run(&args).ok()
}

/// A row as `report daily --json` printed it before conversions existed.
fn plain(day: &str, currency: &str, amount: &str) -> Value {
    json!({"day": day, "source": null, "provider": null, "key_id": null, "key_name": null, "model": null,
           "currency": currency, "amount": amount, "kind": "billed"})
}

fn converted(day: &str, currency: &str, amount: &str, eur: Option<&str>, rate_date: Option<&str>) -> Value {
    let mut row = plain(day, currency, amount);
    row["converted_amount"] = json!(eur);
    row["converted_currency"] = json!("EUR");
    row["rate_date"] = json!(rate_date);
    row
}

fn micros(text: &str) -> i64 {
    common::signed_micros(text)
}

#[test]
fn each_row_is_converted_at_its_own_days_rate_and_a_missing_rate_is_null_and_said() {
    let cli = ledger();
    let run = report(&cli, "2026-02-27", "2026-04-06", &["--convert-to", "EUR", "--json"]);
    let expected = json!([
        // 10 / 1.0823 = 9.2395823…
        converted("2026-02-27", "USD", "10.000000", Some("9.239582"), Some("2026-02-27")),
        // Saturday: Friday's rates. 100 / 7.8123 = 12.8003276…; 4 / 1.0823 = 3.6958329…
        converted("2026-02-28", "CNY", "100.000000", Some("12.800328"), Some("2026-02-27")),
        converted("2026-02-28", "USD", "4.000000", Some("3.695833"), Some("2026-02-27")),
        // The last CNY rate is 32 days old: missing, not stale.
        converted("2026-03-31", "CNY", "50.000000", None, None),
        // 3.333333 / 1.0750 = 3.1007748…
        converted("2026-04-03", "USD", "3.333333", Some("3.100775"), Some("2026-04-03")),
        // Holy Saturday: Good Friday's rates. 12.345678 / 7.8 = 1.5827792…; 1.234567 / 1.075 = 1.1484344…
        converted("2026-04-04", "CNY", "12.345678", Some("1.582779"), Some("2026-04-03")),
        converted("2026-04-04", "USD", "1.234567", Some("1.148434"), Some("2026-04-03")),
        // 8 / 7.83 = 1.0217113…; 0.5 / 1.08 = 0.4629629…
        converted("2026-04-06", "CNY", "8.000000", Some("1.021711"), Some("2026-04-06")),
        converted("2026-04-06", "USD", "0.500000", Some("0.462963"), Some("2026-04-06")),
    ]);
    assert_eq!(run.json(), expected, "{}", run.stdout);
    assert_eq!(run.stderr.lines().collect::<Vec<_>>(), [MISSING], "one line on stderr, JSON untouched");

    // The table: a missing row says so, and so does the total.
    let table = report(&cli, "2026-02-27", "2026-04-06", &["--convert-to", "eur"]);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("DAY") && lines[0].ends_with("EUR"), "{}", table.stdout);
    assert!(lines.iter().any(|l| l.starts_with("2026-03-31") && l.ends_with("no rate")), "{}", table.stdout);
    let total = lines.last().unwrap();
    assert!(total.starts_with("total") && total.ends_with("unknown"), "{}", table.stdout);
    assert_eq!(table.stderr.trim_end(), MISSING);

    // CSV: the ten columns as before, then the three; the missing amount is an empty cell.
    let csv = report(&cli, "2026-02-27", "2026-03-31", &["--convert-to", "EUR", "--csv"]).stdout;
    assert_eq!(
        csv,
        "day,source,provider,key_id,key_name,model,model_name,currency,amount,kind,converted_amount,converted_currency,rate_date\n\
         2026-02-27,,,,,,,USD,10.000000,billed,9.239582,EUR,2026-02-27\n\
         2026-02-28,,,,,,,CNY,100.000000,billed,12.800328,EUR,2026-02-27\n\
         2026-02-28,,,,,,,USD,4.000000,billed,3.695833,EUR,2026-02-27\n\
         2026-03-31,,,,,,,CNY,50.000000,billed,,EUR,\n"
    );
}

#[test]
fn the_tables_total_is_the_sum_of_its_rounded_rows() {
    let cli = ledger();
    let run = report(&cli, "2026-04-01", "2026-04-06", &["--convert-to", "EUR", "--by", "source"]);
    assert_eq!(run.stderr, "", "every rate is known");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 1, "header, five rows, total:\n{}", run.stdout);
    let last_cell = |line: &str| line.split_whitespace().last().unwrap().to_owned();
    let rows: Vec<String> = lines[1..6].iter().map(|l| last_cell(l)).collect();
    assert_eq!(rows, ["3.100775", "1.582779", "1.148434", "1.021711", "0.462963"]);
    // The exact amounts add up to 7.3166628…, which would round to 7.316663; the total is the
    // sum of the rows as shown.
    assert!(lines[6].starts_with("total"), "{}", run.stdout);
    assert_eq!(last_cell(lines[6]), "7.316662");
    assert_eq!(rows.iter().map(|r| micros(r)).sum::<i64>(), micros("7.316662"));
    assert!(lines[1].contains("usd-books") && lines[2].contains("cny-relay"), "{}", run.stdout);
}

#[test]
fn without_convert_to_the_output_is_as_before_even_with_a_display_currency() {
    let cli = ledger();
    let expected = json!([
        plain("2026-02-27", "USD", "10.000000"),
        plain("2026-02-28", "CNY", "100.000000"),
        plain("2026-02-28", "USD", "4.000000"),
        plain("2026-03-31", "CNY", "50.000000"),
    ]);
    let before = report(&cli, "2026-02-27", "2026-03-31", &["--json"]);
    assert_eq!(before.json(), expected);
    assert!(!before.stdout.contains("converted") && before.stderr.is_empty(), "{}", before.stdout);
    // Byte for byte, the converted JSON is the plain one with three more lines per row.
    let converted = report(&cli, "2026-02-27", "2026-03-31", &["--convert-to", "EUR", "--json"]).stdout;
    let stripped: String = converted
        .lines()
        .filter(|l| {
            !["\"converted_amount\"", "\"converted_currency\"", "\"rate_date\""].iter().any(|f| l.trim().starts_with(f))
        })
        .map(|l| if l.trim() == "\"kind\": \"billed\"," { l.trim_end_matches(',') } else { l })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(stripped, before.stdout);
    let csv = report(&cli, "2026-02-27", "2026-02-27", &["--csv"]).stdout;
    assert_eq!(csv, "day,source,provider,key_id,key_name,model,model_name,currency,amount,kind\n2026-02-27,,,,,,,USD,10.000000,billed\n");
    let table = report(&cli, "2026-02-27", "2026-02-27", &[]).stdout;
    assert_eq!(
        table.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["DAY", "SOURCE", "KEY", "MODEL", "AMOUNT", "CURRENCY", "KIND"]
    );
    assert_eq!(table.lines().count(), 2, "no total line without --convert-to:\n{table}");

    // A display currency is for the app's views: scripts keep getting native amounts.
    cli.run(&["settings", "set", "display_currency", "EUR"]).ok();
    let after = report(&cli, "2026-02-27", "2026-03-31", &["--json"]);
    assert_eq!(after.stdout, before.stdout);
    assert_eq!(after.stderr, "");
}

#[test]
fn a_currency_without_rates_is_refused_before_anything_is_printed() {
    let cli = ledger();
    for (code, why) in [("XYZ", "Burnrate has no exchange rates for XYZ"), ("E1", "is not a currency code")] {
        let run = cli
            .run(&["report", "daily", "--from", "2026-02-27", "--to", "2026-04-06", "--convert-to", code, "--json"])
            .failed();
        assert_eq!(run.stdout, "", "{code}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(lines[0].starts_with("error: ") && lines[0].contains(why), "{}", run.stderr);
    }
    assert!(cli.run(&["report", "daily", "--convert-to", "XYZ"]).failed().stderr.contains("burnrate rates import"));
}
