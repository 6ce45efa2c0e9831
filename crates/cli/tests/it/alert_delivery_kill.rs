//! A `kill -9` between an alert being recorded and its delivery to a webhook channel: the
//! delivery happens after restart, once, with the same `Idempotency-Key`.
//!
//! The alert and its outbox row commit together before any send; the drain then claims the row
//! for a lease (the HTTP timeout plus a margin) and posts it. Killing `burnrate sync` while the
//! receiver holds that POST unanswered leaves a recorded alert with a pending, leased delivery.
//! A later process must send it once the lease has run out, and never again after it was
//! delivered.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{mount_empty_usage_and_projects, Cli};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Start of 2026-03-01 UTC.
const MAR_1: i64 = 1_772_323_200;
const DAY: i64 = 86_400;
/// The fixed clock of the first sync, 2026-03-02T12:00:00Z (common::Cli's BURNRATE_NOW).
const NOW: i64 = MAR_1 + DAY + 12 * 3_600;
const URL_VAR: &str = "BURNRATE_TEST_ONCALL_URL";

/// One POST the receiver read in full.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    idempotency_key: Option<String>,
    body: Value,
}

/// A loopback webhook receiver over raw TCP. While `answer` is off it reads each request in full,
/// records it, and then never replies (the connection stays open until the client goes away);
/// while on, it replies 200.
struct Receiver {
    url: String,
    answer: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/burnrate", listener.local_addr().unwrap());
        let answer = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, s) = (answer.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (a, s) = (a.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &a, &s));
            }
        });
        Receiver { url, answer, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves the requests of one connection (a client may keep it alive for more).
fn serve(mut stream: TcpStream, answer: &AtomicBool, seen: &Mutex<Vec<Seen>>) {
    let mut buf = Vec::new();
    loop {
        // The head, up to the blank line.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let header = |name: &str| {
            head.split("\r\n")
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        seen.lock().unwrap().push(Seen { request_line, idempotency_key: header("idempotency-key"), body });
        if !answer.load(Ordering::SeqCst) {
            // Hang: accept everything, answer nothing, until the client closes (or is killed).
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            return;
        }
        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// `NOW + offset` as BURNRATE_NOW (offset under a day).
fn at(cli: &mut Cli, offset: i64) {
    assert!((0..DAY - 12 * 3_600).contains(&offset));
    let t = 12 * 3_600 + offset;
    let now = format!("2026-03-02T{:02}:{:02}:{:02}Z", t / 3_600, t % 3_600 / 60, t % 60);
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now));
}

/// The ledger as the next process would find it, read-only.
fn ledger(cli: &Cli) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(cli.db_path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// The delivery row of the one alert: (alert count, alert id, state, attempts, next_attempt_at,
/// delivered_at, attempt rows).
#[derive(Debug, PartialEq)]
struct Outbox {
    alerts: i64,
    alert_id: i64,
    deliveries: i64,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    attempt_rows: Vec<(i64, bool, Option<i64>)>,
}

fn outbox(cli: &Cli) -> Outbox {
    let db = ledger(cli);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let alerts: i64 = db.query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)).unwrap();
    let deliveries: i64 = db.query_row("SELECT count(*) FROM alert_deliveries", [], |r| r.get(0)).unwrap();
    let (alert_id, state, attempts, next_attempt_at, delivered_at) = db
        .query_row(
            "SELECT d.alert_id, d.state, d.attempts, d.next_attempt_at, d.delivered_at
             FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
             WHERE c.name = 'oncall' AND d.round = 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    let mut stmt = db.prepare("SELECT attempted_at, ok, status FROM alert_delivery_attempts ORDER BY id").unwrap();
    let attempt_rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    Outbox { alerts, alert_id, deliveries, state, attempts, next_attempt_at, delivered_at, attempt_rows }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_nine_mid_delivery_is_delivered_after_restart_once_with_the_same_idempotency_key() {
    // OpenAI costs: 10 USD on March 1 and 20 USD on March 2, so 30 USD this month.
    let provider = MockServer::start().await;
    let buckets: Vec<Value> = [(0, 10.0), (1, 20.0)]
        .iter()
        .map(|(d, usd)| {
            let start = MAR_1 + d * DAY;
            json!({
                "object": "bucket", "start_time": start, "end_time": start + DAY,
                "results": [{
                    "object": "organization.costs.result",
                    "amount": {"value": usd, "currency": "usd"},
                    "line_item": null, "project_id": "proj_fake", "api_key_id": "key_fake_ci",
                    "quantity": null, "quantity_unit": null
                }]
            })
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "page", "data": buckets, "has_more": false, "next_page": null})),
        )
        .mount(&provider)
        .await;
    mount_empty_usage_and_projects(&provider).await;

    let receiver = Receiver::start();
    let mut cli = Cli::new();
    cli.env.push(("TZ".into(), "UTC".into()));
    cli.env.push((URL_VAR.into(), receiver.url.clone()));
    let base = format!("{}/v1", provider.uri());
    cli.run(&[
        "source",
        "add",
        "openai",
        "--name",
        "work",
        "--base-url",
        &base,
        "--key-env",
        "BURNRATE_TEST_OPENAI_KEY",
    ])
    .ok();
    cli.run(&["channel", "add", "webhook", "--name", "oncall", "--url-env", URL_VAR]).ok();
    // Nothing synced yet, so adding the budget fires nothing; the first sync passes 100 % of it.
    let added = cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "20"]).ok();
    assert!(!added.stderr.contains("alert: "), "{}", added.stderr);
    assert!(receiver.seen().is_empty());

    // Phase 1: sync records the alert and posts it; the receiver holds the POST; kill -9.
    let mut child =
        cli.command(&["sync"]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10); // under the 15 s HTTP timeout
    while receiver.seen().is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("sync exited ({status}) before the webhook saw a request");
        }
        assert!(Instant::now() < deadline, "the webhook saw no request within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(child.try_wait().unwrap().is_none(), "sync must still be waiting on the webhook when killed");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
    let killed = receiver.seen();
    assert_eq!(killed.len(), 1, "{killed:#?}");
    let killed = killed.into_iter().next().unwrap();
    assert_eq!(killed.request_line, "POST /hooks/burnrate HTTP/1.1");

    let after_kill = outbox(&cli);
    assert_eq!(after_kill.alerts, 1, "the alert is recorded once: {after_kill:?}");
    assert_eq!(after_kill.deliveries, 1, "{after_kill:?}");
    assert_eq!(after_kill.state, "pending", "the killed attempt is not delivered: {after_kill:?}");
    assert_eq!(after_kill.attempts, 0, "the killed attempt never finished: {after_kill:?}");
    assert!(after_kill.attempt_rows.is_empty(), "{after_kill:?}");
    assert_eq!(after_kill.delivered_at, None);
    // Claimed before the send: leased past the send's timeout from the (fixed) time of the claim.
    // Today 45 s (channels/ops.rs: send::HTTP_TIMEOUT 15 s + LEASE_MARGIN_SECS 30 s); the test
    // reads it from the ledger rather than hard-coding it.
    let lease = after_kill.next_attempt_at - NOW;
    assert!(lease > 15, "the delivery was leased beyond the 15 s HTTP timeout: {after_kill:?}");
    let key = after_kill.alert_id.to_string();
    assert_eq!(killed.idempotency_key.as_deref(), Some(key.as_str()), "{killed:?}");
    assert_eq!(
        (&killed.body["id"], &killed.body["alert_id"], &killed.body["round"]),
        (&json!(key), &json!(after_kill.alert_id), &json!(0)),
        "{:#}",
        killed.body
    );

    // Phase 2: restart with a receiver that answers 200. The clock is fixed, so "after the lease"
    // means moving BURNRATE_NOW: one second before the lease ends, another process leaves the
    // claimed delivery alone (the killed process might still be sending it, as far as it knows)...
    receiver.answer.store(true, Ordering::SeqCst);
    at(&mut cli, lease - 1);
    let run = cli.run(&["sync"]).ok();
    assert!(!run.stdout.contains("alert: "), "no second alert: {}", run.stdout);
    let within_lease_requests = receiver.seen().len() - 1;
    assert_eq!(within_lease_requests, 0, "nothing is sent while the lease holds");
    let within_lease = outbox(&cli);
    assert_eq!(
        (within_lease.alerts, within_lease.state.as_str(), within_lease.attempts),
        (1, "pending", 0),
        "{within_lease:?}"
    );

    // ...and once it has ended (the delivery is due at next_attempt_at), the next sync sends it.
    at(&mut cli, lease);
    let run = cli.run(&["sync"]).ok();
    assert!(!run.stdout.contains("alert: "), "no second alert: {}", run.stdout);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2, "exactly one redelivery: {seen:#?}");
    let redelivered = &seen[1];
    assert_eq!(redelivered.request_line, "POST /hooks/burnrate HTTP/1.1");
    assert_eq!(redelivered.idempotency_key, killed.idempotency_key, "the receiver can drop it as a repeat");
    assert_eq!(redelivered.body, killed.body, "the same message");
    assert_eq!(redelivered.body["kind"], "threshold");
    assert_eq!(redelivered.body["threshold"], 100);
    assert_eq!(redelivered.body["amount"], "30.000000");
    assert_eq!(redelivered.body["test"], false);

    let delivered = outbox(&cli);
    assert_eq!(
        delivered,
        Outbox {
            alerts: 1,
            alert_id: after_kill.alert_id,
            deliveries: 1,
            state: "delivered".into(),
            attempts: 1,
            next_attempt_at: NOW + lease,
            delivered_at: Some(NOW + lease),
            attempt_rows: vec![(NOW + lease, true, Some(200))],
        }
    );
    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["id"], after_kill.alert_id);
    assert_eq!(alerts[0]["fired_at"], "2026-03-02T12:00:00Z", "fired by the killed sync");
    let deliveries = alerts[0]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    assert_eq!(
        (&deliveries[0]["channel"], &deliveries[0]["round"], &deliveries[0]["state"], &deliveries[0]["attempts"]),
        (&json!("oncall"), &json!(0), &json!("delivered"), &json!(1)),
        "{:#}",
        deliveries[0]
    );
    let channels = cli.run(&["channel", "list", "--json"]).ok().json();
    assert_eq!(
        (&channels[0]["name"], &channels[0]["pending"], &channels[0]["failed"]),
        (&json!("oncall"), &json!(0), &json!(0))
    );

    // Phase 3: another sync, an hour later (past any lease or backoff): nothing more is sent.
    at(&mut cli, lease + 3_600);
    let run = cli.run(&["sync"]).ok();
    assert!(!run.stdout.contains("alert: "), "no second alert: {}", run.stdout);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2, "a delivered alert is not sent again: {seen:#?}");
    assert_eq!(outbox(&cli), delivered);
    eprintln!(
        "webhook requests: 1 before the kill, {within_lease_requests} at +{} s (within the {lease} s lease), \
         1 at +{lease} s, {} at +{} s; alert id {key}",
        lease - 1,
        seen.len() - 2,
        lease + 3_600
    );
}
