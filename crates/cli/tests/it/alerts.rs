//! Budgets and alerts through the real binary: the budget CRUD contract with bad input, and
//! threshold alerts that fire exactly once across separate `burnrate sync` processes against a
//! loopback mock of OpenAI's costs API, including one found after the fact ("while you were away").

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{mount_empty_usage_and_projects, Cli, Run, FAKE_KEY};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Start of 2026-03-01 UTC.
const MAR_1: i64 = 1_772_323_200;
const DAY: i64 = 86_400;

/// Serves OpenAI daily costs: `days` is (day index from 2026-03-01, USD cents) for key_fake_ci.
async fn serve_costs(server: &MockServer, days: &[(i64, i64)]) {
    server.reset().await;
    let buckets: Vec<Value> = days
        .iter()
        .map(|(d, cents)| {
            let start = MAR_1 + d * DAY;
            json!({
                "object": "bucket", "start_time": start, "end_time": start + DAY,
                "results": [{
                    "object": "organization.costs.result",
                    "amount": {"value": *cents as f64 / 100.0, "currency": "usd"},
                    "line_item": null, "project_id": "proj_fake", "api_key_id": "key_fake_ci",
                    "quantity": null, "quantity_unit": null
                }]
            })
        })
        .collect();
    let page = json!({"object": "page", "data": buckets, "has_more": false, "next_page": null});
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(server)
        .await;
    mount_empty_usage_and_projects(server).await;
}

fn cli_with_openai(server: &MockServer) -> Cli {
    let mut cli = Cli::new();
    // The real desktop notifier, with no session bus to reach: each alert records why it was
    // not shown, and the command still succeeds.
    cli.env.retain(|(k, _)| k != "BURNRATE_NO_NOTIFY");
    cli.env.push(("DBUS_SESSION_BUS_ADDRESS".into(), "unix:path=/nonexistent/burnrate-test-bus".into()));
    cli.env.push(("TZ".into(), "UTC".into()));
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
    cli
}

fn set_now(cli: &mut Cli, now: &str) {
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now.into()));
}

fn alert_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("alert: ")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn budget_add_list_remove_and_bad_input_saves_nothing() {
    let server = MockServer::start().await;
    serve_costs(&server, &[(0, 1_000)]).await;
    let cli = cli_with_openai(&server);
    cli.run(&["sync"]).ok();

    let added = cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "50"]).ok();
    assert_eq!(added.stdout.trim(), "1", "prints the new id");
    assert!(added.stderr.contains("50.00 USD per month for total, alerts at 50%, 80%, 100%"), "{}", added.stderr);
    let key = cli
        .run(&[
            "budget",
            "add",
            "--scope",
            "key:key_fake_ci",
            "--period",
            "week",
            "--amount",
            "12.5",
            "--currency",
            "usd",
            "--thresholds",
            "25,100,150",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(key["scope"], "key:work/key_fake_ci");
    assert_eq!(key["scope_kind"], "key");
    assert_eq!((key["amount"].as_str(), key["currency"].as_str()), (Some("12.500000"), Some("USD")));
    assert_eq!(key["thresholds"], json!([25, 100, 150]));
    // BURNRATE_NOW is Monday 2026-03-02: the week started that day, and March 1 (10 USD) is last week.
    assert_eq!((key["period_start"].as_str(), key["period_end"].as_str()), (Some("2026-03-02"), Some("2026-03-08")));

    let bad: &[(&[&str], &str)] = &[
        (&["--scope", "total", "--period", "month", "--amount", "0"], "greater than zero"),
        (&["--scope", "total", "--period", "month", "--amount", "-5"], "greater than zero"),
        (
            &["--scope", "total", "--period", "month", "--amount", "50", "--currency", "ARS"],
            "no exchange rates for ARS",
        ),
        (&["--scope", "total", "--period", "month", "--amount", "50", "--thresholds", "80,50"], "ascending"),
        (&["--scope", "total", "--period", "month", "--amount", "50", "--thresholds", "50,1001"], "out of range"),
        (&["--scope", "key:key_fake_nope", "--period", "month", "--amount", "50"], "report daily --by key"),
        (&["--scope", "source:elsewhere", "--period", "month", "--amount", "50"], "elsewhere"),
        (&["--scope", "total", "--period", "fortnight", "--amount", "50"], "day, week or month"),
    ];
    for (args, expected) in bad {
        let mut full = vec!["budget", "add"];
        full.extend_from_slice(args);
        let run = cli.run(&full).failed();
        let line = run.stderr.lines().last().unwrap_or_default();
        assert!(line.starts_with("error: ") && line.contains(expected), "{args:?}: {}", run.stderr);
    }

    let listed = cli.run(&["budget", "list", "--json"]).ok().json();
    let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|b| b["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![1, 2], "nothing was saved by the bad requests");
    assert_eq!(listed[0]["spent"], "10.000000", "March so far");
    let table = cli.run(&["budget", "list"]).ok().stdout;
    assert!(table.starts_with("ID") && table.contains("key:work/key_fake_ci"), "{table}");

    assert_eq!(cli.run(&["budget", "remove", "1"]).ok().stdout.trim(), "removed budget 1");
    let run = cli.run(&["budget", "remove", "1"]).failed();
    assert!(run.stderr.contains("no budget 1"), "{}", run.stderr);
    assert_eq!(cli.run(&["budget", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);

    // Settings: validated, and shown back.
    cli.run(&["settings", "set", "quiet_hours", "22:00-07:00"]).ok();
    cli.run(&["settings", "set", "time_zone", "Europe/Berlin"]).ok();
    let run = cli.run(&["settings", "set", "time_zone", "Mars/Olympus_Mons"]).failed();
    assert!(run.stderr.contains("IANA"), "{}", run.stderr);
    let mut settings = cli.run(&["settings", "get", "--json"]).ok().json();
    let offered = settings.as_object_mut().unwrap().remove("convertible_currencies").unwrap();
    assert_eq!(offered[0], json!("EUR"), "the rates' base first: {offered}");
    assert!(offered.as_array().unwrap().contains(&json!("CNY")), "{offered}");
    assert_eq!(
        settings,
        json!({"time_zone": "Europe/Berlin", "effective_time_zone": "Europe/Berlin", "quiet_hours": "22:00-07:00", "alerts_paused_until": null, "key_rotation_days": 90,
            "close_to_tray": true, "start_at_login_offered": false, "max_daily_amount": "1000000", "metrics_top_n": 50,
            "serve_local": false, "serve_port": 9464, "display_currency": null})
    );
    assert_eq!(cli.run(&["settings", "get", "quiet_hours"]).ok().stdout, "quiet_hours = 22:00-07:00\n");
    // Every setting the core knows can be read back by name (a new one cannot be forgotten here).
    for name in burnrate_core::app_settings::NAMES {
        assert!(cli.run(&["settings", "get", name]).ok().stdout.starts_with(&format!("{name} = ")), "{name}");
    }
    assert_eq!(cli.run(&["settings", "set", "display_currency", "eur"]).ok().stdout, "display_currency = EUR\n");
    // Closing the window keeps the app in the tray until turned off; on/off or true/false.
    assert_eq!(cli.run(&["settings", "set", "close_to_tray", "off"]).ok().stdout, "close_to_tray = off\n");
    assert_eq!(cli.run(&["settings", "set", "close_to_tray", "true"]).ok().stdout, "close_to_tray = on\n");
    let run = cli.run(&["settings", "set", "close_to_tray", "later"]).failed();
    assert!(run.stderr.contains("use on or off"), "{}", run.stderr);
    cli.assert_key_in_no_file(FAKE_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_already_passed_fires_when_it_is_added_not_at_the_next_sync() {
    let server = MockServer::start().await;
    serve_costs(&server, &[(0, 1_000), (1, 2_000)]).await;
    let cli = cli_with_openai(&server);
    cli.run(&["sync"]).ok();
    let check = cli.run(&["alerts", "--check"]);
    assert_eq!((check.code, check.stdout.trim()), (0, "ok: no alert is open"), "{}", check.stderr);
    // A check that cannot even start is "unknown" (3), never mistaken for a warning (1).
    let broken = cli.command(&["alerts", "--check"]).env("BURNRATE_NOW", "yesterday").output().unwrap();
    assert_eq!(broken.status.code(), Some(3), "{}", String::from_utf8_lossy(&broken.stderr));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("BURNRATE_NOW"));

    let added = cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "20"]).ok();
    assert_eq!(added.stdout.trim(), "1", "standard output stays the new id: {}", added.stdout);
    assert!(
        added.stderr.contains("alert: 100% of the monthly budget: all sources — "),
        "30 USD this month passes 20 USD at once: {}",
        added.stderr
    );
    assert!(added.stderr.contains("note: alerts not shown on the desktop: "), "{}", added.stderr);
    let json =
        cli.run(&["budget", "add", "--scope", "source:work", "--period", "month", "--amount", "25", "--json"]).ok();
    assert_eq!(json.json()["id"], 2, "--json prints the budget alone: {}", json.stdout);

    assert!(alert_lines(&cli.run(&["sync"]).ok().stdout).is_empty(), "fired once, when added");
    let check = cli.run(&["alerts", "--check"]);
    assert_eq!(check.code, 2, "over budget is critical: {} {}", check.stdout, check.stderr);
    assert!(check.stdout.starts_with("critical: Budget"), "{}", check.stdout);
    let verdict = cli.run(&["alerts", "--check", "--json"]).json();
    assert_eq!(verdict["status"], "critical");
    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    let budgets: Vec<i64> = alerts.as_array().unwrap().iter().filter_map(|a| a["budget_id"].as_i64()).collect();
    assert_eq!(budgets, vec![2, 1], "one alert per budget: {alerts:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_eighty_hundred_percent_fire_once_each_over_three_syncs_and_never_again() {
    let server = MockServer::start().await;
    serve_costs(&server, &[(0, 1_000), (1, 2_000)]).await;
    let cli = cli_with_openai(&server);
    cli.run(&["sync"]).ok();
    cli.run(&["budget", "add", "--scope", "key:key_fake_ci", "--period", "month", "--amount", "100"]).ok();
    assert!(alert_lines(&cli.run(&["sync"]).ok().stdout).is_empty(), "30 % reaches no threshold");
    assert_eq!(cli.run(&["alerts", "--check"]).code, 0);

    let mut seen = Vec::new();
    for (cents, pct) in [(4_500, 50), (7_000, 80), (9_500, 100)] {
        serve_costs(&server, &[(0, 1_000), (1, cents)]).await;
        let run = cli.run(&["sync"]).ok();
        let lines = alert_lines(&run.stdout);
        assert_eq!(lines.len(), 1, "{}", run.stdout);
        assert!(run.stderr.contains("note: alerts not shown on the desktop: "), "{}", run.stderr);
        assert!(
            lines[0].starts_with(&format!("alert: {pct}% of the monthly budget: key key_fake_ci of work — ")),
            "{}",
            lines[0]
        );
        let spent = format!("{}.00 USD spent of the monthly budget of 100.00 USD for March 2026.", 10 + cents / 100);
        assert!(lines[0].ends_with(&spent), "{}", lines[0]);
        seen.push(pct);
        // A warning threshold makes the check warn (1); the budget reached is critical (2).
        assert_eq!(cli.run(&["alerts", "--check"]).code, if pct < 100 { 1 } else { 2 }, "after {pct}%");
        // A new process over the same ledger: nothing fires again.
        assert!(alert_lines(&cli.run(&["sync"]).ok().stdout).is_empty(), "after {pct}%");
    }
    assert_eq!(seen, vec![50, 80, 100]);

    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    let newest = &alerts[0];
    assert_eq!(newest["kind"], "threshold");
    assert_eq!(newest["budget_id"], 1);
    assert_eq!(newest["key_id"], "key_fake_ci");
    assert_eq!(newest["source"], "work");
    assert_eq!(newest["threshold"], 100);
    assert_eq!(newest["amount"], "105.000000");
    assert_eq!(newest["limit"], "100.000000");
    assert_eq!(newest["currency"], "USD");
    assert_eq!(newest["estimated"], false);
    assert_eq!(newest["fired_at"], "2026-03-02T12:00:00Z");
    // No desktop here: recorded as not shown, with the reason.
    assert_eq!(newest["notified"], false);
    let why = newest["notify_error"].as_str().unwrap_or_default();
    assert!(why.contains("cannot reach the D-Bus session bus"), "{newest:#}");
    let thresholds: Vec<i64> = alerts.iter().map(|a| a["threshold"].as_i64().unwrap()).collect();
    assert_eq!(thresholds, vec![100, 80, 50]);

    let human = cli.run(&["alerts"]).ok().stdout;
    assert!(human.contains("threshold  #3  100% of the monthly budget"), "{human}");
    assert!(human.contains("not shown: "), "{human}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alert_found_on_a_later_day_says_while_you_were_away() {
    let server = MockServer::start().await;
    serve_costs(&server, &[]).await;
    let mut cli = cli_with_openai(&server);
    set_now(&mut cli, "2026-03-01T08:00:00Z");
    cli.run(&["sync"]).ok();
    cli.run(&["budget", "add", "--scope", "source:work", "--period", "month", "--amount", "50"]).ok();

    // Burnrate was off while March 1 spent 60 USD; it syncs on March 2.
    serve_costs(&server, &[(0, 6_000)]).await;
    set_now(&mut cli, "2026-03-02T09:30:00Z");
    let run = cli.run(&["sync"]).ok();
    let lines = alert_lines(&run.stdout);
    assert_eq!(lines.len(), 1, "one alert for the highest threshold: {}", run.stdout);
    assert!(lines[0].starts_with("alert: 100% of the monthly budget: source work — "), "{}", lines[0]);
    assert!(lines[0].contains("Also past 50% and 80%."), "{}", lines[0]);
    assert!(lines[0].ends_with("While you were away: passed on 2026-03-01."), "{}", lines[0]);
    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    assert_eq!(alerts[0]["details"]["while_away"], true);
    assert_eq!(alerts[0]["details"]["crossed_on"], "2026-03-01");
    assert_eq!(alerts[0]["fired_at"], "2026-03-02T09:30:00Z");
}

/// OpenAI hourly usage of one key: `usual` tokens every hour from `first`, and `spike` tokens
/// in the hour starting at `spike_hour` (the last hour served). Only the hours inside the
/// requested `start_time..end_time` are returned, as the API does.
struct HourlyUsage {
    first: i64,
    spike_hour: i64,
    usual: fn(i64) -> i64,
    spike: i64,
}

impl Respond for HourlyUsage {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: std::collections::HashMap<_, _> = req.url.query_pairs().into_owned().collect();
        let start: i64 = q["start_time"].parse().unwrap();
        let end: i64 = q.get("end_time").map_or(i64::MAX, |e| e.parse().unwrap());
        let buckets: Vec<Value> = (start.max(self.first)..end.min(self.spike_hour + 3_600))
            .step_by(3_600)
            .map(|h| {
                let tokens = if h == self.spike_hour { self.spike } else { (self.usual)(h) };
                json!({
                    "object": "bucket", "start_time": h, "end_time": h + 3_600,
                    "results": [{
                        "object": "organization.usage.completions.result",
                        "input_tokens": tokens, "output_tokens": 0, "input_cached_tokens": 0,
                        "num_model_requests": 1, "project_id": null, "user_id": null,
                        "api_key_id": "key_fake_leak", "model": "fake-model", "batch": null
                    }]
                })
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"object": "page", "data": buckets, "has_more": false, "next_page": null}))
    }
}

/// A loopback OpenAI whose key key_fake_leak spends 0.40–0.60 USD an hour for three weeks, then
/// 25 USD in the hour from 12:00 on March 2; and a CLI at 12:40 that day with that source.
async fn spike_scenario(server: &MockServer) -> Cli {
    let empty_page = json!({"object": "page", "data": [], "has_more": false, "next_page": null});
    for p in ["/v1/organization/costs", "/v1/organization/usage/embeddings"] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(empty_page.clone()))
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v1/organization/projects"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": [], "has_more": false})),
        )
        .mount(server)
        .await;
    // 0.40–0.60 USD an hour for three weeks, then 25 USD in the hour from 12:00 on March 2.
    let spike_hour = MAR_1 + DAY + 12 * 3_600;
    Mock::given(method("GET"))
        .and(path("/v1/organization/usage/completions"))
        .respond_with(HourlyUsage {
            first: MAR_1 - 19 * DAY,
            spike_hour,
            usual: |h| 400_000 + (h / 3_600 * 37_000) % 200_000,
            spike: 25_000_000,
        })
        .mount(server)
        .await;
    let mut cli = cli_with_openai(server);
    // One USD per million input tokens, so the amounts above are exact.
    std::fs::write(
        cli.data_dir.path().join("model-prices.json"),
        r#"{"models": {"fake-model": {"input": "0.000001", "output": "0.000002"}}}"#,
    )
    .unwrap();
    set_now(&mut cli, "2026-03-02T12:40:00Z");
    cli
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_spike_on_one_key_fires_one_alert_naming_it_and_no_second_one() {
    let server = MockServer::start().await;
    let mut cli = spike_scenario(&server).await;

    let run = cli.run(&["sync"]).ok();
    let lines = alert_lines(&run.stdout);
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    assert!(lines[0].starts_with("alert: Spend spike: key key_fake_leak of work (estimate) — 25.00 USD in the hour from 2026-03-02 12:00 (UTC)"), "{}", lines[0]);
    // The next poll, a new process: the same episode does not fire again.
    set_now(&mut cli, "2026-03-02T12:55:00Z");
    assert!(alert_lines(&cli.run(&["sync"]).ok().stdout).is_empty());

    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts:#}");
    let a = &alerts[0];
    assert_eq!(
        (a["kind"].as_str(), a["key_id"].as_str(), a["source"].as_str()),
        (Some("spike"), Some("key_fake_leak"), Some("work"))
    );
    assert_eq!(
        (a["amount"].as_str(), a["currency"].as_str(), a["estimated"].as_bool()),
        (Some("25.000000"), Some("USD"), Some(true))
    );
    assert_eq!(a["budget_id"], Value::Null);
    assert_eq!(a["threshold"], Value::Null);
    assert_eq!(a["details"]["spike_kind"], "latest_hour");
    assert_eq!(a["fired_at"], "2026-03-02T12:40:00Z");
}

/// Runs `burnrate ARGS` on a private session bus whose notification daemon is
/// tests/ci/notif-capture.py, and returns the run and the notifications it captured.
fn run_with_captured_notifications(cli: &Cli, args: &[&str]) -> (Run, Vec<Value>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let capfile = cli.data_dir.path().join("notifications.jsonl");
    let mut cmd = Command::new("dbus-run-session");
    cmd.arg("--")
        .arg("bash")
        .arg(repo.join("tests/ci/with-notif-capture.sh"))
        .arg(&capfile)
        .arg(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(cli.data_dir.path())
        .args(args)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("BURNRATE_DATA_DIR")
        .env_remove("BURNRATE_LOG")
        .env_remove("BURNRATE_NO_NOTIFY");
    for (k, v) in cli.env.iter().filter(|(k, _)| k != "BURNRATE_NO_NOTIFY" && k != "DBUS_SESSION_BUS_ADDRESS") {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("dbus-run-session runs (Debian package dbus)");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let captured = std::fs::read_to_string(&capfile).unwrap_or_default();
    assert!(!captured.contains(FAKE_KEY), "the key reached a notification");
    (run, captured.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

/// The issue's end-to-end promise through the real binary and a real D-Bus notification daemon:
/// 50/80/100 % of a monthly budget make three notifications over three syncs and none after
/// (each sync is a new process), and a scripted spike on one key makes exactly one, naming it.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs dbus-run-session and /usr/bin/python3 with python3-dbus and python3-gi; scripts/test runs it"]
async fn desktop_notifications_name_the_key_and_come_once() {
    let server = MockServer::start().await;
    serve_costs(&server, &[(0, 1_000), (1, 2_000)]).await;
    let cli = cli_with_openai(&server);
    cli.run(&["sync"]).ok();
    cli.run(&["budget", "add", "--scope", "key:key_fake_ci", "--period", "month", "--amount", "100"]).ok();
    let mut summaries = Vec::new();
    for cents in [4_500, 7_000, 9_500, 9_600] {
        serve_costs(&server, &[(0, 1_000), (1, cents)]).await;
        let (run, notes) = run_with_captured_notifications(&cli, &["sync"]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        for n in &notes {
            assert_eq!(n["app"], "Burnrate");
            summaries.push((n["summary"].as_str().unwrap().to_owned(), n["urgency"].clone()));
        }
        let (again, none) = run_with_captured_notifications(&cli, &["sync"]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(none.is_empty(), "a restart repeats nothing: {none:?}");
    }
    assert_eq!(
        summaries,
        vec![
            ("50% of the monthly budget: key key_fake_ci of work".to_owned(), json!(1)),
            ("80% of the monthly budget: key key_fake_ci of work".to_owned(), json!(1)),
            ("100% of the monthly budget: key key_fake_ci of work".to_owned(), json!(2)),
        ]
    );
    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    assert!(
        alerts.as_array().unwrap().iter().all(|a| a["notified"] == true && a["notify_error"].is_null()),
        "{alerts:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs dbus-run-session and /usr/bin/python3 with python3-dbus and python3-gi; scripts/test runs it"]
async fn a_scripted_spike_makes_exactly_one_desktop_notification_naming_the_key() {
    let server = MockServer::start().await;
    let mut cli = spike_scenario(&server).await;
    let (run, notes) = run_with_captured_notifications(&cli, &["sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["summary"], "Spend spike: key key_fake_leak of work (estimate)");
    let body = notes[0]["body"].as_str().unwrap();
    assert!(body.starts_with("25.00 USD in the hour from 2026-03-02 12:00 (UTC), against a usual 0."), "{body}");
    assert!(body.contains("estimate"), "{body}");
    assert_eq!(notes[0]["urgency"], 2, "spikes are critical");
    // The next poll interval: nothing new on the desktop.
    set_now(&mut cli, "2026-03-02T13:10:00Z");
    let (_, again) = run_with_captured_notifications(&cli, &["sync"]);
    assert!(again.is_empty(), "{again:?}");
}

/// A source whose key stops working: the failed syncs exit non-zero at once, and once two poll
/// intervals (OpenAI: 2 × 30 minutes) have passed without a good sync, one `source_stale` alert
/// goes out, to the webhook channel too; later failures of the same episode add nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_stops_syncing_is_announced_once_to_the_channels() {
    let server = MockServer::start().await;
    serve_costs(&server, &[(0, 120)]).await;
    let hook = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&hook).await;
    let mut cli = cli_with_openai(&server);
    cli.env.push(("ONCALL_URL".into(), format!("{}/oncall", hook.uri())));
    set_now(&mut cli, "2026-03-02T08:00:00Z");
    cli.run(&["channel", "add", "webhook", "--name", "oncall", "--url-env", "ONCALL_URL"]).ok();
    cli.run(&["sync"]).ok();

    // The key is revoked: every call is refused from now on.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "Incorrect API key provided"}})),
        )
        .mount(&server)
        .await;
    set_now(&mut cli, "2026-03-02T08:30:00Z");
    let early = cli.run(&["sync"]).failed();
    assert!(alert_lines(&early.stdout).is_empty(), "one failure is not yet an episode: {}", early.stdout);

    set_now(&mut cli, "2026-03-02T09:01:00Z");
    let late = cli.run(&["sync"]).failed();
    let alerts = alert_lines(&late.stdout);
    assert_eq!(alerts.len(), 1, "{}", late.stdout);
    assert!(
        alerts[0].starts_with("alert: Source work stopped syncing — work has not synced since 2026-03-02 08:00:00 UTC"),
        "{}",
        alerts[0]
    );
    assert!(alerts[0].contains("The last attempt failed: "), "{}", alerts[0]);

    set_now(&mut cli, "2026-03-02T10:00:00Z");
    let again = cli.run(&["sync"]).failed();
    assert!(alert_lines(&again.stdout).is_empty(), "the same episode: {}", again.stdout);

    let posts: Vec<Value> =
        hook.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let kinds: Vec<&str> = posts.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["source_stale"], "{posts:#?}");
    assert_eq!(posts[0]["severity"], "warning");
    assert_eq!(posts[0]["source"], "work");
    let listed = cli.run(&["alerts", "--json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().iter().filter(|a| a["kind"] == "source_stale").count(), 1);
}
