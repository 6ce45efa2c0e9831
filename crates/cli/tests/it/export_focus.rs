//! `burnrate export focus` end to end: the real binary on a real ledger with an OpenAI source
//! (billed) and an Anthropic one (a workspace bill with per-key estimates).

use crate::common;

use std::collections::BTreeMap;

use common::{signed_micros, Cli};

const HEADER: &str = "day,amount,currency,key_id,key_name,model,kind\n";

fn seeded() -> Cli {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "work", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    cli.run(&["source", "add", "anthropic", "--name", "claude", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let import = |source: &str, lines: &str| {
        let path = cli.data_dir.path().join(format!("{source}.csv"));
        std::fs::write(&path, format!("{HEADER}{lines}")).unwrap();
        cli.run(&["import", "csv", "--source", source, &path.display().to_string(), "--format", "generic"]).ok();
    };
    import(
        "work",
        "2026-03-01,10.50,USD,key_FAKE_a,@SUM(A1),gpt-5,billed\n2026-03-02,0.000001,USD,key_FAKE_b,Beta,gpt-5,billed\n",
    );
    import(
        "claude",
        "2026-03-01,9,USD,,,,billed\n2026-03-01,4,USD,key_FAKE_k1,Backend,claude-sonnet,estimated\n\
         2026-03-02,3,USD,key_FAKE_k1,Backend,claude-sonnet,estimated\n",
    );
    cli
}

fn by_day(csv: &str, column: &str) -> BTreeMap<String, i64> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
    let (day, value) = (at("ChargePeriodStart"), at(column));
    let mut sums = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        *sums.entry(r[day][..10].to_owned()).or_insert(0) += signed_micros(&r[value]);
    }
    sums
}

#[test]
fn export_focus_writes_the_file_whole_and_its_billed_cost_matches_the_report_by_source() {
    let cli = seeded();
    let args = ["export", "focus", "--from", "2026-03-01", "--to", "2026-03-02"];
    let stdout = cli.run(&args).ok().stdout;
    let out = cli.data_dir.path().join("focus.csv");
    std::fs::write(&out, "old export").unwrap();
    let out_text = out.display().to_string();
    let run = cli.run(&[&args[..], &["--out", &out_text]].concat()).ok();
    assert!(run.stdout.is_empty() && run.stderr.contains("focus.csv"), "{}", run.stderr);
    let file = std::fs::read_to_string(&out).unwrap();
    assert_eq!(file, stdout, "--out writes what standard output shows");
    assert!(file.starts_with("BilledCost,BillingAccountId,"), "{file}");
    let leftovers: Vec<_> = std::fs::read_dir(cli.data_dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind: {leftovers:?}");

    let report = cli
        .run(&["report", "daily", "--by", "source", "--from", "2026-03-01", "--to", "2026-03-02", "--json"])
        .ok()
        .json();
    let mut billed: BTreeMap<String, i64> = BTreeMap::new();
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for r in report.as_array().unwrap() {
        let (day, amount) = (r["day"].as_str().unwrap().to_owned(), signed_micros(r["amount"].as_str().unwrap()));
        *billed.entry(day.clone()).or_default() += if r["kind"] == "billed" { amount } else { 0 };
        *total.entry(day).or_default() += amount;
    }
    assert_eq!(by_day(&file, "BilledCost"), billed);
    assert_eq!(by_day(&file, "EffectiveCost"), total);
    assert_eq!(billed["2026-03-01"], 19_500_000);
    assert_eq!(billed["2026-03-02"], 1);
    assert!(file.contains(",'@SUM(A1),"), "formula neutralised: {file}");

    // An unwritable destination fails with a message, leaving nothing behind.
    let missing = cli.data_dir.path().join("no-such-dir/focus.csv").display().to_string();
    let failed = cli.run(&[&args[..], &["--out", &missing]].concat()).failed();
    assert!(failed.stderr.contains("cannot write"), "{}", failed.stderr);
}

/// Runs the FinOps Foundation's validator on an export when `BURNRATE_FOCUS_VALIDATOR` names
/// its executable (scripts/test sets it after scripts/setup --test installed it).
#[test]
#[allow(clippy::disallowed_methods)] // reason: the test reads where the validator was installed.
fn export_focus_passes_the_focus_validator_when_installed() {
    let Ok(validator) = std::env::var("BURNRATE_FOCUS_VALIDATOR") else {
        return;
    };
    let cli = seeded();
    let out = cli.data_dir.path().join("focus.csv").display().to_string();
    cli.run(&["export", "focus", "--from", "2026-03-01", "--to", "2026-03-02", "--out", &out]).ok();
    let version = std::env::var("BURNRATE_FOCUS_VALIDATOR_VERSION").unwrap_or_else(|_| "1.2".to_owned());
    let result = std::process::Command::new(&validator)
        .args(["--data-file", &out, "--validate-version", &version])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {validator}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    assert!(result.status.success(), "focus-validator rejected the export:\n{text}");
}
