//! `burnrate import csv` end to end: the real binary, a real SQLite file, files in the generic
//! format (generated here from a table, so the expected report is derived from the same data)
//! and the OpenAI / Claude Console cost exports (fixtures).

use crate::common;

use std::collections::BTreeMap;

use common::Cli;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn cli() -> Cli {
    let cli = Cli::new();
    for name in ["books", "estimates", "openai-export", "claude-export"] {
        cli.run(&["source", "add", "openai", "--name", name, "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    }
    cli
}

fn fixture_path(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/csv").join(rel).display().to_string()
}

fn write(cli: &Cli, name: &str, text: &[u8]) -> String {
    let path = cli.data_dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn import(cli: &Cli, source: &str, file: &str, format: &str) -> common::Run {
    cli.run(&["import", "csv", "--source", source, file, "--format", format])
}

fn report(cli: &Cli, by: &[&str]) -> Value {
    let mut args = vec!["report", "daily", "--from", "2026-02-20", "--to", "2026-03-20", "--json"];
    for b in by {
        args.push("--by");
        args.push(b);
    }
    cli.run(&args).ok().json()
}

/// Micro-units of a plain decimal text, rounded half away from zero (what the ledger stores).
fn micros(text: &str) -> i64 {
    let (neg, t) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits: Vec<i64> = frac.bytes().map(|b| (b - b'0') as i64).chain(std::iter::repeat(0)).take(7).collect();
    let mut m = int.parse::<i64>().unwrap() * 1_000_000 + digits[..6].iter().fold(0, |a, d| a * 10 + d);
    if digits[6] >= 5 {
        m += 1;
    }
    if neg {
        -m
    } else {
        m
    }
}

fn micros_text(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "" };
    format!("{sign}{}.{:06}", m.abs() / 1_000_000, m.abs() % 1_000_000)
}

/// Splits one CSV line, honouring quotes (enough for the fixtures).
fn split(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// (header, rows) of a fixture.
fn read_fixture(rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(fixture_path(rel)).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

/// (source_id, key_id, model, project, bucket_start, currency, kind, amount_micros)
type SpendRowDump = (i64, String, String, String, i64, String, String, i64);

fn spend_dump(cli: &Cli) -> Vec<SpendRowDump> {
    cli.db()
        .prepare(
            "SELECT source_id, key_id, model, project, bucket_start, currency, kind, amount_micros FROM spend
             ORDER BY 1, 2, 3, 4, 5, 6, 7",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn key_dump(cli: &Cli) -> Vec<(i64, String, Option<String>)> {
    cli.db()
        .prepare("SELECT source_id, provider_key_id, display_name FROM api_keys ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The generic format: ten days, three keys (one unattributed), three models (one unattributed),
// two currencies, lines of one bucket split in two, quoted names.

const DAYS: [&str; 10] = [
    "2026-03-01",
    "2026-03-02",
    "2026-03-03",
    "2026-03-04",
    "2026-03-05",
    "2026-03-06",
    "2026-03-07",
    "2026-03-08",
    "2026-03-09",
    "2026-03-10",
];
const KEYS: [(&str, &str); 3] = [("key_alpha", "Alpha app"), ("key_beta", "Beta, \"batch\" jobs"), ("", "")];
const MODELS: [&str; 3] = ["gpt-5", "claude-sonnet-4-5", ""];

struct Line {
    day: &'static str,
    key: usize,
    model: usize,
    amount: String,
    currency: &'static str,
}

fn generic_lines(day_range: std::ops::Range<usize>, salt: i64) -> Vec<Line> {
    let mut lines = Vec::new();
    for d in day_range {
        for k in 0..KEYS.len() {
            for m in 0..MODELS.len() {
                if (d + k * 2 + m) % 5 == 0 {
                    continue;
                }
                let base = (d as i64 + 1) * 1_234_567 + k as i64 * 98_765 + m as i64 * 4_321 + salt;
                let currency = if k == 2 && m == 2 { "CNY" } else { "USD" };
                // Amounts in several spellings: six places, trailing zeros trimmed, whole units.
                let text = match (d + m) % 3 {
                    0 => micros_text(base),
                    1 => micros_text(base).trim_end_matches('0').to_owned(),
                    _ => format!("{}", base / 1_000_000),
                };
                lines.push(Line { day: DAYS[d], key: k, model: m, amount: text, currency });
                if (d + k + m) % 4 == 1 {
                    // The same bucket again: summed with the line above.
                    lines.push(Line { day: DAYS[d], key: k, model: m, amount: "0.000001".into(), currency });
                }
            }
        }
    }
    lines
}

fn render(lines: &[Line], kind: &str) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::from("day,amount,currency,key_id,key_name,model,kind\n");
    for l in lines {
        let (id, name) = KEYS[l.key];
        out += &format!("{},{},{},{},{},{},{}\n", l.day, l.amount, l.currency, id, quote(name), MODELS[l.model], kind);
    }
    out
}

fn expected(lines: &[Line], kind: &str) -> (Value, Value, Value) {
    let mut by_key: BTreeMap<(&str, Option<&str>, &str), (i64, &str)> = BTreeMap::new();
    let mut by_model: BTreeMap<(&str, Option<&str>, &str), i64> = BTreeMap::new();
    let mut totals: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for l in lines {
        let (id, name) = KEYS[l.key];
        let key = (!id.is_empty()).then_some(id);
        let e = by_key
            .entry((l.day, key, l.currency))
            .or_insert((0, if id.is_empty() { "not attributed to a key" } else { name }));
        e.0 += micros(&l.amount);
        let model = (!MODELS[l.model].is_empty()).then_some(MODELS[l.model]);
        *by_model.entry((l.day, model, l.currency)).or_default() += micros(&l.amount);
        *totals.entry((l.day, l.currency)).or_default() += micros(&l.amount);
    }
    let row = |day: &str, key: Option<&str>, name: Option<&str>, model: Option<&str>, cur: &str, m: i64| {
        json!({"day": day, "source": null, "provider": null, "key_id": key, "key_name": name, "model": model,
               "currency": cur, "amount": micros_text(m), "kind": kind})
    };
    (
        by_key.iter().map(|((d, k, c), (m, n))| row(d, *k, Some(n), None, c, *m)).collect(),
        by_model
            .iter()
            .map(|((d, model, c), m)| {
                let mut r = row(d, None, None, *model, c, *m);
                r["model_name"] = json!(model.unwrap_or("not attributed to a model"));
                r
            })
            .collect(),
        totals.iter().map(|((d, c), m)| row(d, None, None, None, c, *m)).collect(),
    )
}

#[test]
fn generic_ten_days_by_key_and_model_to_the_micro_unit() {
    let cli = cli();
    let lines = generic_lines(0..10, 0);
    let file = write(&cli, "spend.csv", render(&lines, "billed").as_bytes());
    let run = import(&cli, "books", &file, "generic").ok();
    let first_line = run.stdout.lines().next().unwrap();
    assert!(
        first_line.starts_with(&format!("imported {} lines as ", lines.len()))
            && first_line.ends_with(
                "into books on 10 days between 2026-03-01 and 2026-03-10 (billed), replacing 0 rows already in the ledger"
            ),
        "{}",
        run.stdout
    );
    let (by_key, by_model, totals) = expected(&lines, "billed");
    assert_eq!(report(&cli, &["key"]), by_key);
    assert_eq!(report(&cli, &["model"]), by_model);
    assert_eq!(report(&cli, &[]), totals);
    cli.assert_one_total_whatever_the_grouping(DAYS[0], DAYS[9]);

    // Importing the same file again replaces: nothing changes.
    let before = spend_dump(&cli);
    import(&cli, "books", &file, "generic").ok();
    assert_eq!(spend_dump(&cli), before);
    assert_eq!(report(&cli, &["key"]), by_key);

    // Estimates go to a source of their own here (kind estimated), and do not touch the billed rows.
    let est = generic_lines(2..5, 17);
    let est_file = write(&cli, "est.csv", render(&est, "estimated").as_bytes());
    let run = cli.run(&["import", "csv", "--source", "estimates", &est_file, "--json"]).ok();
    assert_eq!(run.json()["kinds"], json!(["estimated"]));
    assert_eq!(run.json()["from"], "2026-03-03");
    let n: i64 = cli
        .db()
        .query_row("SELECT count(*) FROM spend s JOIN sources src ON src.id = s.source_id WHERE src.name = 'estimates' AND kind = 'estimated'", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    let books_after: Vec<_> = spend_dump(&cli).into_iter().filter(|r| r.6 == "billed").collect();
    assert_eq!(books_after, before);
}

#[test]
fn a_correction_replaces_only_its_days() {
    let cli = cli();
    let all = generic_lines(0..10, 0);
    import(&cli, "books", &write(&cli, "all.csv", render(&all, "billed").as_bytes()), "generic").ok();
    // A corrected export for 03-04..03-06 with other amounts, and nothing at all for key_beta.
    let fix: Vec<Line> = generic_lines(3..6, 555).into_iter().filter(|l| l.key != 1).collect();
    import(&cli, "books", &write(&cli, "fix.csv", render(&fix, "billed").as_bytes()), "generic").ok();
    let merged: Vec<Line> =
        all.into_iter().filter(|l| !["2026-03-04", "2026-03-05", "2026-03-06"].contains(&l.day)).chain(fix).collect();
    let (by_key, by_model, _) = expected(&merged, "billed");
    assert_eq!(report(&cli, &["key"]), by_key);
    assert_eq!(report(&cli, &["model"]), by_model);
}

#[test]
fn a_corrupt_file_imports_nothing_and_says_where() {
    let cli = cli();
    let good = generic_lines(0..10, 0);
    import(&cli, "books", &write(&cli, "good.csv", render(&good, "billed").as_bytes()), "generic").ok();
    let (spend, keys) = (spend_dump(&cli), key_dump(&cli));

    // Sixteen good lines, then a bad one on line 17 (the header is line 1).
    let head: String = render(&generic_lines(0..10, 9), "billed").lines().take(16).map(|l| format!("{l}\n")).collect();
    let with = |line: &str| format!("{head}{line}\n2026-03-09,1,USD,,,,\n");
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            "amount".into(),
            with("2026-03-08,\"12,5\",USD,key_alpha,,gpt-5,").into_bytes(),
            "line 17, column amount: \"12,5\" is not a decimal amount",
        ),
        (
            "date".into(),
            with("08/03/2026,1,USD,,,,").into_bytes(),
            "line 17, column day: \"08/03/2026\" is not a day (YYYY-MM-DD)",
        ),
        ("columns".into(), with("2026-03-08,1,USD,,,").into_bytes(), "line 17: 6 columns where the header has 7"),
        (
            "quote".into(),
            with("2026-03-08,1,USD,key_alpha,\"Alpha app,gpt-5,").into_bytes(),
            "line 17: a quote (\") is never closed",
        ),
        (
            "currency".into(),
            with("2026-03-08,1,US$,,,,").into_bytes(),
            "line 17, column currency: \"US$\" is not an ISO-4217",
        ),
        (
            "kind".into(),
            with("2026-03-08,1,USD,,,,guessed").into_bytes(),
            "line 17, column kind: \"guessed\" is not billed or estimated",
        ),
        (
            "utf8".into(),
            [head.as_bytes(), b"2026-03-08,1,USD,,\xff\xfe,,\n"].concat(),
            "line 17: the text is not UTF-8",
        ),
        ("empty".into(), Vec::new(), "the file is empty"),
        ("header only".into(), b"day,amount,currency\n".to_vec(), "has a header but no rows"),
        (
            "wrong format".into(),
            b"date,cost\n2026-03-01,1\n".to_vec(),
            "needs the columns day, amount, currency; this file has: date, cost",
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = write(&cli, &format!("{name}.csv"), &bytes);
        let run = import(&cli, "books", &file, "generic").failed();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {}", run.stderr);
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{name}: {}", lines[0]);
        assert_eq!(spend_dump(&cli), spend, "{name}: the ledger is unchanged");
        assert_eq!(key_dump(&cli), keys, "{name}: key names are unchanged");
    }
    let run = import(&cli, "ghost", &fixture_path("generic_example.csv"), "generic").failed();
    assert!(run.stderr.contains("no source named \"ghost\""), "{}", run.stderr);
    let run = import(&cli, "books", "/nonexistent/FAKE.csv", "generic").failed();
    assert!(run.stderr.starts_with("error: cannot read /nonexistent/FAKE.csv"), "{}", run.stderr);
    assert_eq!(spend_dump(&cli), spend);
}

#[test]
fn the_documented_example_imports_from_standard_input() {
    let cli = cli();
    let text = std::fs::read_to_string(fixture_path("generic_example.csv")).unwrap();
    let run = cli.run_with_stdin(&["import", "csv", "--source", "books", "-"], &text).ok();
    assert!(run.stdout.contains("on 3 days between 2026-03-01 and 2026-03-03 (billed, estimated)"), "{}", run.stdout);
    let (header, rows) = read_fixture("generic_example.csv");
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let mut expected: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for r in &rows {
        let kind = if r[col("kind")].is_empty() { "billed".to_string() } else { r[col("kind")].clone() };
        *expected.entry((r[col("day")].clone(), r[col("currency")].clone(), kind)).or_default() +=
            micros(&r[col("amount")]);
    }
    // Read from the ledger itself: the file mixes kinds on one day, which reports choose between.
    let got: BTreeMap<(String, String, String), i64> = cli
        .db()
        .prepare(
            "SELECT strftime('%Y-%m-%d', bucket_start, 'unixepoch'), currency, kind, sum(amount_micros) FROM spend
             GROUP BY 1, 2, 3",
        )
        .unwrap()
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(
        key_dump(&cli).into_iter().map(|k| (k.1, k.2.unwrap())).collect::<Vec<_>>(),
        vec![("key_alpha".to_string(), "Alpha app".to_string()), ("key_beta".into(), "Beta, batch jobs".into())]
    );
}

#[test]
fn openai_and_claude_console_cost_exports() {
    let cli = cli();
    import(&cli, "openai-export", &fixture_path("openai_costs.csv"), "openai").ok();
    import(&cli, "claude-export", &fixture_path("anthropic_cost.csv"), "anthropic").ok();

    // Expected per (source, day, key): summed from the fixtures' own amounts.
    let mut expected: BTreeMap<(String, String, Option<String>), i64> = BTreeMap::new();
    let (h, rows) = read_fixture("openai_costs.csv");
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    for r in rows.iter().filter(|r| !r[c("amount_value")].is_empty()) {
        let day = r[c("start_time_iso")][..10].to_string();
        let key = Some(r[c("api_key_id")].clone()).filter(|k| !k.is_empty());
        *expected.entry(("openai-export".into(), day, key)).or_default() += micros(&r[c("amount_value")]);
    }
    let (h, rows) = read_fixture("anthropic_cost.csv");
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    for r in &rows {
        let key = Some(r[c("api_key_id")].clone()).filter(|k| !k.is_empty());
        *expected.entry(("claude-export".into(), r[c("usage_date_utc")].clone(), key)).or_default() +=
            micros(&r[c("cost_usd")]);
    }
    let got: BTreeMap<(String, String, Option<String>), i64> = report(&cli, &["source", "key"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!((r["currency"].as_str(), r["kind"].as_str()), (Some("USD"), Some("billed")), "{r}");
            let key = r["key_id"].as_str().map(str::to_owned);
            (
                (r["source"].as_str().unwrap().into(), r["day"].as_str().unwrap().into(), key),
                micros(r["amount"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // The Claude export's key names and display-name models are kept as written.
    let by_model = report(&cli, &["source", "model"]);
    let claude_models: Vec<&str> = by_model
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "claude-export")
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert_eq!(claude_models, ["Claude Haiku 4.5", "Claude Opus 4.5", "Claude Sonnet 4.5"]);
    let names: Vec<Option<String>> = key_dump(&cli).into_iter().map(|k| k.2).collect();
    assert!(names.contains(&Some("fake-research".into())), "{names:?}");

    // The wrong format for a file is named, with the columns it has.
    let run = import(&cli, "openai-export", &fixture_path("anthropic_cost.csv"), "openai").failed();
    assert!(run.stderr.contains("the openai format needs the columns start_time, amount_value, amount_currency; this file has: usage_date_utc"), "{}", run.stderr);
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read() {
    let cli = cli();
    let path = cli.data_dir.path().join("huge.csv");
    // Sparse: 2 GB on paper, nothing on disk; reading it would take the memory.
    std::fs::File::create(&path).unwrap().set_len(2 * 1024 * 1024 * 1024).unwrap();
    let run = import(&cli, "books", &path.display().to_string(), "generic").failed();
    assert!(
        run.stderr.contains("is 2048 MB; Burnrate imports files up to 100 MB. Export a shorter date range"),
        "{}",
        run.stderr
    );
    assert!(spend_dump(&cli).is_empty(), "nothing written");
}

#[test]
fn an_endless_device_or_standard_input_is_refused_at_the_limit() {
    let cli = cli();
    // /dev/zero has no size to check beforehand and never ends: the import must stop at the
    // limit and refuse, not hang reading it or run out of memory.
    let run = import(&cli, "books", "/dev/zero", "generic").failed();
    assert!(
        run.stderr.contains("/dev/zero is larger than 100 MB; Burnrate imports files up to 100 MB."),
        "{}",
        run.stderr
    );
    // The same endless bytes as standard input (`-`).
    let out = cli
        .command(&["import", "csv", "--source", "books", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("the standard input is larger than 100 MB; Burnrate imports files up to 100 MB."),
        "{stderr}"
    );
    assert!(spend_dump(&cli).is_empty(), "nothing written");
}

/// A source synced from a loopback OpenAI organisation: billed costs on 2026-02-27..03-02, two
/// keys a day. Returns the CLI and the synced total in micro-dollars.
async fn synced_source() -> (Cli, MockServer, i64) {
    let first_day = 1_772_150_400; // 2026-02-27
    let mut total = 0;
    let buckets: Vec<String> = (0..4)
        .map(|d| {
            let results: Vec<String> = (0..2)
                .map(|k| {
                    let micros = 1_000_000 * (d + 1) + k;
                    total += micros;
                    format!(
                        r#"{{"object":"organization.costs.result","amount":{{"value":{}.{:06},"currency":"usd"}},"api_key_id":"key_fake_{k}","project_id":"proj_fake"}}"#,
                        micros / 1_000_000,
                        micros % 1_000_000
                    )
                })
                .collect();
            let start = first_day + d * 86_400;
            format!(r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{}]}}"#, start + 86_400, results.join(","))
        })
        .collect();
    let page = format!(r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#, buckets.join(","));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let cli = Cli::new();
    let url = format!("{}/v1", server.uri());
    cli.run(&[
        "source",
        "add",
        "openai",
        "--name",
        "work",
        "--base-url",
        &url,
        "--key-env",
        "BURNRATE_TEST_OPENAI_KEY",
    ])
    .ok();
    cli.run(&["sync", "--from", "2026-02-27", "--to", "2026-03-02"]).ok();
    (cli, server, total)
}

/// Billed spend per day, from the ledger.
fn billed_by_day(cli: &Cli) -> BTreeMap<String, i64> {
    cli.db()
        .prepare(
            "SELECT date(bucket_start, 'unixepoch'), sum(amount_micros) FROM spend WHERE kind = 'billed' GROUP BY 1",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The whole ledger's data, to show a dry run changed nothing.
fn ledger_dump(cli: &Cli) -> Vec<String> {
    let db = cli.db();
    let mut out = Vec::new();
    for table in ["spend", "spend_daily", "spend_daily_key", "api_keys", "sync_runs", "sources"] {
        let mut stmt = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
            .unwrap()
            .map(|r| format!("{table}: {}", r.unwrap()))
            .collect();
        out.extend(rows);
    }
    out
}

/// A file dated 2020 and 2030 used to replace every day from its first to its last: years of
/// synced billed spend in between were deleted. Now only its own days are replaced.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_dated_2020_and_2030_leaves_the_synced_days_between() {
    let (cli, _server, synced_total) = synced_source().await;
    let synced = billed_by_day(&cli);
    assert_eq!(synced.values().sum::<i64>(), synced_total);
    let file = write(&cli, "far.csv", b"day,amount,currency\n2020-01-01,5,USD\n2030-12-31,7,USD\n");

    let before = ledger_dump(&cli);
    let run = cli.run(&["import", "csv", "--source", "work", &file, "--dry-run"]).ok();
    assert_eq!(ledger_dump(&cli), before, "a dry run writes nothing");
    assert_eq!(
        run.stdout,
        "dry run, nothing written: would import 2 lines as 2 rows into work on 2 days between 2020-01-01 and \
         2030-12-31 (billed), replacing 0 rows already in the ledger\n  \
         2020-01-01 billed (1 day): 1 row from the file, would replace 0 rows\n  \
         2030-12-31 billed (1 day): 1 row from the file, would replace 0 rows\n"
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    let run = cli.run(&["import", "csv", "--source", "work", &file]).ok();
    assert!(
        run.stdout.starts_with("imported 2 lines as 2 rows into work on 2 days between 2020-01-01"),
        "{}",
        run.stdout
    );
    let mut expected = synced.clone();
    expected.insert("2020-01-01".into(), 5_000_000);
    expected.insert("2030-12-31".into(), 7_000_000);
    assert_eq!(billed_by_day(&cli), expected, "every synced day between 2020 and 2030 is kept");
}

/// A file over a synced day replaces that day's billed rows, and says so before and after.
#[tokio::test(flavor = "multi_thread")]
async fn replacing_synced_billed_rows_is_said_out_loud_in_the_dry_run_and_the_import() {
    let (cli, _server, _) = synced_source().await;
    let synced = billed_by_day(&cli);
    let file = write(&cli, "fix.csv", b"day,amount,currency,key_id\n2026-02-28,9,USD,key_fake_0\n2026-03-05,1,USD,\n");

    let before = ledger_dump(&cli);
    let dry = cli.run(&["import", "csv", "--source", "work", &file, "--dry-run", "--json"]).ok();
    assert_eq!(ledger_dump(&cli), before, "a dry run writes nothing");
    let preview = dry.json();
    assert_eq!(preview["dry_run"], true);
    assert_eq!((preview["days"].as_i64(), preview["rows_replaced"].as_i64()), (Some(2), Some(2)));
    assert_eq!(preview["synced_billed_rows_replaced"], 2);
    assert_eq!(
        preview["replaced"][0],
        json!({"kind": "billed", "from": "2026-02-28", "to": "2026-02-28", "days": 1, "rows_imported": 1,
               "rows_replaced": 2, "synced_rows_replaced": 2})
    );
    assert_eq!(
        dry.stderr.trim_end(),
        "warning: the import would replace 2 billed rows that a sync of work wrote (the provider's bill) on \
         2026-02-28; the file's amounts would count instead"
    );

    let run = cli.run(&["import", "csv", "--source", "work", &file]).ok();
    assert!(
        run.stdout
            .contains("  2026-02-28 billed (1 day): 1 row from the file, replaced 2 rows, 2 of them from a sync\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("warning: the import replaced 2 billed rows that a sync of work wrote"),
        "{}",
        run.stderr
    );
    let mut expected = synced;
    expected.insert("2026-02-28".into(), 9_000_000);
    expected.insert("2026-03-05".into(), 1_000_000);
    assert_eq!(billed_by_day(&cli), expected, "only 02-28 changed among the synced days");
}
