//! OpenRouter: `GET /key` reports the calling key's usage counters (USD) and limit. Today's
//! spend comes from `usage_daily` (the current UTC day); the limit gives a balance snapshot.
//! Per-key history with a management key arrives with the connectors work.
//! See docs/providers/openrouter.md.

use serde::Deserialize;

use super::http::{Auth, PollContext};
use super::{BoxFuture, Connector};
use crate::dto::SpendKind;
use crate::error::Result;
use crate::ledger::{day_start, BalanceSnapshot, BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use crate::money::{json_number_to_micros, Currency};

pub struct OpenRouter;

#[derive(Deserialize)]
struct KeyResponse {
    data: KeyData,
}

#[derive(Deserialize)]
struct KeyData {
    /// A display label such as `sk-or-v1-au7...890`: already a fingerprint.
    label: String,
    limit: Option<f64>,
    limit_remaining: Option<f64>,
    usage: f64,
    usage_daily: Option<f64>,
}

impl Connector for OpenRouter {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let body: KeyResponse = ctx.get_json("GET /key", ctx.url("key")?, Auth::Bearer).await?;
            let k = body.data;
            let key_id = k.label.clone();
            let mut result = PollResult {
                keys: vec![KeyRecord {
                    provider_key_id: key_id.clone(),
                    display_name: Some(k.label.clone()),
                    fingerprint: Some(k.label),
                    ..Default::default()
                }],
                balances: vec![BalanceSnapshot {
                    key_id: key_id.clone(),
                    currency: Currency::usd(),
                    balance_micros: k.limit_remaining.map(json_number_to_micros).transpose()?,
                    limit_micros: k.limit.map(json_number_to_micros).transpose()?,
                    usage_micros: Some(json_number_to_micros(k.usage)?),
                }],
                windows: vec![],
                derive_spend_from_balances: false,
            };
            // The counter covers the current UTC day only; record it when today is in the window.
            let today = ctx.now.date_naive();
            if let (Some(daily), true) = (k.usage_daily, ctx.range.contains(today)) {
                let from = day_start(today);
                result.windows.push(SpendWindow {
                    width: BucketWidth::Day,
                    kind: SpendKind::Billed,
                    from,
                    to: from + 86_400,
                    rows: vec![SpendRow {
                        key_id,
                        model: String::new(),
                        project: String::new(),
                        bucket_start: from,
                        currency: Currency::usd(),
                        amount_micros: json_number_to_micros(daily)?,
                        input_tokens: None,
                        output_tokens: None,
                        requests: None,
                    }],
                });
            }
            Ok(result)
        })
    }
}
