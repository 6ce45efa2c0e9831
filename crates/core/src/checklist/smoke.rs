//! The automated small paid test against an OpenAI-compatible base URL.
//!
//! [`plan`] computes everything that will be sent and its worst-case cost at list prices
//! before anything paid is sent (it may read the free model list to pick models); [`run`]
//! executes it: `GET /v1/models`, N chat completions with a tiny `max_tokens` across up to
//! three models, one streaming call with its server-sent events parsed, one call with an
//! unknown model and one with a bad key (status and error-body shape recorded). Before each
//! paid call the running estimated cost plus that call's worst case is checked against the
//! cap; the run stops instead of passing it. A hang (per-request timeout), HTML instead of
//! JSON, malformed events, or more tokens billed than `max_tokens` allows stop the run and are
//! recorded as its `aborted` reason.
//!
//! The key is an argument only: it is registered with the redactor, never logged, never
//! stored, and every body excerpt kept in the result is redacted.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

use super::dto::{ErrorProbe, ErrorShape, PlannedModel, SmokeCall, SmokePlan, SmokeRequest, SmokeResult, StreamCheck};
use crate::error::{Error, ErrorCode, Result};
use crate::money::{format_human, parse_micros};
use crate::net::{self, BodyError};
use crate::prices::{PriceTable, Tokens};
use crate::redact::{redact, register_secret};

pub const DEFAULT_CALLS: u32 = 20;
pub const MAX_CALLS: u32 = 200;
pub const MAX_MODELS: usize = 3;
pub const DEFAULT_MAX_USD: &str = "1.00";
/// No cap above this is accepted: the test is meant to be small.
pub const MAX_CAP_MICROS: i64 = 50_000_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;
pub const MAX_TOKENS: u32 = 8;
/// Over-counts the prompt's tokens (the message plus chat framing) for the worst case.
pub const PROMPT_TOKENS_BOUND: i64 = 64;
pub const PROMPT: &str = "Reply with the single word OK.";
pub const UNKNOWN_MODEL: &str = "burnrate-smoke-no-such-model";
/// Key-shaped on purpose (so redaction covers any echo), and obviously not a real key.
pub const BAD_KEY: &str = "sk-burnrate-smoke-deliberately-invalid-key-0000";
const EXCERPT_CHARS: usize = 200;
/// The most of one answer (or one server-sent event line) the paid test reads; a chat
/// completion of eight tokens is a few KiB.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The API root: the base URL without a trailing `/` or `/v1`.
pub fn api_root(base_url: &str) -> Result<Url> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    net::http_url(trimmed).map_err(|why| {
        Error::new(
            ErrorCode::InvalidUrl,
            format!("{base_url:?} is not a usable URL ({why}); give the gateway's base URL, e.g. https://gateway.example/v1"),
        )
    })
}

fn endpoint(root: &Url, path: &str) -> String {
    format!("{}/{}", root.as_str().trim_end_matches('/'), path.trim_start_matches('/'))
}

fn worst_case(prices: &PriceTable, model: &str, max_tokens: u32) -> Option<i64> {
    prices
        .estimate_micros(model, Tokens { input: PROMPT_TOKENS_BOUND, output: max_tokens as i64, ..Default::default() })
        .map(|m| m + 1)
}

/// The paid test's HTTP client: it carries the gateway's key, so it never follows a redirect to
/// another origin.
pub(super) fn client(timeout: Duration) -> Result<reqwest::Client> {
    net::key_carrying_client(timeout, concat!("burnrate-check/", env!("CARGO_PKG_VERSION")))
}

/// Reads an answer of the paid test, at most [`MAX_ANSWER_BYTES`]: a gateway that streams an
/// endless body is a finding, not a reason to run out of memory.
async fn read_answer(resp: reqwest::Response, what: &str, timeout: Duration) -> std::result::Result<String, String> {
    net::read_body(resp, MAX_ANSWER_BYTES).await.map_err(|e| match e {
        BodyError::Transport(e) => transport_error(what, timeout, &e),
        BodyError::TooLarge { limit } => format!("{what}: the answer is larger than {}", net::size_text(limit)),
    })
}

fn transport_error(what: &str, timeout: Duration, e: &reqwest::Error) -> String {
    if let Some(to) = net::refused_redirect(e) {
        format!("{what}: the gateway redirected to {to}; Burnrate does not send keys to another host, so it stopped")
    } else if e.is_timeout() {
        format!("{what}: no answer within {} ms (the gateway hangs)", timeout.as_millis())
    } else if e.is_connect() {
        format!("{what}: cannot connect ({})", redact(&e.to_string()))
    } else {
        format!("{what}: {}", redact(&e.to_string()))
    }
}

fn excerpt(text: &str) -> String {
    crate::redact::excerpt(text, EXCERPT_CHARS)
}

fn looks_html(content_type: &str, body: &str) -> bool {
    content_type.contains("html") || body.trim_start().starts_with('<')
}

/// Classifies an error answer.
pub fn error_shape(status: Option<u16>, content_type: &str, body: &str) -> ErrorProbe {
    let shape;
    let mut message = None;
    if body.trim().is_empty() {
        shape = ErrorShape::Empty;
    } else if looks_html(content_type, body) {
        shape = ErrorShape::Html;
    } else if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(m) = v["error"]["message"].as_str() {
            shape = ErrorShape::JsonErrorMessage;
            message = Some(excerpt(m));
        } else {
            shape = ErrorShape::JsonOther;
            message = Some(excerpt(body));
        }
    } else {
        shape = ErrorShape::Text;
        message = Some(excerpt(body));
    }
    let shape = if status.is_some_and(|s| (200..300).contains(&s)) { ErrorShape::NoError } else { shape };
    ErrorProbe { status, shape, message }
}

/// Reads the gateway's model ids (free).
async fn list_models(
    http: &reqwest::Client,
    root: &Url,
    key: &str,
    timeout: Duration,
) -> std::result::Result<(u16, Vec<String>, u64), String> {
    let started = Instant::now();
    let resp = http
        .get(endpoint(root, "v1/models"))
        .bearer_auth(key)
        .send()
        .await
        .map_err(|e| transport_error("GET /v1/models", timeout, &e))?;
    let status = resp.status().as_u16();
    let ct = content_type(&resp);
    let body = read_answer(resp, "GET /v1/models", timeout).await?;
    let ms = started.elapsed().as_millis() as u64;
    if looks_html(&ct, &body) {
        return Err(format!("GET /v1/models answered HTML instead of JSON (HTTP {status})"));
    }
    if !(200..300).contains(&status) {
        let probe = error_shape(Some(status), &ct, &body);
        return Err(format!("GET /v1/models answered HTTP {status}: {}", probe.message.unwrap_or_default()));
    }
    let v: Value =
        serde_json::from_str(&body).map_err(|e| format!("GET /v1/models answered JSON that does not parse ({e})"))?;
    let ids = v["data"]
        .as_array()
        .ok_or_else(|| "GET /v1/models has no `data` list".to_owned())?
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect();
    Ok((status, ids, ms))
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
}

/// Everything the test will send and what it can cost at most. Reads the free model list when
/// no model was named, to pick up to three models with a list price.
pub async fn plan(
    base_url: &str,
    req: &SmokeRequest,
    prices: &PriceTable,
    key: &str,
    balance_source: Option<String>,
) -> Result<SmokePlan> {
    let root = api_root(base_url)?;
    let calls = req.calls.unwrap_or(DEFAULT_CALLS);
    if calls == 0 || calls > MAX_CALLS {
        return Err(Error::invalid_input(format!("--calls must be between 1 and {MAX_CALLS}, not {calls}")));
    }
    let cap_text = req.max_usd.clone().unwrap_or_else(|| DEFAULT_MAX_USD.to_owned());
    let cap_micros = parse_micros(&cap_text)?;
    if cap_micros <= 0 || cap_micros > MAX_CAP_MICROS {
        return Err(Error::invalid_input(format!(
            "--max-usd must be above 0 and at most {}: the paid test is meant to be small",
            format_human(MAX_CAP_MICROS, "USD")
        )));
    }
    let timeout_ms = req.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).clamp(100, 300_000);
    let mut models: Vec<String> = Vec::new();
    for m in &req.models {
        let m = m.trim();
        if !m.is_empty() && !models.iter().any(|x| x == m) {
            models.push(m.to_owned());
        }
    }
    if models.len() > MAX_MODELS {
        return Err(Error::invalid_input(format!("name at most {MAX_MODELS} models; {} were given", models.len())));
    }
    if models.is_empty() {
        register_secret(key);
        let timeout = Duration::from_millis(timeout_ms);
        let (_, listed, _) = list_models(&client(timeout)?, &root, key, timeout).await.map_err(|m| {
            Error::new(ErrorCode::UnexpectedResponse, format!("{m}; name the models to test with --model"))
        })?;
        let mut priced: Vec<(i64, String)> =
            listed.into_iter().filter_map(|m| worst_case(prices, &m, MAX_TOKENS).map(|w| (w, m))).collect();
        priced.sort();
        models = priced.into_iter().take(MAX_MODELS).map(|(_, m)| m).collect();
        if models.is_empty() {
            return Err(Error::invalid_input(
                "none of the gateway's models has a list price in Burnrate's table, so the spend cap cannot be enforced; name a priced model with --model",
            ));
        }
    }
    let mut planned = Vec::new();
    let per_model = calls / models.len() as u32;
    let extra = calls % models.len() as u32;
    for (i, m) in models.iter().enumerate() {
        let w = worst_case(prices, m, MAX_TOKENS).ok_or_else(|| {
            Error::invalid_input(format!(
                "{m:?} has no list price in Burnrate's price table, so the spend cap cannot be enforced; pick a model with a list price (the gateway's own id for it), or add it to model-prices.json in the data directory"
            ))
        })?;
        let n = per_model + u32::from((i as u32) < extra);
        if n > 0 {
            planned.push(PlannedModel { model: m.clone(), calls: n, worst_case_micros_per_call: w });
        }
    }
    let stream_worst = planned[0].worst_case_micros_per_call;
    let worst_case_micros: i64 =
        planned.iter().map(|p| p.worst_case_micros_per_call * p.calls as i64).sum::<i64>() + stream_worst;
    let summary = format!(
        "{} paid chat calls ({}) plus 1 streaming call to {}, max_tokens {MAX_TOKENS}; worst case {} at list prices, hard cap {}{}; 3 unpaid calls (model list, unknown model, bad key); {} ms per request",
        calls,
        planned.iter().map(|p| format!("{} × {}", p.calls, p.model)).collect::<Vec<_>>().join(", "),
        root.as_str().trim_end_matches('/'),
        format_human(worst_case_micros, "USD"),
        format_human(cap_micros, "USD"),
        if worst_case_micros > cap_micros { " (the run stops at the cap)" } else { "" },
        timeout_ms
    );
    Ok(SmokePlan {
        base_url: root.as_str().trim_end_matches('/').to_owned(),
        models: planned,
        paid_calls: calls + 1,
        free_calls: 3,
        max_tokens: MAX_TOKENS,
        worst_case_micros,
        cap_micros,
        currency: "USD".into(),
        timeout_ms,
        balance_source,
        summary,
    })
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1) as usize;
    Some(sorted[rank - 1])
}

struct Usage {
    prompt: Option<i64>,
    completion: Option<i64>,
}

fn usage_of(v: &Value) -> Usage {
    Usage { prompt: v["usage"]["prompt_tokens"].as_i64(), completion: v["usage"]["completion_tokens"].as_i64() }
}

/// Runs the plan. Never fails once started: what went wrong is in the result's `aborted`.
pub async fn run(plan: &SmokePlan, key: &str, prices: &PriceTable, now: impl Fn() -> String) -> Result<SmokeResult> {
    register_secret(key);
    let root = api_root(&plan.base_url)?;
    let timeout = Duration::from_millis(plan.timeout_ms);
    let http = client(timeout)?;
    let mut r = SmokeResult {
        base_url: plan.base_url.clone(),
        started_at: now(),
        finished_at: String::new(),
        plan: plan.clone(),
        models_listed: Vec::new(),
        calls: Vec::new(),
        paid_calls_made: 0,
        paid_calls_ok: 0,
        latency_p50_ms: None,
        latency_p95_ms: None,
        prompt_tokens_reported: 0,
        completion_tokens_reported: 0,
        completion_tokens_max_expected: 0,
        calls_without_usage: 0,
        expected_cost_micros: 0,
        currency: plan.currency.clone(),
        stream: None,
        unknown_model: None,
        bad_key: None,
        balance_before_micros: None,
        balance_after_micros: None,
        billed_micros: None,
        multiplier_bp: None,
        balance_note: None,
        aborted: None,
        passed: false,
        evidence_id: None,
    };
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        n
    };

    // 1. The model list.
    match list_models(&http, &root, key, timeout).await {
        Ok((status, ids, ms)) => {
            r.calls.push(SmokeCall {
                n: next(),
                kind: "models".into(),
                model: None,
                status: Some(status),
                latency_ms: ms,
                prompt_tokens: None,
                completion_tokens: None,
                cost_micros: None,
                outcome: format!("ok: {} models", ids.len()),
            });
            r.models_listed = ids;
        }
        Err(m) => {
            r.calls.push(SmokeCall {
                n: next(),
                kind: "models".into(),
                model: None,
                status: None,
                latency_ms: 0,
                prompt_tokens: None,
                completion_tokens: None,
                cost_micros: None,
                outcome: m.clone(),
            });
            if m.contains("hangs") || m.contains("HTML") || m.contains("cannot connect") {
                r.aborted = Some(m);
                return Ok(finish(r, now()));
            }
        }
    }

    // 2. Paid chat calls, round-robin over the models, the cap checked before each.
    let mut order: Vec<&PlannedModel> = Vec::new();
    let mut left: Vec<u32> = plan.models.iter().map(|p| p.calls).collect();
    while left.iter().any(|&c| c > 0) {
        for (i, p) in plan.models.iter().enumerate() {
            if left[i] > 0 {
                left[i] -= 1;
                order.push(p);
            }
        }
    }
    let mut latencies = Vec::new();
    for p in order {
        if let Some(reason) = cap_reached(&r, p.worst_case_micros_per_call, plan.cap_micros) {
            r.aborted = Some(reason);
            return Ok(finish_with_latencies(r, latencies, now()));
        }
        let call_n = next();
        let body =
            json!({"model": p.model, "max_tokens": plan.max_tokens, "messages": [{"role": "user", "content": PROMPT}]});
        let started = Instant::now();
        r.paid_calls_made += 1;
        r.completion_tokens_max_expected += plan.max_tokens as i64;
        let sent = http.post(endpoint(&root, "v1/chat/completions")).bearer_auth(key).json(&body).send().await;
        let mut call = SmokeCall {
            n: call_n,
            kind: "chat".into(),
            model: Some(p.model.clone()),
            status: None,
            latency_ms: 0,
            prompt_tokens: None,
            completion_tokens: None,
            cost_micros: None,
            outcome: String::new(),
        };
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                call.latency_ms = started.elapsed().as_millis() as u64;
                let m = transport_error(&format!("chat call {call_n} ({})", p.model), timeout, &e);
                call.outcome = m.clone();
                r.expected_cost_micros += p.worst_case_micros_per_call;
                r.calls.push(call);
                r.aborted = Some(m);
                return Ok(finish_with_latencies(r, latencies, now()));
            }
        };
        let status = resp.status().as_u16();
        call.status = Some(status);
        let ct = content_type(&resp);
        let text = match read_answer(resp, &format!("chat call {call_n} ({})", p.model), timeout).await {
            Ok(t) => t,
            Err(m) => {
                call.latency_ms = started.elapsed().as_millis() as u64;
                call.outcome = m.clone();
                r.calls.push(call);
                r.aborted = Some(m);
                return Ok(finish_with_latencies(r, latencies, now()));
            }
        };
        call.latency_ms = started.elapsed().as_millis() as u64;
        if looks_html(&ct, &text) {
            let m = format!("chat call {call_n} ({}) answered HTML instead of JSON (HTTP {status})", p.model);
            call.outcome = m.clone();
            r.calls.push(call);
            r.aborted = Some(m);
            return Ok(finish_with_latencies(r, latencies, now()));
        }
        if !(200..300).contains(&status) {
            let probe = error_shape(Some(status), &ct, &text);
            call.outcome = format!("HTTP {status}: {}", probe.message.unwrap_or_default());
            r.calls.push(call);
            if status == 401 || status == 403 {
                r.aborted = Some(format!("the gateway rejected the key (HTTP {status}); check the key and run again"));
                return Ok(finish_with_latencies(r, latencies, now()));
            }
            continue;
        }
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let m = format!("chat call {call_n} ({}) answered JSON that does not parse ({e})", p.model);
                call.outcome = m.clone();
                r.calls.push(call);
                r.aborted = Some(m);
                return Ok(finish_with_latencies(r, latencies, now()));
            }
        };
        let has_message = v["choices"][0]["message"].is_object();
        let usage = usage_of(&v);
        if let Some(problem) =
            account_usage(&mut r, &mut call, prices, &p.model, &usage, p.worst_case_micros_per_call, plan.max_tokens)
        {
            r.calls.push(call);
            r.aborted = Some(problem);
            return Ok(finish_with_latencies(r, latencies, now()));
        }
        if has_message {
            r.paid_calls_ok += 1;
            latencies.push(call.latency_ms);
            call.outcome = if usage.completion.is_some() { "ok".into() } else { "ok, but no usage block".into() };
        } else {
            call.outcome = "answered without choices[0].message".into();
        }
        r.calls.push(call);
    }

    // 3. One streaming call.
    let first = &plan.models[0];
    if let Some(reason) = cap_reached(&r, first.worst_case_micros_per_call, plan.cap_micros) {
        r.aborted = Some(reason);
        return Ok(finish_with_latencies(r, latencies, now()));
    }
    let call_n = next();
    r.paid_calls_made += 1;
    r.completion_tokens_max_expected += plan.max_tokens as i64;
    let (call, check, problem) = stream_call(&http, &root, key, first, plan, prices, timeout, call_n, &mut r).await;
    r.calls.push(call);
    r.stream = Some(check);
    if let Some(problem) = problem {
        r.aborted = Some(problem);
        return Ok(finish_with_latencies(r, latencies, now()));
    }

    // 4. Error behaviour: an unknown model, a bad key. Neither should cost anything.
    for (kind, model, k) in [("unknown_model", UNKNOWN_MODEL, key), ("bad_key", first.model.as_str(), BAD_KEY)] {
        let call_n = next();
        let body =
            json!({"model": model, "max_tokens": plan.max_tokens, "messages": [{"role": "user", "content": PROMPT}]});
        let started = Instant::now();
        let sent = http.post(endpoint(&root, "v1/chat/completions")).bearer_auth(k).json(&body).send().await;
        let (probe, outcome) = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let ct = content_type(&resp);
                let text = read_answer(resp, kind, timeout).await.unwrap_or_default();
                let probe = error_shape(Some(status), &ct, &text);
                let outcome = format!("HTTP {status}, {:?}", probe.shape);
                (probe, outcome)
            }
            Err(e) => {
                let m = transport_error(kind, timeout, &e);
                (ErrorProbe { status: None, shape: ErrorShape::NoResponse, message: Some(m.clone()) }, m)
            }
        };
        r.calls.push(SmokeCall {
            n: call_n,
            kind: kind.into(),
            model: Some(model.to_owned()),
            status: probe.status,
            latency_ms: started.elapsed().as_millis() as u64,
            prompt_tokens: None,
            completion_tokens: None,
            cost_micros: None,
            outcome,
        });
        let hung = probe.shape == ErrorShape::NoResponse;
        if kind == "unknown_model" {
            r.unknown_model = Some(probe);
        } else {
            r.bad_key = Some(probe);
        }
        if hung {
            r.aborted = r.calls.last().map(|c| c.outcome.clone());
            return Ok(finish_with_latencies(r, latencies, now()));
        }
    }
    Ok(finish_with_latencies(r, latencies, now()))
}

/// Why the next paid call may not be sent, if the cap would be passed.
fn cap_reached(r: &SmokeResult, next_worst: i64, cap: i64) -> Option<String> {
    (r.expected_cost_micros + next_worst > cap).then(|| {
        format!(
            "stopped at the spend cap: {} spent (estimated at list prices) + up to {} for the next call would pass the cap of {}",
            format_human(r.expected_cost_micros, "USD"),
            format_human(next_worst, "USD"),
            format_human(cap, "USD")
        )
    })
}

/// Adds a call's reported tokens and cost; returns why to stop when the gateway billed more
/// completion tokens than `max_tokens` allows.
fn account_usage(
    r: &mut SmokeResult,
    call: &mut SmokeCall,
    prices: &PriceTable,
    model: &str,
    usage: &Usage,
    worst: i64,
    max_tokens: u32,
) -> Option<String> {
    call.prompt_tokens = usage.prompt;
    call.completion_tokens = usage.completion;
    match (usage.prompt, usage.completion) {
        (Some(p), Some(c)) => {
            r.prompt_tokens_reported += p;
            r.completion_tokens_reported += c;
            let cost =
                prices.estimate_micros(model, Tokens { input: p, output: c, ..Default::default() }).unwrap_or(worst);
            call.cost_micros = Some(cost);
            r.expected_cost_micros += cost;
            if c > max_tokens as i64 {
                let m = format!(
                    "the gateway reported {c} completion tokens for a call limited to max_tokens {max_tokens} ({model}): it bills more than the model can have produced"
                );
                call.outcome = m.clone();
                return Some(m);
            }
        }
        _ => {
            // No usage: count the worst case so the cap still holds.
            r.calls_without_usage += 1;
            r.expected_cost_micros += worst;
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
async fn stream_call(
    http: &reqwest::Client,
    root: &Url,
    key: &str,
    model: &PlannedModel,
    plan: &SmokePlan,
    prices: &PriceTable,
    timeout: Duration,
    call_n: u32,
    r: &mut SmokeResult,
) -> (SmokeCall, StreamCheck, Option<String>) {
    let mut call = SmokeCall {
        n: call_n,
        kind: "stream".into(),
        model: Some(model.model.clone()),
        status: None,
        latency_ms: 0,
        prompt_tokens: None,
        completion_tokens: None,
        cost_micros: None,
        outcome: String::new(),
    };
    let mut check = StreamCheck { ok: false, events: 0, done_seen: false, content_chars: 0, problem: None };
    let body = json!({
        "model": model.model, "max_tokens": plan.max_tokens, "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": PROMPT}]
    });
    let started = Instant::now();
    let fail = |call: &mut SmokeCall, check: &mut StreamCheck, m: String, started: Instant| {
        call.latency_ms = started.elapsed().as_millis() as u64;
        call.outcome = m.clone();
        check.problem = Some(m.clone());
        Some(m)
    };
    let mut resp = match http.post(endpoint(root, "v1/chat/completions")).bearer_auth(key).json(&body).send().await {
        Ok(resp) => resp,
        Err(e) => {
            r.expected_cost_micros += model.worst_case_micros_per_call;
            let m = transport_error("streaming call", timeout, &e);
            let p = fail(&mut call, &mut check, m, started);
            return (call, check, p);
        }
    };
    let status = resp.status().as_u16();
    call.status = Some(status);
    let ct = content_type(&resp);
    if !(200..300).contains(&status) || !ct.contains("text/event-stream") {
        let text = read_answer(resp, "streaming call", timeout).await.unwrap_or_default();
        let m = if looks_html(&ct, &text) {
            format!("the streaming call answered HTML instead of server-sent events (HTTP {status})")
        } else {
            format!(
                "the streaming call answered HTTP {status} with {ct:?} instead of text/event-stream: {}",
                excerpt(&text)
            )
        };
        let p = fail(&mut call, &mut check, m, started);
        return (call, check, p);
    }
    let mut buffer = String::new();
    let mut usage = Usage { prompt: None, completion: None };
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let m = transport_error("streaming call", timeout, &e);
                let p = fail(&mut call, &mut check, m, started);
                return (call, check, p);
            }
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if buffer.len() > MAX_ANSWER_BYTES && !buffer.contains('\n') {
            let m = format!(
                "the stream sent more than {} without ending a line; not a server-sent event stream",
                net::size_text(MAX_ANSWER_BYTES)
            );
            let p = fail(&mut call, &mut check, m, started);
            return (call, check, p);
        }
        while let Some(pos) = buffer.find('\n') {
            let line = buffer[..pos].trim_end_matches('\r').to_owned();
            buffer.drain(..=pos);
            if line.is_empty()
                || line.starts_with(':')
                || line.starts_with("event:")
                || line.starts_with("id:")
                || line.starts_with("retry:")
            {
                continue;
            }
            let Some(data) = line.strip_prefix("data:") else {
                let m = format!("the stream sent a line that is not a server-sent event: {:?}", excerpt(&line));
                let p = fail(&mut call, &mut check, m, started);
                return (call, check, p);
            };
            let data = data.trim();
            if data == "[DONE]" {
                check.done_seen = true;
                continue;
            }
            match serde_json::from_str::<Value>(data) {
                Ok(v) => {
                    check.events += 1;
                    if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                        check.content_chars += c.chars().count() as u32;
                    }
                    if v["usage"].is_object() {
                        usage = usage_of(&v);
                    }
                }
                Err(e) => {
                    let m = format!("the stream sent an event whose data is not JSON ({e}): {:?}", excerpt(data));
                    let p = fail(&mut call, &mut check, m, started);
                    return (call, check, p);
                }
            }
        }
    }
    call.latency_ms = started.elapsed().as_millis() as u64;
    if let Some(problem) =
        account_usage(r, &mut call, prices, &model.model, &usage, model.worst_case_micros_per_call, plan.max_tokens)
    {
        check.problem = Some(problem.clone());
        return (call, check, Some(problem));
    }
    if !check.done_seen {
        let m = "the stream ended without data: [DONE]".to_owned();
        let p = fail(&mut call, &mut check, m, started);
        return (call, check, p);
    }
    check.ok = check.events > 0;
    call.outcome = if check.ok { format!("ok: {} events", check.events) } else { "no events before [DONE]".into() };
    (call, check, None)
}

fn finish_with_latencies(mut r: SmokeResult, mut latencies: Vec<u64>, at: String) -> SmokeResult {
    latencies.sort_unstable();
    r.latency_p50_ms = percentile(&latencies, 50);
    r.latency_p95_ms = percentile(&latencies, 95);
    finish(r, at)
}

fn finish(mut r: SmokeResult, at: String) -> SmokeResult {
    r.finished_at = at;
    let planned_chat: u32 = r.plan.models.iter().map(|p| p.calls).sum();
    let status_of = |p: &Option<ErrorProbe>| p.as_ref().and_then(|p| p.status);
    r.passed = r.aborted.is_none()
        && !r.models_listed.is_empty()
        && r.paid_calls_ok == planned_chat
        && r.stream.as_ref().is_some_and(|s| s.ok)
        && status_of(&r.unknown_model).is_some_and(|s| (400..500).contains(&s))
        && status_of(&r.bad_key).is_some_and(|s| s == 401 || s == 403);
    r
}

/// What the balance says was billed between two readings, and the multiplier over the expected
/// cost (basis points). Readings are (money left, spent so far); either may be missing.
pub fn apply_balance(r: &mut SmokeResult, before: (Option<i64>, Option<i64>), after: (Option<i64>, Option<i64>)) {
    r.balance_before_micros = before.0;
    r.balance_after_micros = after.0;
    let billed = match (before, after) {
        ((Some(b), _), (Some(a), _)) => Some(b - a),
        ((_, Some(b)), (_, Some(a))) => Some(a - b),
        _ => None,
    };
    r.billed_micros = billed;
    r.multiplier_bp = match billed {
        Some(b) if r.expected_cost_micros > 0 => {
            Some(((b as i128 * 10_000 + r.expected_cost_micros as i128 / 2) / r.expected_cost_micros as i128) as i64)
        }
        _ => None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn error_shapes_are_told_apart() {
        let j = error_shape(Some(404), "application/json", r#"{"error":{"message":"no such model"}}"#);
        assert_eq!((j.shape, j.message.as_deref()), (ErrorShape::JsonErrorMessage, Some("no such model")));
        assert_eq!(error_shape(Some(404), "application/json", r#"{"detail":"x"}"#).shape, ErrorShape::JsonOther);
        assert_eq!(error_shape(Some(502), "text/html", "<html>bad gateway</html>").shape, ErrorShape::Html);
        assert_eq!(error_shape(Some(500), "", "").shape, ErrorShape::Empty);
        assert_eq!(error_shape(Some(400), "text/plain", "nope").shape, ErrorShape::Text);
        assert_eq!(error_shape(Some(200), "application/json", "{}").shape, ErrorShape::NoError);
    }

    #[test]
    fn the_api_root_drops_v1_and_slashes() {
        assert_eq!(api_root("https://g.example/v1/").unwrap().as_str(), "https://g.example/");
        assert_eq!(api_root("http://127.0.0.1:9/relay/v1").unwrap().as_str(), "http://127.0.0.1:9/relay");
        assert!(api_root("ftp://x").is_err());
        assert!(api_root("not a url").is_err());
    }
}
