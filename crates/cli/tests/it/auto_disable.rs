//! `burnrate auto-disable` end to end: the real binary syncs a loopback mock of OpenRouter's
//! management API (one key, quiet for four weeks, then 40 USD in a day); a key budget of 10 USD
//! a month fires at 100 %; the next sync's rule switches the key off at the mock once, records
//! the action with its rule and alert, writes the incident report, and later syncs of the same
//! alert do nothing. A dry run sends nothing; OpenAI (delete-only) and unknown rules are refused.

use crate::common;

use common::{fixture, utc_day, Cli, Run};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_ENV: &str = "BURNRATE_TEST_OR_MANAGEMENT_KEY";
const OR_KEY: &str = "sk-or-v1-FAKE-auto-disable-management-0001";
const HASH: &str = "hash_FAKE_leaking";
/// 2026-03-02 00:00 UTC, the common harness's today.
const TODAY: i64 = 1_772_409_600;

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/{p}")))
        .and(header("authorization", format!("Bearer {OR_KEY}").as_str()))
}

/// Four quiet weeks at 0.05 USD a day, then 40 USD yesterday (the last completed day).
fn activity() -> Value {
    let rows: Vec<Value> = (1..=30)
        .map(|ago| {
            let usage = if ago == 1 { 40.0 } else { 0.05 };
            json!({
                "byok_usage_inference": 0, "completion_tokens": 1000, "date": utc_day(TODAY - ago * 86_400),
                "endpoint_id": "endpoint-FAKE-openai", "model": "openai/gpt-4.1-mini",
                "model_permaslug": "openai/gpt-4.1-mini-2025-04-14", "prompt_tokens": 5000,
                "provider_name": "OpenAI", "reasoning_tokens": 0, "requests": 10, "usage": usage
            })
        })
        .collect();
    json!({ "data": rows })
}

async fn mock_openrouter() -> MockServer {
    let server = MockServer::start().await;
    let mut key: Value = serde_json::from_str(&fixture("openrouter/key.json")).unwrap();
    key["data"]["is_management_key"] = json!(true);
    get("key").respond_with(ok(key)).mount(&server).await;
    get("credits")
        .respond_with(ok(json!({"data": {"total_credits": 100.0, "total_usage": 41.4}})))
        .mount(&server)
        .await;
    get("workspaces").respond_with(ok(json!({"data": [], "total_count": 0}))).mount(&server).await;
    let listed = json!({"data": [{
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_monthly": 0, "byok_usage_weekly": 0,
        "created_at": "2025-08-24T10:30:00Z", "creator_user_id": "user_FAKE", "disabled": false, "expires_at": null,
        "hash": HASH, "include_byok_in_limit": false, "label": "sk-or-v1-lea...k00", "limit": null,
        "limit_remaining": null, "limit_reset": null, "name": "CI runner", "updated_at": null,
        "usage": 41.4, "usage_daily": 0.0, "usage_monthly": 40.0, "usage_weekly": 40.3
    }]});
    get("keys").and(query_param("offset", "0")).respond_with(ok(listed)).mount(&server).await;
    get("keys").respond_with(ok(json!({"data": []}))).with_priority(10).mount(&server).await;
    get("activity").and(query_param("api_key_hash", HASH)).respond_with(ok(activity())).mount(&server).await;
    get("activity").and(query_param_is_missing("api_key_hash")).respond_with(ok(activity())).mount(&server).await;
    server
}

/// A data directory with the mock as source `work` (key from the environment), at `now`.
fn cli_at(server: &MockServer, now: &str) -> Cli {
    let mut cli = Cli::new();
    cli.env.push((KEY_ENV.into(), OR_KEY.into()));
    set_now(&mut cli, now);
    let base = format!("{}/api/v1", server.uri());
    run(&cli, &["source", "add", "openrouter", "--name", "work", "--base-url", &base, "--key-env", KEY_ENV]).ok();
    cli
}

fn set_now(cli: &mut Cli, now: &str) {
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now.into()));
}

fn run(cli: &Cli, args: &[&str]) -> Run {
    let run = cli.run(args);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(OR_KEY), "the management key leaked into CLI output:\n{text}");
    }
    run
}

/// (rule_id, alert_id, ok, dry_run, detail) of a recorded action.
type Recorded = (Option<i64>, Option<i64>, bool, bool, String);

/// Every recorded action, oldest first.
fn actions(cli: &Cli) -> Vec<Recorded> {
    let db = cli.db();
    let mut stmt = db.prepare("SELECT rule_id, alert_id, ok, dry_run, detail FROM key_actions ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn full_budget_alert(cli: &Cli) -> i64 {
    cli.db()
        .query_row(
            "SELECT id FROM alerts WHERE kind = 'threshold' AND threshold_pct = 100 AND key_id = ?1",
            [HASH],
            |r| r.get(0),
        )
        .unwrap()
}

fn disabled(cli: &Cli) -> bool {
    cli.db().query_row("SELECT disabled FROM api_keys WHERE provider_key_id = ?1", [HASH], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_budget_at_100_percent_switches_the_key_off_once_with_a_report() {
    let server = mock_openrouter().await;
    let mut cli = cli_at(&server, "2026-03-02T09:00:00Z");
    run(&cli, &["sync"]).ok();

    set_now(&mut cli, "2026-03-02T10:00:00Z");
    let added = run(&cli, &["auto-disable", "add", "work", "--key", HASH, "--on", "budget", "--json"]).ok().json();
    assert_eq!(added["key_id"], HASH);
    assert_eq!(added["on"], json!(["budget"]));
    assert_eq!(added["cooldown_hours"], 6);
    assert_eq!(added["dry_run"], false);
    // The budget is passed already: adding it fires its thresholds at once (the rule acts at the next sync).
    let budget =
        run(&cli, &["budget", "add", "--scope", &format!("key:{HASH}"), "--period", "month", "--amount", "10"]).ok();
    assert!(budget.stderr.contains("alert: "), "{}", budget.stderr);
    let alert = full_budget_alert(&cli);

    Mock::given(method("PATCH"))
        .and(path(format!("/api/v1/keys/{HASH}")))
        .and(header("authorization", format!("Bearer {OR_KEY}").as_str()))
        .and(body_json(json!({"disabled": true})))
        .respond_with(ok(json!({"data": {"hash": HASH, "name": "CI runner", "disabled": true}})))
        .expect(1)
        .mount(&server)
        .await;

    set_now(&mut cli, "2026-03-02T11:00:00Z");
    let sync = run(&cli, &["sync"]).ok();
    let line =
        sync.stdout.lines().find(|l| l.starts_with("auto-disable: ")).unwrap_or_else(|| panic!("{}", sync.stdout));
    assert!(
        line.starts_with(&format!(
            "auto-disable: disabled: key {HASH} of work (action #1): OpenRouter disabled the key"
        )),
        "{line}"
    );
    let report = line.split("; incident report: ").nth(1).unwrap_or_else(|| panic!("no report path: {line}"));
    let dossier = std::fs::read_to_string(report).unwrap();
    assert!(dossier.contains(HASH), "the report names the key:\n{dossier}");
    assert!(report.starts_with(cli.data_dir.path().to_str().unwrap()), "{report}");

    assert_eq!(actions(&cli).len(), 1);
    let (rule, on_alert, ok, dry_run, detail) = actions(&cli).remove(0);
    assert_eq!((rule, on_alert, ok, dry_run), (Some(1), Some(alert), true, false));
    assert!(detail.contains("it can be enabled again"), "the undo is recorded: {detail}");
    assert!(disabled(&cli));

    // The same alert never acts twice: a later sync (and one after the cooldown) sends nothing.
    for now in ["2026-03-02T12:00:00Z", "2026-03-02T20:00:00Z"] {
        set_now(&mut cli, now);
        let again = run(&cli, &["sync"]).ok();
        assert!(!again.stdout.contains("auto-disable:"), "{}", again.stdout);
    }
    assert_eq!(actions(&cli).len(), 1);
    let listed = run(&cli, &["auto-disable", "list", "--json"]).ok().json();
    assert_eq!(listed[0]["actions"], 1);
    let text = run(&cli, &["key", "actions", "--source", "work"]).ok();
    assert!(text.stdout.contains("OpenRouter disabled the key"), "{}", text.stdout);
    cli.assert_key_in_no_file(OR_KEY);
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_records_what_it_would_do_and_sends_nothing() {
    let server = mock_openrouter().await;
    Mock::given(method("PATCH")).respond_with(ok(json!({}))).expect(0).mount(&server).await;
    let mut cli = cli_at(&server, "2026-03-02T09:00:00Z");
    run(&cli, &["sync"]).ok();
    set_now(&mut cli, "2026-03-02T10:00:00Z");
    run(&cli, &["auto-disable", "add", "work", "--dry-run"]).ok();
    let twice = run(&cli, &["auto-disable", "add", "work"]).failed();
    assert!(twice.stderr.contains("every key of work already has an auto-disable rule"), "{}", twice.stderr);
    run(&cli, &["budget", "add", "--scope", &format!("key:{HASH}"), "--period", "month", "--amount", "10"]).ok();

    set_now(&mut cli, "2026-03-02T11:00:00Z");
    let sync = run(&cli, &["sync"]).ok();
    assert!(
        sync.stdout
            .contains(&format!("auto-disable: dry run: key {HASH} of work (action #1): dry run: would have disabled")),
        "{}",
        sync.stdout
    );
    let recorded = actions(&cli);
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].2, recorded[0].3), (true, true), "{recorded:?}");
    assert!(!disabled(&cli), "a dry run leaves the key on");
    let list = run(&cli, &["auto-disable", "list"]).ok();
    assert!(list.stdout.contains("every key") && list.stdout.contains("dry run"), "{}", list.stdout);
    server.verify().await;
}

#[test]
fn delete_only_providers_and_unknown_rules_are_refused_with_what_to_do() {
    let cli = Cli::new();
    run(
        &cli,
        &[
            "source",
            "add",
            "openai",
            "--name",
            "oai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--key-env",
            "BURNRATE_TEST_OPENAI_KEY",
        ],
    )
    .ok();
    let refused = run(&cli, &["auto-disable", "add", "oai"]).failed();
    assert!(refused.stderr.contains("never does it on its own"), "{}", refused.stderr);
    run(&cli, &["source", "add", "deepseek", "--name", "ds", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let unsupported = run(&cli, &["auto-disable", "add", "ds"]).failed();
    assert!(unsupported.stderr.contains("has no API for disabling a key"), "{}", unsupported.stderr);
    let missing = run(&cli, &["auto-disable", "remove", "42"]).failed();
    assert!(missing.stderr.contains("no auto-disable rule #42"), "{}", missing.stderr);
    let none = run(&cli, &["auto-disable", "list"]).ok();
    assert!(none.stdout.starts_with("no auto-disable rules"), "{}", none.stdout);
}
