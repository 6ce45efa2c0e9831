//! OpenRouter end to end: the real binary against a loopback mock of the management API
//! (`/key`, `/credits`, `/keys` over two pages, `/activity` per key and unfiltered) serving
//! ten days up to today, with a disabled key, a deleted key (only in the account's total),
//! several models and provider endpoints, and 429s, 500s, a slow answer and a cut body on the
//! way; then the ordinary-key and refused-management fallbacks, and a rejected key. Expected
//! amounts are derived here from the served data with integer arithmetic.

use crate::common;

use std::collections::BTreeMap;

use common::{fixture, utc_day, Cli, FAKE_KEY};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FROM: &str = "2026-02-21";
const TO: &str = "2026-03-02";
/// Today per BURNRATE_NOW (2026-03-02T12:00:00Z), 00:00 UTC.
const TODAY: i64 = 1_772_409_600;
/// The activity's 30 completed days start here (2026-01-31).
const OLDEST: i64 = TODAY - 30 * 86_400;
/// Index of FROM among those days.
const FROM_IDX: i64 = 21;

fn parse_amount(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap();
    int.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap()
}

/// A USD amount given in 10⁻⁸ units as the JSON number the API would send.
fn usd8(v: i64) -> f64 {
    format!("{}.{:08}", v / 100_000_000, v % 100_000_000).parse().unwrap()
}

/// What Burnrate keeps of a 10⁻⁸ amount: micro-units, half away from zero.
fn micros8(v: i64) -> i64 {
    (v + 50) / 100
}

// ---------------------------------------------------------------------------------------
// The served data.

struct Key {
    hash: &'static str,
    name: &'static str,
    label: &'static str,
    disabled: bool,
    /// Today's usage in micro-USD.
    daily: i64,
    limit: Option<i64>,
}

/// The keys with spend, in the order /keys lists them (prod and dev on page 1, ci and batch on
/// page 2); the last lives in another workspace, listed only with its `workspace_id`.
const KEYS: [Key; 5] = [
    Key {
        hash: "hash_FAKE_prod",
        name: "Production",
        label: "sk-or-v1-abc...111",
        disabled: false,
        daily: 1_234_567,
        limit: Some(100_000_000),
    },
    // No name: the label is shown.
    Key { hash: "hash_FAKE_dev", name: "", label: "sk-or-v1-dev...222", disabled: false, daily: 500_000, limit: None },
    Key {
        hash: "hash_FAKE_ci",
        name: "CI (disabled)",
        label: "sk-or-v1-cic...333",
        disabled: true,
        daily: 0,
        limit: None,
    },
    Key { hash: "hash_FAKE_batch", name: "Batch", label: "sk-or-v1-bat...444", disabled: false, daily: 1, limit: None },
    Key {
        hash: "hash_FAKE_research",
        name: "Research notebook",
        label: "sk-or-v1-res...555",
        disabled: false,
        daily: 250_000,
        limit: None,
    },
];
/// The default workspace (every key's `workspace_id` in the default listing) and another one.
const DEFAULT_WS: &str = "0df9e665-d932-5740-b2c7-b52af166bc11";
const RESEARCH_WS: &str = "ws_FAKE_research";
/// A key deleted since: only the account's unfiltered activity still counts its spend.
const DELETED: &str = "hash_FAKE_deleted";
/// Keys without spend that fill the first /keys page to 100.
const FILLERS: usize = 98;

fn key_name(hash: Option<&str>) -> String {
    match KEYS.iter().find(|k| Some(k.hash) == hash) {
        Some(k) if k.name.is_empty() => k.label.into(),
        Some(k) => k.name.into(),
        None => "not attributed to a key".into(),
    }
}

const MODELS: [&str; 3] = ["openai/gpt-4.1", "anthropic/claude-sonnet-4", "meta-llama/llama-3.3-70b-instruct:free"];

struct Act {
    /// Index among the 30 completed days (0 = 2026-01-31, 29 = yesterday).
    day: i64,
    key: &'static str,
    model: &'static str,
    provider: &'static str,
    /// USD in 10⁻⁸ units.
    usage: i64,
    prompt: i64,
    completion: i64,
    requests: i64,
}

fn activity() -> Vec<Act> {
    let mut out = Vec::new();
    let hashes = KEYS.iter().map(|k| k.hash).chain([DELETED]);
    for (k, key) in hashes.enumerate() {
        let k = k as i64;
        for day in 0..30 {
            if key == DELETED && day % 3 == 2 {
                continue;
            }
            for (m, model) in MODELS.iter().enumerate() {
                let m = m as i64;
                let used = match m {
                    0 => (day + k) % 3 != 0,
                    1 => k == 0 || (day * k) % 4 == 1,
                    _ => day % 5 == k,
                };
                if !used {
                    continue;
                }
                let providers: &[&str] = if m == 0 && day % 2 == 0 { &["OpenAI", "Azure"] } else { &["OpenAI"] };
                for (e, provider) in providers.iter().enumerate() {
                    let e = e as i64;
                    let usage = if m == 2 {
                        0 // a free model
                    } else {
                        1_000 + ((day + 1) * 7_654_321 + k * 1_234_567 + m * 333_333 + e * 55) % 900_000_000
                    };
                    out.push(Act {
                        day,
                        key,
                        model,
                        provider,
                        usage,
                        prompt: 100 * (day + 1) + k,
                        completion: 10 * (day + 1) + m,
                        requests: 1 + (day + k) % 4,
                    });
                }
            }
        }
    }
    out
}

fn activity_json(a: &Act, date_with_time: bool) -> Value {
    let date = utc_day(OLDEST + a.day * 86_400);
    json!({
        "byok_usage_inference": 0, "completion_tokens": a.completion,
        "date": if date_with_time { format!("{date} 00:00:00") } else { date },
        "endpoint_id": format!("endpoint-FAKE-{}", a.provider), "model": a.model,
        "model_permaslug": format!("{}-2025-04-14", a.model), "prompt_tokens": a.prompt,
        "provider_name": a.provider, "reasoning_tokens": 0, "requests": a.requests, "usage": usd8(a.usage)
    })
}

/// `/activity` without a key filter: every key's rows (the deleted key's too) summed per
/// date × model × endpoint, as the API aggregates them.
fn account_activity(first_day: i64) -> String {
    let mut sums: BTreeMap<(i64, &str, &str), Act> = BTreeMap::new();
    for a in activity().into_iter().filter(|a| a.day >= first_day) {
        let e = sums.entry((a.day, a.model, a.provider)).or_insert(Act {
            key: "",
            usage: 0,
            prompt: 0,
            completion: 0,
            requests: 0,
            ..a
        });
        e.usage += a.usage;
        e.prompt += a.prompt;
        e.completion += a.completion;
        e.requests += a.requests;
    }
    json!({"data": sums.values().map(|a| activity_json(a, false)).collect::<Vec<_>>()}).to_string()
}

fn key_activity(hash: &str, first_day: i64) -> String {
    // One key's dates come with a time part, as has been observed.
    let with_time = hash == "hash_FAKE_dev";
    json!({"data": activity().iter().filter(|a| a.key == hash && a.day >= first_day).map(|a| activity_json(a, with_time)).collect::<Vec<_>>()}).to_string()
}

fn key_json(hash: &str, name: &str, label: &str, disabled: bool, daily: i64, limit: Option<i64>) -> Value {
    let workspace = if hash == "hash_FAKE_research" { RESEARCH_WS } else { DEFAULT_WS };
    let usd = |m: i64| -> f64 { format!("{}.{:06}", m / 1_000_000, m % 1_000_000).parse().unwrap() };
    json!({
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_monthly": 0, "byok_usage_weekly": 0,
        "created_at": "2025-08-24T10:30:00Z", "creator_user_id": "user_FAKE", "disabled": disabled, "expires_at": null,
        "hash": hash, "include_byok_in_limit": false, "label": label,
        "limit": limit.map(usd), "limit_remaining": limit.map(|l| usd(l / 2 + 500_000)), "limit_reset": null,
        "name": name, "updated_at": null, "usage": usd(daily * 3), "usage_daily": usd(daily),
        "usage_monthly": usd(daily * 3), "usage_weekly": usd(daily * 2),
        "workspace_id": workspace
    })
}

fn workspaces() -> String {
    json!({"data": [
        {"id": DEFAULT_WS, "name": "Default Workspace", "slug": "default"},
        {"id": RESEARCH_WS, "name": "Research", "slug": "research"}
    ], "total_count": 2})
    .to_string()
}

/// The default workspace's two pages, and the research workspace's one.
fn keys_pages() -> (String, String, String) {
    let k = |k: &Key| key_json(k.hash, k.name, k.label, k.disabled, k.daily, k.limit);
    let mut first: Vec<Value> = KEYS[..2].iter().map(k).collect();
    for i in 0..FILLERS {
        first.push(key_json(
            &format!("hash_FAKE_filler{i:02}"),
            &format!("filler {i:02}"),
            "sk-or-v1-fil...000",
            i % 7 == 0,
            0,
            None,
        ));
    }
    let second: Vec<Value> = KEYS[2..4].iter().map(k).collect();
    let research: Vec<Value> = KEYS[4..].iter().map(k).collect();
    (json!({"data": first}).to_string(), json!({"data": second}).to_string(), json!({"data": research}).to_string())
}

fn management_key() -> String {
    let mut key: Value = serde_json::from_str(&fixture("openrouter/key.json")).unwrap();
    key["data"]["is_management_key"] = json!(true);
    key["data"]["label"] = json!("sk-or-v1-mgm...FAK");
    key.to_string()
}

// ---------------------------------------------------------------------------------------
// The mock.

fn ok(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/{p}")))
        .and(header("authorization", format!("Bearer {FAKE_KEY}").as_str()))
}

const CREDITS: &str = r#"{"data":{"total_credits":250.5,"total_usage":123.45678912}}"#;

async fn mount_faults(server: &MockServer) {
    let rate_limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "0")
        .set_body_raw(fixture("openrouter/error_429_example.json"), "application/json");
    get("credits")
        .respond_with(ok(CREDITS.into()).set_delay(std::time::Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(server)
        .await;
    get("keys")
        .and(query_param("offset", "100"))
        .respond_with(rate_limited.clone())
        .up_to_n_times(1)
        .mount(server)
        .await;
    get("activity")
        .and(query_param("api_key_hash", "hash_FAKE_prod"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("retry-after", "0")
                .set_body_raw(r#"{"error":{"code":500,"message":"Internal Server Error"}}"#, "application/json"),
        )
        .up_to_n_times(1)
        .mount(server)
        .await;
    get("activity")
        .and(query_param_is_missing("api_key_hash"))
        .respond_with(rate_limited)
        .up_to_n_times(1)
        .mount(server)
        .await;
}

/// `first_day`: the oldest of the 30 days the activity still covers (0 on 2026-03-02).
async fn mount_good(server: &MockServer, first_day: i64) {
    get("key").respond_with(ok(management_key())).mount(server).await;
    get("credits").respond_with(ok(CREDITS.into())).mount(server).await;
    get("workspaces").and(query_param("offset", "0")).respond_with(ok(workspaces())).mount(server).await;
    let (p1, p2, research) = keys_pages();
    // The default workspace answers with and without its id; the research one only with its id.
    for (page, offset) in [(p1, "0"), (p2, "100")] {
        for ws in [None, Some(DEFAULT_WS)] {
            let m = get("keys").and(query_param("include_disabled", "true")).and(query_param("offset", offset));
            match ws {
                Some(id) => m.and(query_param("workspace_id", id)).respond_with(ok(page.clone())).mount(server).await,
                None => {
                    m.and(query_param_is_missing("workspace_id")).respond_with(ok(page.clone())).mount(server).await
                }
            }
        }
    }
    get("keys")
        .and(query_param("include_disabled", "true"))
        .and(query_param("offset", "0"))
        .and(query_param("workspace_id", RESEARCH_WS))
        .respond_with(ok(research))
        .mount(server)
        .await;
    for k in KEYS {
        get("activity")
            .and(query_param("api_key_hash", k.hash))
            .respond_with(ok(key_activity(k.hash, first_day)))
            .mount(server)
            .await;
    }
    get("activity")
        .and(query_param_is_missing("api_key_hash"))
        .respond_with(ok(account_activity(first_day)))
        .mount(server)
        .await;
    // The fillers have no activity.
    get("activity").respond_with(ok(r#"{"data":[]}"#.into())).with_priority(10).mount(server).await;
}

fn add_source(cli: &Cli, server: &MockServer, name: &str) {
    let url = format!("{}/api/v1", server.uri());
    cli.run(&[
        "source",
        "add",
        "openrouter",
        "--name",
        name,
        "--base-url",
        &url,
        "--key-env",
        "BURNRATE_TEST_OPENAI_KEY",
    ])
    .ok();
}

// ---------------------------------------------------------------------------------------
// Expectations.

/// (day, key_id, key_name, model) -> micros of billed spend, from a `report daily --json`.
type Report = BTreeMap<(String, Option<String>, Option<String>, Option<String>), i64>;

fn report(cli: &Cli, from: &str, to: &str, by: &[&str]) -> Report {
    let mut args = vec!["report", "daily", "--from", from, "--to", to, "--json"];
    for b in by {
        args.extend(["--by", b]);
    }
    let rows = cli.run(&args).ok().json();
    let mut out = Report::new();
    for r in rows.as_array().unwrap() {
        assert_eq!((r["currency"].as_str(), r["kind"].as_str()), (Some("USD"), Some("billed")), "{r}");
        let s = |f: &str| r[f].as_str().map(str::to_owned);
        let id = (s("day").unwrap(), s("key_id"), s("key_name"), s("model"));
        assert!(out.insert(id, parse_amount(r["amount"].as_str().unwrap())).is_none(), "duplicate row {r}");
    }
    out
}

fn expected(by_key: bool, by_model: bool) -> Report {
    let mut out = Report::new();
    let mut add = |day: String, key: Option<&str>, model: Option<&str>, micros: i64| {
        let id = (
            day,
            if by_key { key.map(Into::into) } else { None },
            by_key.then(|| key_name(key)),
            if by_model { model.map(Into::into) } else { None },
        );
        *out.entry(id).or_default() += micros;
    };
    // Completed days from each key's activity, one row per provider endpoint.
    let mut deleted: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    for a in activity().iter().filter(|a| a.day >= FROM_IDX) {
        if a.key == DELETED {
            *deleted.entry((a.day, a.model)).or_default() += a.usage;
        } else {
            add(utc_day(OLDEST + a.day * 86_400), Some(a.key), Some(a.model), micros8(a.usage));
        }
    }
    // The account's remainder over the listed keys: the deleted key's spend, unattributed.
    for ((day, model), usage) in deleted {
        if micros8(usage) != 0 {
            add(utc_day(OLDEST + day * 86_400), None, Some(model), micros8(usage));
        }
    }
    // Today from usage_daily, without a model.
    for k in KEYS.iter().filter(|k| k.daily != 0) {
        add(utc_day(TODAY), Some(k.hash), None, k.daily);
    }
    out
}

fn assert_reports(cli: &Cli) -> [Report; 3] {
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    let by_key = report(cli, FROM, TO, &["key"]);
    assert_eq!(by_key, expected(true, false));
    let by_model = report(cli, FROM, TO, &["model"]);
    assert_eq!(by_model, expected(false, true));
    let both = report(cli, FROM, TO, &["key", "model"]);
    assert_eq!(both, expected(true, true));
    [by_key, by_model, both]
}

/// (key_id, balance, limit, usage) of a balance snapshot, micro-USD.
type Balance = (String, Option<i64>, Option<i64>, Option<i64>);

fn ledger_state(cli: &Cli) -> (i64, i64, i64) {
    cli.db()
        .query_row("SELECT count(*), sum(amount_micros), sum(coalesce(input_tokens, 0)) FROM spend", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_management_key_gives_every_keys_history_through_faults_and_resyncs() {
    let server = MockServer::start().await;
    mount_faults(&server).await;
    mount_good(&server, 0).await;
    let cli = Cli::new();
    add_source(&cli, &server, "or");

    let run = cli.run(&["--timeout", "1", "--retries", "3", "sync", "--from", FROM, "--to", TO]).ok();
    assert!(run.stdout.contains("ok: or: ") && run.stdout.contains(&format!("for {FROM}..{TO}")), "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    let count = |p: &str, q: Option<(&str, &str)>| {
        requests
            .iter()
            .filter(|r| r.url.path() == format!("/api/v1/{p}"))
            .filter(|r| match q {
                Some((k, v)) => r.url.query_pairs().any(|(a, b)| a == k && b == v),
                None => !r.url.query_pairs().any(|(a, _)| a == "api_key_hash"),
            })
            .count()
    };
    assert_eq!(count("credits", None), 2, "timed out, then answered");
    assert_eq!(count("keys", Some(("offset", "100"))), 3, "429, then the page; the default workspace again by id");
    assert_eq!(count("keys", Some(("workspace_id", RESEARCH_WS))), 1, "every workspace is listed");
    assert_eq!(count("activity", Some(("api_key_hash", "hash_FAKE_prod"))), 2, "500, then the rows");
    assert_eq!(count("activity", None), 2, "429, then the account's rows");
    assert_eq!(count("activity", Some(("api_key_hash", "hash_FAKE_filler97"))), 1, "every listed key is asked");

    let first = assert_reports(&cli);
    // No key/day comes from both sources: completed days carry models, today none.
    let mixed: i64 = cli
        .db()
        .query_row("SELECT count(*) FROM spend WHERE (model = '') <> (bucket_start = ?1)", [TODAY], |r| r.get(0))
        .unwrap();
    assert_eq!(mixed, 0);

    // Every key of both pages, the disabled ones marked; names fall back to the label.
    let db = cli.db();
    let count_keys: i64 = db.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(count_keys, (KEYS.len() + FILLERS) as i64, "each key once, whichever listings name it");
    let workspace_of = |hash: &str| -> Option<String> {
        db.query_row("SELECT project FROM api_keys WHERE provider_key_id = ?1", [hash], |r| r.get(0)).unwrap()
    };
    assert_eq!(workspace_of("hash_FAKE_research").as_deref(), Some("Research"));
    assert_eq!(workspace_of("hash_FAKE_prod").as_deref(), Some("Default Workspace"));
    let disabled: Vec<String> = db
        .prepare("SELECT provider_key_id FROM api_keys WHERE disabled ORDER BY provider_key_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut want: Vec<String> =
        (0..FILLERS).filter(|i| i % 7 == 0).map(|i| format!("hash_FAKE_filler{i:02}")).collect();
    want.insert(0, "hash_FAKE_ci".into());
    assert_eq!(disabled, want);
    let dev: (String, String, i64) = db
        .query_row(
            "SELECT display_name, fingerprint, created_at FROM api_keys WHERE provider_key_id = 'hash_FAKE_dev'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(dev, ("sk-or-v1-dev...222".into(), "sk-or-v1-dev...222".into(), 1_756_031_400));

    // The account's balance (credits − usage) and the limited key's own.
    let balances: Vec<Balance> = db
        .prepare("SELECT key_id, balance_micros, limit_micros, usage_micros FROM balance_snapshots ORDER BY key_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let used = micros8(12_345_678_912);
    assert_eq!(
        balances,
        vec![
            (String::new(), Some(250_500_000 - used), Some(250_500_000), Some(used)),
            ("hash_FAKE_prod".into(), Some(100_000_000 / 2 + 500_000), Some(100_000_000), Some(3 * 1_234_567)),
        ]
    );
    drop(db);

    // A second sync, the faults used up, changes nothing.
    let state = ledger_state(&cli);
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_eq!(assert_reports(&cli), first);
    assert_eq!(ledger_state(&cli), state);

    // A cut body fails that sync and writes nothing; the next one is whole again.
    get("activity")
        .and(query_param("api_key_hash", "hash_FAKE_dev"))
        .respond_with(ok(r#"{"data":[{"byok_usage_inference":0,"completion_tokens":12,"da"#.into()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    assert!(
        run.stderr.contains("error: or: OpenRouter sent a response Burnrate cannot read at GET /activity"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger_state(&cli), state);
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_eq!(assert_reports(&cli), first);
    assert_eq!(ledger_state(&cli), state);

    // Weeks later the first days are older than the activity's 30: a sync over them leaves
    // them as they were instead of wiping what can no longer be fetched.
    let before_later = report(&cli, FROM, "2026-03-01", &["key", "model"]);
    assert!(before_later.keys().any(|k| k.0 == "2026-02-22"));
    // On 2026-03-25 the activity covers 2026-02-23..2026-03-24 (the served data ends on 03-01).
    server.reset().await;
    mount_good(&server, 23).await;
    let mut later = cli;
    later.env.retain(|(k, _)| k != "BURNRATE_NOW");
    later.env.push(("BURNRATE_NOW".into(), "2026-03-25T06:00:00Z".into()));
    later.run(&["sync", "--from", FROM, "--to", "2026-03-25"]).ok();
    assert_eq!(report(&later, FROM, "2026-03-01", &["key", "model"]), before_later);
    // 2026-03-02 is a completed day now, and the served activity has nothing for it.
    assert_eq!(report(&later, TO, TO, &["key"]), Report::new());
    later.assert_key_in_no_file(FAKE_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_management_examples_sync() {
    // OpenRouter's own examples, verbatim: one key, activity on 2025-08-24, today's 25.5.
    let server = MockServer::start().await;
    get("key").respond_with(ok(management_key())).mount(&server).await;
    get("credits").respond_with(ok(fixture("openrouter/credits_example.json"))).mount(&server).await;
    get("keys").respond_with(ok(fixture("openrouter/keys_list_example.json"))).mount(&server).await;
    get("activity").respond_with(ok(fixture("openrouter/activity_example.json"))).mount(&server).await;
    let mut cli = Cli::new();
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), "2025-08-25T08:00:00Z".into()));
    add_source(&cli, &server, "docs");
    cli.run(&["sync", "--from", "2025-08-24", "--to", "2025-08-25"]).ok();
    let by_key = report(&cli, "2025-08-24", "2025-08-25", &["key"]);
    let hash = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943".to_owned();
    let row =
        |day: &str, micros| ((day.to_owned(), Some(hash.clone()), Some("My Production Key".to_owned()), None), micros);
    // The unfiltered activity equals the key's: nothing unattributed.
    assert_eq!(by_key, Report::from([row("2025-08-24", 15_000), row("2025-08-25", 25_500_000)]));
    let balance: i64 =
        cli.db().query_row("SELECT balance_micros FROM balance_snapshots WHERE key_id = ''", [], |r| r.get(0)).unwrap();
    assert_eq!(balance, 100_500_000 - 25_750_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_key_records_its_own_day_and_a_refused_management_key_falls_back() {
    // An ordinary key (the spec's /key example): today's usage and its limit, nothing else asked.
    let server = MockServer::start().await;
    get("key").respond_with(ok(fixture("openrouter/key.json"))).mount(&server).await;
    let cli = Cli::new();
    add_source(&cli, &server, "own");
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    let own = Report::from([(
        (TO.to_owned(), Some("sk-or-v1-au7...890".to_owned()), Some("sk-or-v1-au7...890".to_owned()), None),
        25_500_000,
    )]);
    assert_eq!(report(&cli, FROM, TO, &["key"]), own);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // A key that calls itself a management key but is refused by the management API (403).
    let refused = MockServer::start().await;
    get("key").respond_with(ok(management_key())).mount(&refused).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_raw(fixture("openrouter/error_403_example.json"), "application/json"),
        )
        .mount(&refused)
        .await;
    let cli = Cli::new();
    add_source(&cli, &refused, "mgmt");
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    let own = Report::from([(
        (TO.to_owned(), Some("sk-or-v1-mgm...FAK".to_owned()), Some("sk-or-v1-mgm...FAK".to_owned()), None),
        25_500_000,
    )]);
    assert_eq!(report(&cli, FROM, TO, &["key"]), own);
    let balance: (String, i64) = cli
        .db()
        .query_row("SELECT key_id, balance_micros FROM balance_snapshots", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(balance, ("sk-or-v1-mgm...FAK".into(), 74_500_000));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_gets_one_line_naming_the_key_needed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_raw(fixture("openrouter/error_401_example.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cli = Cli::new();
    add_source(&cli, &server, "or");
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: or: OpenRouter rejected the key (401 at GET /key: Missing Authentication header)"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("management key"), "{}", lines[0]);
}
