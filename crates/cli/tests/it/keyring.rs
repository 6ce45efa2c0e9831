//! Keys kept in the real OS secret store (Secret Service). These need an unlocked keyring on a
//! session bus, so they are `#[ignore]`d by default; scripts/test runs them inside
//! `dbus-run-session` with GNOME Keyring (tests/ci/with-keyring.sh) and `--include-ignored`.

use crate::common;

use burnrate_core::secrets::{account_for_source, KeyringBackend, OsKeyring, SecretStore};
use burnrate_core::ErrorCode;
use common::{fixture, mount_empty_usage_and_projects, Cli, FAKE_KEY};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs an unlocked Secret Service; run by scripts/test"]
async fn a_key_from_stdin_lives_only_in_the_secret_store() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .and(header("authorization", format!("Bearer {FAKE_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("openai/costs_page2.json"), "application/json"))
        .mount(&server)
        .await;
    mount_empty_usage_and_projects(&server).await;
    let cli = Cli::new();
    // A unique name: the keyring outlives the test.
    let name = format!("kr-test-{}", std::process::id());
    let url = format!("{}/v1", server.uri());
    let added = cli
        .run_with_stdin(
            &["source", "add", "openai", "--name", &name, "--base-url", &url, "--key-stdin", "--json"],
            &format!("{FAKE_KEY}\n"),
        )
        .ok()
        .json();
    assert_eq!(added["key_storage"], "keyring");
    assert_eq!(added["key_fingerprint"], "sk-…0001");

    let store = OsKeyring::new(KeyringBackend::Default);
    assert_eq!(store.get(&account_for_source(&name)).unwrap(), FAKE_KEY);

    // Sync authenticates with the stored key (the mock only answers to it).
    cli.run(&["sync", "--from", "2026-03-02", "--to", "2026-03-02"]).ok();
    cli.assert_key_in_no_file(FAKE_KEY);

    cli.run(&["source", "remove", &name]).ok();
    let e = store.get(&account_for_source(&name)).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyMissing, "removing the source deletes its key");
}
