//! LiteLLM proxy (self-hosted): billed USD spend per UTC day × virtual key × model from
//! `GET /user/daily/activity`, and key names, blocked state and budgets from `GET /key/list`
//! (master/admin key) or, for a key that may not list keys, `GET /key/info` (itself).
//!
//! `/user/daily/activity?start_date&end_date` (inclusive YYYY-MM-DD, `page`, `page_size` ≤ 1000)
//! answers `{results: [{date, metrics, breakdown: {models, api_keys, …}}], metadata: {has_more,
//! total_pages, …}}`. Quirks that shape this module:
//! - Pagination is over the proxy's daily DB rows (one per user × key × model × provider × …),
//!   and each page is aggregated from its own rows only, so **one date can appear on several
//!   pages** with partial figures. Partial entries of a date are disjoint and are summed.
//! - `breakdown.api_keys` (hashed key → spend) and `breakdown.models` (model → spend) are two
//!   marginals of the same spend: emitting both would count it twice. Current proxies nest the
//!   cross in `models[m].api_key_breakdown[k]`; that is the finest attribution and becomes one
//!   row per day × key × model. What the cross misses is kept as remainder rows, so a day always
//!   totals `metrics.spend`: a key's spend on rows without a model (e.g. MCP tool calls) →
//!   key × no model; a model's spend without a key (PTU flat-cost rows) → no key × model;
//!   anything else → unattributed. Older proxies send no `api_key_breakdown` (and flat metrics);
//!   then the model split is dropped for that day and spend is attributed per key only.
//! - Money is USD as JSON floats, summed by the proxy in floating point; sums here are exact
//!   decimals of the numbers as written, rounded to micro-dollars per row.
//! - `/key/info`'s `spend` covers only the key's current budget window when `budget_duration`
//!   is set, so `max_budget − spend` is what is left in that window, not over the key's life.
//!
//! See docs/providers/litellm.md.

mod activity;
mod common;
mod keys;

use std::collections::BTreeMap;

use super::connector::{BoxFuture, Connector, DisableSupport, KeyTarget};
use super::http::{Auth, KeyActionContext, PollContext};
use crate::error::{ErrorCode, Result};
use crate::poll::SpendKind;
use crate::poll::{BucketWidth, KeyRecord, PollResult, SpendWindow};

use activity::*;
use common::*;
use keys::*;

pub struct LiteLlm;

/// The largest page the proxy allows: fewer round trips over its row-level pagination.
const ACTIVITY_PAGE_SIZE: u32 = 1_000;

impl Connector for LiteLlm {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let (from, to) = (ctx.range.from.to_string(), ctx.range.to.to_string());
            let mut activity = Activity::default();
            let mut page = 1i64;
            loop {
                let mut url = ctx.url("user/daily/activity")?;
                url.query_pairs_mut()
                    .append_pair("start_date", &from)
                    .append_pair("end_date", &to)
                    .append_pair("page", &page.to_string())
                    .append_pair("page_size", &ACTIVITY_PAGE_SIZE.to_string());
                let text = ctx.get_body(ACTIVITY, url, Auth::Bearer, &[]).await?;
                let body: ActivityPage<'_> = ctx.parse(ACTIVITY, &text)?;
                activity.merge(body.results)?;
                let total = body.metadata.total_pages.unwrap_or(page).max(page);
                ctx.progress.report(page as u64, total as u64, "pages");
                if !body.metadata.has_more && page >= total {
                    break;
                }
                if page >= MAX_PAGES {
                    return Err(unreadable(ACTIVITY, format!("it kept returning pages; stopped after {MAX_PAGES}")));
                }
                page += 1;
            }

            let (rows, lost_model_days) = activity.rows(ctx.range)?;
            if !lost_model_days.is_empty() {
                tracing::warn!(
                    days = %lost_model_days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
                    "this LiteLLM proxy does not split model spend by key (no api_key_breakdown); spend is attributed per key only"
                );
            }

            let listed = match list_keys(ctx).await {
                Ok(keys) => keys,
                // A virtual key may read its own activity but not list keys: describe itself instead.
                Err(e) if e.code == ErrorCode::KeyRejected => match own_key(ctx).await {
                    Ok(keys) => keys,
                    // Names and budgets are extras; the spend above is complete without them.
                    Err(e) if e.code == ErrorCode::KeyRejected => {
                        tracing::warn!(
                            "this LiteLLM key may not read key details; key names and budgets are not recorded"
                        );
                        vec![]
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => return Err(e),
            };
            let mut keys: BTreeMap<String, KeyRecord> = activity
                .aliased_keys()
                .into_iter()
                .map(|(id, alias)| {
                    let rec = KeyRecord {
                        provider_key_id: id.to_owned(),
                        display_name: Some(alias.to_owned()),
                        ..Default::default()
                    };
                    (id.to_owned(), rec)
                })
                .collect();
            let mut balances = Vec::new();
            for (id, k) in &listed {
                let mut rec = key_record(id, k, ctx.now);
                if rec.display_name.is_none() {
                    rec.display_name = activity.alias(id).map(str::to_owned);
                }
                keys.insert(id.clone(), rec);
                balances.extend(budget(id, k)?);
            }

            Ok(PollResult {
                keys: keys.into_values().collect(),
                windows: vec![SpendWindow {
                    width: BucketWidth::Day,
                    kind: SpendKind::Billed,
                    from: ctx.range.start_ts(),
                    to: ctx.range.end_ts(),
                    rows,
                }],
                balances,
                derive_spend_from_balances: false,
            })
        })
    }

    fn disable_support(&self) -> DisableSupport {
        DisableSupport::Reversible
    }

    fn disable_key<'a>(&'a self, ctx: &'a KeyActionContext, target: &'a KeyTarget) -> BoxFuture<'a, Result<String>> {
        Box::pin(disable_key(ctx, target))
    }
}
