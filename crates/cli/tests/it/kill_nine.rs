//! A `kill -9` at any moment of a sync leaves a ledger that passes `PRAGMA integrity_check`
//! and holds all of a poll or none of it.

use crate::common;

use std::time::{Duration, Instant};

use common::Cli;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DAYS: i64 = 90;
const SYNC: &[&str] = &["sync", "--from", "2025-12-03", "--to", "2026-03-02"];
const KEYS: i64 = 250;
const FIRST_DAY: i64 = 1_764_720_000; // 2025-12-03, 90 days before BURNRATE_NOW's 2026-03-02

/// One page of OpenAI costs: DAYS buckets × KEYS keys, each key spending `k` micro-dollars × 1000.
fn big_costs_page() -> (String, i64) {
    let mut buckets = Vec::new();
    let mut total = 0i64;
    for d in 0..DAYS {
        let start = FIRST_DAY + d * 86_400;
        let results: Vec<String> = (0..KEYS)
            .map(|k| {
                total += (k + 1) * 1_000;
                format!(
                    r#"{{"object":"organization.costs.result","amount":{{"value":{}.{:06},"currency":"usd"}},"line_item":null,"project_id":"proj_fake","api_key_id":"key_fake_{k:04}","quantity":null}}"#,
                    ((k + 1) * 1_000) / 1_000_000,
                    ((k + 1) * 1_000) % 1_000_000
                )
            })
            .collect();
        buckets.push(format!(
            r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{}]}}"#,
            start + 86_400,
            results.join(",")
        ));
    }
    (format!(r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#, buckets.join(",")), total)
}

fn check(cli: &Cli, full: i64) -> i64 {
    let db = cli.db();
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let (rows, total): (i64, i64) = db
        .query_row("SELECT count(*), coalesce(sum(amount_micros), 0) FROM spend", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert!(rows == 0 || rows == DAYS * KEYS, "a half-written poll: {rows} rows");
    assert!(total == 0 || total == full, "a half-written poll: total {total}");
    let runs_ok: i64 = db.query_row("SELECT count(*) FROM sync_runs WHERE ok = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(runs_ok > 0, rows > 0, "data and its run record commit together");
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_nine_mid_sync_never_leaves_a_half_written_poll() {
    let (body, full) = big_costs_page();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    // The usage and project endpoints the connector also reads: empty.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let cli = Cli::new();
    let url = format!("{}/v1", server.uri());
    cli.run(&["source", "add", "openai", "--name", "big", "--base-url", &url, "--key-env", "BURNRATE_TEST_OPENAI_KEY"])
        .ok();

    // How long an uninterrupted sync takes, to spread the kills over its whole life.
    let t0 = Instant::now();
    cli.run(SYNC).ok();
    let span = t0.elapsed();
    assert_eq!(check(&cli, full), DAYS * KEYS);
    cli.db().execute_batch("DELETE FROM spend; DELETE FROM sync_runs;").unwrap();

    let attempts = 16u32;
    let mut survivors = 0;
    for i in 0..attempts {
        let mut child =
            cli.command(SYNC).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        // From right after start to past the usual commit time.
        std::thread::sleep(
            span.mul_f64(1.3 * f64::from(i) / f64::from(attempts)) + Duration::from_millis(u64::from(i % 3)),
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if check(&cli, full) > 0 {
            survivors += 1;
        }
    }
    eprintln!("uninterrupted sync {span:?}; {survivors}/{attempts} killed runs had committed");
    // After all that, one clean sync gives exactly the provider's totals.
    cli.run(SYNC).ok();
    assert_eq!(check(&cli, full), DAYS * KEYS);
}
