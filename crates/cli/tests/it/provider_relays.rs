//! The relay connectors end to end: the real binary, a real SQLite file and loopback mocks in the
//! shapes of new-api/one-api `GET /api/user/self`, sub2api `GET /v1/usage` and a custom JSON
//! endpoint. Balance endpoints have no history, so those tests sync repeatedly with BURNRATE_NOW
//! moving across days; sub2api serves ten days of per-model statistics for two keys.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{fixture, Cli};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_A: &str = "sk-FAKEFAKEFAKEFAKErelayA001";
const KEY_B: &str = "sk-FAKEFAKEFAKEFAKErelayB002";
const TOKEN: &str = "FAKEaccesstokenFAKEFAKE0042";

fn cli_at(now: &str) -> Cli {
    let mut cli = Cli::new();
    cli.env.push(("BURNRATE_TEST_RELAY_KEY_A".into(), KEY_A.into()));
    cli.env.push(("BURNRATE_TEST_RELAY_KEY_B".into(), KEY_B.into()));
    cli.env.push(("BURNRATE_TEST_RELAY_TOKEN".into(), TOKEN.into()));
    set_now(&mut cli, now);
    cli
}

fn set_now(cli: &mut Cli, now: &str) {
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now.into()));
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ` (days from the civil calendar, no chrono dependency).
fn ts(t: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

fn micros_text(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

fn no_key_anywhere(cli: &Cli, texts: &[&str]) {
    for key in [KEY_A, KEY_B, TOKEN] {
        for t in texts {
            assert!(!t.contains(key), "a key leaked into output: {t}");
        }
        cli.assert_key_in_no_file(key);
    }
}

fn add(cli: &Cli, provider: &str, name: &str, url: &str, env: &str, settings: &[&str]) {
    let mut args = vec!["source", "add", provider, "--name", name, "--base-url", url, "--key-env", env];
    for s in settings {
        args.push("--set");
        args.push(s);
    }
    cli.run(&args).ok();
}

fn report(cli: &Cli, by: &[&str], from: &str, to: &str) -> Value {
    let mut args = vec!["report", "daily", "--from", from, "--to", to, "--json"];
    for b in by {
        args.push("--by");
        args.push(b);
    }
    cli.run(&args).ok().json()
}

fn one_error_line(stderr: &str) -> &str {
    // Notes aside (a source quiet for two poll intervals is also a stale-source alert).
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("note: ")).collect();
    assert_eq!(lines.len(), 1, "one line per failed source: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

/// A loopback proxy in front of `upstream` that answers the `nth` (1-based) request whose request
/// line contains `marker` with a body cut off mid-way (the connection closes after a few of the
/// promised bytes: wiremock cannot do this), and forwards every other request.
fn truncating_proxy(upstream: std::net::SocketAddr, marker: &'static str, nth: usize) -> String {
    use std::io::{Read, Write};
    fn read_head(s: &mut std::net::TcpStream) -> Vec<u8> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        head
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut seen = 0;
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            let request = read_head(&mut client);
            let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
            seen += usize::from(line.contains(marker));
            if line.contains(marker) && seen == nth {
                let _ = client.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\nconnection: close\r\n\r\n{\"mode\":\"unrestricted\",\"success\":true,",
                );
                continue;
            }
            let mut up = std::net::TcpStream::connect(upstream).unwrap();
            up.write_all(&request).unwrap();
            let head = read_head(&mut up);
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            up.read_exact(&mut body).unwrap();
            // One request per connection, so the client never reuses one this proxy closes.
            let _ = client.write_all(&head[..head.len() - 2]);
            let _ = client.write_all(b"connection: close\r\n\r\n");
            let _ = client.write_all(&body);
        }
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// sub2api: ten days, two keys (one source each), three models, faults on the way.

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
const MODELS: [&str; 3] = ["claude-sonnet-4-5", "gpt-5", "claude-haiku-4-5"];

/// The served per-model statistics: (key index, day index) -> [(model, actual_cost micros, requests)].
type Sub2apiData = BTreeMap<(usize, usize), Vec<(&'static str, i64, i64)>>;

fn sub2api_data() -> Sub2apiData {
    let mut data = BTreeMap::new();
    for k in 0..2 {
        for d in 0..DAYS.len() {
            // Key B used nothing on the fifth day: the relay omits model_stats entirely.
            if k == 1 && d == 4 {
                continue;
            }
            let mut stats = Vec::new();
            for (m, model) in MODELS.iter().enumerate() {
                if (k + d + m) % 4 == 0 {
                    continue; // not every model every day
                }
                let micros = ((k as i64 + 1) * 1_000_003 * (d as i64 + 1) + m as i64 * 777_777) % 9_000_000 + 1_001;
                stats.push((*model, micros, (d * 3 + m + k) as i64 + 1));
            }
            data.insert((k, d), stats);
        }
    }
    data
}

fn usage_body(stats: Option<&Vec<(&str, i64, i64)>>, balance_micros: i64) -> String {
    // Numbers are written as decimal text, exactly as a Go JSON encoder prints such values.
    let model_stats = stats.map(|s| {
        let items: Vec<String> = s
            .iter()
            .map(|(model, micros, requests)| {
                format!(
                    r#"{{"model":"{model}","requests":{requests},"input_tokens":{},"output_tokens":{},"cache_creation_tokens":0,"cache_read_tokens":0,"total_tokens":{},"cost":{},"actual_cost":{},"account_cost":0.5}}"#,
                    requests * 1000,
                    requests * 100,
                    requests * 1100,
                    micros_text(micros * 2),
                    micros_text(*micros)
                )
            })
            .collect();
        format!(r#","model_stats":[{}]"#, items.join(","))
    });
    format!(
        r#"{{"mode":"unrestricted","isValid":true,"planName":"钱包余额","remaining":{b},"unit":"USD","balance":{b},"usage":{{"today":{{"requests":1,"input_tokens":1,"output_tokens":1,"cache_creation_tokens":0,"cache_read_tokens":0,"total_tokens":2,"cost":0.2,"actual_cost":0.1}},"total":{{"requests":9,"input_tokens":9,"output_tokens":9,"cache_creation_tokens":0,"cache_read_tokens":0,"total_tokens":18,"cost":25.5,"actual_cost":12.75}},"average_duration_ms":1532.5,"rpm":2,"tpm":800}}{}}}"#,
        model_stats.unwrap_or_default(),
        b = micros_text(balance_micros),
    )
}

async fn sub2api_server(data: &Sub2apiData) -> MockServer {
    let server = MockServer::start().await;
    // Faults first: wiremock answers with the first mounted mock that matches and still has uses.
    let fault = |key: &str, day: &str| {
        Mock::given(method("GET"))
            .and(path("/v1/usage"))
            .and(query_param("start_date", day))
            .and(header("authorization", format!("Bearer {key}").as_str()))
    };
    fault(KEY_A, DAYS[1])
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_raw(r#"{"code":"RATE_LIMITED","message":"slow down"}"#, "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    fault(KEY_B, DAYS[3])
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_string("upstream exploded"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    fault(KEY_A, DAYS[5])
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_raw(usage_body(data.get(&(0, 5)), 1), "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    for ((k, d), stats) in data {
        let key = if *k == 0 { KEY_A } else { KEY_B };
        Mock::given(method("GET"))
            .and(path("/v1/usage"))
            .and(query_param("start_date", DAYS[*d]))
            .and(query_param("end_date", DAYS[*d]))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(usage_body(Some(stats), 50_000_000 - *d as i64), "application/json"),
            )
            .mount(&server)
            .await;
    }
    // Key B's empty day.
    Mock::given(method("GET"))
        .and(path("/v1/usage"))
        .and(query_param("start_date", DAYS[4]))
        .and(header("authorization", format!("Bearer {KEY_B}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(usage_body(None, 49_999_996), "application/json"))
        .mount(&server)
        .await;
    server
}

fn sub2api_expected(data: &Sub2apiData) -> (Value, Value, Value) {
    let fp = ["sk-…A001", "sk-…B002"];
    let mut by_key: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut by_model: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut total: BTreeMap<&str, i64> = BTreeMap::new();
    for ((k, d), stats) in data {
        for (model, micros, _) in stats {
            *by_key.entry((DAYS[*d], fp[*k])).or_default() += micros;
            *by_model.entry((DAYS[*d], model)).or_default() += micros;
            *total.entry(DAYS[*d]).or_default() += micros;
        }
    }
    let row = |day: &str, key: Option<&str>, model: Option<&str>, micros: i64| {
        let mut row = json!({"day": day, "source": null, "provider": null, "key_id": key, "key_name": key,
               "model": model, "currency": "USD", "amount": micros_text(micros), "kind": "billed"});
        if model.is_some() {
            row["model_name"] = json!(model);
        }
        row
    };
    (
        Value::Array(by_key.iter().map(|((d, k), m)| row(d, Some(k), None, *m)).collect()),
        Value::Array(by_model.iter().map(|((d, model), m)| row(d, None, Some(model), *m)).collect()),
        Value::Array(total.iter().map(|(d, m)| row(d, None, None, *m)).collect()),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sub2api_ten_days_per_key_and_model_to_the_micro_unit_despite_faults() {
    let data = sub2api_data();
    let server = sub2api_server(&data).await;
    let cli = cli_at("2026-03-10T12:00:00Z");
    // One source per relay key: each key reports only itself. The SDK-style /v1 base works.
    add(&cli, "sub2api", "relay-a", &format!("{}/v1", server.uri()), "BURNRATE_TEST_RELAY_KEY_A", &[]);
    add(&cli, "sub2api", "relay-b", &server.uri(), "BURNRATE_TEST_RELAY_KEY_B", &[]);

    // 429, 500 and a 3 s answer (timeout 1 s) are retried; the slow one on its second attempt.
    let run = cli.run(&["--timeout", "1", "--retries", "3", "sync", "--from", DAYS[0], "--to", DAYS[9]]).ok();
    assert!(run.stdout.contains("ok: relay-a:") && run.stdout.contains("ok: relay-b:"), "{}", run.stdout);

    let (by_key, by_model, totals) = sub2api_expected(&data);
    assert_eq!(report(&cli, &["key"], DAYS[0], DAYS[9]), by_key);
    assert_eq!(report(&cli, &["model"], DAYS[0], DAYS[9]), by_model);
    assert_eq!(report(&cli, &[], DAYS[0], DAYS[9]), totals);
    cli.assert_one_total_whatever_the_grouping(DAYS[0], DAYS[9]);

    // One request per day per key, plus one retry for each injected fault.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2 * 10 + 3, "{}", requests.len());

    // A second sync replaces: nothing changes.
    cli.run(&["sync", "--from", DAYS[0], "--to", DAYS[9]]).ok();
    assert_eq!(report(&cli, &["key"], DAYS[0], DAYS[9]), by_key);
    assert_eq!(report(&cli, &["model"], DAYS[0], DAYS[9]), by_model);

    // Keys are named by fingerprint, and the balance of each key's latest answer is kept.
    let db = cli.db();
    let names: Vec<String> = db
        .prepare("SELECT display_name FROM api_keys ORDER BY display_name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["sk-…A001", "sk-…B002"]);
    let (balance, usage): (i64, i64) = db
        .query_row(
            "SELECT balance_micros, usage_micros FROM balance_snapshots b JOIN sources s ON s.id = b.source_id
             WHERE s.name = 'relay-a' ORDER BY b.id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((balance, usage), (50_000_000 - 9, 12_750_000));
    no_key_anywhere(&cli, &[&run.stdout, &run.stderr]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sub2api_a_truncated_answer_fails_the_sync_and_writes_nothing() {
    let data = sub2api_data();
    let server = sub2api_server(&data).await;
    // The eighth day's answer is cut off once, on the second sync.
    let proxy = truncating_proxy(*server.address(), "start_date=2026-03-08", 2);
    let cli = cli_at("2026-03-10T12:00:00Z");
    add(&cli, "sub2api", "relay-a", &proxy, "BURNRATE_TEST_RELAY_KEY_A", &[]);
    // The 3 s answer of the shared mock fits in this timeout.
    cli.run(&["--timeout", "5", "sync", "--from", DAYS[0], "--to", DAYS[9]]).ok();
    let (by_key, _, _) = sub2api_expected(&data);
    let only_a: Vec<Value> = by_key.as_array().unwrap().iter().filter(|r| r["key_id"] == "sk-…A001").cloned().collect();
    assert_eq!(report(&cli, &["key"], DAYS[0], DAYS[9]), Value::Array(only_a.clone()));

    let snapshots =
        |cli: &Cli| -> i64 { cli.db().query_row("SELECT count(*) FROM balance_snapshots", [], |r| r.get(0)).unwrap() };
    let before = snapshots(&cli);
    let run = cli.run(&["--retries", "1", "sync", "--from", DAYS[0], "--to", DAYS[9]]).failed();
    let line = one_error_line(&run.stderr);
    assert!(line.starts_with("error: relay-a: sub2api relay sent an incomplete response at GET /v1/usage"), "{line}");
    assert_eq!(report(&cli, &["key"], DAYS[0], DAYS[9]), Value::Array(only_a.clone()), "unchanged");
    assert_eq!(snapshots(&cli), before, "no snapshot from a failed poll");

    // The next sync succeeds with the same result.
    cli.run(&["sync", "--from", DAYS[0], "--to", DAYS[9]]).ok();
    assert_eq!(report(&cli, &["key"], DAYS[0], DAYS[9]), Value::Array(only_a));
}

#[tokio::test(flavor = "multi_thread")]
async fn sub2api_a_rejected_key_gives_one_clear_line() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("sub2api/error_401.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = cli_at("2026-03-10T12:00:00Z");
    add(&cli, "sub2api", "relay", &server.uri(), "BURNRATE_TEST_RELAY_KEY_A", &[]);
    let run = cli.run(&["sync", "--from", DAYS[0], "--to", DAYS[9]]).failed();
    let line = one_error_line(&run.stderr);
    assert!(
        line.starts_with("error: relay: sub2api relay rejected the key (401 at GET /v1/usage: Invalid API key)"),
        "{line}"
    );
    assert!(line.contains("API key issued by the relay"), "{line}");
    no_key_anywhere(&cli, &[&run.stdout, &run.stderr]);
}

// ---------------------------------------------------------------------------------------------
// new-api / one-api: account totals only; one snapshot per sync.

/// (BURNRATE_NOW, quota units left, used quota units) of successive syncs across days.
const NEW_API_SYNCS: [(&str, i64, i64); 6] = [
    ("2026-03-01T08:00:00Z", 100_000_000, 2_000_001),
    ("2026-03-01T20:00:00Z", 99_000_000, 3_000_001),
    ("2026-03-02T09:30:00Z", 97_500_003, 4_500_000),
    ("2026-03-04T00:00:01Z", 97_500_003, 4_500_000),
    ("2026-03-05T23:59:59Z", 250_000_000, 5_123_457),
    ("2026-03-06T12:00:00Z", 249_999_999, 5_123_458),
];

async fn new_api_answers(server: &MockServer, quota: i64, used: i64) {
    server.reset().await;
    let body = format!(
        r#"{{"success":true,"message":"","data":{{"id":42,"username":"fake-user","display_name":"Fake User","role":1,"status":1,"group":"default","quota":{quota},"used_quota":{used},"request_count":4321,"aff_code":"FAKE","permissions":{{"sidebar_settings":true}}}}}}"#
    );
    let good = || {
        Mock::given(method("GET"))
            .and(path("/api/user/self"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("new-api-user", "42"))
    };
    // The slow answer first: its retry waits the 1 s base backoff, the others none.
    good()
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)).set_body_string("{}"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    good()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    good()
        .respond_with(ResponseTemplate::new(502).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    good().respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json")).mount(server).await;
}

fn snapshots(cli: &Cli) -> Vec<(i64, Option<i64>, Option<i64>)> {
    cli.db()
        .prepare("SELECT taken_at, balance_micros, usage_micros FROM balance_snapshots ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn new_api_daily_spend_from_snapshots_across_days_despite_faults() {
    let server = MockServer::start().await;
    let mut cli = cli_at(NEW_API_SYNCS[0].0);
    add(&cli, "new-api", "relay", &format!("{}/v1", server.uri()), "BURNRATE_TEST_RELAY_TOKEN", &["user_id=42"]);
    let mut expected = Vec::new();
    for (now, quota, used) in NEW_API_SYNCS {
        new_api_answers(&server, quota, used).await;
        set_now(&mut cli, now);
        // Every sync meets a 3 s answer (timeout 1 s), a 429 and a 502 before the real one.
        let run = cli.run(&["--timeout", "1", "--retries", "4", "sync"]).ok();
        assert!(run.stdout.starts_with("ok: relay:"), "{}", run.stdout);
        assert_eq!(server.received_requests().await.unwrap().len(), 4);
        // units / 500000 USD = units * 2 micro-dollars.
        expected.push((ts(now), Some(quota * 2), Some(used * 2)));
        assert_eq!(snapshots(&cli), expected);
    }
    // Daily spend is the growth of used_quota between consecutive snapshots, booked on the day
    // of the later one: the quota rise on 03-05 is a top-up, not spend, and 03-04 (no growth)
    // has no row. Units / 500000 USD = units * 2 micro-dollars.
    let day = |day: &str, units: i64| {
        json!({"day": day, "source": "relay", "provider": "new-api", "key_id": null, "key_name": null,
               "model": null, "currency": "USD", "amount": micros_text(units * 2), "kind": "billed"})
    };
    let expected = json!([
        day("2026-03-01", 3_000_001 - 2_000_001),
        day("2026-03-02", 4_500_000 - 3_000_001),
        day("2026-03-05", 5_123_457 - 4_500_000),
        day("2026-03-06", 5_123_458 - 5_123_457),
    ]);
    assert_eq!(report(&cli, &["source"], "2026-03-01", "2026-03-06"), expected);
    cli.assert_one_total_whatever_the_grouping("2026-03-01", "2026-03-06");
    // Another sync with the same answer adds a snapshot but no spend.
    new_api_answers(&server, 249_999_999, 5_123_458).await;
    set_now(&mut cli, "2026-03-06T18:00:00Z");
    cli.run(&["--timeout", "1", "--retries", "4", "sync"]).ok();
    assert_eq!(report(&cli, &["source"], "2026-03-01", "2026-03-06"), expected);
    no_key_anywhere(&cli, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_api_a_truncated_answer_adds_no_snapshot() {
    let server = MockServer::start().await;
    // The second request for the account is cut off.
    let proxy = truncating_proxy(*server.address(), "/api/user/self", 2);
    let mut cli = cli_at("2026-03-01T08:00:00Z");
    add(&cli, "new-api", "relay", &proxy, "BURNRATE_TEST_RELAY_TOKEN", &["user_id=42"]);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"success":true,"message":"","data":{"quota":1000000,"used_quota":10}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    cli.run(&["sync"]).ok();
    let first = vec![(ts("2026-03-01T08:00:00Z"), Some(2_000_000), Some(20))];
    assert_eq!(snapshots(&cli), first);
    set_now(&mut cli, "2026-03-02T08:00:00Z");
    let run = cli.run(&["sync"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(
        line.starts_with("error: relay: new-api / one-api relay sent an incomplete response at GET /api/user/self"),
        "{line}"
    );
    assert_eq!(snapshots(&cli), first, "no snapshot from a failed poll");
    cli.run(&["sync"]).ok();
    assert_eq!(snapshots(&cli).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_api_refusals_name_the_token_and_user_id() {
    let cli = cli_at("2026-03-02T12:00:00Z");
    // new-api (2025): 401 when New-Api-User is missing.
    let a = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("new-api/error_missing_user_header.json"), "application/json"),
        )
        .mount(&a)
        .await;
    add(&cli, "new-api", "newapi", &a.uri(), "BURNRATE_TEST_RELAY_TOKEN", &[]);
    let run = cli.run(&["sync", "--source", "newapi"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(
        line.starts_with("error: newapi: new-api / one-api relay rejected the key (401 at GET /api/user/self"),
        "{line}"
    );
    assert!(line.contains("未提供 New-Api-User") && line.contains("--set user_id="), "{line}");

    // one-api: HTTP 200 with success=false for an unknown token.
    let b = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("new-api/error_invalid_token.json"), "application/json"),
        )
        .mount(&b)
        .await;
    add(&cli, "new-api", "oneapi", &b.uri(), "BURNRATE_TEST_RELAY_TOKEN", &[]);
    let run = cli.run(&["sync", "--source", "oneapi"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(
        line.starts_with("error: oneapi: new-api / one-api relay rejected the key at GET /api/user/self"),
        "{line}"
    );
    assert!(line.contains("access token 无效") && line.contains("Access token of your relay account"), "{line}");
    let sources = cli.run(&["source", "list", "--json"]).ok().json();
    for s in sources.as_array().unwrap() {
        assert_eq!(s["last_sync"]["error"]["code"], "key_rejected", "{s}");
    }
    assert!(snapshots(&cli).is_empty());
    no_key_anywhere(&cli, &[&run.stdout, &run.stderr]);
}

// ---------------------------------------------------------------------------------------------
// Custom JSON endpoint.

#[tokio::test(flavor = "multi_thread")]
async fn custom_json_today_keeps_each_days_last_figure_over_ten_days() {
    let server = MockServer::start().await;
    let mut cli = cli_at("2026-03-01T06:00:00Z");
    let url = format!("{}/billing/v2/account", server.uri());
    add(
        &cli,
        "custom-json",
        "meter",
        &url,
        "BURNRATE_TEST_RELAY_KEY_A",
        &[
            "pointer=/data/account/spent_today_cents",
            "meaning=today",
            "divisor=100",
            "currency=CNY",
            "header=X-Api-Key",
        ],
    );
    let mut finals: BTreeMap<&str, i64> = BTreeMap::new();
    for (d, day) in DAYS.iter().enumerate() {
        // Two syncs a day: the counter grows during the day; the evening figure is the day's.
        for (hour, cents) in [("06:00:00", 100 * d as i64 + 7), ("21:30:00", 1_000 * (d as i64 + 1) + 33)] {
            server.reset().await;
            let ok = || Mock::given(method("GET")).and(path("/billing/v2/account")).and(header("x-api-key", KEY_A));
            if d % 3 == 0 {
                ok().respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
                    .up_to_n_times(1)
                    .mount(&server)
                    .await;
            }
            if d == 4 {
                ok().respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)).set_body_string("{}"))
                    .up_to_n_times(1)
                    .mount(&server)
                    .await;
            }
            // The amount is a numeric string in this service's answers.
            let body = format!(
                r#"{{"code":0,"data":{{"account":{{"balance_cents":1,"spent_today_cents":"{cents}","currency":"CNY"}}}}}}"#
            );
            ok().respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json")).mount(&server).await;
            set_now(&mut cli, &format!("{day}T{hour}Z"));
            cli.run(&["--timeout", "1", "--retries", "3", "sync"]).ok();
            finals.insert(day, cents * 10_000);
        }
    }
    let expected: Vec<Value> = finals
        .iter()
        .map(|(day, micros)| {
            json!({"day": day, "source": "meter", "provider": "custom-json", "key_id": null, "key_name": null,
                   "model": null, "currency": "CNY", "amount": micros_text(*micros), "kind": "billed"})
        })
        .collect();
    assert_eq!(report(&cli, &["source"], DAYS[0], DAYS[9]), Value::Array(expected.clone()));
    cli.assert_one_total_whatever_the_grouping(DAYS[0], DAYS[9]);
    // Syncing again at the end of the last day changes nothing.
    cli.run(&["sync"]).ok();
    assert_eq!(report(&cli, &["source"], DAYS[0], DAYS[9]), Value::Array(expected));
    no_key_anywhere(&cli, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_json_balance_snapshots_and_clear_pointer_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/credits"))
        .and(header("authorization", format!("Bearer {KEY_A}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("custom-json/vercel_credits.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let mut cli = cli_at("2026-03-01T10:00:00Z");
    let url = format!("{}/credits", server.uri());
    add(&cli, "custom-json", "gateway", &url, "BURNRATE_TEST_RELAY_KEY_A", &["pointer=/balance"]);
    add(&cli, "custom-json", "spent", &url, "BURNRATE_TEST_RELAY_KEY_A", &["pointer=/total_used", "meaning=total"]);
    cli.run(&["sync"]).ok();
    set_now(&mut cli, "2026-03-02T10:00:00Z");
    cli.run(&["sync"]).ok();
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = cli
        .db()
        .prepare(
            "SELECT s.name, b.taken_at, b.balance_micros, b.usage_micros FROM balance_snapshots b
             JOIN sources s ON s.id = b.source_id ORDER BY b.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (t1, t2) = (ts("2026-03-01T10:00:00Z"), ts("2026-03-02T10:00:00Z"));
    assert_eq!(
        rows,
        vec![
            ("gateway".into(), t1, Some(95_500_000), None),
            ("spent".into(), t1, None, Some(4_500_000)),
            ("gateway".into(), t2, Some(95_500_000), None),
            ("spent".into(), t2, None, Some(4_500_000)),
        ]
    );

    add(&cli, "custom-json", "typo", &url, "BURNRATE_TEST_RELAY_KEY_A", &["pointer=/data/balance"]);
    let run = cli.run(&["sync", "--source", "typo"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(line.contains("GET /credits: the response has no value at /data/balance"), "{line}");
    assert!(line.contains("--set pointer="), "{line}");

    let wrong_type = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"balance":{"usd":"1.00"}}"#, "application/json"))
        .mount(&wrong_type)
        .await;
    add(&cli, "custom-json", "object", &wrong_type.uri(), "BURNRATE_TEST_RELAY_KEY_A", &["pointer=/balance"]);
    let run = cli.run(&["sync", "--source", "object"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(line.contains("the value at /balance is an object, not a number"), "{line}");
    no_key_anywhere(&cli, &[&run.stdout, &run.stderr]);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_json_a_rejected_key_gives_one_clear_line() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(r#"{"error":"forbidden"}"#, "application/json"))
        .mount(&server)
        .await;
    let cli = cli_at("2026-03-01T10:00:00Z");
    add(
        &cli,
        "custom-json",
        "meter",
        &format!("{}/balance", server.uri()),
        "BURNRATE_TEST_RELAY_KEY_A",
        &["pointer=/b"],
    );
    let run = cli.run(&["sync"]).failed();
    let line = one_error_line(&run.stderr);
    assert!(
        line.starts_with("error: meter: Custom JSON endpoint rejected the key (403 at GET /balance: forbidden)"),
        "{line}"
    );
    assert!(line.contains("header and prefix settings"), "{line}");
}
