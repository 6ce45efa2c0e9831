//! Several Burnrate processes on one ledger: a `sync` while `watch` (or the desktop app, which
//! runs the same poller) polls, two `sync`s at once, and a writer that holds the ledger for
//! seconds. Writers take turns: each waits for the write lock, a source that cannot get it in
//! time fails by name saying another Burnrate process holds the ledger, and the other sources
//! of the pass still sync.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Cli;
use serde_json::Value;

/// The four days every sync covers with BURNRATE_NOW at 2026-03-02: a first sync reads 90 days
/// and a later one re-reads the last synced day and the three before it, so a mock that always
/// serves these days answers every window (the connector refuses buckets outside its window).
const FIRST_DAY: i64 = 1_772_150_400; // 2026-02-27
const DAYS: i64 = 4;

/// One page of OpenAI daily costs: DAYS days × `keys` keys. Returns the body and its total.
fn costs_page(keys: i64, scale: i64) -> (String, i64) {
    let mut total = 0;
    let buckets: Vec<String> = (0..DAYS)
        .map(|d| {
            let start = FIRST_DAY + d * 86_400;
            let results: Vec<String> = (0..keys)
                .map(|k| {
                    let micros = scale * (1 + k + d * 7);
                    total += micros;
                    format!(
                        r#"{{"object":"organization.costs.result","amount":{{"value":{}.{:06},"currency":"usd"}},"line_item":null,"project_id":"proj_fake","api_key_id":"key_fake_{k:04}","quantity":null}}"#,
                        micros / 1_000_000,
                        micros % 1_000_000
                    )
                })
                .collect();
            format!(
                r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{}]}}"#,
                start + 86_400,
                results.join(",")
            )
        })
        .collect();
    (format!(r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#, buckets.join(",")), total)
}

/// Another process's write transaction on the ledger, held for `hold` (this test process is
/// that other process: the `burnrate` children see an ordinary SQLite writer). Returns once
/// the lock is taken; the transaction writes a row, so the ledger changes under the waiters.
fn hold_write_lock(db: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let (taken, wait_taken) = std::sync::mpsc::channel();
    let db = db.to_owned();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; UPDATE sources SET created_at = created_at + 1;").unwrap();
        taken.send(()).unwrap();
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    });
    wait_taken.recv().unwrap();
    holder
}

/// (rows, total micros) of spend in the ledger.
fn ledger_totals(cli: &Cli) -> (i64, i64) {
    cli.db()
        .query_row("SELECT count(*), coalesce(sum(amount_micros), 0) FROM spend", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

fn outcome<'a>(outcomes: &'a Value, source: &str) -> &'a Value {
    outcomes.as_array().unwrap().iter().find(|o| o["source"] == source).unwrap_or_else(|| panic!("{outcomes}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_waits_for_another_writer_and_syncs_every_source() {
    let (body_a, total_a) = costs_page(20, 1_000);
    let (body_b, total_b) = costs_page(30, 3_000);
    let (a, b) = (
        common::openai_costs_after(body_a, Duration::ZERO).await,
        common::openai_costs_after(body_b, Duration::ZERO).await,
    );
    let cli = Cli::new();
    common::add_openai_source(&cli, "a", &a);
    common::add_openai_source(&cli, "b", &b);

    let hold = Duration::from_secs(3);
    let started = Instant::now();
    let holder = hold_write_lock(&cli.db_path(), hold);
    let run = cli.run(&["sync", "--json"]);
    let waited = started.elapsed();
    holder.join().unwrap();
    let outcomes = run.ok().json();
    for source in ["a", "b"] {
        assert_eq!(outcome(&outcomes, source)["ok"], true, "{outcomes}");
    }
    assert!(waited >= hold, "the sync finished in {waited:?}, before the other writer let go");
    eprintln!("sync with a {hold:?} write lock held elsewhere: finished after {waited:?}, both sources ok");
    assert_eq!(ledger_totals(&cli), (DAYS * 50, total_a + total_b));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_holding_the_ledger_too_long_fails_one_source_by_name_and_the_next_still_syncs() {
    let (body_a, _) = costs_page(5, 1_000);
    let (body_b, total_b) = costs_page(7, 2_000);
    // "b" answers after the lock is gone; "a" answers at once and has to wait for it.
    let (a, b) = (
        common::openai_costs_after(body_a, Duration::ZERO).await,
        common::openai_costs_after(body_b, Duration::from_millis(2_500)).await,
    );
    let mut cli = Cli::new();
    cli.env.push(("BURNRATE_BUSY_TIMEOUT_MS".into(), "400".into()));
    common::add_openai_source(&cli, "a", &a);
    common::add_openai_source(&cli, "b", &b);

    let holder = hold_write_lock(&cli.db_path(), Duration::from_millis(1_500));
    let run = cli.run(&["sync", "--json"]);
    holder.join().unwrap();
    assert_eq!(run.code, 1, "one source failed\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    let outcomes = run.json();
    let failed = outcome(&outcomes, "a");
    assert_eq!(failed["ok"], false, "{outcomes}");
    assert_eq!(failed["error"]["code"], "ledger_busy", "{outcomes}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("another Burnrate process"), "{message}");
    assert!(message.contains("burnrate watch"), "{message}");
    assert!(run.stderr.contains("error: a: another Burnrate process"), "{}", run.stderr);
    assert_eq!(outcome(&outcomes, "b")["ok"], true, "{outcomes}");
    assert_eq!(ledger_totals(&cli), (DAYS * 7, total_b), "only b's spend is in the ledger");
}

/// Two `burnrate sync`s started together while `burnrate watch` polls every second: every
/// process succeeds every time, and the ledger holds each source's spend once.
#[tokio::test(flavor = "multi_thread")]
async fn two_syncs_and_a_watch_at_once_all_succeed_and_count_nothing_twice() {
    let mut servers = Vec::new();
    let mut expected = (0, 0);
    let cli = Cli::new();
    for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
        let keys = 150 + 50 * i as i64;
        let (body, total) = costs_page(keys, 1_000 * (i as i64 + 1));
        let server = common::openai_costs_after(body, Duration::ZERO).await;
        common::add_openai_source(&cli, name, &server);
        servers.push(server);
        expected = (expected.0 + DAYS * keys, expected.1 + total);
    }
    cli.run(&["sync"]).ok();
    let single = ledger_totals(&cli);
    assert_eq!(single, expected);

    let watch = cli.command(&["watch", "--every", "1"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let rounds = 4;
    for round in 0..rounds {
        cli.db().execute_batch("DELETE FROM spend; DELETE FROM spend_daily; DELETE FROM spend_daily_key;").unwrap();
        let spawn = || cli.command(&["sync"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (first, second) = (spawn(), spawn());
        for child in [first, second] {
            let out = child.wait_with_output().unwrap();
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(0), "round {round}\nstdout: {stdout}\nstderr: {stderr}");
            assert_eq!(stdout.matches("ok: ").count(), 3, "round {round}: {stdout}");
        }
        assert_eq!(ledger_totals(&cli), single, "round {round}: two syncs at once count each row once");
    }
    // SIGKILL: the poll in flight commits all or nothing; the ledger was checked above.
    let mut watch = watch;
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let watched = String::from_utf8_lossy(&out.stdout);
    assert!(watched.contains("ok: alpha"), "watch polled meanwhile:\n{watched}");
    assert!(!watched.contains("error:"), "watch never failed:\n{watched}");
    let integrity: String = cli.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}
