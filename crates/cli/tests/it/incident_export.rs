//! `burnrate incident export` end to end: spend imported through `burnrate import csv` (the
//! ledger's own write path; daily buckets), a spike alert as the alert engine writes it, then
//! the dossier as Markdown in a file and as CSV on standard output.

use crate::common;

use common::Cli;
use rusqlite::params;

/// BURNRATE_NOW of the common harness, 2026-03-02T12:00:00Z.
const NOW: i64 = 1_772_452_800;

fn setup() -> Cli {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "work", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let dir = cli.data_dir.path().to_path_buf();
    let file = dir.join("spend.csv");
    std::fs::write(
        &file,
        "day,amount,currency,key_id,key_name,model,kind\n\
         2026-02-27,0.50,USD,key_FAKEprod,Production,,billed\n\
         2026-03-01,41.25,USD,key_FAKEprod,Production,,billed\n\
         2026-03-01,3.00,USD,key_FAKEother,Other,,billed\n\
         2026-03-01,1.50,EUR,key_FAKEprod,Production,,billed\n",
    )
    .unwrap();
    cli.run(&["import", "csv", "--source", "work", file.to_str().unwrap()]).ok();
    let db = cli.db();
    let source_id: i64 = db.query_row("SELECT id FROM sources WHERE name = 'work'", [], |r| r.get(0)).unwrap();
    db.execute(
        "INSERT INTO alerts (kind, dedupe_key, source_id, key_id, amount_micros, limit_micros, currency, estimated, title, body, fired_at, notified_at)
         VALUES ('spike', 'spike:work:key_FAKEprod:1', ?1, 'key_FAKEprod', 41250000, 500000, 'USD', 0, 'Production spends 80× its usual', 'body', ?2, ?2)",
        params![source_id, NOW - 30 * 3_600],
    )
    .unwrap();
    cli
}

#[test]
fn exports_markdown_to_a_file_and_csv_to_stdout() {
    let cli = setup();
    let out = cli.data_dir.path().join("dossier.md");
    let run = cli
        .run(&[
            "incident",
            "export",
            "--source",
            "work",
            "--key",
            "key_FAKEprod",
            "--format",
            "md",
            "--out",
            out.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("wrote"), "{}", run.stdout);
    assert!(run.stdout.contains("3 spend rows, 1 alerts, 0 actions"), "{}", run.stdout);
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.starts_with("# Incident dossier: OpenAI key Production\n"), "{md}");
    assert!(md.contains("All times are UTC"), "{md}");
    // 48 h before the spike alert (2026-03-01T06:00:00Z), to now.
    assert!(md.contains("From 2026-02-27T06:00:00Z to 2026-03-02T12:00:00Z"), "{md}");
    assert!(md.contains("| #1 | spike | 2026-03-01T06:00:00Z | Production spends 80× its usual |"), "{md}");
    // Two currencies, never added together; day buckets labelled as such.
    assert!(md.contains("| EUR | 1.500000 | — |") && md.contains("| USD | 41.750000 | — |"), "{md}");
    assert!(md.contains("Rows marked \"day\" cover a whole UTC day"), "{md}");
    assert!(md.contains("the daily detail per model follows"), "{md}");
    assert!(!md.contains("key_FAKEother"), "{md}");

    let csv = cli.run(&["incident", "export", "--source", "work", "--key", "key_FAKEprod", "--format", "csv"]).ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "bucket_start_utc,bucket,source,provider,key_id,model,kind,currency,amount,input_tokens,output_tokens,requests",
            "2026-02-27T00:00:00Z,day,work,openai,key_FAKEprod,,billed,USD,0.500000,,,",
            "2026-03-01T00:00:00Z,day,work,openai,key_FAKEprod,,billed,EUR,1.500000,,,",
            "2026-03-01T00:00:00Z,day,work,openai,key_FAKEprod,,billed,USD,41.250000,,,",
        ]
    );
}

#[test]
fn a_key_without_spend_in_the_window_says_so_and_an_unknown_key_fails() {
    let cli = setup();
    let run = cli
        .run(&[
            "incident",
            "export",
            "--source",
            "work",
            "--key",
            "key_FAKEprod",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
        ])
        .ok();
    assert!(
        run.stderr.contains("note: no spend of key key_FAKEprod was recorded between 2026-01-01T00:00:00Z"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("No spend of this key was recorded"), "{}", run.stdout);

    let run = cli.run(&["incident", "export", "--source", "work", "--key", "key_FAKEnever"]).failed();
    assert!(run.stderr.contains("source work has no key \"key_FAKEnever\""), "{}", run.stderr);
}
