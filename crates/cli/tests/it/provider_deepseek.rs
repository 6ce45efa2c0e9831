//! DeepSeek end to end: the real binary against a loopback mock of `GET /user/balance`.
//! DeepSeek reports only the current balance, so time is driven with BURNRATE_NOW: each sync
//! takes one snapshot per currency at "now", and daily spend is derived from the drops.

use crate::common;

use std::collections::BTreeMap;

use common::{fixture, Cli, TruncatingFront};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-FAKEDEEPSEEKFAKEFAKE0002";
const KEY_ENV: &str = "BURNRATE_TEST_DEEPSEEK_KEY";
const FROM: &str = "2026-03-01";
const TO: &str = "2026-03-10";

/// What goes wrong on a step's first attempt.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    RateLimited,
    ServerError,
    Slow,
    /// The connection is cut mid-body: the sync fails and writes nothing; syncing again at
    /// the same moment succeeds.
    Truncated,
}

/// (now, CNY total_balance, USD total_balance, fault): the balance DeepSeek reports at that moment.
const STEPS: &[(&str, &str, &str, Fault)] = &[
    ("2026-03-01T08:00:00Z", "110.00", "20.00", Fault::None),
    ("2026-03-01T20:00:00Z", "104.50", "19.25", Fault::RateLimited),
    ("2026-03-02T12:00:00Z", "100.00", "19.25", Fault::None),
    // No sync on 2026-03-03: the drop until the next snapshot lands on 2026-03-04.
    ("2026-03-04T09:00:00Z", "97.30", "18.00", Fault::ServerError),
    // CNY top-up of 100 and nothing spent: not spend.
    ("2026-03-05T10:00:00Z", "197.30", "18.00", Fault::None),
    ("2026-03-05T18:00:00Z", "190.12", "17.995", Fault::Slow),
    ("2026-03-06T07:00:00Z", "185.000001", "17.995", Fault::None),
    // Topped up 100 and spent 5.000001 in between: the net +94.999999 shows no spend
    // (the documented under-count).
    ("2026-03-07T23:59:59Z", "280.00", "17.50", Fault::Truncated),
    ("2026-03-08T00:00:00Z", "279.99", "17.50", Fault::None),
    // A USD top-up.
    ("2026-03-09T12:00:00Z", "270.01", "27.50", Fault::None),
    ("2026-03-10T12:00:00Z", "260.00", "26.123456", Fault::None),
];

/// A decimal string as integer micro-units, by string arithmetic only.
fn micros(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(frac.len() <= 6, "{text}");
    int.parse::<i64>().unwrap() * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap()
}

fn format_micros(m: i64) -> String {
    format!("{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn balance_body(cny: &str, usd: &str) -> String {
    json!({
        "is_available": true,
        "balance_infos": [
            {"currency": "CNY", "total_balance": cny, "granted_balance": "0.00", "topped_up_balance": cny},
            {"currency": "USD", "total_balance": usd, "granted_balance": "0.00", "topped_up_balance": usd},
        ]
    })
    .to_string()
}

/// The expected report, derived from STEPS: per day and currency, the sum of the drops between
/// consecutive snapshots whose later one falls on that day; rises are not spend.
fn expected_report() -> Value {
    let mut per_day: BTreeMap<(String, &str), i64> = BTreeMap::new();
    for pair in STEPS.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let day = next.0[..10].to_owned();
        for (currency, p, n) in [("CNY", prev.1, next.1), ("USD", prev.2, next.2)] {
            let drop = micros(p) - micros(n);
            if drop > 0 {
                *per_day.entry((day.clone(), currency)).or_default() += drop;
            }
        }
    }
    Value::Array(
        per_day
            .into_iter()
            .map(|((day, currency), m)| {
                json!({"day": day, "source": null, "provider": null, "key_id": null, "key_name": null,
                       "model": null, "currency": currency, "amount": format_micros(m), "kind": "billed"})
            })
            .collect(),
    )
}

fn cli_at(now: &str) -> Cli {
    let mut cli = Cli::new();
    cli.env.push((KEY_ENV.into(), KEY.into()));
    set_now(&mut cli, now);
    cli
}

fn set_now(cli: &mut Cli, now: &str) {
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now.into()));
}

fn add_source(cli: &Cli, base_url: &str) {
    cli.run(&["source", "add", "deepseek", "--name", "ds", "--base-url", base_url, "--key-env", KEY_ENV]).ok();
}

fn report(cli: &Cli, by: &[&str]) -> Value {
    let mut args = vec!["report", "daily", "--from", FROM, "--to", TO, "--json"];
    for b in by {
        args.extend(["--by", b]);
    }
    cli.run(&args).ok().json()
}

/// Serves one step's balance, after the step's fault on the first attempt.
async fn serve(server: &MockServer, cny: &str, usd: &str, fault: Fault) {
    server.reset().await;
    let body = balance_body(cny, usd);
    let faulty = match fault {
        Fault::None => None,
        Fault::RateLimited => Some(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_string(r#"{"error":{"message":"Rate Limit Reached","type":"rate_limit_error"}}"#),
        ),
        Fault::ServerError => {
            Some(ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_string("upstream exploded"))
        }
        Fault::Slow => Some(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(3))
                .set_body_raw(body.clone(), "application/json"),
        ),
        // Cut by the TruncatingFront instead.
        Fault::Truncated => None,
    };
    if let Some(t) = faulty {
        Mock::given(method("GET")).and(path("/user/balance")).respond_with(t).up_to_n_times(1).mount(server).await;
    }
    Mock::given(method("GET"))
        .and(path("/user/balance"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(server)
        .await;
}

fn sync(cli: &Cli) -> common::Run {
    cli.run(&["--timeout", "1", "--retries", "3", "sync", "--from", FROM, "--to", TO])
}

#[tokio::test(flavor = "multi_thread")]
async fn spend_per_day_and_currency_is_derived_from_balance_drops() {
    let server = MockServer::start().await;
    let front = TruncatingFront::start(*server.address(), r#"{"is_available": true, "balance_infos": [{"curr"#);
    let mut cli = cli_at(STEPS[0].0);
    add_source(&cli, &front.url);

    for &(now, cny, usd, fault) in STEPS {
        set_now(&mut cli, now);
        serve(&server, cny, usd, fault).await;
        if fault == Fault::Truncated {
            front.cut_next_connection();
            let run = sync(&cli).failed();
            // Beside the error, only notes (a day without a good sync is a stale-source alert).
            let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.starts_with("note: ")).collect();
            assert_eq!(lines.len(), 1, "{}", run.stderr);
            assert!(
                lines[0].starts_with("error: ds: DeepSeek sent an incomplete response at GET /user/balance"),
                "{}",
                run.stderr
            );
        }
        let run = sync(&cli).ok();
        assert!(run.stdout.contains("ok: ds:"), "{now}: {}", run.stdout);
    }
    let snapshots: i64 = cli.db().query_row("SELECT count(*) FROM balance_snapshots", [], |r| r.get(0)).unwrap();
    assert_eq!(
        snapshots,
        2 * STEPS.len() as i64,
        "one snapshot per currency per successful sync, none for the failed one"
    );

    let expected = expected_report();
    // Sanity of the scenario itself: the top-up days add nothing, the gap day has no row.
    assert_eq!(expected.as_array().unwrap().len(), 13, "{expected:#}");
    assert!(!expected.to_string().contains("2026-03-03"));
    assert_eq!(report(&cli, &[]), expected);
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    // A few values written out, as a cross-check of the derivation above.
    let r = report(&cli, &[]);
    let find = |day: &str, cur: &str| {
        r.as_array().unwrap().iter().find(|x| x["day"] == day && x["currency"] == cur).map(|x| x["amount"].clone())
    };
    assert_eq!(find("2026-03-01", "CNY"), Some(json!("5.500000")));
    assert_eq!(find("2026-03-04", "USD"), Some(json!("1.250000")));
    assert_eq!(find("2026-03-05", "CNY"), Some(json!("7.180000")), "the 100 CNY top-up is not spend");
    assert_eq!(find("2026-03-07", "CNY"), None, "a top-up hides the spend made with it");
    assert_eq!(find("2026-03-09", "USD"), None);

    // Unattributed: DeepSeek has no per-key or per-model data.
    for row in report(&cli, &["key", "model"]).as_array().unwrap() {
        assert_eq!(row["key_name"], "not attributed to a key");
        assert_eq!((&row["model"], &row["model_name"]), (&Value::Null, &json!("not attributed to a model")));
    }

    // Syncing again at the same moment with the same balance changes nothing.
    let &(now, cny, usd, _) = STEPS.last().unwrap();
    set_now(&mut cli, now);
    serve(&server, cny, usd, Fault::None).await;
    sync(&cli).ok();
    sync(&cli).ok();
    assert_eq!(report(&cli, &[]), expected);

    // A later sync with the default window recomputes the recent days from all snapshots.
    set_now(&mut cli, "2026-03-11T12:00:00Z");
    serve(&server, "259.00", "26.123456", Fault::None).await;
    cli.run(&["sync"]).ok();
    let later = cli.run(&["report", "daily", "--from", FROM, "--to", "2026-03-11", "--json"]).ok().json();
    let mut with_today = expected.as_array().unwrap().clone();
    with_today.push(json!({"day": "2026-03-11", "source": null, "provider": null, "key_id": null, "key_name": null,
                           "model": null, "currency": "CNY", "amount": "1.000000", "kind": "billed"}));
    assert_eq!(later, Value::Array(with_today));

    assert!(!cli.run(&["source", "list", "--json"]).ok().stdout.contains(KEY));
    cli.assert_key_in_no_file(KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_example_is_a_cny_snapshot() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/balance"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("deepseek/user_balance_example.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cli = cli_at("2026-03-02T12:00:00Z");
    add_source(&cli, &server.uri());
    cli.run(&["sync"]).ok();
    let snap: (String, i64, String) = cli
        .db()
        .query_row("SELECT currency, balance_micros, key_id FROM balance_snapshots", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(snap, ("CNY".into(), 110_000_000, String::new()));
    let taken_at: i64 = cli.db().query_row("SELECT taken_at FROM balance_snapshots", [], |r| r.get(0)).unwrap();
    assert_eq!(taken_at, 1_772_452_800, "taken at BURNRATE_NOW (2026-03-02T12:00:00Z)");
    // One snapshot is no spend yet.
    assert_eq!(cli.run(&["report", "daily", "--json"]).ok().json(), json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_gives_one_line_naming_the_key_type_and_writes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("deepseek/error_401.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = cli_at("2026-03-02T12:00:00Z");
    add_source(&cli, &server.uri());
    let run = cli.run(&["sync"]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(lines[0].starts_with("error: ds: DeepSeek rejected the key (401 at GET /user/balance"), "{}", lines[0]);
    assert!(lines[0].contains("Authentication Fails"), "{}", lines[0]);
    assert!(lines[0].contains("API key (sk-…)"), "{}", lines[0]);
    let snapshots: i64 = cli.db().query_row("SELECT count(*) FROM balance_snapshots", [], |r| r.get(0)).unwrap();
    assert_eq!(snapshots, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn source_test_prints_what_the_key_reads_and_writes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/balance"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("deepseek/user_balance_cny_usd.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cli = cli_at("2026-03-02T12:00:00Z");
    add_source(&cli, &server.uri());
    let out = cli.run(&["source", "test", "ds"]).ok().stdout;
    assert!(out.starts_with(&format!("connected to {}/ with sk-…0002", server.uri())), "{out}");
    assert!(out.contains("for 2026-03-01 to 2026-03-02 (UTC)"), "{out}");
    assert!(out.contains("yes Spend: derived from the balance"), "{out}");
    assert!(out.contains("yes Balance and limits: left:"), "{out}");
    let json = cli.run(&["source", "test", "ds", "--json"]).ok().json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["readable"].as_array().unwrap().len(), 3, "{json}");
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM balance_snapshots", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "a test writes nothing to the ledger");

    let refused = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("deepseek/error_401.json"), "application/json"))
        .mount(&refused)
        .await;
    let cli = cli_at("2026-03-02T12:00:00Z");
    add_source(&cli, &refused.uri());
    let run = cli.run(&["source", "test", "ds"]).failed();
    assert!(run.stderr.contains("KeyRejected"), "{}", run.stderr);
    assert!(!run.stderr.contains(KEY) && !run.stdout.contains(KEY));
}
