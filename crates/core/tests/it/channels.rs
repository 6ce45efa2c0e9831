//! Alert channels against real receivers on loopback: a webhook that fails then succeeds,
//! Slack-, Discord- and ntfy-shaped receivers, a command reading its standard input, and a
//! real SMTP server (aiosmtpd). Each alert is queued with its recording and delivered once.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use burnrate_core::alerts::store::{insert, NewAlert};
use burnrate_core::alerts::{AlertKind, DeliveryState};
use burnrate_core::channels::{AddChannelRequest, ChannelKind, EmailSettings, ExecSettings, SmtpTls};
use burnrate_core::dto::KeyInput;
use burnrate_core::{db, Burnrate, ErrorCode};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{at, TestCore, NOW};

const TOKEN: &str = "T0KEN-FAKE-9d8c7b6a5f4e3d2c";

fn core_at(dir: &Path, now: &str, env: &[(&str, &str)]) -> Burnrate {
    TestCore::builder(dir).now(now).env(env).build()
}

/// Records an alert the way the engine does (the channels' deliveries are queued with it).
fn fire(core: &Burnrate, kind: AlertKind, title: &str, now: &str) -> i64 {
    let conn = db::open(&core.paths.db_path()).unwrap();
    let alert = NewAlert {
        kind,
        dedupe_key: format!("test:{title}:{now}"),
        budget_id: None,
        source_id: None,
        key_id: Some("key_FAKE_batch".into()),
        period_start: None,
        threshold_pct: (kind == AlertKind::Threshold).then_some(100),
        amount_micros: 25_500_000,
        limit_micros: Some(20_000_000),
        currency: "USD".into(),
        estimated: false,
        title: title.into(),
        body: "25.50 USD spent today, over the 20.00 USD daily budget.".into(),
        details: serde_json::json!({}),
    };
    insert(&conn, &alert, at(now).timestamp()).unwrap().unwrap()
}

fn channel(kind: ChannelKind, name: &str, secret: Option<KeyInput>) -> AddChannelRequest {
    AddChannelRequest {
        kind,
        name: name.into(),
        secret,
        alert_kinds: None,
        quiet_hours: false,
        email: None,
        exec: None,
    }
}

fn url_env(var: &str) -> Option<KeyInput> {
    Some(KeyInput::Env { var: var.into() })
}

/// Every byte Burnrate wrote under `dir` (ledger, WAL, logs) as text.
fn everything_written(dir: &Path) -> String {
    crate::common::files_under(dir)
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

#[tokio::test]
async fn a_webhook_that_fails_once_gets_the_alert_exactly_once_on_the_retry() {
    let receiver = MockServer::start().await;
    let hook = format!("/hooks/{TOKEN}");
    Mock::given(method("POST"))
        .and(path(hook.clone()))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream down"))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST")).and(path(hook.clone())).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
    let url = format!("{}{hook}", receiver.uri());
    let env = [("TEAM_WEBHOOK_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();

    let core = core_at(dir.path(), NOW, &env);
    let view = core.add_channel(&channel(ChannelKind::Webhook, "team", url_env("TEAM_WEBHOOK_URL"))).unwrap();
    assert!(!view.target.contains(TOKEN) && view.target.ends_with("/…"), "shown redacted: {}", view.target);
    let id = fire(&core, AlertKind::Threshold, "Budget total daily: 100 % reached", NOW);

    let first = core.deliver_outbox().await.unwrap();
    assert_eq!((first.delivered, first.retrying), (0, 1), "{first:?}");
    assert_eq!(first.next_attempt_at.as_deref(), Some("2026-03-02T12:00:30Z"), "retried after 30 s");
    let waiting = core.list_alerts(None).unwrap().remove(0).deliveries.remove(0);
    assert_eq!((waiting.state, waiting.attempts), (DeliveryState::Pending, 1));
    let error = waiting.last_error.unwrap();
    assert!(error.contains("HTTP 500: upstream down") && error.contains("retried later"), "{error}");
    assert!(!error.contains(TOKEN), "{error}");
    // Not due yet: nothing is sent twice in a row.
    assert_eq!(core.deliver_outbox().await.unwrap().delivered, 0);

    // Half a minute later (another process: the ledger is all it shares), the retry succeeds.
    let later = core_at(dir.path(), "2026-03-02T12:00:31Z", &env);
    assert_eq!(later.deliver_outbox().await.unwrap().delivered, 1);
    assert_eq!(later.deliver_outbox().await.unwrap(), Default::default(), "nothing left to send");
    let alert = later.list_alerts(None).unwrap().remove(0);
    let delivered = &alert.deliveries[0];
    assert_eq!((delivered.state, delivered.attempts), (DeliveryState::Delivered, 2));
    assert_eq!(delivered.delivered_at.as_deref(), Some("2026-03-02T12:00:31Z"));

    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 2, "one failed attempt, one delivery");
    for r in &received {
        assert_eq!(r.headers.get("idempotency-key").unwrap(), &id.to_string(), "a receiver can drop repeats");
    }
    let body: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(body["alert_id"], id);
    assert_eq!(body["kind"], "threshold");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["amount"], "25.500000", "money as a decimal string");
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["key_id"], "key_FAKE_batch");
    assert_eq!(body["fired_at"], "2026-03-02T12:00:00Z");
    assert_eq!(body["test"], false);

    let conn = db::open(&later.paths.db_path()).unwrap();
    let attempts: Vec<(i64, Option<i64>)> = conn
        .prepare("SELECT ok, status FROM alert_delivery_attempts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(attempts, [(0, Some(500)), (1, Some(200))], "each attempt recorded");
    drop(conn);
    assert!(
        !everything_written(dir.path()).contains(TOKEN),
        "the webhook URL's token is nowhere in the data directory"
    );
}

#[tokio::test]
async fn slack_discord_and_ntfy_each_get_their_own_shape_and_only_the_kinds_they_asked_for() {
    let receiver = MockServer::start().await;
    for p in ["/services/T000/B000/XXXX", "/api/webhooks/1/abc", "/"] {
        Mock::given(method("POST")).and(path(p)).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let core = core_at(dir.path(), NOW, &[]);
    let secret = |p: &str| Some(KeyInput::Secret { value: format!("{}{p}", receiver.uri()) });
    let mut slack = channel(ChannelKind::Slack, "slack", secret("/services/T000/B000/XXXX"));
    slack.alert_kinds = Some(vec![AlertKind::Spike]);
    core.add_channel(&slack).unwrap();
    core.add_channel(&channel(ChannelKind::Discord, "discord", secret("/api/webhooks/1/abc"))).unwrap();
    core.add_channel(&channel(ChannelKind::Ntfy, "phone", secret("/burnrate-alerts"))).unwrap();

    fire(&core, AlertKind::Forecast, "Budget total monthly will be passed on 2026-03-20", NOW);
    fire(&core, AlertKind::Spike, "Spend spike: key <!channel> @everyone of work", NOW);
    let report = core.deliver_outbox().await.unwrap();
    assert_eq!(report.delivered, 5, "forecast to discord and ntfy, spike to all three: {report:?}");

    let received = receiver.received_requests().await.unwrap();
    let bodies = |p: &str| -> Vec<Value> {
        received.iter().filter(|r| r.url.path() == p).map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
    };
    let slack = bodies("/services/T000/B000/XXXX");
    assert_eq!(slack.len(), 1, "Slack takes spikes only");
    let text = slack[0]["text"].as_str().unwrap();
    assert!(text.starts_with(":rotating_light: *Spend spike: key &lt;!channel&gt; @everyone"), "{text}");
    let discord = bodies("/api/webhooks/1/abc");
    assert_eq!(discord.len(), 2);
    assert!(discord.iter().all(|d| d["allowed_mentions"]["parse"] == serde_json::json!([])), "no one is pinged");
    let ntfy = bodies("/");
    assert_eq!(ntfy.len(), 2);
    assert!(ntfy.iter().all(|n| n["topic"] == "burnrate-alerts"));
    let priorities: Vec<i64> = ntfy.iter().map(|n| n["priority"].as_i64().unwrap()).collect();
    assert_eq!(priorities, [3, 5], "a forecast is a warning, a spike is urgent");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_says_where_it_pointed() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&elsewhere).await;
    let receiver = MockServer::start().await;
    let away = format!("http://localhost:{}/collect", elsewhere.address().port());
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", away.as_str()))
        .mount(&receiver)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let core = core_at(dir.path(), NOW, &[]);
    let url = format!("{}/hook/{TOKEN}", receiver.uri());
    core.add_channel(&channel(ChannelKind::Webhook, "moved", Some(KeyInput::Secret { value: url }))).unwrap();
    let result = core.test_channel("moved").await.unwrap();
    assert!(!result.ok);
    assert!(
        result.detail.contains("redirected to localhost") && result.detail.contains("does not follow redirects"),
        "{}",
        result.detail
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty(), "nothing reached the other address");
}

#[tokio::test]
async fn a_command_gets_the_alert_on_stdin_and_a_hang_or_a_failure_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_at(dir.path(), NOW, &[]);
    let out = dir.path().join("received.json");
    let exec = |name: &str, command: String, timeout| AddChannelRequest {
        exec: Some(ExecSettings { command, timeout_seconds: Some(timeout) }),
        ..channel(ChannelKind::Exec, name, None)
    };
    core.add_channel(&exec("hook", format!("cat > '{}'", out.display()), 10)).unwrap();
    let test = core.test_channel("hook").await.unwrap();
    assert!(test.ok, "{test:?}");
    let id = fire(&core, AlertKind::Threshold, "Budget total daily: 100 % reached", NOW);
    assert_eq!(core.deliver_outbox().await.unwrap().delivered, 1);
    let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        (got["alert_id"].as_i64(), got["title"].as_str()),
        (Some(id), Some("Budget total daily: 100 % reached"))
    );

    core.add_channel(&exec("hangs", "sleep 30".into(), 1)).unwrap();
    let started = std::time::Instant::now();
    let hang = core.test_channel("hangs").await.unwrap();
    assert!(!hang.ok && hang.detail.contains("did not finish within 1 s"), "{}", hang.detail);
    assert!(started.elapsed().as_secs() < 10, "the hang was cut off");
    core.add_channel(&exec("fails", "echo 'pager service refused' >&2; exit 3".into(), 5)).unwrap();
    let fails = core.test_channel("fails").await.unwrap();
    assert_eq!(fails.detail, "the command exited with status 3: pager service refused");
}

#[tokio::test]
async fn a_channel_is_checked_when_added_and_its_secret_never_appears_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_at(dir.path(), NOW, &[("EMPTY_URL", "")]);
    let bad = |kind, value: &str| {
        core.add_channel(&channel(kind, "x", Some(KeyInput::Secret { value: value.into() }))).unwrap_err()
    };
    let e = bad(ChannelKind::Webhook, &format!("ftp://example.com/{TOKEN}"));
    assert_eq!(e.code, ErrorCode::InvalidUrl);
    assert!(
        e.message().contains("must start with http:// or https://") && !e.message().contains(TOKEN),
        "{}",
        e.message()
    );
    assert!(bad(ChannelKind::Ntfy, "https://ntfy.sh/").message().contains("names no topic"));
    let e = core.add_channel(&channel(ChannelKind::Slack, "x", None)).unwrap_err();
    assert!(e.message().contains("needs its URL"), "{}", e.message());
    let e = core.add_channel(&channel(ChannelKind::Webhook, "x", url_env("EMPTY_URL"))).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyMissing);
    let plain = AddChannelRequest {
        email: Some(EmailSettings {
            host: "smtp.example.com".into(),
            port: None,
            tls: SmtpTls::None,
            username: None,
            from: "burnrate@example.com".into(),
            to: vec!["me@example.com".into()],
        }),
        ..channel(ChannelKind::Email, "mail", None)
    };
    assert!(core
        .add_channel(&plain)
        .unwrap_err()
        .message()
        .contains("refusing to send the SMTP password and alerts unencrypted"));
    let e = core
        .add_channel(&AddChannelRequest {
            exec: Some(ExecSettings { command: " ".into(), timeout_seconds: None }),
            ..channel(ChannelKind::Exec, "x", None)
        })
        .unwrap_err();
    assert!(e.message().contains("needs a command"));
    assert!(core.list_channels().unwrap().is_empty(), "nothing half-added");

    core.add_channel(&channel(
        ChannelKind::Webhook,
        "team",
        Some(KeyInput::Secret { value: "https://example.com/a".into() }),
    ))
    .unwrap();
    let dup = core
        .add_channel(&channel(
            ChannelKind::Webhook,
            "team",
            Some(KeyInput::Secret { value: "https://example.com/b".into() }),
        ))
        .unwrap_err();
    assert_eq!(dup.code, ErrorCode::ChannelExists);
    core.remove_channel("team").unwrap();
    assert_eq!(core.remove_channel("team").unwrap_err().code, ErrorCode::ChannelNotFound);
}

#[tokio::test]
async fn quiet_hours_hold_a_channel_that_asks_for_them_and_not_the_others() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&receiver).await;
    let dir = tempfile::tempdir().unwrap();
    // The URLs come from the environment so that a second process (below) can read them too.
    let (oncall, phone) = (format!("{}/oncall", receiver.uri()), format!("{}/phone", receiver.uri()));
    let env = [("ONCALL_URL", oncall.as_str()), ("PHONE_URL", phone.as_str())];
    let core = core_at(dir.path(), NOW, &env);
    core.set_setting("time_zone", "UTC").unwrap();
    core.set_setting("quiet_hours", "11:00-13:00").unwrap();
    core.add_channel(&channel(ChannelKind::Webhook, "oncall", url_env("ONCALL_URL"))).unwrap();
    core.add_channel(&AddChannelRequest {
        quiet_hours: true,
        ..channel(ChannelKind::Webhook, "phone", url_env("PHONE_URL"))
    })
    .unwrap();
    fire(&core, AlertKind::Spike, "Spend spike", NOW);
    let report = core.deliver_outbox().await.unwrap();
    assert_eq!((report.delivered, report.held), (1, 1), "{report:?}");
    let paths = || async {
        receiver.received_requests().await.unwrap().iter().map(|r| r.url.path().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(paths().await, ["/oncall"]);
    // Still quiet at 12:50: held again, nothing sent.
    let later = core_at(dir.path(), "2026-03-02T12:50:00Z", &env).deliver_outbox().await.unwrap();
    assert_eq!((later.delivered, later.held), (0, 1), "{later:?}");
    // After quiet hours the held one goes out, once.
    let after = core_at(dir.path(), "2026-03-02T13:05:00Z", &env).deliver_outbox().await.unwrap();
    assert_eq!((after.delivered, after.held, after.retrying), (1, 0, 0), "{after:?}");
    assert_eq!(paths().await, ["/oncall", "/phone"]);
}

/// The SMTP server of `tests/ci/smtp-sink.py`, stopped on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start(login: Option<(&str, &str)>) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ci/smtp-sink.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).arg(dir.path()).stdout(Stdio::piped());
        if let Some((user, password)) = login {
            cmd.args([user, password]);
        }
        let mut child = cmd.spawn().expect("/usr/bin/python3 runs (Debian's, with python3-aiosmtpd)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("ready ").expect("the SMTP server started").parse().unwrap();
        SmtpSink { child, port, dir }
    }

    fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = crate::common::files_under(self.dir.path())
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[ignore = "needs /usr/bin/python3 with python3-aiosmtpd (scripts/setup --test); run by scripts/test"]
async fn an_email_reaches_a_real_smtp_server_and_a_refused_login_is_reported() {
    let smtp = SmtpSink::start(Some(("burnrate", "right-password")));
    let dir = tempfile::tempdir().unwrap();
    let env = [("SMTP_PASSWORD", "right-password"), ("WRONG_PASSWORD", "wrong-password")];
    let core = core_at(dir.path(), NOW, &env);
    let email = |name: &str, var: &str| AddChannelRequest {
        email: Some(EmailSettings {
            host: "127.0.0.1".into(),
            port: Some(smtp.port),
            tls: SmtpTls::None,
            username: Some("burnrate".into()),
            from: "Burnrate <burnrate@example.com>".into(),
            to: vec!["oncall@example.com".into()],
        }),
        ..channel(ChannelKind::Email, name, url_env(var))
    };
    core.add_channel(&email("mail", "SMTP_PASSWORD")).unwrap();
    core.add_channel(&email("wrong", "WRONG_PASSWORD")).unwrap();

    let refused = core.test_channel("wrong").await.unwrap();
    assert!(!refused.ok && refused.detail.contains("check the login and the password"), "{}", refused.detail);
    assert!(!refused.detail.contains("wrong-password"), "{}", refused.detail);
    assert!(core.test_channel("mail").await.unwrap().ok);

    fire(&core, AlertKind::Threshold, "Budget total daily: 100 % reached", NOW);
    let report = core.deliver_outbox().await.unwrap();
    assert_eq!(
        (report.delivered, report.retrying),
        (1, 1),
        "the good login delivers, the wrong one retries: {report:?}"
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "the test and the alert");
    let alert = &messages[1];
    assert!(alert.contains("Subject: [Burnrate] Budget total daily: 100 % reached"), "{alert}");
    assert!(alert.contains("To: oncall@example.com") && alert.contains("25.500000 USD"), "{alert}");
    let recorded = core.list_alerts(None).unwrap().remove(0);
    let wrong = recorded.deliveries.iter().find(|d| d.channel == "wrong").unwrap();
    assert_eq!(wrong.state, DeliveryState::Pending, "kept for a retry, nothing lost");
    assert!(wrong.last_error.as_deref().unwrap().contains("SMTP server 127.0.0.1"));
}
