//! OpenAI: billed cost per day, API key and project from the Admin API
//! `GET /organization/costs` (every page). Needs an Admin key (`sk-admin-…`).
//! See docs/providers/openai.md.

use serde::Deserialize;

use super::http::{Auth, PollContext};
use super::{BoxFuture, Connector};
use crate::dto::SpendKind;
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::{BucketWidth, PollResult, SpendRow, SpendWindow};
use crate::money::{json_number_to_micros, Currency};

pub struct OpenAi;

/// The API allows up to 180 daily buckets per page.
const PAGE_BUCKETS: u32 = 180;
/// A guard against a server that keeps answering `has_more: true`.
const MAX_PAGES: usize = 1_000;

#[derive(Deserialize)]
struct Page {
    data: Vec<Bucket>,
    #[serde(default)]
    has_more: bool,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Bucket {
    start_time: i64,
    #[serde(default)]
    results: Vec<CostResult>,
}

#[derive(Deserialize)]
struct CostResult {
    amount: Amount,
    project_id: Option<String>,
    api_key_id: Option<String>,
}

#[derive(Deserialize)]
struct Amount {
    value: f64,
    currency: String,
}

impl Connector for OpenAi {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let (from, to) = (ctx.range.start_ts(), ctx.range.end_ts());
            let mut rows = Vec::new();
            let mut page: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let mut url = ctx.url("organization/costs")?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("start_time", &from.to_string())
                        .append_pair("end_time", &to.to_string())
                        .append_pair("bucket_width", "1d")
                        .append_pair("group_by[]", "api_key_id")
                        .append_pair("group_by[]", "project_id")
                        .append_pair("limit", &PAGE_BUCKETS.to_string());
                    if let Some(p) = &page {
                        q.append_pair("page", p);
                    }
                }
                let body: Page = ctx.get_json("GET /organization/costs", url, Auth::Bearer).await?;
                for bucket in body.data {
                    for r in bucket.results {
                        rows.push(SpendRow {
                            key_id: r.api_key_id.unwrap_or_default(),
                            model: String::new(),
                            project: r.project_id.unwrap_or_default(),
                            bucket_start: bucket.start_time,
                            currency: r.amount.currency.parse::<Currency>()?,
                            amount_micros: json_number_to_micros(r.amount.value)?,
                            input_tokens: None,
                            output_tokens: None,
                            requests: None,
                        });
                    }
                }
                match (body.has_more, body.next_page) {
                    (true, Some(next)) => page = Some(next),
                    (true, None) => {
                        return Err(Error::new(
                            ErrorCode::UnexpectedResponse,
                            "OpenAI said more pages follow at GET /organization/costs but gave no next_page; nothing was written",
                        ))
                    }
                    (false, _) => {
                        return Ok(PollResult {
                            windows: vec![SpendWindow { width: BucketWidth::Day, kind: SpendKind::Billed, from, to, rows }],
                            ..Default::default()
                        })
                    }
                }
            }
            Err(Error::new(
                ErrorCode::UnexpectedResponse,
                "OpenAI kept returning pages at GET /organization/costs; stopped after 1000, nothing was written",
            ))
        })
    }
}
