//! `burnrate serve` end to end: the real binary polling a loopback mock of OpenAI while its HTTP
//! server answers real requests over loopback. The API must answer what the CLI's `--json`
//! outputs answer on the same data directory; a token, once configured, guards every figure;
//! a scrape storm during a slow sync is answered in full and does not hold the sync up.
//! The metrics body is checked loosely (status, content type, `burnrate_` series) so these
//! tests hold whatever the exposition renders.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Cli, FAKE_KEY};
use serde_json::Value;

/// The four days every sync covers with BURNRATE_NOW at 2026-03-02 (see concurrent_writers.rs).
const FIRST_DAY: i64 = 1_772_150_400; // 2026-02-27
const DAYS: i64 = 4;
const TOKEN_VAR: &str = "BURNRATE_TEST_SERVE_TOKEN";
const TOKEN: &str = "serve-FAKEFAKEFAKEFAKE-token-0042";
const OPENMETRICS: &str = "application/openmetrics-text";

/// One page of OpenAI daily costs: DAYS days × `keys` keys, amounts `1.000123 + k` USD and up.
fn costs_page(keys: i64) -> String {
    let buckets: Vec<String> = (0..DAYS)
        .map(|d| {
            let start = FIRST_DAY + d * 86_400;
            let results: Vec<String> = (0..keys)
                .map(|k| {
                    format!(
                        r#"{{"object":"organization.costs.result","amount":{{"value":{}.{:06},"currency":"usd"}},"line_item":null,"project_id":"proj_fake","api_key_id":"key_fake_{k:04}","quantity":null}}"#,
                        1 + k + d,
                        123 + k
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
    format!(r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#, buckets.join(","))
}

/// A running `burnrate serve`; killed when dropped, so no test leaves one behind.
struct Served {
    child: Child,
    base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Copies a pipe into a buffer, line by line, on a thread of its own.
fn collect(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let sink = buffer.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut b = sink.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    });
    buffer
}

impl Served {
    /// Starts `burnrate serve --listen 127.0.0.1:0 --no-notify ARGS` and waits for its address.
    fn start(cli: &Cli, args: &[&str]) -> Served {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--no-notify"];
        all.extend_from_slice(args);
        let mut child =
            cli.command(&all).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let mut served = Served { child, base: String::new(), stdout, stderr };
        let line = served.wait_for(&served.stderr.clone(), "serving on http://", Duration::from_secs(60));
        let addr = line.trim_start_matches("serving on http://").trim();
        assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "the actual port is printed: {line}");
        served.base = format!("http://{addr}");
        served
    }

    /// Waits until a line of `buffer` contains `needle`; returns that line.
    fn wait_for(&mut self, buffer: &Arc<Mutex<String>>, needle: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = buffer.lock().unwrap().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited ({status}) before printing {needle:?}\nstderr: {}", self.stderr.lock().unwrap());
            }
            assert!(
                started.elapsed() < timeout,
                "no {needle:?} within {timeout:?}\nstdout: {}\nstderr: {}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_poll(&mut self, source: &str) {
        let stdout = self.stdout.clone();
        self.wait_for(&stdout, &format!("ok: {source}:"), Duration::from_secs(60));
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits for a clean exit; returns (exit code, stderr).
    fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        eprintln!("serve stopped {:?} after SIGTERM", started.elapsed());
        // The reader threads finish with the pipes.
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code(), stderr)
    }

    fn output(&self) -> String {
        format!("{}{}", self.stdout.lock().unwrap(), self.stderr.lock().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn get_json(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Value {
    let (status, content_type, body) = get(client, url, headers).await;
    assert_eq!(status, 200, "GET {url}: {body}");
    assert_eq!(content_type, "application/json", "GET {url}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_health_metrics_and_the_same_figures_as_the_cli() {
    let server = common::openai_costs_after(costs_page(3), Duration::ZERO).await;
    let cli = Cli::new();
    common::add_openai_source(&cli, "main", &server);
    let mut served = Served::start(&cli, &[]);
    served.wait_for_poll("main");
    let client = reqwest::Client::new();

    let health = get_json(&client, &served.url("/healthz"), &[]).await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["sources"][0]["name"], "main", "{health}");
    assert_eq!(health["sources"][0]["up"], true, "{health}");
    assert!(health["sources"][0]["last_success"].as_str().is_some_and(|t| t.ends_with('Z')), "{health}");

    let (status, content_type, body) = get(&client, &served.url("/metrics"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(body.lines().any(|l| l.starts_with("burnrate_")), "{body}");
    let accept = format!("{OPENMETRICS}; version=1.0.0, text/plain; version=0.0.4; q=0.5");
    let (status, content_type, body) = get(&client, &served.url("/metrics"), &[("accept", &accept)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with(OPENMETRICS), "{content_type}");
    assert!(body.lines().any(|l| l.starts_with("burnrate_")), "{body}");
    assert!(body.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF: {body}");

    // The same rows as the CLI on the same data directory.
    let api = get_json(&client, &served.url("/api/v1/report/daily?by=key"), &[]).await;
    let cli_rows = cli.run(&["report", "daily", "--by", "key", "--json"]).ok().json();
    assert_eq!(api, cli_rows);
    assert_eq!(api.as_array().unwrap().len() as i64, DAYS * 3, "{api}");
    let ranged = "/api/v1/report/daily?by=key,model&from=2026-02-28&to=2026-03-01";
    let cli_ranged = cli
        .run(&[
            "report",
            "daily",
            "--by",
            "key",
            "--by",
            "model",
            "--from",
            "2026-02-28",
            "--to",
            "2026-03-01",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(get_json(&client, &served.url(ranged), &[]).await, cli_ranged);
    assert_eq!(
        get_json(&client, &served.url("/api/v1/keys"), &[]).await,
        cli.run(&["key", "list", "--json"]).ok().json()
    );
    assert_eq!(get_json(&client, &served.url("/api/v1/alerts"), &[]).await, cli.run(&["alerts", "--json"]).ok().json());
    let sources = get_json(&client, &served.url("/api/v1/sources"), &[]).await;
    assert_eq!(sources, cli.run(&["source", "list", "--json"]).ok().json());
    assert_eq!(sources[0]["key_fingerprint"], "sk-…0001", "a fingerprint, not the key");
    let summary = get_json(&client, &served.url("/api/v1/summary"), &[]).await;
    assert_eq!(summary["today"], "2026-03-02", "{summary}");

    // Errors: JSON with the core's codes; nothing writes.
    let (status, _, body) = get(&client, &served.url("/api/v1/report/daily?by=colour"), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "invalid_input", "{body}");
    let (status, _, body) = get(&client, &served.url("/api/v1/report/daily?from=yesterday"), &[]).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = get(&client, &served.url("/api/v1/nothing"), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "not_found", "{body}");
    for verb in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let response = client.request(verb.clone(), served.url("/api/v1/sources")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405, "{verb}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed", "{verb}: {body}");
    }
    assert_eq!(cli.run(&["source", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);

    let output = served.output();
    let (code, stderr) = served.terminate();
    assert_eq!(code, Some(0), "a clean stop on SIGTERM\n{stderr}");
    assert!(stderr.contains("stopping after the poll"), "{stderr}");
    assert!(!output.contains(FAKE_KEY), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_token_every_figure_needs_it_and_health_does_not() {
    let server = common::openai_costs_after(costs_page(2), Duration::ZERO).await;
    let mut cli = Cli::new();
    cli.env.push((TOKEN_VAR.into(), TOKEN.into()));
    common::add_openai_source(&cli, "main", &server);
    let mut served = Served::start(&cli, &["--token-env", TOKEN_VAR]);
    served.wait_for_poll("main");
    let client = reqwest::Client::new();
    // Every amount the ledger holds, as the API writes them: none may be in a refusal.
    let amounts: Vec<String> = cli
        .run(&["report", "daily", "--by", "key", "--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_str().unwrap().to_owned())
        .collect();
    assert!(!amounts.is_empty());

    let right = format!("Bearer {TOKEN}");
    let wrong = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
    let refused: [&[(&str, &str)]; 4] =
        [&[], &[("authorization", &wrong)], &[("authorization", TOKEN)], &[("authorization", "Bearer ")]];
    for route in [
        "/metrics",
        "/api/v1/summary",
        "/api/v1/report/daily?by=key",
        "/api/v1/keys",
        "/api/v1/alerts",
        "/api/v1/sources",
    ] {
        for headers in refused {
            let response =
                headers.iter().fold(client.get(served.url(route)), |r, (k, v)| r.header(*k, *v)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 401, "{route} {headers:?}");
            let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
            assert!(challenge.as_deref().is_some_and(|c| c.starts_with("Bearer")), "{route}: {challenge:?}");
            let body = response.text().await.unwrap();
            let error: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(error["error"]["code"], "unauthorized", "{body}");
            assert!(!body.contains("burnrate_") && !body.contains("key_fake"), "{route}: {body}");
            assert!(amounts.iter().all(|a| !body.contains(a.as_str())), "{route}: {body}");
            assert!(!body.contains(TOKEN), "{body}");
        }
        let (status, _, body) = get(&client, &served.url(route), &[("authorization", &right)]).await;
        assert_eq!(status, 200, "{route}: {body}");
    }
    let (status, _, body) = get(&client, &served.url("/metrics"), &[("authorization", &right)]).await;
    assert_eq!(status, 200);
    assert!(body.contains("burnrate_"), "{body}");
    let rows = get_json(&client, &served.url("/api/v1/report/daily?by=key"), &[("authorization", &right)]).await;
    assert_eq!(rows.as_array().unwrap().len(), amounts.len());
    // Health says whether to page someone, not what was spent: no token needed.
    let health = get_json(&client, &served.url("/healthz"), &[]).await;
    assert_eq!(health["status"], "ok");

    let output = served.output();
    drop(served);
    assert!(!output.contains(TOKEN), "the token leaked into serve's output:\n{output}");
    cli.assert_key_in_no_file(TOKEN);
}

#[test]
fn anything_but_loopback_without_a_token_refuses_to_start() {
    let cli = Cli::new();
    let run = cli.run(&["serve", "--listen", "0.0.0.0:0", "--no-notify"]).failed();
    assert!(run.stderr.contains("refusing to serve on 0.0.0.0:0 without a token"), "{}", run.stderr);
    assert!(run.stderr.contains("--token-env VAR") && run.stderr.contains("--store-token"), "{}", run.stderr);
    assert!(!run.stderr.contains("serving on"), "{}", run.stderr);

    // A token too short to be safe (or to be redacted) is refused, not used.
    let mut cli = cli;
    cli.env.push((TOKEN_VAR.into(), "short".into()));
    let run = cli.run(&["serve", "--listen", "0.0.0.0:0", "--token-env", TOKEN_VAR]).failed();
    assert!(run.stderr.contains("shorter than 16 characters"), "{}", run.stderr);
    let run = cli.run(&["serve", "--listen", "127.0.0.1:0", "--token-env", "BURNRATE_TEST_UNSET_TOKEN"]).failed();
    assert!(run.stderr.contains("BURNRATE_TEST_UNSET_TOKEN (--token-env) is not set"), "{}", run.stderr);
}

/// 200 scrapes at once (and 100 report reads), again and again while the poller's sync waits on a slow provider and
/// writes: each one answered 200, and the sync still completes.
#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_scrapes_during_a_slow_sync_are_all_answered() {
    let server = common::openai_costs_after(costs_page(300), Duration::from_secs(3)).await;
    let cli = Cli::new();
    common::add_openai_source(&cli, "slow", &server);
    let mut served = Served::start(&cli, &[]);
    let started = Instant::now();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut rounds = 0;
    let mut first_round = None;
    let mut slowest_round = Duration::ZERO;
    while !served.stdout.lock().unwrap().contains("ok: slow:") {
        let round_started = Instant::now();
        // 200 scrapes, plus 100 report reads so the ledger is read whatever /metrics does.
        let requests: Vec<_> = (0..300)
            .map(|i| {
                let route = if i < 200 { "/metrics" } else { "/api/v1/report/daily?by=key" };
                let (client, url) = (client.clone(), served.url(route));
                tokio::spawn(async move { (i < 200, get(&client, &url, &[]).await) })
            })
            .collect();
        for request in requests {
            let (scrape, (status, _, body)) = request.await.unwrap();
            assert_eq!(status, 200, "round {rounds}: {body}");
            if scrape {
                assert!(body.contains("burnrate_"), "round {rounds}: {body}");
            } else {
                // A snapshot: all of the poll or none of it.
                let rows = serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().len() as i64;
                assert!(rows == 0 || rows == DAYS * 300, "round {rounds}: {rows} rows");
            }
        }
        let took = round_started.elapsed();
        first_round.get_or_insert(took);
        slowest_round = slowest_round.max(took);
        rounds += 1;
        assert!(started.elapsed() < Duration::from_secs(120), "the sync did not finish while scraped");
    }
    served.wait_for_poll("slow");
    let sync_took = started.elapsed();
    assert!(rounds >= 1, "the scrapes ran while the sync was in flight");
    let rows = cli.run(&["report", "daily", "--by", "key", "--json"]).ok().json();
    assert_eq!(rows.as_array().unwrap().len() as i64, DAYS * 300, "the sync wrote everything");
    eprintln!(
        "200 concurrent /metrics + 100 report reads: first round {:?}, slowest {slowest_round:?}, {rounds} rounds \
         ({} requests) while the sync (3 s provider delay, 1200 rows) completed after {sync_took:?}",
        first_round.unwrap(),
        rounds * 300
    );
    let (code, stderr) = served.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    // The mock has no expectations to verify, and once (in about ten full runs) wiremock's
    // verify-on-drop spun forever under this load, holding the whole test run: leave it to the
    // runtime's shutdown instead of dropping it here.
    std::mem::forget(server);
}

/// SIGTERM while the poller waits on the provider: serve stops after that poll, which is
/// written whole.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_poll_lets_it_finish_and_then_stops() {
    let server = common::openai_costs_after(costs_page(5), Duration::from_secs(2)).await;
    let cli = Cli::new();
    common::add_openai_source(&cli, "slow", &server);
    let served = Served::start(&cli, &[]);
    let asked = Instant::now();
    loop {
        let requests = server.received_requests().await.unwrap_or_default();
        if requests.iter().any(|r| r.url.path() == "/v1/organization/costs") {
            break;
        }
        assert!(asked.elapsed() < Duration::from_secs(30), "the poll never reached the provider");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!served.stdout.lock().unwrap().contains("ok: slow"), "the poll is still in flight");
    let stdout = served.stdout.clone();
    let (code, stderr) = served.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.lock().unwrap().contains("ok: slow:"), "the poll in flight finished first: {stderr}");
    let rows = cli.run(&["report", "daily", "--by", "key", "--json"]).ok().json();
    assert_eq!(rows.as_array().unwrap().len() as i64, DAYS * 5);
}
