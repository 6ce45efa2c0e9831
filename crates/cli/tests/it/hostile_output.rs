//! Outputs stay inert whatever the names and messages in them: key and model names come from
//! providers and CSV files, error messages from providers. A CSV export runs nothing in a
//! spreadsheet, a terminal line shows control and bidirectional characters as escapes (one
//! line printed is one line seen), JSON keeps every name exactly, and a reader that stops
//! early or an absurd argument never makes the CLI panic.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{mount_empty_usage_and_projects, Cli};

/// A name that retitles the terminal, reverses what follows and forges a line of its own.
const FORGED: &str = "\x1b]0;pwned\x07\u{202e}evil\nok: forged";
/// How [`FORGED`] reads on a terminal.
const FORGED_SHOWN: &str = "\\x1b]0;pwned\\x07\\u{202e}evil\\nok: forged";

/// A character that changes how a terminal shows the text around it, judged here without the
/// CLI's own sanitiser: control characters other than the line feed ending each line, and the
/// bidirectional formatting characters.
fn first_unsafe_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

fn assert_inert(what: &str, text: &str) {
    assert_eq!(first_unsafe_char(text), None, "{what}: a raw control or bidi character in {text:?}");
    assert!(!text.lines().any(|l| l.starts_with("ok: forged")), "{what}: a forged line in {text:?}");
}

fn cli_with_csv(csv: &str) -> Cli {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "books", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let file = cli.data_dir.path().join("spend.csv");
    std::fs::write(&file, csv).unwrap();
    cli.run(&["import", "csv", "--source", "books", file.to_str().unwrap(), "--format", "generic"]).ok();
    cli
}

const DAY: [&str; 4] = ["--from", "2026-03-01", "--to", "2026-03-01"];

fn report(cli: &Cli, extra: &[&str]) -> crate::common::Run {
    let mut args = vec!["report", "daily", "--by", "key", "--by", "model"];
    args.extend(DAY);
    args.extend(extra);
    cli.run(&args).ok()
}

#[test]
fn report_daily_csv_writes_names_a_spreadsheet_would_run_as_text() {
    let cli = cli_with_csv(
        "day,amount,currency,key_id,key_name,model,kind\n\
         2026-03-01,1.000000,USD,key_a,\"=HYPERLINK(\"\"http://x\"\")\",+cmd,billed\n\
         2026-03-01,2.000000,USD,key_b,@SUM(A1),-2+3,billed\n\
         2026-03-01,3.000000,USD,key_c,\"a\"\"b,c\",\"a\rb\",billed\n",
    );
    let out = report(&cli, &["--csv"]).stdout;
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["day", "source", "provider", "key_id", "key_name", "model", "model_name", "currency", "amount", "kind"]
    );
    let mut rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    rows.sort();
    assert_eq!(rows.len(), 3, "one row per line, whatever the names hold:\n{out:?}");
    let cells = |r: &Vec<String>| (r[3].clone(), r[4].clone(), r[5].clone(), r[8].clone());
    assert_eq!(
        rows.iter().map(cells).collect::<Vec<_>>(),
        [
            ("key_a".into(), "'=HYPERLINK(\"http://x\")".into(), "'+cmd".into(), "1.000000".into()),
            ("key_b".into(), "'@SUM(A1)".into(), "'-2+3".into(), "2.000000".into()),
            ("key_c".into(), "a\"b,c".into(), "a\rb".into(), "3.000000".into()),
        ]
    );
}

#[test]
fn names_with_control_characters_print_as_one_visible_line_and_json_keeps_them() {
    let csv_field = FORGED.replace('"', "\"\"");
    let cli = cli_with_csv(&format!(
        "day,amount,currency,key_id,key_name,model,kind\n\
         2026-03-01,1.000000,USD,key_forged,\"{csv_field}\",\"{csv_field}\",billed\n"
    ));

    let table = report(&cli, &[]);
    assert_inert("report daily", &table.stdout);
    assert_eq!(table.stdout.matches(FORGED_SHOWN).count(), 2, "{}", table.stdout);
    let json = report(&cli, &["--json"]).json();
    assert_eq!((json[0]["key_name"].as_str(), json[0]["model"].as_str()), (Some(FORGED), Some(FORGED)), "{json:#}");

    let keys = cli.run(&["key", "list"]).ok();
    assert_inert("key list", &keys.stdout);
    assert!(keys.stdout.contains(FORGED_SHOWN), "{}", keys.stdout);
    let json = cli.run(&["key", "list", "--json"]).ok().json();
    assert!(json.as_array().unwrap().iter().any(|k| k["name"] == FORGED), "{json:#}");

    // The error printer: a message that quotes a path as it is (not with `{:?}`).
    let out = cli.data_dir.path().join(format!("missing{FORGED}")).join("chart.svg");
    let run = cli.run(&["chart", "daily", "--out", out.to_str().unwrap()]).failed();
    assert_inert("an error", &run.stderr);
    assert!(run.stderr.starts_with("error: cannot write ") && run.stderr.contains(FORGED_SHOWN), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_error_message_prints_as_one_visible_line() {
    let server = MockServer::start().await;
    let body = serde_json::json!({"error": {"message": format!("quota exceeded{FORGED}"), "type": "server_error"}});
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(400).set_body_json(body)).mount(&server).await;
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
    let sync = cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-01"]).failed();
    assert_inert("sync", &format!("{}{}", sync.stdout, sync.stderr));
    assert!(sync.stderr.contains(FORGED_SHOWN), "the message is shown, escaped: {}", sync.stderr);
    assert_eq!(sync.stderr.lines().count(), 1, "{}", sync.stderr);

    let sources = cli.run(&["source", "list"]).ok();
    assert_inert("source list", &sources.stdout);
    assert!(sources.stdout.contains(FORGED_SHOWN), "{}", sources.stdout);
    let json = cli.run(&["source", "list", "--json"]).ok().json();
    let message = json[0]["last_sync"]["error"]["message"].as_str().unwrap();
    assert!(message.contains(FORGED), "JSON keeps the message exactly: {message:?}");
}

/// `burnrate … | head -1`: the reader goes away before the CLI is done writing. Here it is
/// gone before the CLI writes at all, so every write meets a closed pipe.
#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    let cli =
        cli_with_csv("day,amount,currency,key_id,key_name,model,kind\n2026-03-01,1.000000,USD,key_a,a,m,billed\n");
    for args in
        [&["report", "daily"][..], &["report", "daily", "--json"], &["report", "daily", "--csv"], &["source", "list"]]
    {
        let mut child =
            cli.command(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!((status.code(), stderr.as_str()), (Some(0), ""), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_refuses_an_interval_too_long_to_schedule() {
    // A source whose poll succeeds, so the poller schedules the next one after --every.
    let server = MockServer::start().await;
    mount_empty_usage_and_projects(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
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
    let mut child = cli
        .command(&["watch", "--every", "18446744073709551615"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let _ = child.wait();
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("watch accepted --every 18446744073709551615 and kept running; stderr: {stderr}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("18446744073709551615 is not in 0..=604800"), "{stderr}");
    let ok = cli.command(&["watch", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&ok.stdout).contains("at most a week"));
}
