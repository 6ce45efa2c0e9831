//! The automated paid test against the in-repo fake gateway over loopback: a normal run with
//! a balance-reading source (latency, tokens, expected cost, the price multiplier), and the bad
//! cases (hang, HTML, malformed events, overcharge, the spend cap), with the key never stored
//! or shown.

use std::time::{Duration, Instant};

use burnrate_core::checklist::dto::{
    ErrorShape, EvidenceKind, Integrity, NewAssessmentRequest, SmokePlan, SmokeRequest, SmokeResult,
};
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::providers::ProviderId;
use burnrate_core::ErrorCode;
use fake_gateway::{Config, FakeGateway, Mode};

use crate::common::{core_with_env, files_under, Core, SOURCE_KEY_VAR};

const KEY: &str = "sk-test-FAKE-smoke-key-000000000000042";

fn gateway(mode: Mode, multiplier_bp: i64) -> FakeGateway {
    FakeGateway::start(Config { key: KEY.into(), mode, multiplier_bp, ..Config::default() })
}

/// An assessment of `g`, linked to a new-api source reading the fake's balance when `linked`.
fn setup(g: &FakeGateway, linked: bool) -> (Core, i64) {
    let c = core_with_env(&[(SOURCE_KEY_VAR, KEY)]);
    let source = linked.then(|| {
        c.core
            .add_source(&AddSourceRequest {
                provider: ProviderId::NewApi,
                name: "gw".into(),
                base_url: Some(g.url.clone()),
                key: KeyInput::Env { var: SOURCE_KEY_VAR.into() },
                settings: None,
            })
            .unwrap()
            .name
    });
    let id = c
        .core
        .new_assessment(&NewAssessmentRequest {
            name: "fake".into(),
            base_url: format!("{}/v1", g.url),
            claim: None,
            source,
            recheck_after_days: None,
        })
        .unwrap()
        .id;
    (c, id)
}

async fn plan(
    c: &Core,
    id: i64,
    models: &[&str],
    calls: Option<u32>,
    max_usd: Option<&str>,
    timeout_ms: u64,
) -> SmokePlan {
    c.core
        .smoke_plan(
            id,
            &SmokeRequest {
                models: models.iter().map(|m| m.to_string()).collect(),
                calls,
                max_usd: max_usd.map(str::to_owned),
                timeout_ms: Some(timeout_ms),
            },
            KEY,
        )
        .await
        .unwrap()
}

fn assert_no_key_anywhere(c: &Core, result: &SmokeResult) {
    let json = serde_json::to_string(result).unwrap();
    assert!(!json.contains(KEY), "the key is in the result");
    for path in files_under(c.dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key was written to {}", path.display());
    }
}

#[tokio::test]
async fn a_normal_run_measures_latency_tokens_cost_and_the_multiplier() {
    let g = gateway(Mode::Normal, 15_000);
    let (c, id) = setup(&g, true);
    let p = plan(&c, id, &["gpt-4o"], None, None, 5_000).await;
    // The plan sent nothing paid.
    assert!(g.requests().iter().all(|r| !r.contains("chat")), "{:?}", g.requests());
    assert_eq!((p.paid_calls, p.max_tokens, p.cap_micros), (21, 8, 1_000_000));
    // Worst case per call: 64 prompt tokens × 2.5 + 8 × 10 micro-USD, +1 rounding margin.
    assert_eq!(p.models[0].worst_case_micros_per_call, 241);
    assert_eq!(p.worst_case_micros, 241 * 21);
    assert_eq!(p.balance_source.as_deref(), Some("gw"));

    let started = Instant::now();
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    eprintln!("normal run: {:?} wall, p50 {:?} ms, p95 {:?} ms", started.elapsed(), r.latency_p50_ms, r.latency_p95_ms);
    assert!(r.passed, "{r:#?}");
    assert_eq!(r.aborted, None);
    assert_eq!(r.models_listed, ["gpt-4o-mini", "gpt-4o"]);
    assert_eq!((r.paid_calls_made, r.paid_calls_ok), (21, 20));
    assert!(r.latency_p50_ms.is_some() && r.latency_p95_ms >= r.latency_p50_ms);
    assert_eq!((r.prompt_tokens_reported, r.completion_tokens_reported), (12 * 21, 2 * 21));
    assert_eq!(r.completion_tokens_max_expected, 8 * 21);
    // 21 calls × (12 × 2.5 + 2 × 10) micro-USD at list price.
    assert_eq!(r.expected_cost_micros, 1_050);
    let stream = r.stream.as_ref().unwrap();
    assert!(stream.ok && stream.done_seen && stream.events == 5, "{stream:?}");
    let unknown = r.unknown_model.as_ref().unwrap();
    assert_eq!((unknown.status, unknown.shape), (Some(404), ErrorShape::JsonErrorMessage));
    // The fake quotes the caller's key in that message; it is stored redacted.
    assert!(unknown.message.as_deref().unwrap().contains("sk-…0042"), "{unknown:?}");
    let bad = r.bad_key.as_ref().unwrap();
    assert_eq!((bad.status, bad.shape), (Some(401), ErrorShape::JsonErrorMessage));
    // Billed 1.5× list price (to the relay's quota unit of 2 micro-USD).
    assert_eq!(r.balance_before_micros, Some(10_000_000));
    let billed = r.billed_micros.unwrap();
    assert!((1_574..=1_577).contains(&billed), "{billed}");
    let bp = r.multiplier_bp.unwrap();
    eprintln!("billed {billed} micro-USD for {} expected: multiplier {bp} bp", r.expected_cost_micros);
    assert!((14_990..=15_020).contains(&bp), "{bp}");
    assert_eq!(c.core.price_baseline("gw").unwrap(), Some(bp));

    let v = c.core.get_assessment(id).unwrap();
    let e = v.evidence.iter().find(|e| e.kind == EvidenceKind::Smoke).unwrap();
    assert_eq!((e.question_id.as_str(), e.integrity), ("paid.calls", Some(Integrity::Ok)));
    assert_eq!(Some(e.id), r.evidence_id);
    assert_eq!(v.last_smoke.as_ref().unwrap().multiplier_bp, Some(bp));
    let stored: SmokeResult = serde_json::from_slice(&std::fs::read(e.path.as_deref().unwrap()).unwrap()).unwrap();
    assert_eq!(stored.expected_cost_micros, 1_050);
    assert_no_key_anywhere(&c, &r);
}

#[tokio::test]
async fn without_models_the_plan_picks_the_cheapest_priced_ones() {
    let g = gateway(Mode::Normal, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &[], Some(5), None, 5_000).await;
    let models: Vec<_> = p.models.iter().map(|m| (m.model.as_str(), m.calls)).collect();
    assert_eq!(models, [("gpt-4o-mini", 3), ("gpt-4o", 2)]);
    assert_eq!(g.requests(), ["GET /v1/models"]);
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    assert!(r.passed, "{r:#?}");
    assert_eq!(r.multiplier_bp, None);
    assert!(r.balance_note.as_deref().unwrap().contains("no Burnrate source"), "{:?}", r.balance_note);
}

#[tokio::test]
async fn plans_refuse_what_they_cannot_cap() {
    let g = gateway(Mode::Normal, 10_000);
    let (c, id) = setup(&g, false);
    let req = |models: &[&str], calls, max_usd: Option<&str>| SmokeRequest {
        models: models.iter().map(|m| m.to_string()).collect(),
        calls,
        max_usd: max_usd.map(str::to_owned),
        timeout_ms: None,
    };
    let e = c.core.smoke_plan(id, &req(&["gpt-4o"], Some(201), None), KEY).await.unwrap_err();
    assert!(e.message().contains("between 1 and 200"), "{}", e.message());
    let e = c.core.smoke_plan(id, &req(&["gpt-4o"], None, Some("100")), KEY).await.unwrap_err();
    assert!(e.message().contains("at most 50.00 USD"), "{}", e.message());
    let e = c.core.smoke_plan(id, &req(&["fake-unpriced-model"], None, None), KEY).await.unwrap_err();
    assert!(e.message().contains("no list price"), "{}", e.message());
    let e = c.core.smoke_plan(id, &req(&["a", "b", "c", "d"], None, None), KEY).await.unwrap_err();
    assert!(e.message().contains("at most 3 models"), "{}", e.message());
    assert!(g.requests().is_empty(), "{:?}", g.requests());
}

#[tokio::test]
async fn a_hanging_gateway_aborts_within_the_timeout() {
    let g = gateway(Mode::Hang, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &["gpt-4o"], None, None, 500).await;
    let started = Instant::now();
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    let took = started.elapsed();
    eprintln!("hang aborted after {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let why = r.aborted.as_deref().unwrap();
    assert!(why.contains("no answer within 500 ms"), "{why}");
    assert!(!r.passed);
    assert_eq!(r.paid_calls_made, 1);
    // Recorded as evidence all the same.
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.last_smoke.unwrap().aborted.as_deref(), Some(why));
    assert!(v
        .evidence
        .iter()
        .any(|e| e.kind == EvidenceKind::Smoke && e.note.as_deref().unwrap().starts_with("Paid test stopped")));
}

#[tokio::test]
async fn html_instead_of_json_aborts() {
    let g = gateway(Mode::Html, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &["gpt-4o"], None, None, 5_000).await;
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    assert!(r.aborted.as_deref().unwrap().contains("HTML instead of JSON"), "{:?}", r.aborted);
    assert_eq!(r.paid_calls_made, 1);
}

#[tokio::test]
async fn malformed_events_abort_and_say_what_was_wrong() {
    let g = gateway(Mode::MalformedSse, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &["gpt-4o"], Some(2), None, 5_000).await;
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    let s = r.stream.as_ref().unwrap();
    assert!(!s.ok && !s.done_seen);
    assert!(r.aborted.as_deref().unwrap().contains("not JSON"), "{:?}", r.aborted);
    assert_eq!(r.paid_calls_ok, 2, "the plain calls worked");
    assert!(r.unknown_model.is_none(), "the run stopped at the stream");
}

#[tokio::test]
async fn overcharged_tokens_stop_the_run_at_once() {
    let g = gateway(Mode::Overcharge, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &["gpt-4o"], None, None, 5_000).await;
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    let why = r.aborted.as_deref().unwrap();
    assert!(why.contains("4000 completion tokens") && why.contains("max_tokens 8"), "{why}");
    assert_eq!(r.paid_calls_made, 1);
}

#[tokio::test]
async fn the_spend_cap_stops_before_it_is_passed() {
    let g = gateway(Mode::Normal, 10_000);
    let (c, id) = setup(&g, false);
    // 500 micro-USD; each call costs 50 at list price and may cost up to 241.
    let p = plan(&c, id, &["gpt-4o"], None, Some("0.0005"), 5_000).await;
    assert!(p.summary.contains("the run stops at the cap"), "{}", p.summary);
    let r = c.core.smoke_run(id, &p, KEY).await.unwrap();
    let why = r.aborted.as_deref().unwrap();
    assert!(why.starts_with("stopped at the spend cap"), "{why}");
    assert_eq!(r.paid_calls_made, 6);
    assert!(r.expected_cost_micros <= p.cap_micros);
    let chat = g.requests().iter().filter(|r| r.contains("chat")).count();
    assert_eq!(chat, 6);
}

#[tokio::test]
async fn a_rejected_key_stops_the_run_and_stays_redacted() {
    let g = gateway(Mode::Normal, 10_000);
    let (c, id) = setup(&g, false);
    let p = plan(&c, id, &["gpt-4o"], None, None, 5_000).await;
    let wrong = "sk-test-FAKE-wrong-key-00000000000000077";
    let r = c.core.smoke_run(id, &p, wrong).await.unwrap();
    assert!(r.aborted.as_deref().unwrap().contains("rejected the key"), "{:?}", r.aborted);
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains(wrong), "{json}");
    // A plan for another gateway is refused.
    let mut other = p.clone();
    other.base_url = "http://127.0.0.1:9".into();
    assert_eq!(c.core.smoke_run(id, &other, KEY).await.unwrap_err().code, ErrorCode::InvalidInput);
}

/// The desktop shell runs these on its async runtime: their futures must be `Send`.
#[allow(dead_code)]
fn the_futures_are_send(c: &burnrate_core::Burnrate, p: &SmokePlan) {
    fn send<T: Send>(_: T) {}
    send(c.smoke_run(1, p, "k"));
    send(c.smoke_plan(1, &SmokeRequest::default(), "k"));
}
