//! Anthropic end to end: the real binary against a loopback mock of the Admin API serving
//! Anthropic's documented shapes over ten days: several keys (active, inactive, archived,
//! expired, deleted, and Console usage without a key), several models (one without a list
//! price), workspaces (default, named, archived), several pages of every endpoint, and empty
//! buckets. The expected report is derived from the served data with integer arithmetic.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::providers::ProviderId;
use common::{fixture, Cli};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "sk-ant-admin01-FAKEFAKEFAKEFAKEFAKEFAKE0042";
const KEY_ENV: &str = "BURNRATE_TEST_ANTHROPIC_KEY";
const FROM: &str = "2026-02-18";
const TO: &str = "2026-02-27";
const DAYS: [&str; 10] = [
    "2026-02-18",
    "2026-02-19",
    "2026-02-20",
    "2026-02-21",
    "2026-02-22",
    "2026-02-23",
    "2026-02-24",
    "2026-02-25",
    "2026-02-26",
    "2026-02-27",
];
/// Day with no activity at all: every bucket of it is served with `results: []`.
const IDLE_DAY: usize = 4;

const SONNET: &str = "claude-sonnet-4-5-20250929";
const HAIKU: &str = "claude-haiku-4-5-20251001";
const UNPRICED: &str = "claude-unpriced-FAKE";
const MODELS: [&str; 3] = [SONNET, HAIKU, UNPRICED];

const WS_PROD: &str = "wrkspc_FAKE_prod";
const WS_OLD: &str = "wrkspc_FAKE_old";

/// List prices the test installs in the data directory, in 10⁻⁸ USD per token:
/// (input, output, cache read, cache write 5m). The table's names have no date suffix, so
/// the served dated model names also exercise the suffix lookup.
const PRICES: [(&str, [i64; 4]); 2] =
    [("claude-sonnet-4-5", [300, 1500, 30, 375]), ("claude-haiku-4-5", [100, 500, 10, 125])];

fn price_table_json() -> String {
    let models: serde_json::Map<String, Value> = PRICES
        .iter()
        .map(|(name, [i, o, r, w])| {
            let per_token = |p: &i64| format!("{p}e-08");
            (name.to_string(), json!({"input": per_token(i), "output": per_token(o), "cache_read": per_token(r), "cache_write": per_token(w)}))
        })
        .collect();
    json!({ "models": models }).to_string()
}

struct Key {
    id: &'static str,
    name: &'static str,
    hint: &'static str,
    status: &'static str,
    workspace: Option<&'static str>,
}

/// Keys in the api_keys list (two pages). `apikey_FAKE_deleted` has usage but is not listed.
const KEYS: [Key; 5] = [
    Key { id: "apikey_FAKE_01", name: "backend", hint: "sk-ant-api03-Ab1...X9k2", status: "active", workspace: None },
    Key {
        id: "apikey_FAKE_02",
        name: "ci",
        hint: "sk-ant-api03-Cd3...Q7w1",
        status: "active",
        workspace: Some(WS_PROD),
    },
    Key {
        id: "apikey_FAKE_03",
        name: "paused",
        hint: "sk-ant-api03-Ef5...Zz00",
        status: "inactive",
        workspace: Some(WS_PROD),
    },
    Key {
        id: "apikey_FAKE_04",
        name: "old-lab",
        hint: "sk-ant-api03-Gh7...Lab4",
        status: "archived",
        workspace: Some(WS_OLD),
    },
    Key { id: "apikey_FAKE_05", name: "temp", hint: "sk-ant-api03-Ij9...Tmp5", status: "expired", workspace: None },
];
const DELETED_KEY: &str = "apikey_FAKE_deleted";

/// Usage keys: listed ones, a deleted one, and None = Console usage (null api_key_id).
fn usage_keys() -> Vec<(Option<&'static str>, Option<&'static str>)> {
    let mut keys: Vec<_> = KEYS.iter().map(|k| (Some(k.id), k.workspace)).collect();
    keys.push((Some(DELETED_KEY), Some(WS_PROD)));
    keys.push((None, None));
    keys
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// One cost-report line; `units` are 10⁻⁵ cents (the served decimal string has five places).
struct CostLine {
    day: usize,
    workspace: Option<&'static str>,
    model: Option<&'static str>,
    description: String,
    units: i64,
}

/// One usage result: tokens are (uncached, cache write 5m, cache write 1h, cache read, output).
struct UsageLine {
    hour: usize,
    key: Option<&'static str>,
    model: &'static str,
    workspace: Option<&'static str>,
    tokens: [i64; 5],
}

struct Data {
    costs: Vec<CostLine>,
    usage: Vec<UsageLine>,
}

fn data() -> Data {
    let mut rng = Lcg(0x5eed_f00d);
    let mut costs = Vec::new();
    for day in 0..DAYS.len() {
        if day == IDLE_DAY {
            continue;
        }
        for ws in [None, Some(WS_PROD), Some(WS_OLD)] {
            if ws == Some(WS_OLD) && day > 5 {
                continue; // archived mid-window
            }
            for model in MODELS {
                if rng.next(4) == 0 {
                    continue;
                }
                for token_type in ["Input Tokens", "Output Tokens", "Cache Write Tokens", "Cache Read Tokens"] {
                    costs.push(CostLine {
                        day,
                        workspace: ws,
                        model: Some(model),
                        description: format!("{model} Usage - {token_type}"),
                        units: rng.next(9_000_000) as i64 + 1,
                    });
                }
            }
            // A cost without a model (web search), and a tiny line that only matters summed.
            costs.push(CostLine {
                day,
                workspace: ws,
                model: None,
                description: "Web Search".into(),
                units: 1_000_000,
            });
            costs.push(CostLine { day, workspace: ws, model: None, description: "Code Execution".into(), units: 7 });
        }
    }
    let mut usage = Vec::new();
    for hour in 0..DAYS.len() * 24 {
        if hour / 24 == IDLE_DAY || rng.next(5) != 0 {
            continue; // most hours are empty buckets
        }
        for (key, workspace) in usage_keys() {
            if rng.next(3) == 0 {
                continue;
            }
            for model in MODELS {
                if rng.next(2) == 0 {
                    continue;
                }
                let tokens = [
                    rng.next(200_000) as i64 + 1,
                    rng.next(30_000) as i64,
                    rng.next(20_000) as i64,
                    rng.next(500_000) as i64,
                    rng.next(40_000) as i64 + 1,
                ];
                usage.push(UsageLine { hour, key, model, workspace, tokens });
            }
        }
    }
    Data { costs, usage }
}

fn cents_text(units: i64) -> String {
    format!("{}.{:05}", units / 100_000, units % 100_000)
}

fn rfc3339_day(day: usize) -> String {
    format!("{}T00:00:00Z", DAYS[day])
}

fn rfc3339_hour(hour: usize) -> String {
    format!("{}T{:02}:00:00Z", DAYS[hour / 24], hour % 24)
}

fn end_of_window() -> &'static str {
    "2026-02-28T00:00:00Z"
}

fn day_end(day: usize) -> String {
    if day + 1 < DAYS.len() {
        rfc3339_day(day + 1)
    } else {
        end_of_window().to_owned()
    }
}

/// Rounds `value / divisor` half away from zero.
fn div_round(value: i64, divisor: i64) -> i64 {
    let q = value / divisor;
    let r = value % divisor;
    if 2 * r.abs() >= divisor {
        q + value.signum()
    } else {
        q
    }
}

fn fmt_micros(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "" };
    format!("{sign}{}.{:06}", m.abs() / 1_000_000, m.abs() % 1_000_000)
}

impl Data {
    fn cost_results(&self, day: usize, lines: std::ops::Range<usize>) -> Vec<Value> {
        let day_lines: Vec<&CostLine> = self.costs.iter().filter(|c| c.day == day).collect();
        let end = lines.end.min(day_lines.len());
        day_lines[lines.start.min(end)..end]
            .iter()
            .map(|c| {
                json!({
                    "amount": cents_text(c.units),
                    "context_window": if c.model.is_some() { json!("0-200k") } else { Value::Null },
                    "cost_type": if c.model.is_some() { "tokens" } else { "web_search" },
                    "currency": "USD",
                    "description": c.description,
                    "inference_geo": "global",
                    "model": c.model,
                    "service_tier": "standard",
                    "token_type": Value::Null,
                    "workspace_id": c.workspace,
                })
            })
            .collect()
    }

    /// Three pages; day 3's lines are split between pages 1 and 2.
    fn cost_page(&self, page: Option<&str>) -> Value {
        let bucket = |day: usize, lines: std::ops::Range<usize>| json!({"starting_at": rfc3339_day(day), "ending_at": day_end(day), "results": self.cost_results(day, lines)});
        let all = 0..usize::MAX;
        match page {
            None => json!({
                "data": [bucket(0, all.clone()), bucket(1, all.clone()), bucket(2, all.clone()), bucket(3, 0..5)],
                "has_more": true, "next_page": "page_FAKE_cost_2"
            }),
            Some("page_FAKE_cost_2") => json!({
                "data": [bucket(3, 5..usize::MAX), bucket(4, all.clone()), bucket(5, all.clone()), bucket(6, all.clone())],
                "has_more": true, "next_page": "page_FAKE_cost_3"
            }),
            Some("page_FAKE_cost_3") => json!({
                "data": [bucket(7, all.clone()), bucket(8, all.clone()), bucket(9, all)],
                "has_more": false, "next_page": null
            }),
            Some(other) => panic!("unknown cost page {other}"),
        }
    }

    /// Every hour of the window, 168 per page (the API's maximum): two pages.
    fn usage_page(&self, page: Option<&str>) -> Value {
        let hours = match page {
            None => 0..168,
            Some("page_FAKE_usage_2") => 168..DAYS.len() * 24,
            Some(other) => panic!("unknown usage page {other}"),
        };
        let last = hours.end == DAYS.len() * 24;
        let data: Vec<Value> = hours
            .map(|hour| {
                let results: Vec<Value> = self
                    .usage
                    .iter()
                    .filter(|u| u.hour == hour)
                    .map(|u| {
                        let [uncached, c5m, c1h, read, out] = u.tokens;
                        json!({
                            "account_id": null,
                            "api_key_id": u.key,
                            "cache_creation": {"ephemeral_1h_input_tokens": c1h, "ephemeral_5m_input_tokens": c5m},
                            "cache_read_input_tokens": read,
                            "context_window": "0-200k",
                            "inference_geo": "global",
                            "model": u.model,
                            "output_tokens": out,
                            "server_tool_use": {"web_search_requests": 0},
                            "service_account_id": null,
                            "service_tier": "standard",
                            "uncached_input_tokens": uncached,
                            "workspace_id": u.workspace,
                        })
                    })
                    .collect();
                let end = if hour + 1 == DAYS.len() * 24 { end_of_window().to_owned() } else { rfc3339_hour(hour + 1) };
                json!({"starting_at": rfc3339_hour(hour), "ending_at": end, "results": results})
            })
            .collect();
        json!({"data": data, "has_more": !last, "next_page": if last { Value::Null } else { json!("page_FAKE_usage_2") }})
    }

    /// Billed micro-USD per (day, model) as the report shows it: the connector sums each
    /// (day, model, workspace)'s cents exactly and rounds once; the report adds those rows.
    fn expected_billed(&self) -> BTreeMap<(String, String), i64> {
        let mut exact: BTreeMap<(usize, Option<&str>, Option<&str>), i64> = BTreeMap::new();
        for c in &self.costs {
            *exact.entry((c.day, c.model, c.workspace)).or_default() += c.units;
        }
        let mut out = BTreeMap::new();
        for ((day, model, _), units) in exact {
            // 10⁻⁵ cents = 10⁻⁷ USD = a tenth of a micro-dollar.
            *out.entry((DAYS[day].to_owned(), model.unwrap_or("not attributed to a model").to_owned())).or_default() +=
                div_round(units, 10);
        }
        out
    }

    /// Estimated micro-USD per (day, key id): tokens × the installed list prices, rounded per
    /// hourly row; 1-hour cache writes at twice the input price; unpriced models count 0.
    fn expected_estimated(&self) -> BTreeMap<(String, Option<String>), i64> {
        // (hour, key, model, workspace): the identity of one hourly row.
        type Identity<'a> = (usize, Option<&'a str>, &'a str, Option<&'a str>);
        let mut rows: BTreeMap<Identity<'_>, [i64; 5]> = BTreeMap::new();
        for u in &self.usage {
            let t = rows.entry((u.hour, u.key, u.model, u.workspace)).or_default();
            for (sum, n) in t.iter_mut().zip(u.tokens) {
                *sum += n;
            }
        }
        let mut out = BTreeMap::new();
        for ((hour, key, model, _), [uncached, c5m, c1h, read, output]) in rows {
            let micros = match PRICES.iter().find(|(name, _)| model.starts_with(name)) {
                Some((_, [input, out_p, read_p, write_p])) => {
                    let cost = input * (uncached + 2 * c1h) + write_p * c5m + read_p * read + out_p * output;
                    div_round(cost, 100) // 10⁻⁸ USD -> micro-USD
                }
                None => 0,
            };
            *out.entry((DAYS[hour / 24].to_owned(), key.map(str::to_owned))).or_default() += micros;
        }
        out
    }
}

fn key_json(k: &Key) -> Value {
    json!({
        "id": k.id,
        "created_at": "2025-11-02T10:20:30.123456Z",
        "created_by": {"id": "user_FAKE", "type": "user"},
        "expires_at": if k.status == "expired" { json!("2026-01-01T00:00:00Z") } else { Value::Null },
        "name": k.name,
        "partial_key_hint": k.hint,
        "status": k.status,
        "type": "api_key",
        "workspace_id": k.workspace,
    })
}

fn keys_page(after: Option<&str>, status: Option<&str>) -> Value {
    let listed: Vec<&Key> = KEYS.iter().filter(|k| status.is_none_or(|s| s == k.status)).collect();
    let start = after.map_or(0, |a| listed.iter().position(|k| k.id == a).map_or(listed.len(), |i| i + 1));
    // Three per page here, whatever the requested limit, to make two pages.
    let page: Vec<&&Key> = listed.iter().skip(start).take(3).collect();
    let has_more = start + page.len() < listed.len();
    json!({
        "data": page.iter().map(|k| key_json(k)).collect::<Vec<_>>(),
        "first_id": page.first().map(|k| k.id),
        "has_more": has_more,
        "last_id": page.last().map(|k| k.id),
    })
}

fn workspaces_page(include_archived: bool) -> Value {
    let mut data = vec![json!({
        "id": WS_PROD, "archived_at": null, "created_at": "2025-01-01T00:00:00Z",
        "data_residency": {"allowed_inference_geos": "unrestricted", "default_inference_geo": "global", "workspace_geo": "us"},
        "display_color": "#6C5BB9", "name": "Production", "tags": {}, "type": "workspace"
    })];
    if include_archived {
        data.push(json!({
            "id": WS_OLD, "archived_at": "2026-02-24T00:00:00Z", "created_at": "2025-01-01T00:00:00Z",
            "display_color": "#000000", "name": "Old experiments", "type": "workspace"
        }));
    }
    json!({"data": data, "first_id": WS_PROD, "has_more": false, "last_id": data.last().unwrap()["id"]})
}

fn bad_request(message: String) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "type": "error", "error": {"type": "invalid_request_error", "message": message}, "request_id": "req_FAKE"
    }))
}

/// Answers the four Admin endpoints from [`Data`], checking the query like the API would.
struct AdminApi(Arc<Data>);

impl AdminApi {
    fn body(&self, req: &Request) -> Result<Value, String> {
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let one = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let many = |k: &str| q.iter().filter(|(n, _)| n == k).map(|(_, v)| v.as_str()).collect::<BTreeSet<_>>();
        let check = |k: &str, v: &str| {
            if one(k) == Some(v) {
                Ok(())
            } else {
                Err(format!("{k} should be {v}, got {:?}", one(k)))
            }
        };
        match req.url.path() {
            "/v1/organizations/cost_report" => {
                check("starting_at", &rfc3339_day(0))?;
                check("ending_at", end_of_window())?;
                check("bucket_width", "1d")?;
                check("limit", "31")?;
                if many("group_by[]") != BTreeSet::from(["workspace_id", "description"]) {
                    return Err(format!("cost group_by[] {:?}", many("group_by[]")));
                }
                Ok(self.0.cost_page(one("page")))
            }
            "/v1/organizations/usage_report/messages" => {
                check("starting_at", &rfc3339_day(0))?;
                check("ending_at", end_of_window())?;
                check("bucket_width", "1h")?;
                check("limit", "168")?;
                if !many("group_by[]").is_superset(&BTreeSet::from(["api_key_id", "model"])) {
                    return Err(format!("usage group_by[] {:?}", many("group_by[]")));
                }
                Ok(self.0.usage_page(one("page")))
            }
            "/v1/organizations/api_keys" => {
                check("limit", "1000")?;
                Ok(keys_page(one("after_id"), one("status")))
            }
            "/v1/organizations/workspaces" => Ok(workspaces_page(one("include_archived") == Some("true"))),
            other => Err(format!("no such endpoint {other}")),
        }
    }
}

impl Respond for AdminApi {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        match self.body(req) {
            Ok(body) => ResponseTemplate::new(200).set_body_json(body),
            Err(message) => bad_request(message),
        }
    }
}

async fn mount_api(server: &MockServer, data: Arc<Data>) {
    Mock::given(method("GET"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(AdminApi(data))
        .mount(server)
        .await;
}

fn cli() -> Cli {
    let mut cli = Cli::new();
    cli.env.push((KEY_ENV.into(), KEY.into()));
    std::fs::write(cli.data_dir.path().join("model-prices.json"), price_table_json()).unwrap();
    cli
}

fn add_source(cli: &Cli, name: &str, server: &MockServer) {
    cli.run(&["source", "add", "anthropic", "--name", name, "--base-url", &server.uri(), "--key-env", KEY_ENV]).ok();
}

fn report(cli: &Cli, by: Option<&str>) -> Value {
    let mut args = vec!["report", "daily", "--from", FROM, "--to", TO, "--json"];
    if let Some(by) = by {
        args.extend(["--by", by]);
    }
    let run = cli.run(&args).ok();
    assert!(!run.stdout.contains(KEY) && !run.stderr.contains(KEY));
    run.json()
}

fn rows_of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report.as_array().unwrap().iter().filter(|r| r["kind"] == kind).collect()
}

/// Billed per (day, model) from a `--by model` report.
fn billed_by_model(report: &Value) -> BTreeMap<(String, String), String> {
    rows_of_kind(report, "billed")
        .into_iter()
        .map(|r| {
            assert_eq!(r["currency"], "USD");
            (
                (r["day"].as_str().unwrap().to_owned(), r["model_name"].as_str().unwrap().to_owned()),
                r["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Estimated per (day, key id) from a `--by key` report, with the key's display name.
fn estimated_by_key(report: &Value) -> BTreeMap<(String, Option<String>), (String, String)> {
    rows_of_kind(report, "estimated")
        .into_iter()
        .map(|r| {
            assert_eq!(r["currency"], "USD");
            (
                (r["day"].as_str().unwrap().to_owned(), r["key_id"].as_str().map(str::to_owned)),
                (r["key_name"].as_str().unwrap().to_owned(), r["amount"].as_str().unwrap().to_owned()),
            )
        })
        .collect()
}

fn key_name(id: &Option<String>) -> String {
    match id {
        None => "not attributed to a key".into(),
        Some(id) => KEYS.iter().find(|k| k.id == id).map_or(id.clone(), |k| k.name.to_owned()),
    }
}

fn assert_matches_served(cli: &Cli, data: &Data) {
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    let expected_billed: BTreeMap<_, _> = data.expected_billed().into_iter().map(|(k, v)| (k, fmt_micros(v))).collect();
    assert_eq!(billed_by_model(&report(cli, Some("model"))), expected_billed);

    let expected_est: BTreeMap<_, _> =
        data.expected_estimated().into_iter().map(|(k, v)| (k.clone(), (key_name(&k.1), fmt_micros(v)))).collect();
    assert_eq!(estimated_by_key(&report(cli, Some("key"))), expected_est);

    // Day totals of the billed money: per model and per workspace sum to the same.
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for ((day, _), micros) in data.expected_billed() {
        *per_day.entry(day).or_default() += micros;
    }
    let totals: BTreeMap<String, String> = rows_of_kind(&report(cli, None), "billed")
        .into_iter()
        .map(|r| (r["day"].as_str().unwrap().to_owned(), r["amount"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(totals, per_day.into_iter().map(|(d, m)| (d, fmt_micros(m))).collect::<BTreeMap<_, _>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_days_of_costs_and_usage_report_to_the_micro_dollar_per_model_and_key() {
    let data = Arc::new(data());
    // The generated data covers what it must: every kind of key, and lines that only round right summed.
    assert!(data.usage.iter().any(|u| u.key.is_none()) && data.usage.iter().any(|u| u.key == Some(DELETED_KEY)));
    for k in &KEYS {
        assert!(data.usage.iter().any(|u| u.key == Some(k.id)), "{} has usage", k.id);
    }
    assert!(data.usage.iter().any(|u| u.model == UNPRICED));

    let server = MockServer::start().await;
    mount_api(&server, data.clone()).await;
    let cli = cli();
    add_source(&cli, "claude", &server);

    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert!(run.stdout.contains("ok: claude: ") && run.stdout.contains(&format!("for {FROM}..{TO}")), "{}", run.stdout);
    assert_matches_served(&cli, &data);

    // Every page of every endpoint was read, and the key filter was never narrowed by status.
    let requests = server.received_requests().await.unwrap();
    let count = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
    assert_eq!(count("/v1/organizations/cost_report"), 3);
    assert_eq!(count("/v1/organizations/usage_report/messages"), 2);
    assert_eq!(count("/v1/organizations/api_keys"), 2);
    assert_eq!(count("/v1/organizations/workspaces"), 1);
    assert!(requests.iter().all(|r| !r.url.query_pairs().any(|(k, _)| k == "status")));

    // Key names, workspaces (archived ones included), fingerprints from the hints, statuses.
    let db = cli.db();
    let mut stmt = db
        .prepare("SELECT provider_key_id, display_name, fingerprint, project, disabled FROM api_keys ORDER BY provider_key_id")
        .unwrap();
    let keys: Vec<(String, String, String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected_keys: Vec<_> = KEYS
        .iter()
        .map(|k| {
            let project = match k.workspace {
                None => "Default",
                Some(WS_PROD) => "Production",
                Some(_) => "Old experiments",
            };
            let tail = k.hint.rsplit_once("...").unwrap().1;
            (k.id.to_owned(), k.name.to_owned(), format!("sk-…{tail}"), project.to_owned(), k.status != "active")
        })
        .collect();
    assert_eq!(keys, expected_keys);

    // Estimated rows are hourly and keep their tokens; billed rows are daily.
    let (est_rows, hours, input, output): (i64, i64, i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT bucket_start), sum(input_tokens), sum(output_tokens) FROM spend
             WHERE kind = 'estimated' AND bucket_width = 'hour'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let served_hours: BTreeSet<usize> = data.usage.iter().map(|u| u.hour).collect();
    assert_eq!(hours, served_hours.len() as i64);
    assert_eq!(est_rows, data.usage.len() as i64, "one row per hour × key × model × workspace");
    assert_eq!(input, data.usage.iter().map(|u| u.tokens[..4].iter().sum::<i64>()).sum::<i64>());
    assert_eq!(output, data.usage.iter().map(|u| u.tokens[4]).sum::<i64>());
    let other_widths: i64 = db
        .query_row(
            "SELECT count(*) FROM spend WHERE (kind = 'billed' AND bucket_width != 'day') OR (kind = 'estimated' AND bucket_width != 'hour')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(other_widths, 0);
    let unattributed_billed: i64 =
        db.query_row("SELECT count(*) FROM spend WHERE kind = 'billed' AND key_id != ''", [], |r| r.get(0)).unwrap();
    assert_eq!(unattributed_billed, 0, "the cost report has no key dimension");

    // A second sync of the same window replaces and changes nothing.
    let before = (report(&cli, Some("key")), report(&cli, Some("model")), report(&cli, None));
    let spend_rows =
        |db: &rusqlite::Connection| -> i64 { db.query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap() };
    let n = spend_rows(&db);
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_eq!((report(&cli, Some("key")), report(&cli, Some("model")), report(&cli, None)), before);
    assert_eq!(spend_rows(&db), n);
    cli.assert_key_in_no_file(KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_server_errors_timeouts_and_truncated_bodies_end_in_the_same_report() {
    let data = Arc::new(data());
    let server = MockServer::start().await;
    let auth = || Mock::given(method("GET")).and(header("x-api-key", KEY));
    // First sync: the second usage page arrives cut off. Nothing may be written.
    let usage2 = serde_json::to_string(&data.usage_page(Some("page_FAKE_usage_2"))).unwrap();
    auth()
        .and(path("/v1/organizations/usage_report/messages"))
        .and(query_param("page", "page_FAKE_usage_2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(usage2[..usage2.len() / 2].to_owned(), "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // Second sync: a 429, a 500 and a slow answer, each once, on endpoints the first never reached.
    auth()
        .and(path("/v1/organizations/workspaces"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(json!({
            "type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit"}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    auth()
        .and(path("/v1/organizations/api_keys"))
        .and(query_param_is_missing("after_id"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)).set_body_json(keys_page(None, None)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    auth()
        .and(path("/v1/organizations/api_keys"))
        .and(query_param("after_id", KEYS[2].id))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_json(json!({
            "type": "error", "error": {"type": "api_error", "message": "Internal server error"}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_api(&server, data.clone()).await;

    let cli = cli();
    add_source(&cli, "claude", &server);
    let args = ["--timeout", "1", "--retries", "3", "sync", "--from", FROM, "--to", TO];
    let run = cli.run(&args).failed();
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0]
            .contains("Anthropic sent a response Burnrate cannot read at GET /v1/organizations/usage_report/messages"),
        "{}",
        lines[0]
    );
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "no partial write: the cost report and the first usage page were read but not written");

    cli.run(&args).ok();
    assert_matches_served(&cli, &data);
    let requests = server.received_requests().await.unwrap();
    let count = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
    // Retried: workspaces once (429), api_keys page 1 once (timeout) and page 2 once (500).
    assert_eq!(count("/v1/organizations/workspaces"), 2);
    assert_eq!(count("/v1/organizations/api_keys"), 4);
    assert_eq!(count("/v1/organizations/cost_report"), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_key_is_rejected_with_one_line_naming_the_admin_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("anthropic/error_401.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = cli();
    add_source(&cli, "claude", &server);
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with(
            "error: claude: Anthropic rejected the key (401 at GET /v1/organizations/cost_report: invalid x-api-key)"
        ),
        "{}",
        lines[0]
    );
    // The key type reads as written, not mangled by the redactor into "sk-…in…".
    assert!(lines[0].ends_with(&format!("this endpoint needs: {}", ProviderId::Anthropic.key_kind())), "{}", lines[0]);
    assert!(lines[0].contains("Admin API key (sk-ant-admin…)"), "{}", lines[0]);
    let sources = cli.run(&["source", "list", "--json"]).ok().json();
    assert_eq!(sources[0]["last_sync"]["error"]["code"], "key_rejected");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_error_body_is_shown_and_nothing_is_written() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(fixture("anthropic/error_400_example.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let cli = cli();
    add_source(&cli, "claude", &server);
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    assert!(
        run.stderr.contains(
            "Anthropic answered 400 at GET /v1/organizations/cost_report: messages: roles must alternate between \"user\" and \"assistant\""
        ),
        "{}",
        run.stderr
    );
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}
