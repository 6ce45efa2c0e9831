//! The poller's daily exchange-rate fetch and what the app is told about the rates' age,
//! against a loopback copy of the ECB's files and a real ledger file.

use std::sync::Arc;
use std::time::Duration;

use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::poller::{PollerConfig, PollerHandle};
use burnrate_core::providers::ProviderId;
use burnrate_core::Burnrate;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestCore;

const KEY: &str = "sk-or-v1-FAKE-rates-test-key-0000";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn ecb_mock() -> MockServer {
    let ecb = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eurofxref/eurofxref-hist.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("ecb/eurofxref-hist-90d.xml")))
        .mount(&ecb)
        .await;
    ecb
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn core_at(dir: &std::path::Path, now: &str, ecb_url: &str) -> Burnrate {
    TestCore::builder(dir)
        .now(now)
        .env(&[("RATES_TEST_KEY", KEY), ("BURNRATE_ECB_URL", ecb_url)])
        .http_timeout(Duration::from_secs(5))
        .build()
}

/// Waits up to 20 s (real time) for `done`.
async fn eventually(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poller_fetches_rates_only_once_something_is_converted() {
    let (ecb, provider) = (ecb_mock().await, MockServer::start().await);
    Mock::given(method("GET"))
        .and(path("/api/v1/key"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("openrouter/key.json")))
        .mount(&provider)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let core = Arc::new(core_at(dir.path(), "2026-04-10T12:00:00Z", &format!("{}/eurofxref/", ecb.uri())));
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openrouter,
        name: "or".into(),
        base_url: Some(format!("{}/api/v1", provider.uri())),
        key: KeyInput::Env { var: "RATES_TEST_KEY".into() },
        settings: None,
    })
    .unwrap();
    let config = PollerConfig { interval: Some(Duration::from_millis(200)), jitter: 0.0, ..PollerConfig::default() };
    let poller = PollerHandle::start(core.clone(), config);

    // One currency, no display currency: several polls, and the ECB is never asked.
    eventually(async || requests(&provider).await >= 3).await;
    assert_eq!(requests(&ecb).await, 0, "nothing is converted, so the ECB is not contacted");
    assert!(!core.rates_status().unwrap().needed);

    // A display currency: the next poll fetches the history once, and later polls do not ask
    // again within the day.
    core.set_setting("display_currency", "EUR").unwrap();
    eventually(async || core.rates_status().unwrap().newest_day.is_some()).await;
    let polled = requests(&provider).await;
    eventually(async || requests(&provider).await >= polled + 3).await;
    poller.stop().await;
    assert_eq!(requests(&ecb).await, 1, "at most once a day");
    let status = core.rates_status().unwrap();
    assert!(status.needed);
    assert_eq!(status.newest_day.as_deref(), Some("2026-04-08"));
    assert_eq!(status.age_days, Some(2), "Wednesday's rates on Friday");
    assert_eq!(status.fetched_at.as_deref(), Some("2026-04-10T12:00:00Z"));
    assert_eq!((status.failed_at, status.last_error), (None, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_ecb_is_remembered_shown_and_retried_after_an_hour() {
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let ecb = ecb_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let offline = core_at(dir.path(), "2026-04-10T12:00:00Z", &format!("http://{gone}/"));
    offline.set_setting("display_currency", "USD").unwrap();

    let err = offline.refresh_rates_if_due().await.unwrap_err();
    assert!(err.message().contains("no rates are stored yet"), "{}", err.message());
    let status = offline.rates_status().unwrap();
    assert_eq!(status.failed_at.as_deref(), Some("2026-04-10T12:00:00Z"));
    assert!(status.last_error.as_deref().is_some_and(|e| e.contains("no rates are stored yet")), "{status:?}");
    assert_eq!(status.newest_day, None);

    // Half an hour later the ECB is back, but the poller waits out the hour.
    let url = format!("{}/eurofxref/", ecb.uri());
    let soon = core_at(dir.path(), "2026-04-10T12:30:00Z", &url);
    assert_eq!(soon.refresh_rates_if_due().await.unwrap(), None);
    assert_eq!(requests(&ecb).await, 0);

    let later = core_at(dir.path(), "2026-04-10T13:01:00Z", &url);
    let done = later.refresh_rates_if_due().await.unwrap().expect("asked again after an hour");
    assert_eq!((done.file.as_str(), done.rates), ("eurofxref-hist.xml", 28));
    let status = later.rates_status().unwrap();
    assert_eq!((status.failed_at, status.last_error), (None, None), "a success clears the failure");
    assert_eq!(status.newest_day.as_deref(), Some("2026-04-08"));
}
