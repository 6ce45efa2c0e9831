//! A provider (or whoever answers in its name) that tries to move the key elsewhere: the real
//! CLI against loopback servers, the key scanned for in every output and file afterwards.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Cli, FAKE_KEY};

const KEY_ENV: &str = "BURNRATE_TEST_OPENAI_KEY";

#[tokio::test]
async fn a_redirect_to_another_host_gets_no_key_and_says_where_it_pointed() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_string("{}")).mount(&elsewhere).await;
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", format!("{}/collect", elsewhere.uri())))
        .mount(&provider)
        .await;

    let cli = Cli::new();
    // Anthropic's x-api-key is a header reqwest would have carried across hosts by itself.
    cli.run(&["source", "add", "anthropic", "--name", "team", "--base-url", &provider.uri(), "--key-env", KEY_ENV])
        .ok();
    let run = cli.run(&["sync", "--source", "team"]).failed();
    assert!(run.stderr.contains("redirected") && run.stderr.contains(&elsewhere.uri()), "{}", run.stderr);
    assert!(run.stderr.contains("does not send keys to another host"), "{}", run.stderr);
    assert!(!run.stderr.contains("rejected the key"), "not a misleading key error: {}", run.stderr);
    assert!(elsewhere.received_requests().await.unwrap().is_empty(), "the other host was asked");

    let json = cli.run(&["source", "list", "--json"]).ok().json();
    assert_eq!(json[0]["last_sync"]["error"]["code"], "redirect_refused");
    cli.assert_key_in_no_file(FAKE_KEY);
}

#[test]
fn a_base_url_without_a_host_is_refused_and_plain_http_elsewhere_is_warned() {
    let cli = Cli::new();
    let run = cli
        .run(&["source", "add", "litellm", "--name", "proxy", "--base-url", "http:///v1", "--key-env", KEY_ENV])
        .failed();
    assert!(run.stderr.contains("it has no host"), "{}", run.stderr);

    let run = cli
        .run(&[
            "source",
            "add",
            "litellm",
            "--name",
            "proxy",
            "--base-url",
            "http://proxy.example.com:4000",
            "--key-env",
            KEY_ENV,
        ])
        .ok();
    assert!(run.stderr.contains("warning: http://proxy.example.com:4000 is plain http://"), "{}", run.stderr);
    let run = cli.run(&["source", "list"]).ok();
    assert!(run.stderr.contains("proxy: http://proxy.example.com:4000 is plain http://"), "{}", run.stderr);

    let run = cli
        .run(&[
            "source",
            "add",
            "litellm",
            "--name",
            "local",
            "--base-url",
            "http://localhost:4000",
            "--key-env",
            KEY_ENV,
        ])
        .ok();
    assert!(!run.stderr.contains("warning"), "loopback is this machine: {}", run.stderr);
}

/// One absurd row, from a file here (a provider's goes through the same gate): refused with
/// where it came from, and everything else keeps working.
#[test]
fn an_absurd_amount_is_refused_and_reports_budgets_and_keys_keep_working() {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "books", "--key-env", KEY_ENV]).ok();
    let good = cli.data_dir.path().join("good.csv");
    std::fs::write(&good, "day,amount,currency,key_id,kind\n2026-03-01,12.50,USD,key_a,billed\n").unwrap();
    cli.run(&["import", "csv", "--source", "books", good.to_str().unwrap()]).ok();

    let absurd = cli.data_dir.path().join("absurd.csv");
    std::fs::write(&absurd, "day,amount,currency,key_id,kind\n2026-03-01,9000000000000,USD,key_b,billed\n").unwrap();
    let run = cli.run(&["import", "csv", "--source", "books", absurd.to_str().unwrap()]).failed();
    assert!(
        run.stderr.contains("2026-03-01, key key_b") && run.stderr.contains("9000000000000.000000 USD"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("settings set max_daily_amount"), "{}", run.stderr);

    let negative = cli.data_dir.path().join("negative.csv");
    std::fs::write(&negative, "day,amount,currency,key_id,kind\n2026-03-01,-5,USD,key_c,billed\n").unwrap();
    let run = cli.run(&["import", "csv", "--source", "books", negative.to_str().unwrap()]).failed();
    assert!(run.stderr.contains("does not count negative spend"), "{}", run.stderr);

    let report = cli.run(&["report", "daily", "--from", "2026-03-01", "--to", "2026-03-01", "--json"]).ok().json();
    assert_eq!(report[0]["amount"], "12.500000", "the ledger kept what it had: {report}");
    cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "100", "--currency", "USD"]).ok();
    cli.run(&["budget", "list"]).ok();
    cli.run(&["key", "list"]).ok();

    // A ledger poisoned before the gate existed: key_a's 30 days no longer add up. A clear
    // error, never a panic or a wrapped sum.
    let db = cli.db();
    db.execute(
        "INSERT INTO spend_daily (source_id, day, key_id, model, currency, kind, amount_micros)
         SELECT source_id, day + 86400, key_id, model, currency, kind, 9223372036854775000 FROM spend_daily",
        [],
    )
    .unwrap();
    db.execute(
        "INSERT INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model)
         SELECT source_id, day + 86400, key_id, currency, kind, 9223372036854775000, has_model FROM spend_daily_key",
        [],
    )
    .unwrap();
    let run = cli.run(&["key", "list"]).failed();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("too large to add up"), "{}", run.stderr);
}
