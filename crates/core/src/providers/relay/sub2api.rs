//! sub2api: `GET /v1/usage` with the relay API key (`Authorization: Bearer sk-…`) describes that
//! key. Its handler (Wei-Shaw/sub2api `internal/handler/gateway_handler.go`, `Usage`) answers
//! in one of two modes:
//! - `quota_limited` (the key has its own USD quota or rate limits): `quota: {limit, used,
//!   remaining, unit:"USD"}`, `status`;
//! - `unrestricted`: the owner's wallet (`balance`, `remaining`) or, for subscription groups,
//!   `remaining` (-1 = no limit) and `subscription: {daily_usage_usd, …}`;
//!
//! plus, best effort, `usage: {today: {…, cost, actual_cost}, total: {…}}` and
//! `model_stats: [{model, requests, input_tokens, output_tokens, cache_creation_tokens,
//! cache_read_tokens, total_tokens, cost, actual_cost, …}]` for `start_date`..`end_date`
//! (YYYY-MM-DD, inclusive, default the last 30 days). `model_stats` is omitted when it is empty.
//! All money is USD; `actual_cost` is what the relay charged (after its group rate multiplier),
//! `cost` the list price before it, so `actual_cost` is the billed figure.
//!
//! Burnrate asks for `model_stats` one day at a time (`start_date=end_date=D`) for every day of the
//! sync window: billed spend per model per day for this key. The relay evaluates dates in its own
//! time zone (`timezone`, default Asia/Shanghai), so a "day" here is the relay's calendar day,
//! recorded under the same date. Releases before the `mode` field (2025) answer only `{isValid,
//! planName, remaining, unit}`: then only the balance is recorded and spend is derived from its
//! drops.

use chrono::Days;
use serde::Deserialize;

use super::shared::root_url;
use crate::days::day_start;
use crate::error::Result;
use crate::fingerprint::fingerprint;
use crate::money::{json_number_to_micros, Currency};
use crate::poll::SpendKind;
use crate::poll::{BalanceSnapshot, BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use crate::providers::connector::{BoxFuture, Connector};
use crate::providers::http::{Auth, PollContext};

pub struct Sub2Api;

const ENDPOINT: &str = "GET /v1/usage";

#[derive(Deserialize)]
struct UsageResponse {
    /// `quota_limited` or `unrestricted`; absent before sub2api reported usage statistics.
    mode: Option<String>,
    #[serde(rename = "isValid")]
    is_valid: Option<bool>,
    status: Option<String>,
    remaining: Option<f64>,
    balance: Option<f64>,
    quota: Option<KeyQuota>,
    usage: Option<UsageSummary>,
    #[serde(default)]
    model_stats: Option<Vec<ModelStat>>,
}

#[derive(Deserialize)]
struct KeyQuota {
    limit: Option<f64>,
    remaining: Option<f64>,
}

#[derive(Deserialize)]
struct UsageSummary {
    total: Option<Totals>,
}

#[derive(Deserialize)]
struct Totals {
    actual_cost: Option<f64>,
}

#[derive(Deserialize)]
struct ModelStat {
    #[serde(default)]
    model: String,
    requests: Option<i64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    #[serde(default)]
    actual_cost: f64,
}

impl Connector for Sub2Api {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            // The endpoint never names the key: its fingerprint stands for it.
            let key_id = fingerprint(&ctx.key);
            let (from, to) = (ctx.range.start_ts(), ctx.range.end_ts());
            let total_days = (ctx.range.to - ctx.range.from).num_days() as u64 + 1;
            let mut rows = Vec::new();
            let mut latest: Option<UsageResponse> = None;
            let mut day = ctx.range.from;
            let mut done = 0;
            while day <= ctx.range.to {
                let mut url = root_url(ctx, "v1/usage")?;
                let date = day.format("%Y-%m-%d").to_string();
                url.query_pairs_mut().append_pair("start_date", &date).append_pair("end_date", &date);
                let body: UsageResponse = ctx.get_json(ENDPOINT, url, Auth::Bearer).await?;
                done += 1;
                ctx.progress.report(done, total_days, "days");
                if body.mode.is_none() {
                    // An older relay: no statistics, whatever the dates. One call is enough.
                    latest = Some(body);
                    break;
                }
                for m in body.model_stats.iter().flatten() {
                    rows.push(SpendRow {
                        key_id: key_id.clone(),
                        model: m.model.clone(),
                        project: String::new(),
                        bucket_start: day_start(day),
                        currency: Currency::usd(),
                        amount_micros: json_number_to_micros(m.actual_cost)?,
                        input_tokens: m.input_tokens,
                        output_tokens: m.output_tokens,
                        requests: m.requests,
                    });
                }
                latest = Some(body);
                day = match day.checked_add_days(Days::new(1)) {
                    Some(next) => next,
                    None => break,
                };
            }
            let Some(last) = latest else { return Ok(PollResult::default()) };
            let has_history = last.mode.is_some();
            let mut result = PollResult {
                keys: vec![KeyRecord {
                    provider_key_id: key_id.clone(),
                    display_name: Some(key_id.clone()),
                    fingerprint: Some(key_id.clone()),
                    disabled: last.is_valid == Some(false) || last.status.as_deref() == Some("disabled"),
                    ..Default::default()
                }],
                balances: vec![balance(&key_id, &last)?],
                windows: vec![],
                // Without per-day statistics the balance is all there is to derive spend from.
                derive_spend_from_balances: !has_history,
            };
            if has_history {
                result.windows.push(SpendWindow { width: BucketWidth::Day, kind: SpendKind::Billed, from, to, rows });
            }
            Ok(result)
        })
    }
}

/// What is left to spend: the key's own quota when it has one, else the wallet balance, else the
/// subscription's remaining allowance (-1 there means no limit).
fn balance(key_id: &str, r: &UsageResponse) -> Result<BalanceSnapshot> {
    let quota = r.quota.as_ref();
    let left = quota.and_then(|q| q.remaining).or(r.balance).or(r.remaining.filter(|v| *v >= 0.0));
    Ok(BalanceSnapshot {
        key_id: key_id.to_owned(),
        currency: Currency::usd(),
        balance_micros: left.map(json_number_to_micros).transpose()?,
        limit_micros: quota.and_then(|q| q.limit).map(json_number_to_micros).transpose()?,
        usage_micros: r
            .usage
            .as_ref()
            .and_then(|u| u.total.as_ref())
            .and_then(|t| t.actual_cost)
            .map(json_number_to_micros)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::testing::{ctx, fixture, KEY};
    use super::*;
    use crate::providers::ProviderId;

    const NOW: &str = "2026-03-02T12:00:00Z";

    async fn serve_day(server: &MockServer, day: &str, body: String) {
        Mock::given(method("GET"))
            .and(path("/v1/usage"))
            .and(query_param("start_date", day))
            .and(query_param("end_date", day))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn one_request_per_day_gives_billed_spend_per_model() {
        let server = MockServer::start().await;
        serve_day(&server, "2026-03-01", fixture("sub2api/usage_quota_limited.json")).await;
        serve_day(&server, "2026-03-02", fixture("sub2api/usage_wallet.json")).await;
        let c = ctx(ProviderId::Sub2api, &format!("{}/v1", server.uri()), &[], ("2026-03-01", "2026-03-02"), NOW);
        let poll = Sub2Api.poll(&c).await.unwrap();
        assert!(!poll.derive_spend_from_balances);
        let w = &poll.windows[0];
        assert_eq!((w.width, w.kind, w.from, w.to), (BucketWidth::Day, SpendKind::Billed, 1772323200, 1772496000));
        type Got<'a> = (i64, &'a str, i64, Option<i64>, Option<i64>, Option<i64>);
        let got: Vec<Got<'_>> = w
            .rows
            .iter()
            .map(|r| (r.bucket_start, r.model.as_str(), r.amount_micros, r.input_tokens, r.output_tokens, r.requests))
            .collect();
        assert_eq!(
            got,
            vec![
                (1772323200, "gpt-5", 1_250_000, Some(900), Some(300), Some(3)),
                (1772409600, "claude-sonnet-4-5", 300_000, Some(3000), Some(1000), Some(10)),
                (1772409600, "claude-haiku-4-5", 5_000, Some(400), Some(200), Some(2)),
            ]
        );
        assert!(w.rows.iter().all(|r| r.key_id == "sk-…0001"));
        // The balance comes from the latest answer: the wallet.
        let b = &poll.balances[0];
        assert_eq!((b.balance_micros, b.limit_micros, b.usage_micros), (Some(87_654_321), None, Some(12_750_000)));
        assert_eq!(poll.keys[0].provider_key_id, "sk-…0001");
    }

    #[tokio::test]
    async fn key_quota_and_subscription_balances() {
        let r: UsageResponse = serde_json::from_str(&fixture("sub2api/usage_quota_limited.json")).unwrap();
        let b = balance("k", &r).unwrap();
        assert_eq!(
            (b.balance_micros, b.limit_micros, b.usage_micros),
            (Some(37_500_000), Some(50_000_000), Some(12_500_000))
        );
        let r: UsageResponse = serde_json::from_str(&fixture("sub2api/usage_subscription.json")).unwrap();
        let b = balance("k", &r).unwrap();
        assert_eq!((b.balance_micros, b.limit_micros, b.usage_micros), (None, None, None), "-1 means unlimited");
    }

    #[tokio::test]
    async fn a_legacy_relay_gives_a_balance_to_derive_from_after_one_request() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/usage"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(fixture("sub2api/usage_legacy.json"), "application/json"),
            )
            .mount(&server)
            .await;
        let c = ctx(ProviderId::Sub2api, &server.uri(), &[], ("2026-02-20", "2026-03-02"), NOW);
        let poll = Sub2Api.poll(&c).await.unwrap();
        assert!(poll.derive_spend_from_balances);
        assert!(poll.windows.is_empty(), "no window: earlier data must not be wiped");
        assert_eq!(poll.balances[0].balance_micros, Some(42_500_000));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_key_type() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(401).set_body_raw(fixture("sub2api/error_401.json"), "application/json"),
            )
            .mount(&server)
            .await;
        let c = ctx(ProviderId::Sub2api, &server.uri(), &[], ("2026-03-01", "2026-03-02"), NOW);
        let e = Sub2Api.poll(&c).await.unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::KeyRejected);
        assert!(
            e.message().contains("Invalid API key") && e.message().contains("API key issued by the relay"),
            "{}",
            e.message()
        );
    }
}
