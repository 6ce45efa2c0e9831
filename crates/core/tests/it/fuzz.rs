//! Property tests that try to break the parsers: every provider's documented answers with one
//! part replaced by something hostile (huge, negative, fractional, wrong type, control
//! characters, formula-looking), CSV files of arbitrary bytes and of hostile lines, and amounts
//! as text. Whatever comes in: no panic, no overflow, an error that says what happened, and a
//! ledger whose every report still adds up.
//!
//! Each target runs a bounded number of cases (`PROPTEST_CASES` overrides it), so CI time stays
//! fixed; a failure prints the smallest input proptest could shrink it to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput, ReportQuery};
use burnrate_core::import::CsvFormat;
use burnrate_core::money::{format_micros, parse_micros};
use burnrate_core::providers::ProviderId;
use burnrate_core::{Burnrate, ErrorCode};
use proptest::prelude::*;
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::TestCore;

const KEY_VAR: &str = "FUZZ_FAKE_KEY";
const KEY: &str = "sk-FAKEfuzzFAKEfuzzFAKEfuzz0001";

// The test's own knob, read as proptest itself would: not the app's environment.
#[allow(clippy::disallowed_methods)]
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
}

/// What replaces one part of a documented answer.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(serde_json::json!(i64::MAX)),
        Just(serde_json::json!(i64::MIN)),
        Just(serde_json::json!(-5)),
        Just(serde_json::json!(9e18)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(0.000_000_1)),
        Just(serde_json::json!("")),
        Just(serde_json::json!("9000000000000")),
        Just(serde_json::json!("=HYPERLINK(\"http://x\")")),
        Just(serde_json::json!("\u{1b}]0;pwned\u{7}\nok: forged\u{202e}")),
        Just(serde_json::json!("NaN")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!(true)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(|f| serde_json::json!(f)),
        ".{0,40}".prop_map(Value::String),
    ]
}

/// Every node of `v` as a JSON pointer.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// A provider on loopback answering each path with its documented example, one part replaced.
#[derive(Clone)]
struct Answers(Arc<Mutex<Vec<(&'static str, Value)>>>);

impl Respond for Answers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let answers = self.0.lock().unwrap();
        match answers.iter().filter(|(suffix, _)| path.ends_with(suffix)).max_by_key(|(suffix, _)| suffix.len()) {
            Some((_, body)) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(404).set_body_string(r#"{"error":{"message":"no such endpoint"}}"#),
        }
    }
}

/// A documented example as the only page: the examples show a page in the middle of a list.
fn fixture(rel: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(rel);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if let Some(page) = v.as_object_mut() {
        for (field, last) in [("has_more", Value::Bool(false)), ("next_page", Value::Null), ("last_id", Value::Null)] {
            if page.contains_key(field) {
                page.insert(field.into(), last);
            }
        }
    }
    v
}

/// The documented answers a provider's sync reads, by the path each is served at.
fn documented(provider: ProviderId) -> Vec<(&'static str, Value)> {
    match provider {
        ProviderId::Openai => vec![
            ("/organization/costs", fixture("openai/costs_example.json")),
            ("/organization/usage/completions", fixture("openai/usage_completions_example.json")),
            ("/organization/usage/embeddings", fixture("openai/usage_embeddings_example.json")),
            ("/organization/projects", fixture("openai/projects_example.json")),
            ("/api_keys", fixture("openai/project_api_keys_example.json")),
        ],
        ProviderId::Anthropic => vec![
            ("/cost_report", fixture("anthropic/cost_report_example.json")),
            ("/usage_report/messages", fixture("anthropic/usage_report_messages_example.json")),
            ("/api_keys", fixture("anthropic/api_keys_list_example.json")),
            ("/workspaces", fixture("anthropic/workspaces_list_example.json")),
        ],
        ProviderId::Openrouter => vec![
            ("/key", fixture("openrouter/key.json")),
            ("/credits", fixture("openrouter/credits_example.json")),
            ("/activity", fixture("openrouter/activity_example.json")),
            ("/keys", fixture("openrouter/keys_list_example.json")),
        ],
        ProviderId::Deepseek => vec![("/user/balance", fixture("deepseek/user_balance_example.json"))],
        ProviderId::Litellm => vec![
            ("/key/info", fixture("litellm/key_info.json")),
            ("/key/list", fixture("litellm/key_list_page1.json")),
            ("/user/daily/activity", fixture("litellm/user_daily_activity_doc_shape.json")),
        ],
        _ => unreachable!("not fuzzed here"),
    }
}

/// Syncs `provider` against answers with `mutations` applied, then reads every figure back.
fn sync_hostile(provider: ProviderId, mutations: &[(prop::sample::Index, prop::sample::Index, Value)]) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let mut answers = documented(provider);
        for (which, node, value) in mutations {
            let which = which.index(answers.len());
            let (_, body) = &mut answers[which];
            let mut all = Vec::new();
            pointers(body, String::new(), &mut all);
            let target = &all[node.index(all.len())];
            match body.pointer_mut(target) {
                Some(slot) => *slot = value.clone(),
                None => *body = value.clone(),
            }
        }
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Answers(Arc::new(Mutex::new(answers))))
            .mount(&server)
            .await;

        let dir = tempfile::tempdir().unwrap();
        let core: Burnrate = TestCore::builder(dir.path()).env(&[(KEY_VAR, KEY)]).build();
        core.add_source(&AddSourceRequest {
            provider,
            name: "hostile".into(),
            base_url: Some(server.uri()),
            key: KeyInput::Env { var: KEY_VAR.into() },
            settings: None,
        })
        .unwrap();
        let outcomes =
            core.sync(None, Some("2026-02-01"), Some("2026-03-02")).await.expect("a sync pass never fails whole");
        for o in &outcomes {
            if let Some(e) = &o.error {
                assert_ne!(e.code, ErrorCode::Internal, "{provider:?}: an internal error is a bug: {}", e.message);
                assert!(!e.message.contains(KEY), "the key in an error");
            }
        }
        // Whatever was written, every figure reads back and adds up.
        let mut totals: Vec<BTreeMap<(String, String), i128>> = Vec::new();
        for by in [vec![], vec![Dimension::Source], vec![Dimension::Key], vec![Dimension::Model]] {
            let rows = core
                .daily_report(&ReportQuery { by, from: Some("2026-02-01".into()), to: Some("2026-03-02".into()) })
                .expect("the report reads back");
            let mut t = BTreeMap::new();
            for r in rows {
                *t.entry((r.day.clone(), r.currency.clone())).or_default() +=
                    i128::from(parse_micros(&r.amount).unwrap());
            }
            totals.push(t);
        }
        assert!(totals.windows(2).all(|w| w[0] == w[1]), "{provider:?}: groupings disagree: {totals:?}");
        core.key_table().expect("the key table reads back");
        core.spend_headline().expect("the headline reads back");
    });
}

/// The unmutated answers sync: otherwise the targets above would only ever test a 404.
#[test]
fn the_documented_answers_sync_for_every_fuzzed_provider() {
    for provider in
        [ProviderId::Openai, ProviderId::Anthropic, ProviderId::Openrouter, ProviderId::Deepseek, ProviderId::Litellm]
    {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let outcome = rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Answers(Arc::new(Mutex::new(documented(provider)))))
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let core: Burnrate = TestCore::builder(dir.path()).env(&[(KEY_VAR, KEY)]).build();
            core.add_source(&AddSourceRequest {
                provider,
                name: "documented".into(),
                base_url: Some(server.uri()),
                key: KeyInput::Env { var: KEY_VAR.into() },
                settings: None,
            })
            .unwrap();
            core.sync(None, Some("2020-01-01"), Some("2026-03-02")).await.unwrap().remove(0)
        });
        assert!(outcome.ok, "{provider:?}: {:?}", outcome.error);
        println!("{provider:?}: {} rows", outcome.rows_written);
    }
}

fn mutations() -> impl Strategy<Value = Vec<(prop::sample::Index, prop::sample::Index, Value)>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), hostile_value()), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn openai_answers_cannot_break_the_ledger(m in mutations()) { sync_hostile(ProviderId::Openai, &m) }

    #[test]
    fn anthropic_answers_cannot_break_the_ledger(m in mutations()) { sync_hostile(ProviderId::Anthropic, &m) }

    #[test]
    fn openrouter_answers_cannot_break_the_ledger(m in mutations()) { sync_hostile(ProviderId::Openrouter, &m) }

    #[test]
    fn deepseek_answers_cannot_break_the_ledger(m in mutations()) { sync_hostile(ProviderId::Deepseek, &m) }

    #[test]
    fn litellm_answers_cannot_break_the_ledger(m in mutations()) { sync_hostile(ProviderId::Litellm, &m) }

    /// Arbitrary bytes as a CSV file: refused with a reason or imported, never a panic.
    #[test]
    fn any_bytes_as_a_csv_file(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let dir = tempfile::tempdir().unwrap();
        let core = csv_core(dir.path());
        if let Err(e) = core.import_csv("books", CsvFormat::Generic, &bytes) {
            prop_assert_ne!(e.code, ErrorCode::Internal, "{}", e.message());
        }
    }

    /// Well-formed lines with hostile amounts, days and names: imported whole or refused whole.
    #[test]
    fn hostile_csv_lines(lines in prop::collection::vec(csv_line(), 1..20)) {
        let dir = tempfile::tempdir().unwrap();
        let core = csv_core(dir.path());
        let text = format!("day,amount,currency,key_id,model,kind\n{}", lines.join("\n"));
        match core.import_csv("books", CsvFormat::Generic, text.as_bytes()) {
            Ok(_) => {
                let rows = core.daily_report(&ReportQuery { by: vec![], from: Some("1990-01-01".into()), to: Some("2040-01-01".into()) });
                prop_assert!(rows.is_ok(), "{:?}", rows.err());
                for r in rows.unwrap() {
                    let m = parse_micros(&r.amount).unwrap();
                    prop_assert!((0..=1_000_000_000_000).contains(&m), "an implausible day was stored: {}", r.amount);
                }
                core.key_table().unwrap();
            }
            Err(e) => prop_assert_ne!(e.code, ErrorCode::Internal, "{}", e.message()),
        }
    }

    /// Any text as an amount: a number of micros or an error, never a panic; micros round-trip.
    #[test]
    fn amounts_as_text(text in "[-+0-9.eE, ]{0,40}|.{0,40}", micros in any::<i64>()) {
        let _ = parse_micros(&text);
        prop_assert_eq!(parse_micros(&format_micros(micros)).unwrap(), micros);
    }
}

fn csv_core(dir: &std::path::Path) -> Burnrate {
    let core = TestCore::builder(dir).env(&[(KEY_VAR, KEY)]).build();
    core.add_source(&AddSourceRequest {
        provider: ProviderId::Openai,
        name: "books".into(),
        base_url: None,
        key: KeyInput::Env { var: KEY_VAR.into() },
        settings: None,
    })
    .unwrap();
    core
}

fn csv_line() -> impl Strategy<Value = String> {
    let day = prop_oneof![
        Just("2026-03-01".to_owned()),
        Just("2020-01-01".to_owned()),
        Just("2026-02-30".to_owned()),
        "[0-9-]{0,12}"
    ];
    let amount = prop_oneof![
        Just("9000000000000".to_owned()),
        Just("-5".to_owned()),
        Just("1e300".to_owned()),
        Just("999999.999999".to_owned()),
        Just("0.0000001".to_owned()),
        (0u32..100_000).prop_map(|n| format!("{}.{:02}", n / 100, n % 100)),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    let name = prop_oneof![
        Just("=cmd|' /C calc'!A0".to_owned()),
        Just("\"quoted, name\"".to_owned()),
        Just("key\u{1b}[2J".to_owned()),
        "[a-z_]{1,10}",
    ];
    let currency = prop_oneof![Just("USD"), Just("CNY"), Just("usd"), Just("XXXX"), Just("")];
    let kind = prop_oneof![Just("billed"), Just("estimated"), Just("credit")];
    (day, amount, currency, name.clone(), name, kind)
        .prop_map(|(d, a, c, k, m, kind)| format!("{d},{a},{c},{k},{m},{kind}"))
}
