//! The `burnrate` CLI contract, end to end: the real binary, a real SQLite file, and real HTTP
//! over loopback to a mock that answers in OpenAI's documented shapes.

use crate::common;

use common::{fixture, mount_empty_usage_and_projects, Cli, FAKE_KEY};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn openai_two_pages() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .and(query_param("page", "page_FAKE_2"))
        .and(header("authorization", format!("Bearer {FAKE_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("openai/costs_page2.json"), "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .and(query_param("bucket_width", "1d"))
        .and(query_param("group_by[]", "api_key_id"))
        .and(header("authorization", format!("Bearer {FAKE_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("openai/costs_page1.json"), "application/json"))
        .mount(&server)
        .await;
    mount_empty_usage_and_projects(&server).await;
    server
}

fn add_openai(cli: &Cli, server: &MockServer) {
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
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_then_report_daily_by_key_to_the_cent() {
    let server = openai_two_pages().await;
    let cli = Cli::new();
    add_openai(&cli, &server);

    let run = cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-02"]).ok();
    assert!(run.stdout.contains("ok: work: 4 rows for 2026-03-01..2026-03-02"), "{}", run.stdout);

    let report = cli
        .run(&["report", "daily", "--by", "key", "--from", "2026-03-01", "--to", "2026-03-02", "--json"])
        .ok()
        .json();
    let expected = json!([
        {"day": "2026-03-01", "source": null, "provider": null, "key_id": null, "key_name": "not attributed to a key", "model": null, "currency": "USD", "amount": "0.060000", "kind": "billed"},
        {"day": "2026-03-01", "source": null, "provider": null, "key_id": "key_fake_ci", "key_name": "key_fake_ci", "model": null, "currency": "USD", "amount": "1.250000", "kind": "billed"},
        {"day": "2026-03-02", "source": null, "provider": null, "key_id": "key_fake_batch", "key_name": "key_fake_batch", "model": null, "currency": "USD", "amount": "0.333333", "kind": "billed"},
        {"day": "2026-03-02", "source": null, "provider": null, "key_id": "key_fake_ci", "key_name": "key_fake_ci", "model": null, "currency": "USD", "amount": "10.500000", "kind": "billed"},
    ]);
    // Dimensions not grouped by are null, source included.
    assert_eq!(report, expected, "{report:#}");

    // Syncing the same window again replaces: totals are unchanged.
    cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-02"]).ok();
    let totals = cli.run(&["report", "daily", "--from", "2026-03-01", "--to", "2026-03-02", "--json"]).ok().json();
    assert_eq!(
        totals,
        json!([
            {"day": "2026-03-01", "source": null, "provider": null, "key_id": null, "key_name": null, "model": null, "currency": "USD", "amount": "1.310000", "kind": "billed"},
            {"day": "2026-03-02", "source": null, "provider": null, "key_id": null, "key_name": null, "model": null, "currency": "USD", "amount": "10.833333", "kind": "billed"},
        ])
    );

    let csv = cli
        .run(&["report", "daily", "--by", "source", "--from", "2026-03-01", "--to", "2026-03-02", "--csv"])
        .ok()
        .stdout;
    assert_eq!(
        csv,
        "day,source,provider,key_id,key_name,model,model_name,currency,amount,kind\n\
         2026-03-01,work,openai,,,,,USD,1.310000,billed\n\
         2026-03-02,work,openai,,,,,USD,10.833333,billed\n"
    );
    let table =
        cli.run(&["report", "daily", "--by", "source", "--from", "2026-03-01", "--to", "2026-03-02"]).ok().stdout;
    assert!(table.lines().next().unwrap().starts_with("DAY"), "{table}");
    assert!(table.contains("10.833333"), "{table}");

    cli.assert_key_in_no_file(FAKE_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sync_window_follows_burnrate_now() {
    let server = openai_two_pages().await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    cli.run(&["sync"]).ok();
    let requests = server.received_requests().await.unwrap();
    let first = requests[0].url.query_pairs().collect::<std::collections::HashMap<_, _>>();
    // BURNRATE_NOW is 2026-03-02; a first sync covers 90 days ending today: 2025-12-03..2026-03-02.
    assert_eq!(first["start_time"], "1764720000");
    assert_eq!(first["end_time"], "1772496000");
    assert_eq!(first["limit"], "180");
}

#[tokio::test(flavor = "multi_thread")]
async fn later_syncs_are_incremental_and_refetch_recent_days() {
    let server = openai_two_pages().await;
    let mut cli = Cli::new();
    add_openai(&cli, &server);
    cli.run(&["sync"]).ok(); // first sync up to 2026-03-02
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), "2026-03-10T08:00:00Z".into()));
    server.reset().await;
    let empty = r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(empty, "application/json"))
        .mount(&server)
        .await;
    let run = cli.run(&["sync"]).ok();
    // From three days before the last synced day (2026-03-02) to today.
    assert!(run.stdout.contains("for 2026-02-27..2026-03-10"), "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    let q = requests[0].url.query_pairs().collect::<std::collections::HashMap<_, _>>();
    assert_eq!(q["start_time"], "1772150400"); // 2026-02-27T00:00:00Z
    assert_eq!(q["end_time"], "1773187200"); // 2026-03-11T00:00:00Z
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_fails_with_one_clear_line_and_keeps_earlier_data() {
    let good = openai_two_pages().await;
    let cli = Cli::new();
    add_openai(&cli, &good);
    cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-02"]).ok();

    let bad = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("openai/error_401.json"), "application/json"))
        .mount(&bad)
        .await;
    let url = format!("{}/v1", bad.uri());
    cli.run(&[
        "source",
        "add",
        "openai",
        "--name",
        "wrong",
        "--base-url",
        &url,
        "--key-env",
        "BURNRATE_TEST_OPENAI_KEY",
    ])
    .ok();

    let run = cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-02"]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line per failed source: {}", run.stderr);
    assert!(lines[0].starts_with("error: wrong: OpenAI rejected the key (401"), "{}", lines[0]);
    assert!(lines[0].contains("Admin API key"), "{}", lines[0]);
    // The provider echoed the key in its message; only the fingerprint survives.
    assert!(lines[0].contains("sk-…0001"), "{}", lines[0]);
    assert!(run.stdout.contains("ok: work"), "the other source still syncs: {}", run.stdout);

    let sources = cli.run(&["source", "list", "--json"]).ok().json();
    let wrong = sources.as_array().unwrap().iter().find(|s| s["name"] == "wrong").unwrap();
    assert_eq!(wrong["last_sync"]["ok"], false);
    assert_eq!(wrong["last_sync"]["error"]["code"], "key_rejected");
    let total = cli.run(&["report", "daily", "--from", "2026-03-01", "--to", "2026-03-02", "--json"]).ok().json();
    assert_eq!(total.as_array().unwrap().len(), 2, "earlier data is intact");
    cli.assert_key_in_no_file(FAKE_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_string(
            r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":null}}"#,
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("openai/costs_page2.json"), "application/json"))
        .mount(&server)
        .await;
    mount_empty_usage_and_projects(&server).await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    let run = cli.run(&["sync", "--from", "2026-03-02", "--to", "2026-03-02"]).ok();
    assert!(run.stdout.contains("ok: work: 2 rows"), "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    let costs = requests.iter().filter(|r| r.url.path() == "/v1/organization/costs").count();
    assert_eq!(costs, 3, "429, 503, then the page");
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_degrade_without_writing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_string("upstream exploded"))
        .mount(&server)
        .await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    let run = cli.run(&["--retries", "2", "sync", "--from", "2026-03-01", "--to", "2026-03-02"]).failed();
    assert!(run.stderr.contains("OpenAI answered 500 at GET /organization/costs: upstream exploded"), "{}", run.stderr);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_provider_times_out_with_a_clear_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(5))
                .set_body_raw(fixture("openai/costs_page2.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    let run =
        cli.run(&["--timeout", "1", "--retries", "1", "sync", "--from", "2026-03-02", "--to", "2026-03-02"]).failed();
    assert!(
        run.stderr.contains("error: work: OpenAI did not answer GET /organization/costs in time"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_body_names_provider_and_endpoint_and_writes_nothing() {
    let server = MockServer::start().await;
    // A second page that is cut off: the first page must not be written either.
    Mock::given(method("GET"))
        .and(query_param("page", "page_FAKE_2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"object":"page","data":[{"object":"bucket","start_"#, "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("openai/costs_page1.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    let run = cli.run(&["sync", "--from", "2026-03-01", "--to", "2026-03-02"]).failed();
    assert!(
        run.stderr.contains("OpenAI sent a response Burnrate cannot read at GET /organization/costs"),
        "{}",
        run.stderr
    );
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "no partial write");
}

#[test]
fn a_truncated_body_is_an_error_and_writes_nothing() {
    use std::io::{Read, Write};
    // A server that promises 4000 bytes and hangs up after a few: wiremock cannot do this.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n{\"object\":\"page\",\"data\":[");
        }
    });
    let cli = Cli::new();
    let url = format!("http://{addr}/v1");
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
    let run = cli.run(&["--retries", "1", "sync", "--from", "2026-03-01", "--to", "2026-03-02"]).failed();
    assert!(
        run.stderr.contains("error: work: OpenAI sent an incomplete response at GET /organization/costs"),
        "{}",
        run.stderr
    );
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn bad_input_gives_one_line_and_changes_nothing() {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "keep", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let before = cli.run(&["source", "list", "--json"]).ok().stdout;
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["source", "add", "openia", "--name", "x", "--key-env", "BURNRATE_TEST_OPENAI_KEY"],
            "",
            "unknown provider \"openia\"",
        ),
        (
            &[
                "source",
                "add",
                "openai",
                "--name",
                "x",
                "--base-url",
                "api.openai.com",
                "--key-env",
                "BURNRATE_TEST_OPENAI_KEY",
            ],
            "",
            "is not a usable base URL",
        ),
        (
            &["source", "add", "openai", "--name", "x", "--key-env", "BURNRATE_UNSET_FAKE_VAR"],
            "",
            "BURNRATE_UNSET_FAKE_VAR is not set",
        ),
        (
            &["source", "add", "openai", "--name", "x", "--key-stdin"],
            "\n",
            "nothing on standard input; pipe the API key in",
        ),
        (&["source", "add", "openai", "--name", "keep", "--key-env", "BURNRATE_TEST_OPENAI_KEY"], "", "already exists"),
        (&["source", "add", "litellm", "--name", "x", "--key-env", "BURNRATE_TEST_OPENAI_KEY"], "", "pass --base-url"),
        (&["source", "remove", "ghost"], "", "no source named \"ghost\""),
        (&["sync", "--from", "2026-03-05", "--to", "2026-03-01"], "", "is after --to"),
        (&["report", "daily", "--from", "March"], "", "is not a day"),
    ];
    for (args, stdin, expected) in cases {
        let run = cli.run_with_stdin(args, stdin).failed();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{args:?}: {}", lines[0]);
    }
    assert_eq!(cli.run(&["source", "list", "--json"]).ok().stdout, before);
}

#[test]
fn an_unwritable_data_dir_is_explained() {
    let cli = Cli::new();
    let blocker = cli.data_dir.path().join("file-not-dir");
    std::fs::write(&blocker, "").unwrap();
    let mut cmd = cli.command(&["source", "list"]);
    cmd.arg("--data-dir").arg(blocker.join("sub"));
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cannot write to the data directory") && err.contains("--data-dir"), "{err}");
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let cli = Cli::new();
    cli.run(&["source", "list"]).ok();
    cli.db().execute_batch("PRAGMA user_version = 42").unwrap();
    let before = std::fs::read(cli.db_path()).unwrap();
    let run = cli.run(&["source", "list"]).failed();
    assert!(run.stderr.contains("written by a newer Burnrate"), "{}", run.stderr);
    assert_eq!(std::fs::read(cli.db_path()).unwrap(), before);
}

#[test]
fn no_secret_store_names_the_env_var_alternative() {
    let mut cli = Cli::new();
    // Point the Secret Service client at a bus that does not exist.
    cli.env.push(("DBUS_SESSION_BUS_ADDRESS".into(), "unix:path=/nonexistent/burnrate-test-bus".into()));
    cli.env.push(("BURNRATE_KEYRING".into(), "secret-service".into()));
    let run = cli
        .run_with_stdin(&["source", "add", "openai", "--name", "x", "--key-stdin"], &format!("{FAKE_KEY}\n"))
        .failed();
    assert!(
        run.stderr.contains("no OS secret store is reachable") && run.stderr.contains("--key-env"),
        "{}",
        run.stderr
    );
    assert_eq!(cli.run(&["source", "list", "--json"]).ok().json(), json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_polls_until_interrupted_and_stops_cleanly() {
    let server = openai_two_pages().await;
    let cli = Cli::new();
    add_openai(&cli, &server);
    let child = cli
        .command(&["watch", "--every", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let polls = stdout.lines().filter(|l| l.starts_with("ok: work:")).count();
    assert!(polls >= 2, "expected a poll about every second:\n{stdout}");
    assert!(!stdout.contains(FAKE_KEY) && !String::from_utf8_lossy(&out.stderr).contains(FAKE_KEY));
}
