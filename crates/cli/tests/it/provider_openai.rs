//! OpenAI end to end: the real binary against a loopback mock of the Admin API serving ten
//! days of costs (daily, per key and project), token usage (hourly, per key and model, for
//! completions and embeddings) and the project/key lists, all over several pages, with an
//! archived project, a deleted key, spend without a key, a model without a list price, and
//! 429s, 500s, a slow answer and a truncated body on the way. Expected amounts are derived
//! here from the served data with integer arithmetic.

use crate::common;

use std::collections::BTreeMap;

use common::{fixture, utc_day, Cli, FAKE_KEY};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FROM: &str = "2026-02-21";
const TO: &str = "2026-03-02";
/// 2026-02-21T00:00:00Z.
const DAY0: i64 = 1_771_632_000;
const DAYS: i64 = 10;
const HOURS: i64 = DAYS * 24;

fn parse_amount(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap();
    int.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap()
}

// ---------------------------------------------------------------------------------------
// The served data.

/// (key id, project id); `None` = the API's null.
const COST_KEYS: [(Option<&str>, Option<&str>); 6] = [
    (Some("key_FAKE_web"), Some("proj_FAKE_main")),
    (Some("key_FAKE_batch"), Some("proj_FAKE_main")),
    (Some("key_FAKE_ops"), Some("proj_FAKE_tools")),
    (Some("key_FAKE_old"), Some("proj_FAKE_legacy")),
    // Deleted: not in any key list, its spend keeps the raw id.
    (Some("key_FAKE_deleted"), Some("proj_FAKE_main")),
    // Spend OpenAI does not attribute to a key (storage, for example).
    (None, None),
];

/// Display names the key lists give, by key id.
fn key_name(id: Option<&str>) -> String {
    match id {
        Some("key_FAKE_web") => "web frontend".into(),
        Some("key_FAKE_batch") => "batch jobs".into(),
        Some("key_FAKE_ops") => "ops scripts".into(),
        Some("key_FAKE_old") => "old prototype".into(),
        Some(other) => other.into(),
        None => "not attributed to a key".into(),
    }
}

struct Cost {
    day: i64,
    key: Option<&'static str>,
    project: Option<&'static str>,
    /// Amount in 10⁻⁷ USD: one digit more than Burnrate keeps, so rounding is exercised.
    tenth_micros: i64,
}

fn costs() -> Vec<Cost> {
    let mut out = Vec::new();
    for day in 0..DAYS {
        for (k, (key, project)) in COST_KEYS.iter().enumerate() {
            let k = k as i64;
            if (day + k) % 4 == 3 {
                continue;
            }
            let tenth_micros = 10_000_000 * ((day * 3 + k) % 5) + (day + 1) * 1_234_567 + k * 765_431 + (day * k) % 10;
            out.push(Cost { day, key: *key, project: *project, tenth_micros });
        }
    }
    out
}

fn cost_value(tenth_micros: i64) -> f64 {
    format!("{}.{:07}", tenth_micros / 10_000_000, tenth_micros % 10_000_000).parse().unwrap()
}

struct Usage {
    hour: i64,
    key: Option<&'static str>,
    model: Option<&'static str>,
    input: i64,
    cached: i64,
    cache_write: i64,
    output: i64,
    requests: i64,
}

fn completions() -> Vec<Usage> {
    let mut out = Vec::new();
    for h in 0..HOURS {
        let u = |key, model, input, cached, cache_write, output| Usage {
            hour: h,
            key,
            model,
            input,
            cached,
            cache_write,
            output,
            requests: 1 + h % 4,
        };
        if h % 5 == 0 {
            let cw = if h % 3 == 0 { 50 } else { 0 };
            out.push(u(
                Some("key_FAKE_web"),
                Some("gpt-4o-2024-08-06"),
                1000 + 37 * h,
                (13 * h) % 400,
                cw,
                200 + 11 * h,
            ));
        }
        if h % 7 == 3 {
            out.push(u(Some("key_FAKE_batch"), Some("gpt-4o-mini"), 5000 + h, 0, 0, 100 + h));
        }
        if h % 19 == 7 {
            out.push(u(Some("key_FAKE_ops"), Some("gpt-4o-mini"), 777 + 3 * h, 333, 0, 41));
        }
        if h % 11 == 4 {
            out.push(u(None, Some("gpt-4o"), 300 + h, 100, 0, 50));
        }
        if h % 13 == 6 {
            // No list price: tokens kept, estimate 0.
            out.push(u(Some("key_FAKE_deleted"), Some("ft:gpt-fake-custom"), 800, 0, 0, 80));
        }
        if h % 17 == 2 {
            out.push(u(Some("key_FAKE_old"), None, 90, 0, 0, 9));
        }
    }
    out
}

fn embeddings() -> Vec<Usage> {
    let mut out = Vec::new();
    for h in 0..HOURS {
        let u = |key, input| Usage {
            hour: h,
            key,
            model: Some("text-embedding-3-small"),
            input,
            cached: 0,
            cache_write: 0,
            output: 0,
            requests: 2,
        };
        if h % 9 == 1 {
            out.push(u(Some("key_FAKE_web"), 500 + 3 * h));
        }
        if h % 23 == 5 {
            out.push(u(None, 1000));
        }
    }
    out
}

/// The price table the test installs in the data directory, in USD per token.
const PRICES: &str = r#"{"models": {
  "gpt-4o": {"input": "0.0000025", "output": "0.00001", "cache_read": "0.00000125"},
  "gpt-4o-mini": {"input": "0.00000015", "output": "0.0000006", "cache_read": "0.000000075",
                  "tiers": {"batch": {"input": "0.000000075", "output": "0.0000003"},
                            "priority": {"input": "0.00000025", "output": "0.000001", "cache_read": "0.000000125"}}},
  "text-embedding-3-small": {"input": "0.00000002", "output": "0"}
}}"#;

/// The same prices in nano-USD per token: (input, cache read, output), at the tier the key's
/// requests were served with (see usage_pages). A tier without its own cache price keeps the
/// standard one.
fn nano_price(model: Option<&str>, key: Option<&str>) -> Option<(i64, i64, i64)> {
    match model? {
        "gpt-4o" | "gpt-4o-2024-08-06" => Some((2500, 1250, 10_000)),
        "gpt-4o-mini" if key == Some("key_FAKE_batch") => Some((75, 75, 300)),
        "gpt-4o-mini" if key == Some("key_FAKE_ops") => Some((250, 125, 1000)),
        "gpt-4o-mini" => Some((150, 75, 600)),
        "text-embedding-3-small" => Some((20, 20, 0)),
        _ => None,
    }
}

/// List-price estimate of one served row in micro-USD, rounded half up like Burnrate does per row.
/// Cache reads are priced as cache reads; cache writes (no price of their own here) as input.
fn estimate(u: &Usage) -> i64 {
    let Some((input, cache_read, output)) = nano_price(u.model, u.key) else { return 0 };
    let nano = (u.input - u.cached - u.cache_write) * input
        + u.cached * cache_read
        + u.cache_write * input
        + u.output * output;
    (nano + 500) / 1000
}

// ---------------------------------------------------------------------------------------
// The mock.

fn bucket(start: i64, width: i64, results: Vec<Value>) -> Value {
    json!({"object": "bucket", "start_time": start, "end_time": start + width, "results": results})
}

fn bucket_page(data: Vec<Value>, next: Option<&str>) -> String {
    json!({"object": "page", "data": data, "has_more": next.is_some(), "next_page": next}).to_string()
}

fn cost_pages() -> Vec<String> {
    let all = costs();
    let day_bucket = |day: i64| {
        let results = all
            .iter()
            .filter(|c| c.day == day)
            .map(|c| {
                json!({"object": "organization.costs.result", "amount": {"value": cost_value(c.tenth_micros), "currency": "usd"},
                       "line_item": null, "project_id": c.project, "api_key_id": c.key, "quantity": null, "quantity_unit": null})
            })
            .collect();
        bucket(DAY0 + day * 86_400, 86_400, results)
    };
    vec![
        bucket_page((0..4).map(day_bucket).collect(), Some("costs_FAKE_p2")),
        bucket_page((4..7).map(day_bucket).collect(), Some("costs_FAKE_p3")),
        bucket_page((7..10).map(day_bucket).collect(), None),
    ]
}

/// Hourly usage in pages of 168 buckets (every hour present, most of them empty), as the API pages.
fn usage_pages(rows: &[Usage], object: &str, next: &str) -> (String, String) {
    let hour_bucket = |h: i64| {
        let results = rows
            .iter()
            .filter(|u| u.hour == h)
            .map(|u| {
                let mut r = json!({"object": object, "input_tokens": u.input, "output_tokens": u.output,
                    "input_cached_tokens": u.cached, "input_cache_write_tokens": u.cache_write,
                    "input_uncached_tokens": u.input - u.cached - u.cache_write,
                    "num_model_requests": u.requests, "project_id": null, "user_id": null,
                    "api_key_id": u.key, "model": u.model, "batch": null, "service_tier": null});
                // The batch key's requests went through the Batch API; the ops key paid for priority.
                match u.key {
                    Some("key_FAKE_batch") => r["batch"] = json!(true),
                    Some("key_FAKE_ops") => r["service_tier"] = json!("priority"),
                    _ => {}
                }
                if object.ends_with("embeddings.result") {
                    for f in [
                        "output_tokens",
                        "input_cached_tokens",
                        "input_cache_write_tokens",
                        "input_uncached_tokens",
                        "batch",
                        "service_tier",
                    ] {
                        r.as_object_mut().unwrap().remove(f);
                    }
                }
                if h == 5 {
                    r["a_field_added_later"] = json!({"nested": [1, 2]});
                }
                r
            })
            .collect();
        bucket(DAY0 + h * 3_600, 3_600, results)
    };
    (
        bucket_page((0..168).map(hour_bucket).collect(), Some(next)),
        bucket_page((168..HOURS).map(hour_bucket).collect(), None),
    )
}

fn list(data: Vec<Value>, has_more: bool) -> String {
    let first = data.first().map(|d| d["id"].clone());
    let last = data.last().map(|d| d["id"].clone());
    json!({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more}).to_string()
}

fn project(id: &str, name: &str, archived_at: Option<i64>) -> Value {
    json!({"id": id, "object": "organization.project", "name": name, "created_at": 1_711_471_533,
           "archived_at": archived_at, "status": if archived_at.is_some() { "archived" } else { "active" }})
}

fn api_key(id: &str, name: &str, created: i64, last_used: Option<i64>) -> Value {
    json!({"object": "organization.project.api_key", "redacted_value": format!("sk-proj-****{}", &id[id.len() - 3..]),
           "name": name, "created_at": created, "last_used_at": last_used, "id": id, "owner_project_access": "active",
           "owner": {"type": "service_account", "service_account": {"id": "svc_acct_FAKE", "name": "bot", "role": "member", "created_at": 1}}})
}

fn ok(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

async fn mount(server: &MockServer, mock: Mock) {
    mock.mount(server).await;
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(format!("/v1/organization/{p}")))
        .and(header("authorization", format!("Bearer {FAKE_KEY}").as_str()))
}

/// Faults first (each answers once, then falls through to the good mocks mounted after it).
async fn mount_faults(server: &MockServer) {
    let rate_limited = ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_raw(
        r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        "application/json",
    );
    mount(
        server,
        get("costs").and(query_param("page", "costs_FAKE_p2")).respond_with(rate_limited.clone()).up_to_n_times(1),
    )
    .await;
    mount(
        server,
        get("usage/completions")
            .and(query_param("page", "usage_FAKE_p2"))
            .respond_with(
                ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_string("upstream hiccup"),
            )
            .up_to_n_times(1),
    )
    .await;
    // Slower than --timeout 1 on the first attempt only.
    mount(
        server,
        get("projects")
            .and(query_param_is_missing("after"))
            .respond_with(ok(projects_page1()).set_delay(std::time::Duration::from_secs(3)))
            .up_to_n_times(1),
    )
    .await;
    mount(
        server,
        get("projects/proj_FAKE_main/api_keys")
            .and(query_param("after", "key_FAKE_web"))
            .respond_with(rate_limited)
            .up_to_n_times(1),
    )
    .await;
}

fn projects_page1() -> String {
    list(vec![project("proj_FAKE_main", "Main app", None), project("proj_FAKE_tools", "Internal tools", None)], true)
}

async fn mount_good(server: &MockServer) {
    let [c1, c2, c3]: [String; 3] = cost_pages().try_into().unwrap();
    mount(
        server,
        get("costs")
            .and(query_param_is_missing("page"))
            .and(query_param("bucket_width", "1d"))
            .and(query_param("group_by[]", "api_key_id"))
            .and(query_param("group_by[]", "project_id"))
            .and(query_param("start_time", DAY0.to_string().as_str()))
            .and(query_param("end_time", (DAY0 + DAYS * 86_400).to_string().as_str()))
            .respond_with(ok(c1)),
    )
    .await;
    mount(server, get("costs").and(query_param("page", "costs_FAKE_p2")).respond_with(ok(c2))).await;
    mount(server, get("costs").and(query_param("page", "costs_FAKE_p3")).respond_with(ok(c3))).await;

    for (kind, rows, object) in [
        ("completions", completions(), "organization.usage.completions.result"),
        ("embeddings", embeddings(), "organization.usage.embeddings.result"),
    ] {
        let (p1, p2) = usage_pages(&rows, object, "usage_FAKE_p2");
        let p = format!("usage/{kind}");
        mount(
            server,
            get(&p)
                .and(query_param_is_missing("page"))
                .and(query_param("bucket_width", "1h"))
                .and(query_param("limit", "168"))
                .and(query_param("group_by[]", "api_key_id"))
                .and(query_param("group_by[]", "model"))
                .and(query_param("start_time", DAY0.to_string().as_str()))
                .respond_with(ok(p1)),
        )
        .await;
        mount(server, get(&p).and(query_param("page", "usage_FAKE_p2")).respond_with(ok(p2))).await;
    }

    mount(
        server,
        get("projects")
            .and(query_param_is_missing("after"))
            .and(query_param("include_archived", "true"))
            .and(query_param("limit", "100"))
            .respond_with(ok(projects_page1())),
    )
    .await;
    mount(
        server,
        get("projects")
            .and(query_param("after", "proj_FAKE_tools"))
            .respond_with(ok(list(vec![project("proj_FAKE_legacy", "Legacy", Some(1_760_000_000))], false))),
    )
    .await;
    let keys = |p: &str| get(&format!("projects/{p}/api_keys")).and(query_param("owner_project_access", "any"));
    mount(
        server,
        keys("proj_FAKE_main").and(query_param_is_missing("after")).respond_with(ok(list(
            vec![api_key("key_FAKE_web", "web frontend", 1_770_000_000, Some(1_772_400_000))],
            true,
        ))),
    )
    .await;
    mount(
        server,
        keys("proj_FAKE_main")
            .and(query_param("after", "key_FAKE_web"))
            .respond_with(ok(list(vec![api_key("key_FAKE_batch", "batch jobs", 1_770_000_100, None)], false))),
    )
    .await;
    mount(
        server,
        keys("proj_FAKE_tools")
            .respond_with(ok(list(vec![api_key("key_FAKE_ops", "ops scripts", 1_770_000_200, None)], false))),
    )
    .await;
    mount(
        server,
        keys("proj_FAKE_legacy").respond_with(ok(list(
            vec![api_key("key_FAKE_old", "old prototype", 1_700_000_000, Some(1_760_000_000))],
            false,
        ))),
    )
    .await;
}

fn add_source(cli: &Cli, server: &MockServer, name: &str) {
    let url = format!("{}/v1", server.uri());
    cli.run(&["source", "add", "openai", "--name", name, "--base-url", &url, "--key-env", "BURNRATE_TEST_OPENAI_KEY"])
        .ok();
}

fn cli_with_prices() -> Cli {
    let cli = Cli::new();
    std::fs::write(cli.data_dir.path().join("model-prices.json"), PRICES).unwrap();
    cli
}

// ---------------------------------------------------------------------------------------
// Expectations.

/// (day, key_id, key_name, model, kind) -> micros, from a `report daily --json`.
type Report = BTreeMap<(String, Option<String>, Option<String>, Option<String>, String), i64>;

fn report(cli: &Cli, by: &[&str]) -> Report {
    let mut args = vec!["report", "daily", "--from", FROM, "--to", TO, "--json"];
    for b in by {
        args.extend(["--by", b]);
    }
    let rows = cli.run(&args).ok().json();
    let mut out = Report::new();
    for r in rows.as_array().unwrap() {
        assert_eq!(r["currency"], "USD");
        let s = |f: &str| r[f].as_str().map(str::to_owned);
        let id = (s("day").unwrap(), s("key_id"), s("key_name"), s("model"), s("kind").unwrap());
        assert!(out.insert(id, parse_amount(r["amount"].as_str().unwrap())).is_none(), "duplicate row {r}");
    }
    out
}

fn only(report: &Report, kind: &str) -> Report {
    report.iter().filter(|(k, _)| k.4 == kind).map(|(k, v)| (k.clone(), *v)).collect()
}

fn expected_billed_by_key() -> Report {
    let mut out = Report::new();
    for c in costs() {
        let id = (utc_day(DAY0 + c.day * 86_400), c.key.map(Into::into), Some(key_name(c.key)), None, "billed".into());
        *out.entry(id).or_default() += (c.tenth_micros + 5) / 10;
    }
    out
}

fn expected_estimates(by_key: bool, by_model: bool) -> Report {
    let mut out = Report::new();
    for u in completions().iter().chain(embeddings().iter()) {
        let id = (
            utc_day(DAY0 + u.hour * 3_600),
            if by_key { u.key.map(Into::into) } else { None },
            by_key.then(|| key_name(u.key)),
            if by_model { u.model.map(Into::into) } else { None },
            "estimated".into(),
        );
        *out.entry(id).or_default() += estimate(u);
    }
    out
}

fn assert_reports(cli: &Cli) -> [Report; 3] {
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    // Billed money per key per day, and estimates per model per day (costs have no model).
    let by_key = report(cli, &["key"]);
    assert_eq!(only(&by_key, "billed"), expected_billed_by_key());
    let by_model = report(cli, &["model"]);
    assert_eq!(only(&by_model, "estimated"), expected_estimates(false, true));
    let by_both = report(cli, &["key", "model"]);
    assert_eq!(only(&by_both, "estimated"), expected_estimates(true, true));
    [by_key, by_model, by_both]
}

fn ledger_state(cli: &Cli) -> (i64, i64, i64) {
    cli.db()
        .query_row("SELECT count(*), sum(amount_micros), sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) FROM spend", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_days_of_costs_usage_and_key_names_survive_faults_and_resyncs() {
    let server = MockServer::start().await;
    mount_faults(&server).await;
    mount_good(&server).await;
    let cli = cli_with_prices();
    add_source(&cli, &server, "work");

    let run = cli.run(&["--timeout", "1", "--retries", "3", "sync", "--from", FROM, "--to", TO]).ok();
    assert!(run.stdout.contains("ok: work: ") && run.stdout.contains(&format!("for {FROM}..{TO}")), "{}", run.stdout);
    // Every fault was met and retried past.
    let requests = server.received_requests().await.unwrap();
    let count = |p: &str, q: (&str, &str)| {
        requests
            .iter()
            .filter(|r| {
                r.url.path() == format!("/v1/organization/{p}")
                    && r.url.query_pairs().any(|(k, v)| k == q.0 && v == q.1)
            })
            .count()
    };
    assert_eq!(count("costs", ("page", "costs_FAKE_p2")), 2, "429 then the page");
    assert_eq!(count("usage/completions", ("page", "usage_FAKE_p2")), 2, "500 then the page");
    assert_eq!(count("projects", ("include_archived", "true")), 3, "timed out, then pages 1 and 2");
    assert_eq!(count("projects/proj_FAKE_main/api_keys", ("after", "key_FAKE_web")), 2, "429 then the page");

    let first = assert_reports(&cli);
    // The hourly estimates roll up into the same ten days; spend without a key or model is
    // reported as not attributed (model null), an unpriced model as 0 with its tokens kept.
    let by_model = &first[1];
    assert!(by_model.keys().any(|k| k.3.is_none() && k.4 == "estimated"));
    assert!(by_model.iter().any(|(k, v)| k.3.as_deref() == Some("ft:gpt-fake-custom") && *v == 0));
    let tokens: i64 = cli
        .db()
        .query_row(
            "SELECT sum(input_tokens) FROM spend WHERE model = 'ft:gpt-fake-custom' AND kind = 'estimated'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        tokens,
        completions().iter().filter(|u| u.model == Some("ft:gpt-fake-custom")).map(|u| u.input).sum::<i64>()
    );

    // Names, fingerprints and projects from the key lists; the archived project's key is kept
    // and marked disabled; the deleted key has no record.
    let keys = cli
        .db()
        .prepare("SELECT provider_key_id, display_name, fingerprint, project, created_at, last_used_at, disabled FROM api_keys ORDER BY provider_key_id")
        .unwrap()
        .query_map([], |r| {
            Ok(json!([r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, Option<String>>(3)?,
                      r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?, r.get::<_, bool>(6)?]))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    assert_eq!(
        Value::Array(keys),
        json!([
            ["key_FAKE_batch", "batch jobs", "sk-proj-****tch", "Main app", 1_770_000_100, null, false],
            ["key_FAKE_old", "old prototype", "sk-proj-****old", "Legacy", 1_700_000_000, 1_760_000_000, true],
            ["key_FAKE_ops", "ops scripts", "sk-proj-****ops", "Internal tools", 1_770_000_200, null, false],
            ["key_FAKE_web", "web frontend", "sk-proj-****web", "Main app", 1_770_000_000, 1_772_400_000, false],
        ])
    );

    // A second sync, with the faults used up, changes nothing.
    let state = ledger_state(&cli);
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_eq!(assert_reports(&cli), first);
    assert_eq!(ledger_state(&cli), state);

    // A body cut off mid-way fails that sync and writes nothing; the next sync is whole again.
    // (A cut in the transport itself is covered by cli_contract.rs with a raw TCP server:
    // wiremock's server refuses to send fewer bytes than it announced.)
    Mock::given(method("GET"))
        .and(path("/v1/organization/usage/embeddings"))
        .respond_with(ok(r#"{"object":"page","data":[{"object":"bucket","start_time":1771632000,"#.into()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    assert!(
        run.stderr
            .contains("error: work: OpenAI sent a response Burnrate cannot read at GET /organization/usage/embeddings"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger_state(&cli), state, "a failed sync writes nothing");
    assert_eq!(assert_reports(&cli), first);
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_eq!(assert_reports(&cli), first);
    assert_eq!(ledger_state(&cli), state);
    cli.assert_key_in_no_file(FAKE_KEY);

    // The unpriced model is named with its tokens, never silently worth 0; once priced, the
    // next sync estimates it and it is no longer named.
    let custom = |u: &Value| u["model"] == "ft:gpt-fake-custom";
    let unpriced = cli.run(&["prices", "unpriced", "--from", FROM, "--to", TO, "--json"]).ok().json();
    let named: Vec<&Value> = unpriced.as_array().unwrap().iter().filter(|u| custom(u)).collect();
    let custom_tokens: i64 =
        completions().iter().filter(|u| u.model == Some("ft:gpt-fake-custom")).map(|u| u.input + u.output).sum();
    assert_eq!(named.len(), 1, "{unpriced:#}");
    assert_eq!(named[0]["tokens"], json!(custom_tokens));
    assert!(named[0]["message"].as_str().unwrap().ends_with("tokens of ft:gpt-fake-custom not priced"));
    let table = cli.run(&["prices", "unpriced", "--from", FROM, "--to", TO]).ok().stdout;
    assert!(table.contains("ft:gpt-fake-custom") && table.contains("burnrate prices set"), "{table}");
    let set = cli.run(&["prices", "set", "ft:gpt-fake-custom", "--input", "3", "--output", "12"]).ok().stdout;
    assert!(set.starts_with("priced ft:gpt-fake-custom: 3 USD per million input tokens"), "{set}");
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    let unpriced = cli.run(&["prices", "unpriced", "--from", FROM, "--to", TO, "--json"]).ok().json();
    assert!(!unpriced.as_array().unwrap().iter().any(custom), "{unpriced:#}");
    let by_model = report(&cli, &["model"]);
    let priced: i64 =
        by_model.iter().filter(|(k, _)| k.3.as_deref() == Some("ft:gpt-fake-custom")).map(|(_, v)| v).sum();
    assert!(priced > 0, "{by_model:?}");
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    let bad = cli.run(&["prices", "set", "x", "--input", "cheap", "--output", "1"]).failed();
    assert!(bad.stderr.contains("not a price in USD per million tokens"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_examples_sync() {
    // OpenAI's own example responses, verbatim: spend on 2024-11-01 without a key, and a
    // usage page that says more pages follow (the second answers empty).
    let server = MockServer::start().await;
    let empty_page = r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#;
    mount(&server, get("costs").respond_with(ok(fixture("openai/costs_example.json")))).await;
    mount(
        &server,
        get("usage/completions")
            .and(query_param("page", "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="))
            .respond_with(ok(empty_page.into())),
    )
    .await;
    mount(&server, get("usage/completions").respond_with(ok(fixture("openai/usage_completions_example.json")))).await;
    mount(&server, get("usage/embeddings").respond_with(ok(fixture("openai/usage_embeddings_example.json")))).await;
    mount(&server, get("projects").respond_with(ok(fixture("openai/projects_example.json")))).await;
    mount(&server, get("projects/proj_abc/api_keys").respond_with(ok(fixture("openai/project_api_keys_example.json"))))
        .await;
    let cli = cli_with_prices();
    add_source(&cli, &server, "docs");
    cli.run(&["sync", "--from", "2024-11-01", "--to", "2024-11-01"]).ok();
    let rows = cli
        .run(&["report", "daily", "--from", "2024-11-01", "--to", "2024-11-01", "--by", "key", "--json"])
        .ok()
        .json();
    let billed: Vec<&Value> = rows.as_array().unwrap().iter().filter(|r| r["kind"] == "billed").collect();
    assert_eq!(billed.len(), 1, "{rows:#}");
    assert_eq!(
        (billed[0]["key_name"].as_str(), billed[0]["amount"].as_str()),
        (Some("not attributed to a key"), Some("0.060000"))
    );
    let name: String = cli
        .db()
        .query_row("SELECT display_name FROM api_keys WHERE provider_key_id = 'key_abc'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "My API Key");
    // Both usage examples have a null model: tokens kept, no price.
    let tokens: (i64, i64) = cli
        .db()
        .query_row("SELECT sum(input_tokens), sum(amount_micros) FROM spend WHERE kind = 'estimated'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(tokens, (1000 + 16, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_key_gets_one_line_naming_the_admin_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("openai/error_401.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = Cli::new();
    add_source(&cli, &server, "proj");
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: proj: OpenAI rejected the key (401 at GET /organization/costs"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("Admin API key (sk-admin-…)"), "{}", lines[0]);
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}
