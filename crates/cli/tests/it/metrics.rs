//! `burnrate metrics` end to end: the real binary over a ledger seeded with two providers'
//! own cost exports (OpenAI and Anthropic) plus hostile key names; `promtool check metrics`
//! (required, never skipped) accepts both formats, and the series of each source and currency
//! add up to `report daily --by source` for the same days.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{self, signed_micros, Cli};

/// Runs `promtool check metrics` over `text`; panics with promtool's words when it refuses.
/// promtool is a test requirement (Debian's `prometheus` package; `scripts/setup --test`).
fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is required for this test (apt-get install prometheus, or scripts/setup --test)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool refused the metrics:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn seeded() -> Cli {
    let mut cli = Cli::new();
    cli.env.push(("BURNRATE_TEST_ANTHROPIC_KEY".into(), "sk-ant-admin01-FAKEFAKEFAKE".into()));
    cli.run(&["source", "add", "openai", "--name", "oa", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    cli.run(&["source", "add", "anthropic", "--name", "an", "--key-env", "BURNRATE_TEST_ANTHROPIC_KEY"]).ok();
    let dir = cli.data_dir.path();
    for (source, file, format) in [("oa", "openai_costs.csv", "openai"), ("an", "anthropic_cost.csv", "anthropic")] {
        let path = dir.join(file);
        std::fs::write(&path, common::fixture(&format!("csv/{file}"))).unwrap();
        cli.run(&["import", "csv", "--source", source, path.to_str().unwrap(), "--format", format]).ok();
    }
    // A third source whose key names are everything a label value must escape.
    cli.run(&["source", "add", "openai", "--name", "hostile", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let csv = "day,amount,currency,key_id,key_name,model,kind\n\
               2026-03-02,1.25,USD,key_q,\"quote \"\" back\\slash\nnew line\u{7}bell\u{1b}[31m\",\"m\"\"x\\y\",billed\n\
               2026-03-01,2,EUR,,,,billed\n";
    let path = dir.join("hostile.csv");
    std::fs::write(&path, csv).unwrap();
    cli.run(&["import", "csv", "--source", "hostile", path.to_str().unwrap(), "--format", "generic"]).ok();
    cli
}

/// Unescapes a label value of the text format (`\\`, `\"`, `\n`).
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The samples of one metric: labels (unescaped) and the value.
fn samples(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else { continue };
        let (labels, value) = rest.rsplit_once("} ").unwrap();
        let mut map = BTreeMap::new();
        // label="value",… with escaped quotes inside values.
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").unwrap();
            let mut end = 0;
            let bytes = after.as_bytes();
            while bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            map.insert(key.to_owned(), unescape(&after[..end]));
            rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
        }
        out.push((map, value.parse().unwrap()));
    }
    out
}

#[test]
fn both_formats_pass_promtool_and_add_up_to_report_daily_by_source() {
    let cli = seeded();
    let om = cli.run(&["metrics"]).ok().stdout;
    assert!(om.ends_with("# EOF\n"), "{om}");
    promtool_accepts(&om);
    let prom = cli.run(&["metrics", "--format", "prometheus"]).ok().stdout;
    assert!(!prom.contains("# EOF") && prom.contains("# TYPE burnrate_info gauge"), "{prom}");
    promtool_accepts(&prom);

    // The hostile names came through escaped, on one line, control characters dropped.
    let month = samples(&om, "burnrate_spend_month_to_date");
    let hostile = month.iter().find(|(l, _)| l["key"] == "key_q").expect("the hostile key's series");
    assert!(hostile.0["key_name"].starts_with("quote \" back\\slash new line"), "{:?}", hostile.0);
    assert!(!hostile.0["key_name"].contains(['\n', '\u{7}', '\u{1b}']), "{:?}", hostile.0);
    assert_eq!(hostile.0["source"], "hostile");
    assert_eq!(hostile.0["model"], "m\"x\\y");

    // Month to date (BURNRATE_NOW is 2026-03-02) per source and currency = report daily --by source.
    let mut from_metrics: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (l, v) in &month {
        *from_metrics.entry((l["source"].clone(), l["currency"].clone())).or_default() += (v * 1e6).round() as i64;
    }
    let mut from_report: BTreeMap<(String, String), i64> = BTreeMap::new();
    let report =
        cli.run(&["report", "daily", "--by", "source", "--from", "2026-03-01", "--to", "2026-03-02", "--json"]);
    for r in report.ok().json().as_array().unwrap() {
        let s = |f: &str| r[f].as_str().unwrap().to_owned();
        *from_report.entry((s("source"), s("currency"))).or_default() += signed_micros(&s("amount"));
    }
    assert!(
        from_report.keys().any(|(s, _)| s == "oa") && from_report.keys().any(|(s, _)| s == "an"),
        "{from_report:?}"
    );
    assert_eq!(from_metrics, from_report);

    // Today is what report daily says of 2026-03-02 alone.
    let mut today_metrics: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (l, v) in samples(&om, "burnrate_spend_today") {
        *today_metrics.entry((l["source"].clone(), l["currency"].clone())).or_default() += (v * 1e6).round() as i64;
    }
    let mut today_report: BTreeMap<(String, String), i64> = BTreeMap::new();
    let report =
        cli.run(&["report", "daily", "--by", "source", "--from", "2026-03-02", "--to", "2026-03-02", "--json"]);
    for r in report.ok().json().as_array().unwrap() {
        let s = |f: &str| r[f].as_str().unwrap().to_owned();
        *today_report.entry((s("source"), s("currency"))).or_default() += signed_micros(&s("amount"));
    }
    today_metrics.retain(|_, v| *v != 0);
    assert_eq!(today_metrics, today_report);

    // Sources are listed with their poll interval; none has synced, so none is up.
    let up = samples(&om, "burnrate_source_up");
    assert_eq!(up.len(), 3, "{up:?}");
    assert!(up.iter().all(|(_, v)| *v == 0.0));
    let interval = samples(&om, "burnrate_source_poll_interval_seconds");
    assert!(interval.iter().any(|(l, v)| l["source"] == "oa" && *v == 1800.0), "{interval:?}");
}

#[test]
fn out_writes_a_prom_file_in_the_textfile_format_and_budgets_show() {
    let cli = seeded();
    // A monthly budget the imported spend has already passed: adding it records threshold alerts.
    cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "5", "--currency", "USD"]).ok();
    let dir = cli.data_dir.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("burnrate.prom");
    let run = cli.run(&["metrics", "--out", file.to_str().unwrap()]).ok();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("# EOF"), "a .prom file gets the 0.0.4 format:\n{text}");
    promtool_accepts(&text);
    // Nothing but the file is left in the directory (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let limit = samples(&text, "burnrate_budget_limit");
    assert_eq!(limit.len(), 1, "{text}");
    assert_eq!(limit[0].1, 5.0);
    // The alert counter: 0.0.4 names its family with the samples' _total.
    assert!(text.contains("# TYPE burnrate_alerts_total counter\n"), "{text}");
    let alerts = samples(&text, "burnrate_alerts_total");
    assert!(alerts.iter().any(|(l, v)| l["kind"] == "threshold" && *v >= 1.0), "{alerts:?}");
    assert_eq!(limit[0].0["period"], "month");
    // The total also covers hostile's 2 EUR, converted at its day's rate; with no rate stored
    // the spend is unknown: no sample rather than a smaller number.
    assert_eq!(samples(&text, "burnrate_budget_spent").len(), 0, "{text}");
    let rates = cli.data_dir.path().join("rates.csv");
    std::fs::write(&rates, "date,currency,rate\n2026-03-01,USD,1.25\n").unwrap();
    cli.run(&["rates", "import", rates.to_str().unwrap()]).ok();
    cli.run(&["metrics", "--out", file.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(samples(&text, "burnrate_budget_spent").len(), 1, "{text}");

    // --format openmetrics overrides the extension; a missing directory is an error that says so.
    let run = cli.run(&["metrics", "--out", file.to_str().unwrap(), "--format", "openmetrics"]).ok();
    assert!(run.stdout.is_empty());
    assert!(std::fs::read_to_string(&file).unwrap().ends_with("# EOF\n"));
    let missing = cli.data_dir.path().join("nowhere/burnrate.prom");
    let run = cli.run(&["metrics", "--out", missing.to_str().unwrap()]).failed();
    assert!(run.stderr.contains("cannot write the metrics to"), "{}", run.stderr);
}

#[test]
fn metrics_top_n_is_a_setting_with_bounds() {
    let cli = Cli::new();
    assert!(cli.run(&["settings", "get"]).ok().stdout.contains("metrics_top_n"));
    cli.run(&["settings", "set", "metrics_top_n", "0"]).failed();
    cli.run(&["settings", "set", "metrics_top_n", "10001"]).failed();
    let run = cli.run(&["settings", "set", "metrics_top_n", "10000"]).ok();
    assert!(run.stdout.contains("10000"), "{}", run.stdout);
}
