//! LiteLLM proxy end to end: the real binary against a loopback mock that behaves like the
//! proxy's `/user/daily/activity` (row-level pagination, each page aggregated from its own rows,
//! so dates split across pages), `/key/list` and `/key/info`.
//!
//! The mock holds "DB rows" like the proxy's `LiteLLM_DailyUserSpend` table and aggregates each
//! page the way LiteLLM's `update_breakdown_metrics` does (floats summed in floating point,
//! `models[m].api_key_breakdown[k]`, PTU flat-cost rows without a key, rows without a model).
//! Expected reports are computed from the same rows with integer micro-dollars.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{fixture, Cli, TruncatingFront};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-FAKELITELLMMASTERFAKE0003";
const KEY_ENV: &str = "BURNRATE_TEST_LITELLM_KEY";
const FROM: &str = "2026-03-01";
const TO: &str = "2026-03-10";
/// Rows per page the mock serves: small, so that dates straddle pages.
const PAGE_ROWS: usize = 7;

fn hash(pair: &str) -> String {
    pair.repeat(32)
}

/// The virtual keys: (hashed token, alias as the activity metadata gives it).
fn keys() -> Vec<(String, Option<&'static str>)> {
    vec![
        (hash("c1"), Some("ci-pipeline")),
        (hash("b2"), Some("batch-jobs")),      // blocked in /key/list
        (hash("d3"), Some("old-deleted-key")), // deleted: only in the activity (alias from LiteLLM's deleted-keys table)
        (hash("e4"), None),                    // the master key itself: no alias, not listed
        (hash("f5"), Some("web-app")),         // on /key/list's second page
    ]
}

const MODELS: [&str; 3] = ["gpt-4o", "claude-sonnet-4", "deepseek-chat"];

/// One row of the proxy's daily spend table.
#[derive(Clone)]
struct Rec {
    date: String,
    /// None: a PTU flat-cost sentinel row, which the proxy shows under its model but under no key.
    key: Option<String>,
    /// None: spend without a model (e.g. MCP tool calls), shown under its key only.
    model: Option<String>,
    micros: i64,
    prompt: i64,
    completion: i64,
    requests: i64,
}

fn records() -> Vec<Rec> {
    let keys = keys();
    let mut out = Vec::new();
    for d in 1..=10i64 {
        let date = format!("2026-03-{d:02}");
        for (ki, (k, _)) in keys.iter().enumerate() {
            let ki = ki as i64;
            // The deleted key stops after day 4; the web key starts on day 6.
            if (ki == 2 && d > 4) || (ki == 4 && d < 6) {
                continue;
            }
            for (mi, m) in MODELS.iter().enumerate() {
                let mi = mi as i64;
                if (d + ki + mi) % 4 == 0 {
                    continue; // not every key uses every model every day
                }
                out.push(Rec {
                    date: date.clone(),
                    key: Some(k.clone()),
                    model: Some((*m).to_owned()),
                    micros: (d * 1_234_567 + ki * 345_679 + mi * 98_765) % 4_000_000 + 1,
                    prompt: 100 * d + 10 * ki + mi,
                    completion: 7 * d + ki,
                    requests: 1 + (d + ki) % 3,
                });
            }
        }
        if d == 2 || d == 7 {
            out.push(Rec {
                date: date.clone(),
                key: Some(keys[0].0.clone()),
                model: None,
                micros: 420_001 + d,
                prompt: 0,
                completion: 0,
                requests: 2,
            });
        }
        if d == 3 || d == 8 {
            out.push(Rec {
                date: date.clone(),
                key: None,
                model: Some("gpt-4o-ptu".into()),
                micros: 5_000_000,
                prompt: 0,
                completion: 0,
                requests: 0,
            });
        }
        if d == 5 {
            // A free local model: tokens, no money.
            out.push(Rec {
                date: date.clone(),
                key: Some(keys[0].0.clone()),
                model: Some("local-llama".into()),
                micros: 0,
                prompt: 500,
                completion: 50,
                requests: 5,
            });
        }
    }
    out
}

fn usd(m: i64) -> f64 {
    m as f64 / 1_000_000.0
}

fn add_metrics(target: &mut Value, r: &Rec) {
    let t = target.as_object_mut().unwrap();
    let spend = t.get("spend").and_then(Value::as_f64).unwrap_or(0.0) + usd(r.micros);
    t.insert("spend".into(), json!(spend));
    for (field, v) in [("prompt_tokens", r.prompt), ("completion_tokens", r.completion), ("api_requests", r.requests)] {
        let n = t.get(field).and_then(Value::as_i64).unwrap_or(0) + v;
        t.insert(field.into(), json!(n));
    }
    let total = t["prompt_tokens"].as_i64().unwrap() + t["completion_tokens"].as_i64().unwrap();
    t.insert("total_tokens".into(), json!(total));
}

fn key_meta(key: &str) -> Value {
    let alias = keys().into_iter().find(|(k, _)| k == key).and_then(|(_, a)| a);
    let exists = key != hash("d3") && key != hash("e4");
    json!({"key_alias": alias, "team_id": null, "user_id": "default_user_id", "user_email": null, "key_exists": exists})
}

fn entry<'a>(map: &'a mut Value, name: &str, with_keys: bool) -> &'a mut Value {
    let m = map.as_object_mut().unwrap();
    m.entry(name.to_owned()).or_insert_with(|| {
        if with_keys {
            json!({"metrics": {}, "metadata": {}, "api_key_breakdown": {}})
        } else {
            json!({"metrics": {}, "metadata": {}})
        }
    })
}

/// The activity pages as the proxy builds them: rows ordered by date desc, id asc; each page
/// aggregated from its own rows only.
fn activity_pages() -> Vec<String> {
    let mut recs = records();
    recs.sort_by(|a, b| b.date.cmp(&a.date)); // stable: keeps id (generation) order within a date
    let chunks: Vec<&[Rec]> = recs.chunks(PAGE_ROWS).collect();
    let total_pages = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, rows)| {
            let mut by_date: Vec<(String, Value)> = Vec::new();
            let mut total_spend = 0.0;
            for r in rows.iter() {
                total_spend += usd(r.micros);
                if by_date.last().map(|(d, _)| d != &r.date).unwrap_or(true) {
                    by_date.push((
                        r.date.clone(),
                        json!({"date": r.date, "metrics": {},
                               "breakdown": {"models": {}, "model_groups": {}, "providers": {}, "endpoints": {},
                                             "mcp_servers": {}, "api_keys": {}, "entities": {}}}),
                    ));
                }
                let day = &mut by_date.last_mut().unwrap().1;
                add_metrics(&mut day["metrics"], r);
                let b = &mut day["breakdown"];
                if let Some(m) = &r.model {
                    let me = entry(&mut b["models"], m, true);
                    add_metrics(&mut me["metrics"], r);
                    if let Some(k) = &r.key {
                        let ke = entry(&mut me["api_key_breakdown"], k, false);
                        add_metrics(&mut ke["metrics"], r);
                        ke["metadata"] = key_meta(k);
                    }
                    let ge = entry(&mut b["model_groups"], m, true);
                    add_metrics(&mut ge["metrics"], r);
                }
                let pe = entry(&mut b["providers"], "openai", true);
                add_metrics(&mut pe["metrics"], r);
                if let Some(k) = &r.key {
                    let ke = entry(&mut b["api_keys"], k, false);
                    add_metrics(&mut ke["metrics"], r);
                    ke["metadata"] = key_meta(k);
                }
            }
            let results: Vec<Value> = by_date.into_iter().map(|(_, v)| v).collect();
            json!({
                "results": results,
                "metadata": {"total_spend": total_spend, "page": i + 1, "total_pages": total_pages,
                             "has_more": i + 1 < total_pages, "api_key_limit": null}
            })
            .to_string()
        })
        .collect()
}

fn format_micros(m: i64) -> String {
    format!("{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn display_name(key: &str) -> String {
    keys().into_iter().find(|(k, _)| k == key).and_then(|(_, a)| a).map(str::to_owned).unwrap_or_else(|| key.to_owned())
}

/// The report `--by` these dimensions should give, from the rows, to the micro-dollar.
fn expected(by_key: bool, by_model: bool) -> Value {
    let mut sums: BTreeMap<(String, Option<String>, Option<String>), i64> = BTreeMap::new();
    for r in records() {
        let key = by_key.then(|| r.key.clone().unwrap_or_default());
        let model = by_model.then(|| r.model.clone().unwrap_or_default());
        *sums.entry((r.date.clone(), key, model)).or_default() += r.micros;
    }
    let mut rows: Vec<_> = sums.into_iter().collect();
    // The report orders by day, key id (unattributed, i.e. null, first), then model.
    rows.sort_by(|a, b| {
        let key_of = |k: &Option<String>| k.as_ref().map(|k| (!k.is_empty(), k.clone()));
        (&a.0 .0, key_of(&a.0 .1), model_sort(&a.0 .2)).cmp(&(&b.0 .0, key_of(&b.0 .1), model_sort(&b.0 .2)))
    });
    Value::Array(
        rows.into_iter()
            .map(|((day, key, model), m)| {
                let (key_id, key_name) = match &key {
                    None => (Value::Null, Value::Null),
                    Some(k) if k.is_empty() => (Value::Null, json!("not attributed to a key")),
                    Some(k) => (json!(k), json!(display_name(k))),
                };
                let mut row = json!({"day": day, "source": null, "provider": null, "key_id": key_id,
                       "key_name": key_name, "model": null, "currency": "USD", "amount": format_micros(m),
                       "kind": "billed"});
                match model {
                    None => {}
                    Some(m) if m.is_empty() => row["model_name"] = json!("not attributed to a model"),
                    Some(m) => (row["model"], row["model_name"]) = (json!(m), json!(m)),
                }
                row
            })
            .collect(),
    )
}

fn model_sort(m: &Option<String>) -> Option<String> {
    m.clone()
}

fn report(cli: &Cli, by: &[&str]) -> Value {
    let mut args = vec!["report", "daily", "--from", FROM, "--to", TO, "--json"];
    for b in by {
        args.extend(["--by", b]);
    }
    cli.run(&args).ok().json()
}

async fn mount_good(server: &MockServer) -> usize {
    let pages = activity_pages();
    for (i, body) in pages.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path("/user/daily/activity"))
            .and(query_param("start_date", FROM))
            .and(query_param("end_date", TO))
            .and(query_param("page", (i + 1).to_string().as_str()))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json"))
            .mount(server)
            .await;
    }
    for page in ["1", "2"] {
        Mock::given(method("GET"))
            .and(path("/key/list"))
            .and(query_param("page", page))
            .and(query_param("return_full_object", "true"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(fixture(&format!("litellm/key_list_page{page}.json")), "application/json"),
            )
            .mount(server)
            .await;
    }
    pages.len()
}

fn new_cli(server: &MockServer) -> Cli {
    new_cli_at(&server.uri())
}

fn new_cli_at(base_url: &str) -> Cli {
    let mut cli = Cli::new();
    cli.env.push((KEY_ENV.into(), KEY.into()));
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), "2026-03-10T18:00:00Z".into()));
    cli.run(&["source", "add", "litellm", "--name", "proxy", "--base-url", base_url, "--key-env", KEY_ENV]).ok();
    cli
}

fn assert_reports(cli: &Cli) {
    cli.assert_one_total_whatever_the_grouping(FROM, TO);
    for (by, k, m) in [
        (&[][..], false, false),
        (&["key"][..], true, false),
        (&["model"][..], false, true),
        (&["key", "model"][..], true, true),
    ] {
        let got = report(cli, by);
        let want = expected(k, m);
        assert_eq!(got, want, "report --by {by:?}\ngot:  {got:#}\nwant: {want:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_days_of_activity_per_key_and_model_to_the_micro_dollar() {
    let server = MockServer::start().await;
    let pages = mount_good(&server).await;
    assert!(pages >= 10, "the scenario spans many pages: {pages}");
    let cli = new_cli(&server);

    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert!(run.stdout.contains("ok: proxy:"), "{}", run.stdout);
    let requests = server.received_requests().await.unwrap();
    let activity: Vec<_> = requests.iter().filter(|r| r.url.path() == "/user/daily/activity").collect();
    assert_eq!(activity.len(), pages, "every page, once");
    let q: BTreeMap<_, _> = activity[0].url.query_pairs().collect();
    assert_eq!(q["page_size"], "1000");

    // Sanity of the scenario: dates really are split across pages.
    let split = (1..=10).any(|d| {
        let date = format!("\"date\":\"2026-03-{d:02}\"");
        activity_pages().iter().filter(|p| p.contains(&date)).count() > 1
    });
    assert!(split);

    assert_reports(&cli);

    // Key records: names from /key/list (both pages) or the activity's metadata; blocked keys
    // are disabled; budgets become balance snapshots.
    let db = cli.db();
    let key_row = |id: &str| -> (Option<String>, Option<String>, bool) {
        db.query_row("SELECT display_name, fingerprint, disabled FROM api_keys WHERE provider_key_id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
    };
    assert_eq!(key_row(&hash("c1")), (Some("ci-pipeline".into()), Some("sk-...CI01".into()), false));
    assert_eq!(key_row(&hash("b2")), (Some("batch-jobs".into()), Some("sk-...BT02".into()), true));
    assert_eq!(key_row(&hash("d3")), (Some("old-deleted-key".into()), None, false));
    assert_eq!(key_row(&hash("f5")), (Some("web-app".into()), Some("sk-...WB03".into()), false));
    let master: i64 =
        db.query_row("SELECT count(*) FROM api_keys WHERE provider_key_id = ?1", [hash("e4")], |r| r.get(0)).unwrap();
    assert_eq!(master, 0, "nothing is known about the master key but its hash");
    let mut stmt = db
        .prepare("SELECT key_id, balance_micros, limit_micros, usage_micros FROM balance_snapshots ORDER BY key_id")
        .unwrap();
    let budgets: Vec<(String, i64, i64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        budgets,
        vec![(hash("c1"), 37_654_322, 50_000_000, 12_345_678), (hash("f5"), 750_000, 1_000_000, 250_000)]
    );
    let tokens: (i64, i64) =
        db.query_row("SELECT sum(input_tokens), sum(requests) FROM spend", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    let recs = records();
    assert_eq!(tokens, (recs.iter().map(|r| r.prompt).sum(), recs.iter().map(|r| r.requests).sum()));

    // Syncing again replaces: same reports.
    cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert_reports(&cli);
    cli.assert_key_in_no_file(KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_bodies_rate_limits_server_errors_and_slowness_change_nothing() {
    let server = MockServer::start().await;
    mount_good(&server).await;
    let front = TruncatingFront::start(*server.address(), r#"{"results":[{"date":"2026-03-10","metrics":{"sp"#);
    let cli = new_cli_at(&front.url);
    let sync = || cli.run(&["--timeout", "1", "--retries", "3", "sync", "--from", FROM, "--to", TO]);
    let spend_rows = || -> i64 { cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap() };
    // Mocks mounted from here on outrank the good ones until they have answered once.
    let activity =
        |page: &str| Mock::given(method("GET")).and(path("/user/daily/activity")).and(query_param("page", page));

    // 1. The connection is cut in the middle of the first page: an error, nothing written.
    front.cut_next_connection();
    let run = sync().failed();
    assert!(
        run.stderr.contains("error: proxy: LiteLLM proxy sent an incomplete response at GET /user/daily/activity"),
        "{}",
        run.stderr
    );
    assert_eq!(spend_rows(), 0);

    // 2. A later page arrives cut short (but complete at the HTTP level): the pages already
    //    fetched are not written either.
    let cut = activity_pages()[3].clone();
    activity("4")
        .respond_with(ResponseTemplate::new(200).set_body_raw(cut[..cut.len() / 2].to_owned(), "application/json"))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let run = sync().failed();
    assert!(
        run.stderr
            .contains("error: proxy: LiteLLM proxy sent a response Burnrate cannot read at GET /user/daily/activity"),
        "{}",
        run.stderr
    );
    assert_eq!(spend_rows(), 0);

    // 3. A 429, a page slower than the timeout and a 500 are retried; the result is exact.
    activity("2")
        .respond_with(
            ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_string(
                r#"{"error":{"message":"Too many requests","type":"None","param":"None","code":"429"}}"#,
            ),
        )
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    activity("3")
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_raw(activity_pages()[2].clone(), "application/json"),
        )
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/key/list"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after", "0").set_body_string(
            r#"{"error":{"message":"Internal Server Error, DB timeout","type":"internal_error","param":"None","code":"500"}}"#,
        ))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let earlier = server.received_requests().await.unwrap().len();
    let run = sync().ok();
    assert!(run.stdout.contains("ok: proxy:"), "{}", run.stdout);
    assert_reports(&cli);
    let requests = server.received_requests().await.unwrap().split_off(earlier);
    let count = |p: &str, page: &str| {
        requests
            .iter()
            .filter(|r| r.url.path() == p && r.url.query_pairs().any(|(k, v)| k == "page" && v == page))
            .count()
    };
    assert_eq!(count("/user/daily/activity", "1"), 1);
    assert_eq!(count("/user/daily/activity", "2"), 2, "429, then good");
    assert_eq!(count("/user/daily/activity", "3"), 2, "timed out, then good");
    assert_eq!(count("/user/daily/activity", "4"), 1);
    assert_eq!(count("/key/list", "1"), 2, "500, then good");

    // And once more without faults: the same reports.
    sync().ok();
    assert_reports(&cli);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_virtual_key_that_cannot_list_keys_describes_itself() {
    let server = MockServer::start().await;
    let page = json!({
        "results": [{"date": "2026-03-09", "metrics": {"spend": 0.25, "prompt_tokens": 10},
            "breakdown": {"models": {"gpt-4o": {"metrics": {"spend": 0.25, "prompt_tokens": 10}, "metadata": {},
                "api_key_breakdown": {(hash("f5")): {"metrics": {"spend": 0.25, "prompt_tokens": 10},
                                                     "metadata": {"key_alias": "web-app"}}}}},
                          "api_keys": {(hash("f5")): {"metrics": {"spend": 0.25, "prompt_tokens": 10},
                                                      "metadata": {"key_alias": "web-app"}}}}}],
        "metadata": {"page": 1, "total_pages": 1, "has_more": false}
    });
    Mock::given(method("GET"))
        .and(path("/user/daily/activity"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/key/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"error":{"message":"Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=/key/list","type":"auth_error","param":"None","code":"401"}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/key/info"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(fixture("litellm/key_info.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = new_cli(&server);
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let by_key = report(&cli, &["key", "model"]);
    assert_eq!(
        by_key,
        json!([{"day": "2026-03-09", "source": null, "provider": null, "key_id": hash("f5"), "key_name": "web-app",
                "model": "gpt-4o", "model_name": "gpt-4o", "currency": "USD", "amount": "0.250000", "kind": "billed"}])
    );
    let snap: (String, i64) = cli
        .db()
        .query_row("SELECT key_id, balance_micros FROM balance_snapshots", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(snap, (hash("f5"), 750_000));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_gives_one_line_naming_the_key_type() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(fixture("litellm/error_401.json"), "application/json"))
        .mount(&server)
        .await;
    let cli = new_cli(&server);
    let run = cli.run(&["sync", "--from", FROM, "--to", TO]).failed();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: proxy: LiteLLM proxy rejected the key (401 at GET /user/daily/activity"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("master key"), "{}", lines[0]);
    let rows: i64 = cli.db().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}
