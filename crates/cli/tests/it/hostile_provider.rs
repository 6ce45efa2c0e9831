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
