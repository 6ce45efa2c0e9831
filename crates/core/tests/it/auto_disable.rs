//! Auto-disable in the core: what the notification says (done, failed, dry run), and two
//! processes on one ledger acting on the same alert once.

use crate::common::{TestCore, NOW};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use burnrate_core::auto_disable::{AddAutoDisableRequest, AutoDisableTrigger};
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::notify::{Notice, NoticeUrgency, Notifier};
use burnrate_core::providers::ProviderId;

use burnrate_core::Burnrate;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-or-v1-FAKE-core-auto-disable-0001";
const HASH: &str = "hash_FAKE_leak";

#[derive(Default)]
struct Captured(Mutex<Vec<Notice>>);
impl Notifier for Captured {
    fn notify(&self, notice: &Notice) -> burnrate_core::Result<()> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

fn core_over(dir: &std::path::Path, captured: &Arc<Captured>) -> Burnrate {
    TestCore::builder(dir).env(&[("OR_MGMT_KEY", KEY)]).build().with_notifier(captured.clone())
}

/// A source `work` at `server`, a key-wide rule made an hour before NOW, and a spike of the
/// key fired after it (as the engine records one). Returns the alert id.
fn ledger_with_a_spike(core: &Burnrate, dir: &std::path::Path, server: &MockServer, dry_run: bool) -> i64 {
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openrouter,
        name: "work".into(),
        base_url: Some(format!("{}/api/v1", server.uri())),
        key: KeyInput::Env { var: "OR_MGMT_KEY".into() },
        settings: None,
    })
    .unwrap();
    let db = rusqlite::Connection::open(dir.join("ledger.sqlite3")).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().timestamp();
    db.execute(
        "INSERT INTO api_keys (source_id, provider_key_id, display_name, fingerprint) VALUES (1, ?1, 'CI runner', 'sk-or-v1-lea...k00')",
        [HASH],
    )
    .unwrap();
    core.add_auto_disable(&AddAutoDisableRequest {
        source: "work".into(),
        key_id: None,
        on: vec![AutoDisableTrigger::Spike],
        dry_run,
        cooldown_hours: None,
    })
    .unwrap();
    db.execute(
        "INSERT INTO alerts (kind, dedupe_key, source_id, key_id, amount_micros, limit_micros, currency, estimated, title, body, fired_at)
         VALUES ('spike', 'spike:work:leak', 1, ?1, 8000000, 50000, 'USD', 0, 'Spend spike: key CI runner of work', 'body', ?2)",
        rusqlite::params![HASH, now],
    )
    .unwrap();
    db.last_insert_rowid()
}

fn patch_key() -> wiremock::MockBuilder {
    Mock::given(method("PATCH")).and(path(format!("/api/v1/keys/{HASH}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notification_says_what_was_done_how_to_undo_it_and_where_the_report_is() {
    let server = MockServer::start().await;
    patch_key()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"hash": HASH, "disabled": true}})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let captured = Arc::new(Captured::default());
    let core = core_over(dir.path(), &captured);
    let alert = ledger_with_a_spike(&core, dir.path(), &server, false);

    let done = core.run_auto_disable().await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].ok && !done[0].dry_run, "{done:?}");
    assert_eq!((Some(done[0].alert_id), Some(done[0].rule_id)), (Some(alert), Some(1)));
    let report = done[0].dossier.as_deref().expect("the dossier is written");
    assert!(std::path::Path::new(report).starts_with(dir.path().join("exports")), "{report}");

    let notices = captured.0.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let n = &notices[0];
    assert_eq!(n.summary, format!("Burnrate disabled key \"CI runner\" (sk-or-v1-lea...k00, id {HASH}) of work"));
    assert!(
        n.body.starts_with("After: Spend spike: key CI runner of work.\nOpenRouter disabled the key"),
        "{}",
        n.body
    );
    assert!(n.body.contains("it can be enabled again at"), "the undo: {}", n.body);
    assert!(n.body.ends_with(&format!("Incident report: {report}")), "{}", n.body);
    assert_eq!(n.urgency, NoticeUrgency::Critical);
    assert_eq!(n.open_target.as_deref(), Some(format!("key:work/{HASH}").as_str()));
    assert!(!n.body.contains(KEY) && !n.summary.contains(KEY));
    assert!(core.run_auto_disable().await.unwrap().is_empty(), "once per alert");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_recorded_and_says_how_to_disable_the_key_by_hand() {
    let server = MockServer::start().await;
    patch_key()
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": {"code": 403, "message": "Only management keys can perform this operation"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let captured = Arc::new(Captured::default());
    let core = core_over(dir.path(), &captured);
    ledger_with_a_spike(&core, dir.path(), &server, false);

    let done = core.run_auto_disable().await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(!done[0].ok);
    assert!(done[0].detail.contains("403"), "{}", done[0].detail);
    let n = captured.0.lock().unwrap()[0].clone();
    assert!(n.summary.starts_with("Burnrate could not disable key"), "{}", n.summary);
    assert!(n.body.contains("Disable it yourself at"), "{}", n.body);
    // Not retried for the same alert: the user was told to act.
    assert!(core.run_auto_disable().await.unwrap().is_empty());
    assert_eq!(core.key_actions(Some("work"), None).unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_ledger_switch_the_key_off_once() {
    let server = MockServer::start().await;
    // Slow enough that both runs are inside the request at once if nothing stops the second.
    patch_key()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"hash": HASH, "disabled": true}}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let captured = Arc::new(Captured::default());
    let first = core_over(dir.path(), &captured);
    ledger_with_a_spike(&first, dir.path(), &server, false);
    let second = core_over(dir.path(), &captured);

    let (a, b) = tokio::join!(first.run_auto_disable(), second.run_auto_disable());
    let acted = a.unwrap().len() + b.unwrap().len();
    assert_eq!(acted, 1, "one of the two acts");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "one request reached the provider");
    assert_eq!(first.key_actions(None, None).unwrap().len(), 1);
    assert_eq!(captured.0.lock().unwrap().len(), 1, "one notification");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_tells_what_it_would_have_done_and_sends_nothing() {
    let server = MockServer::start().await;
    patch_key().respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let captured = Arc::new(Captured::default());
    let core = core_over(dir.path(), &captured);
    ledger_with_a_spike(&core, dir.path(), &server, true);

    let done = core.run_auto_disable().await.unwrap();
    assert!(done[0].ok && done[0].dry_run, "{done:?}");
    let n = captured.0.lock().unwrap()[0].clone();
    assert!(n.summary.starts_with("Dry run: Burnrate would have disabled key"), "{}", n.summary);
    assert!(n.body.contains("nothing was sent"), "{}", n.body);
}
