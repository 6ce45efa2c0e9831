//! "Test connection" against loopback mocks in the providers' documented shapes: what the
//! check reports a key can read, and that testing stores nothing (no source, no secret, no spend).

use std::collections::HashMap;
use std::sync::Arc;

use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::providers::ProviderId;
use burnrate_core::secrets::{MemoryStore, SecretStore};
use burnrate_core::{Burnrate, ErrorCode};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestCore;

const OR_KEY: &str = "sk-or-v1-FAKE-connection-test-0000";
const DS_KEY: &str = "sk-FAKE-deepseek-connection-test-0000";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

struct SharedStore(Arc<MemoryStore>);
impl SecretStore for SharedStore {
    fn set(&self, account: &str, secret: &str) -> burnrate_core::Result<()> {
        self.0.set(account, secret)
    }
    fn get(&self, account: &str) -> burnrate_core::Result<String> {
        self.0.get(account)
    }
    fn delete(&self, account: &str) -> burnrate_core::Result<()> {
        self.0.delete(account)
    }
}

fn core(dir: &std::path::Path, store: Arc<MemoryStore>) -> Burnrate {
    TestCore::builder(dir)
        .now("2025-08-25T08:00:00Z")
        .env(&[("DS_TEST_KEY", DS_KEY)])
        .secrets(SharedStore(store))
        .build()
}

fn request(provider: ProviderId, base_url: String, key: KeyInput) -> AddSourceRequest {
    AddSourceRequest { provider, name: "tested".into(), base_url: Some(base_url), key, settings: None }
}

fn spend_rows(dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("burnrate.db")).unwrap();
    conn.query_row("SELECT (SELECT count(*) FROM spend) + (SELECT count(*) FROM balance_snapshots)", [], |r| r.get(0))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_openrouter_key_reads_its_own_day_and_limit_and_nothing_is_stored() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/key"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("openrouter/key.json")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::default());
    let core = core(dir.path(), store.clone());
    let req =
        request(ProviderId::Openrouter, format!("{}/api/v1", server.uri()), KeyInput::Secret { value: OR_KEY.into() });

    let check = core.test_connection(&req).await.unwrap();

    assert!(check.ok, "{check:?}");
    assert_eq!((check.from.as_str(), check.to.as_str()), ("2025-08-24", "2025-08-25"));
    assert_eq!(check.key_fingerprint, burnrate_core::fingerprint::fingerprint(OR_KEY));
    let by_what: HashMap<&str, (bool, &str)> =
        check.readable.iter().map(|i| (i.what.as_str(), (i.readable, i.detail.as_str()))).collect();
    let (spend_ok, spend) = by_what["Spend"];
    assert!(spend_ok);
    assert!(spend.contains("billed amounts per day, key"), "{spend}");
    assert!(spend.contains("25.50 USD"), "{spend}");
    let (_, keys) = by_what["API keys"];
    assert!(keys.contains("1 key"), "{keys}");
    let (limit_ok, limit) = by_what["Balance and limits"];
    assert!(limit_ok && limit.contains("74.50 USD") && limit.contains("1 spending limit"), "{limit}");
    // The key was only used for the request: no source, no secret, no spend in the ledger.
    assert!(core.list_sources().unwrap().is_empty());
    assert!(store.get("source:tested").is_err());
    assert_eq!(spend_rows(dir.path()), 0);
    let json = serde_json::to_string(&check).unwrap();
    assert!(!json.contains(OR_KEY), "the key leaked into the check: {json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deepseek_key_reads_balances_and_a_rejected_key_says_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("deepseek/user_balance_cny_usd.json")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path(), Arc::new(MemoryStore::default()));
    let req = request(ProviderId::Deepseek, server.uri(), KeyInput::Env { var: "DS_TEST_KEY".into() });
    let check = core.test_connection(&req).await.unwrap();
    assert!(check.ok, "{check:?}");
    let spend = check.readable.iter().find(|i| i.what == "Spend").unwrap();
    assert!(spend.detail.contains("derived from the balance"), "{spend:?}");
    let balance = check.readable.iter().find(|i| i.what == "Balance and limits").unwrap();
    assert!(balance.readable && balance.detail.contains("CNY") && balance.detail.contains("USD"), "{balance:?}");
    assert_eq!(spend_rows(dir.path()), 0);

    let refused = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(fixture("deepseek/error_401.json")))
        .mount(&refused)
        .await;
    let req = request(ProviderId::Deepseek, refused.uri(), KeyInput::Env { var: "DS_TEST_KEY".into() });
    let check = core.test_connection(&req).await.unwrap();
    assert!(!check.ok);
    assert!(check.readable.is_empty());
    let error = check.error.unwrap();
    assert_eq!(error.code, ErrorCode::KeyRejected);
    assert!(!error.message.contains(DS_KEY));

    // Input errors are errors, before anything is sent.
    let req = request(ProviderId::Deepseek, refused.uri(), KeyInput::Env { var: "UNSET_TEST_VAR".into() });
    assert_eq!(core.test_connection(&req).await.unwrap_err().code, ErrorCode::KeyMissing);
    let req = request(ProviderId::Deepseek, "ftp://x".into(), KeyInput::Env { var: "DS_TEST_KEY".into() });
    assert_eq!(core.test_connection(&req).await.unwrap_err().code, ErrorCode::InvalidUrl);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_source_is_tested_with_its_stored_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("deepseek/user_balance_example.json")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path(), Arc::new(MemoryStore::default()));
    core.add_source(&request(ProviderId::Deepseek, server.uri(), KeyInput::Secret { value: DS_KEY.into() })).unwrap();
    let check = core.test_source("tested").await.unwrap();
    assert!(check.ok, "{check:?}");
    let auth = server.received_requests().await.unwrap()[0].headers.get("authorization").unwrap().clone();
    assert_eq!(auth.to_str().unwrap(), format!("Bearer {DS_KEY}"));
    assert_eq!(spend_rows(dir.path()), 0);
    assert_eq!(core.test_source("nope").await.unwrap_err().code, ErrorCode::SourceNotFound);
}
