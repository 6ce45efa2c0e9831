//! OpenAI, through the Admin API (needs an Admin key, `sk-admin-…`). One poll reads:
//!
//! - `GET /organization/costs` (`bucket_width=1d`, grouped by API key and project): the billed
//!   money per UTC day × key × project. Costs cannot be grouped by model.
//! - `GET /organization/usage/completions` and `/organization/usage/embeddings`
//!   (`bucket_width=1h`, grouped by API key and model): tokens per hour × key × model, priced
//!   at list prices into *estimated* rows. `input_tokens` includes cached and cache-write
//!   tokens, so only the remainder is priced at the full input price.
//! - `GET /organization/projects?include_archived=true` and, per project,
//!   `GET /organization/projects/{id}/api_keys?owner_project_access=any`: key names and
//!   redacted values, so reports show names instead of `key_…` ids. Deleted keys are not
//!   listed; their spend keeps the raw id.
//!
//! Every endpoint paginates: buckets by the `next_page` cursor, lists by `after` = the last
//! object's id. A `null` `api_key_id` is spend not attributed to a key (stored as "").
//! See docs/providers/openai.md.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use reqwest::Method;
use serde_json::json;

use super::connector::{check_action_answer, BoxFuture, Connector, DisableSupport, KeyTarget};
use super::http::{ActionAnswer, Auth, KeyActionContext, NextPage, Pagination, PollContext};
use crate::error::{Error, ErrorCode, Result};
use crate::money::{json_number_to_micros, Currency};
use crate::poll::SpendKind;
use crate::poll::{BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use crate::prices::{ServiceTier, Tokens};

pub struct OpenAi;

/// The costs endpoint allows up to 180 daily buckets per page.
const COST_PAGE_BUCKETS: i64 = 180;
/// The usage endpoints allow up to 168 hourly buckets (a week) per page.
const USAGE_PAGE_BUCKETS: i64 = 168;
/// The list endpoints allow up to 100 objects per page.
const LIST_PAGE: u32 = 100;
/// A guard against a server that keeps answering `has_more: true`.
const MAX_PAGES: usize = 1_000;

/// `UsageResponse`: one page of time buckets.
#[derive(Deserialize)]
struct Page<T> {
    data: Vec<Bucket<T>>,
    #[serde(default)]
    has_more: bool,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Bucket<T> {
    start_time: i64,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
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

/// `UsageCompletionsResult` and `UsageEmbeddingsResult` (embeddings have input tokens only).
#[derive(Deserialize)]
struct UsageResult {
    input_tokens: i64,
    #[serde(default)]
    output_tokens: i64,
    /// Cache reads, part of `input_tokens`.
    #[serde(default)]
    input_cached_tokens: Option<i64>,
    /// Cache writes, also part of `input_tokens`.
    #[serde(default)]
    input_cache_write_tokens: Option<i64>,
    #[serde(default)]
    num_model_requests: Option<i64>,
    api_key_id: Option<String>,
    model: Option<String>,
    /// Grouped by `batch`: whether these were Batch API requests (null when not grouped).
    #[serde(default)]
    batch: Option<bool>,
    /// Grouped by `service_tier`: `default`, `flex`, `priority`, `scale` (null when not grouped).
    #[serde(default)]
    service_tier: Option<String>,
}

impl UsageResult {
    /// The price tier these tokens were billed at.
    fn tier(&self) -> ServiceTier {
        if self.batch == Some(true) {
            return ServiceTier::Batch;
        }
        self.service_tier.as_deref().map_or(ServiceTier::Standard, ServiceTier::from_provider)
    }
}

/// `{object: "list", data, first_id, last_id, has_more}`.
#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Project {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    archived_at: Option<i64>,
    #[serde(default)]
    status: Option<String>,
}

impl Project {
    fn archived(&self) -> bool {
        self.archived_at.is_some() || self.status.as_deref() == Some("archived")
    }
}

#[derive(Deserialize)]
struct ProjectApiKey {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    redacted_value: Option<String>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    last_used_at: Option<i64>,
}

/// Pages fetched so far and the pages expected, for progress reports. The total grows as
/// cursors reveal more pages.
struct Pages<'a> {
    ctx: &'a PollContext,
    done: u64,
    total: u64,
}

impl Pages<'_> {
    fn fetched(&mut self) {
        self.done += 1;
        self.ctx.progress.report(self.done, self.total, "pages");
    }
    fn expect_more(&mut self, n: u64) {
        self.total += n;
    }
}

fn div_ceil(a: i64, b: i64) -> u64 {
    (a.max(0) as u64).div_ceil(b as u64)
}

impl Connector for OpenAi {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let (from, to) = (ctx.range.start_ts(), ctx.range.end_ts());
            let hours = (to - from) / 3_600;
            let mut pages = Pages {
                ctx,
                done: 0,
                // Costs, two usage endpoints and the project list; key lists are added once
                // the projects are known.
                total: div_ceil(hours / 24, COST_PAGE_BUCKETS) + 2 * div_ceil(hours, USAGE_PAGE_BUCKETS) + 1,
            };

            let mut billed = Vec::new();
            let costs: Vec<Bucket<CostResult>> = fetch_buckets(
                ctx,
                &mut pages,
                "costs",
                &[("bucket_width", "1d")],
                COST_PAGE_BUCKETS,
                &["api_key_id", "project_id"],
            )
            .await?;
            for bucket in costs {
                for r in bucket.results {
                    billed.push(SpendRow {
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

            let mut estimated = Vec::new();
            let mut unpriced = BTreeSet::new();
            // Completions are also grouped by batch and service tier, whose prices differ.
            let usage = [
                ("usage/completions", true, &["api_key_id", "model", "batch", "service_tier"][..]),
                ("usage/embeddings", false, &["api_key_id", "model"][..]),
            ];
            for (endpoint, has_output, group_by) in usage {
                let buckets: Vec<Bucket<UsageResult>> =
                    fetch_buckets(ctx, &mut pages, endpoint, &[("bucket_width", "1h")], USAGE_PAGE_BUCKETS, group_by)
                        .await?;
                for bucket in buckets {
                    for r in bucket.results {
                        estimated.push(estimate(ctx, &mut unpriced, bucket.start_time, r, has_output));
                    }
                }
            }

            let keys = fetch_key_names(ctx, &mut pages).await?;

            Ok(PollResult {
                keys,
                windows: vec![
                    SpendWindow { width: BucketWidth::Day, kind: SpendKind::Billed, from, to, rows: billed },
                    SpendWindow { width: BucketWidth::Hour, kind: SpendKind::Estimated, from, to, rows: estimated },
                ],
                ..Default::default()
            })
        })
    }

    /// OpenAI's Admin API can only delete a project key, not pause it.
    fn disable_support(&self) -> DisableSupport {
        DisableSupport::Irreversible
    }

    fn disable_key<'a>(&'a self, ctx: &'a KeyActionContext, target: &'a KeyTarget) -> BoxFuture<'a, Result<String>> {
        Box::pin(delete_key(ctx, target))
    }
}

/// Tokens of one usage result as the price table counts them. `input_tokens` includes cache
/// reads and cache writes; whatever is left is billed at the full input price.
fn tokens_of(r: &UsageResult) -> Tokens {
    let cache_read = r.input_cached_tokens.unwrap_or(0).max(0);
    let cache_write = r.input_cache_write_tokens.unwrap_or(0).max(0);
    Tokens {
        input: (r.input_tokens - cache_read - cache_write).max(0),
        output: r.output_tokens.max(0),
        cache_read,
        cache_write,
    }
}

/// An estimated row for one usage result. Models without a list price keep their tokens at
/// an amount of 0, with one warning per model and poll.
fn estimate(
    ctx: &PollContext,
    unpriced: &mut BTreeSet<String>,
    bucket_start: i64,
    r: UsageResult,
    has_output: bool,
) -> SpendRow {
    let model = r.model.clone().unwrap_or_default();
    let tokens = tokens_of(&r);
    let amount = ctx.prices.estimate_tier_micros(&model, tokens, r.tier()).unwrap_or_else(|| {
        if unpriced.insert(model.clone()) {
            tracing::warn!(provider = "openai", model = %model, "no list price for this model; its tokens are kept with an estimate of 0");
        }
        0
    });
    SpendRow {
        key_id: r.api_key_id.unwrap_or_default(),
        model,
        project: String::new(),
        bucket_start,
        currency: Currency::usd(),
        amount_micros: amount,
        input_tokens: Some(r.input_tokens),
        output_tokens: has_output.then_some(r.output_tokens),
        requests: r.num_model_requests,
    }
}

/// Every bucket of `GET /organization/{what}` over the poll's window, following `next_page`.
async fn fetch_buckets<T: DeserializeOwned>(
    ctx: &PollContext,
    pages: &mut Pages<'_>,
    what: &str,
    params: &[(&str, &str)],
    limit: i64,
    group_by: &[&str],
) -> Result<Vec<Bucket<T>>> {
    let endpoint = format!("GET /organization/{what}");
    let (from, to) = (ctx.range.start_ts(), ctx.range.end_ts());
    let mut buckets = Vec::new();
    let mut walk = Pagination::new(ctx.provider, &endpoint, MAX_PAGES);
    while let Some(page) = walk.next_page()? {
        let mut url = ctx.url(&format!("organization/{what}"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("start_time", &from.to_string()).append_pair("end_time", &to.to_string());
            for (k, v) in params {
                q.append_pair(k, v);
            }
            for g in group_by {
                q.append_pair("group_by[]", g);
            }
            q.append_pair("limit", &limit.to_string());
            if let Some(p) = &page {
                q.append_pair("page", p);
            }
        }
        let body: Page<T> = ctx.get_json(&endpoint, url, Auth::Bearer).await?;
        pages.fetched();
        buckets.extend(body.data);
        walk.followed_by(match (body.has_more, body.next_page) {
            (false, _) => NextPage::Last,
            (true, Some(next)) => NextPage::From(next),
            (true, None) => NextPage::Unknown,
        })?;
    }
    Ok(buckets)
}

/// Every object of a list endpoint (`path` relative to the base URL), following `after`.
async fn fetch_list<T: DeserializeOwned>(
    ctx: &PollContext,
    pages: &mut Pages<'_>,
    endpoint: &str,
    path: &str,
    params: &[(&str, &str)],
    id_of: fn(&T) -> &str,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut walk = Pagination::new(ctx.provider, endpoint, MAX_PAGES);
    while let Some(after) = walk.next_page()? {
        let limit = LIST_PAGE.to_string();
        let query = params.iter().copied().chain([("limit", limit.as_str())]);
        let url = ctx.url_with_query(path, query.chain(after.as_deref().map(|a| ("after", a))))?;
        let body: List<T> = ctx.get_json(endpoint, url, Auth::Bearer).await?;
        pages.fetched();
        // The cursor is the id of the last object received (what `after` is documented to
        // take); `last_id` should say the same and is the fallback for an empty page.
        let next = body.data.last().map(|t| id_of(t).to_owned()).or(body.last_id);
        items.extend(body.data);
        if body.has_more {
            pages.expect_more(1);
        }
        walk.followed_by(match (body.has_more, next) {
            (false, _) => NextPage::Last,
            (true, Some(n)) => NextPage::From(n),
            (true, None) => NextPage::Unknown,
        })?;
    }
    Ok(items)
}

/// Names, redacted values and projects of every key of every project, archived ones included
/// (their keys no longer work, so they are marked disabled).
async fn fetch_key_names(ctx: &PollContext, pages: &mut Pages<'_>) -> Result<Vec<KeyRecord>> {
    let projects: Vec<Project> = fetch_list(
        ctx,
        pages,
        "GET /organization/projects",
        "organization/projects",
        &[("include_archived", "true")],
        |p: &Project| &p.id,
    )
    .await?;
    pages.expect_more(projects.len() as u64);
    let mut keys = Vec::new();
    for project in &projects {
        let path = format!("organization/projects/{}/api_keys", urlencode_segment(&project.id));
        let listed: Vec<ProjectApiKey> = fetch_list(
            ctx,
            pages,
            "GET /organization/projects/{id}/api_keys",
            &path,
            &[("owner_project_access", "any")],
            |k: &ProjectApiKey| &k.id,
        )
        .await?;
        keys.extend(listed.into_iter().map(|k| KeyRecord {
            provider_key_id: k.id,
            display_name: k.name.filter(|n| !n.trim().is_empty()),
            fingerprint: k.redacted_value,
            project: Some(project.name.clone().unwrap_or_else(|| project.id.clone())),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            disabled: project.archived(),
        }));
    }
    Ok(keys)
}

/// `DELETE /organization/projects/{project_id}/api_keys/{key_id}`: the only way OpenAI's API
/// switches a key off, and it cannot be undone.
async fn delete_key(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
    const ENDPOINT: &str = "DELETE /organization/projects/{project_id}/api_keys/{key_id}";
    let project = project_of(ctx, target).await?;
    let url = ctx.url_segments(&["organization", "projects", &project, "api_keys", &target.key_id])?;
    let answer = ctx.send_action(Method::DELETE, ENDPOINT, url, Auth::Bearer, None).await?;
    check_action_answer(ctx.provider, ENDPOINT, &answer, "/deleted", json!(true))?;
    let how = match answer {
        ActionAnswer::GoneOnRetry => "the first attempt's answer was lost and the retry found the key gone",
        ActionAnswer::Body(_) => "answered deleted: true",
    };
    Ok(format!(
        "OpenAI deleted the key from project {project} ({ENDPOINT} {how}); this cannot be undone: create a new key \
         for the apps that still need one"
    ))
}

/// The id of the project that owns the key. The costs Burnrate synced carry it (`spend.project`
/// holds project ids); a key without billed spend yet is found by the project name its key
/// list gave (`api_keys.project`) in the organization's projects.
async fn project_of(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
    if let [only] = target.project_ids.as_slice() {
        return Ok(only.clone());
    }
    const ENDPOINT: &str = "GET /organization/projects";
    let mut projects: Vec<Project> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = ctx.url("organization/projects")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("include_archived", "true").append_pair("limit", &LIST_PAGE.to_string());
            if let Some(a) = &after {
                q.append_pair("after", a);
            }
        }
        let page: List<Project> = ctx.get_json(ENDPOINT, url, Auth::Bearer).await?;
        let next = page.data.last().map(|p| p.id.clone()).or(page.last_id);
        projects.extend(page.data);
        match next {
            Some(n) if page.has_more && after.as_deref() != Some(n.as_str()) => after = Some(n),
            _ => break,
        }
    }
    let matches: Vec<&Project> = projects
        .iter()
        .filter(|p| {
            target.project_ids.contains(&p.id)
                || target.project.as_deref().is_some_and(|want| want == p.id || Some(want) == p.name.as_deref())
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::new(
            ErrorCode::KeyNotFound,
            format!(
                "cannot tell which OpenAI project key {} belongs to (Burnrate knows it as project {}); sync the \
                 source so Burnrate learns the key's project, or delete the key at {}",
                target.key_id,
                target.project.as_deref().unwrap_or("unknown"),
                super::id::ProviderId::Openai.revoke_help()
            ),
        )),
        _ => Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "several OpenAI projects are named {:?}, so Burnrate cannot tell which one owns key {}; delete the \
                 key at {}",
                target.project.as_deref().unwrap_or(""),
                target.key_id,
                super::id::ProviderId::Openai.revoke_help()
            ),
        )),
    }
}

/// Project ids are `proj_…`; escape anything else so an odd id cannot change the path.
fn urlencode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/openai/");

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!("{EXAMPLES}{name}")).unwrap()
    }

    #[test]
    fn the_documented_costs_example_parses() {
        let page: Page<CostResult> = serde_json::from_str(&example("costs_example.json")).unwrap();
        assert!(!page.has_more);
        let r = &page.data[0].results[0];
        assert_eq!(json_number_to_micros(r.amount.value).unwrap(), 60_000);
        assert_eq!(r.amount.currency.parse::<Currency>().unwrap().as_str(), "USD");
        assert_eq!(r.api_key_id, None);
    }

    #[test]
    fn the_documented_completions_example_splits_cached_tokens_out_of_input() {
        let page: Page<UsageResult> = serde_json::from_str(&example("usage_completions_example.json")).unwrap();
        assert!(page.has_more);
        assert_eq!(page.next_page.as_deref(), Some("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="));
        assert_eq!(page.data[0].start_time, 1_730_419_200);
        let r = &page.data[0].results[0];
        // 1000 input = 500 uncached + 400 cache reads + 100 cache writes.
        assert_eq!(tokens_of(r), Tokens { input: 500, output: 500, cache_read: 400, cache_write: 100 });
        assert_eq!((r.api_key_id.as_deref(), r.model.as_deref(), r.num_model_requests), (None, None, Some(5)));
    }

    #[test]
    fn the_documented_embeddings_example_has_input_tokens_only() {
        let page: Page<UsageResult> = serde_json::from_str(&example("usage_embeddings_example.json")).unwrap();
        let r = &page.data[0].results[0];
        assert_eq!(tokens_of(r), Tokens { input: 16, ..Default::default() });
        assert_eq!(r.num_model_requests, Some(2));
    }

    #[test]
    fn the_documented_list_examples_parse() {
        let projects: List<Project> = serde_json::from_str(&example("projects_example.json")).unwrap();
        assert_eq!(projects.data[0].id, "proj_abc");
        assert_eq!(projects.data[0].name.as_deref(), Some("Project example"));
        assert!(!projects.data[0].archived());
        let keys: List<ProjectApiKey> = serde_json::from_str(&example("project_api_keys_example.json")).unwrap();
        let k = &keys.data[0];
        assert_eq!(
            (k.id.as_str(), k.name.as_deref(), k.redacted_value.as_deref()),
            ("key_abc", Some("My API Key"), Some("sk-abc...def"))
        );
        assert_eq!((k.created_at, k.last_used_at), (Some(1_711_471_533), Some(1_711_471_534)));
    }

    #[test]
    fn archived_projects_are_recognised_by_either_field() {
        let p: Project =
            serde_json::from_str(r#"{"id":"proj_x","name":"x","archived_at":1711471533,"status":"archived"}"#).unwrap();
        assert!(p.archived());
        let p: Project = serde_json::from_str(r#"{"id":"proj_x","status":"archived"}"#).unwrap();
        assert!(p.archived());
    }

    #[test]
    fn a_result_with_more_cached_than_total_input_never_goes_negative() {
        let r: UsageResult =
            serde_json::from_str(r#"{"input_tokens":10,"input_cached_tokens":30,"output_tokens":1}"#).unwrap();
        assert_eq!(tokens_of(&r), Tokens { input: 0, output: 1, cache_read: 30, cache_write: 0 });
    }
}
