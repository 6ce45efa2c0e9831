//! Anthropic Admin API (`x-api-key` with an Admin key `sk-ant-admin…`, `anthropic-version:
//! 2023-06-01`; base URL `https://api.anthropic.com`). See docs/providers/anthropic.md.
//!
//! **Anthropic bills per workspace, not per key.** Per-key dollars are ESTIMATES: token counts
//! × list price. Four calls, every page of each:
//!
//! - `GET /v1/organizations/cost_report` (`bucket_width=1d`, grouped by `workspace_id` and
//!   `description`): the billed money per day × workspace × model. `amount` is a decimal
//!   STRING IN CENTS (`"123.78912"` USD = $1.2378912). The cost report has no key dimension,
//!   so billed rows have key "" (unattributed); `model` is null for non-token costs (web search,
//!   code execution) and `workspace_id` is null for the default workspace. **Priority Tier
//!   costs never appear in the cost report** (Anthropic: "Priority Tier costs use a different
//!   billing model and will never appear in the cost endpoint").
//! - `GET /v1/organizations/usage_report/messages` (`bucket_width=1h`, grouped by `api_key_id`,
//!   `model` and `workspace_id`): tokens per hour × key × model × workspace, priced with the
//!   list-price table into `estimated` rows. A null `api_key_id` is usage from the Console
//!   (Workbench), kept as key "" (unattributed).
//! - `GET /v1/organizations/workspaces?include_archived=true` and `GET
//!   /v1/organizations/api_keys` (no status filter, so every status is listed): key names,
//!   hints and workspaces.
//!
//! Quirks: both reports return every bucket of the window, including empty ones (`results:
//! []`); `ending_at` is exclusive (buckets that end by it are returned); `limit` counts buckets
//! (31 days / 168 hours at most) and a bucket's results may continue on the next page, so rows
//! are summed per identity across pages. Estimates use standard list prices: the Batch API
//! discount, long-context premiums and Priority Tier commitments are not applied.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::DateTime;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use reqwest::Method;
use serde_json::json;

use super::connector::{check_action_answer, BoxFuture, Connector, DisableSupport, KeyTarget};
use super::http::{Auth, KeyActionContext, NextPage, Pagination, PollContext};
use super::id::ProviderId;
use crate::days::ts_to_rfc3339;
use crate::error::{Error, ErrorCode, Result};
use crate::money::{parse_scaled_micros, Currency};
use crate::poll::SpendKind;
use crate::poll::{BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use crate::prices::{PriceTable, ServiceTier, Tokens};

pub struct Anthropic;

/// Daily buckets per cost page: the API's maximum.
const COST_PAGE_DAYS: u64 = 31;
/// Hourly buckets per usage page: the API's maximum.
const USAGE_PAGE_HOURS: u64 = 168;
/// Items per page of the key and workspace lists: the API's maximum.
const LIST_PAGE: u32 = 1_000;
/// A guard against a server that keeps answering `has_more: true`.
const MAX_PAGES: usize = 1_000;

const COST_ENDPOINT: &str = "GET /v1/organizations/cost_report";
const USAGE_ENDPOINT: &str = "GET /v1/organizations/usage_report/messages";
const KEYS_ENDPOINT: &str = "GET /v1/organizations/api_keys";
const WORKSPACES_ENDPOINT: &str = "GET /v1/organizations/workspaces";

/// What the console calls the workspace every organization starts with; it has no id in the API.
const DEFAULT_WORKSPACE: &str = "Default";

#[derive(Deserialize)]
struct ReportPage<R> {
    #[serde(default = "Vec::new")]
    data: Vec<ReportBucket<R>>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct ReportBucket<R> {
    starting_at: String,
    /// Empty (or, defensively, null) for a bucket without activity.
    #[serde(default = "Option::default")]
    results: Option<Vec<R>>,
}

#[derive(Deserialize)]
struct CostResult {
    amount: Amount,
    currency: Option<String>,
    model: Option<String>,
    workspace_id: Option<String>,
}

/// Documented as a decimal string in cents; a plain JSON number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Number(serde_json::Number),
}

impl Amount {
    fn text(&self) -> String {
        match self {
            Amount::Text(s) => s.clone(),
            Amount::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct UsageResult {
    api_key_id: Option<String>,
    model: Option<String>,
    workspace_id: Option<String>,
    uncached_input_tokens: Option<i64>,
    cache_creation: Option<CacheCreation>,
    cache_read_input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    /// Grouped by `service_tier`: `standard`, `batch`, `flex`, `priority`, … (priced differently).
    #[serde(default)]
    service_tier: Option<String>,
}

#[derive(Deserialize)]
struct CacheCreation {
    ephemeral_1h_input_tokens: Option<i64>,
    ephemeral_5m_input_tokens: Option<i64>,
}

#[derive(Deserialize)]
struct ListPage<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct ApiKey {
    id: String,
    name: Option<String>,
    partial_key_hint: Option<String>,
    status: Option<String>,
    workspace_id: Option<String>,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct Workspace {
    id: String,
    name: Option<String>,
}

fn unexpected(endpoint: &str, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::UnexpectedResponse,
        format!("Anthropic sent {what} at {endpoint}; nothing was written. If the base URL is right, the API may have changed"),
    )
}

fn parse_time(endpoint: &str, text: &str) -> Result<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp())
        .map_err(|_| unexpected(endpoint, format_args!("a time Burnrate cannot read ({text:?})")))
}

/// The half-open window `[from, to)` a poll covers, Unix seconds.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: i64,
    to: i64,
}

impl Window {
    /// The bucket's start, or None when it lies outside the window (it belongs to days this
    /// poll does not replace, so it is left for the sync that covers them).
    fn bucket_start(&self, endpoint: &str, starting_at: &str) -> Result<Option<i64>> {
        let ts = parse_time(endpoint, starting_at)?;
        if ts < self.from || ts >= self.to {
            tracing::debug!(endpoint, starting_at, "skipping a bucket outside the window");
            return Ok(None);
        }
        Ok(Some(ts))
    }
}

/// Billed cents per (day, model, workspace, currency), summed exactly before rounding: the
/// cost report splits a day into one line per description (input, output, cache write, …),
/// and rounding each line to a micro-dollar first would drift.
#[derive(Default)]
struct CostTotals(BTreeMap<(i64, String, String, Currency), Decimal>);

impl CostTotals {
    fn add_page(&mut self, page: ReportPage<CostResult>, window: Window) -> Result<()> {
        for bucket in page.data {
            let Some(start) = window.bucket_start(COST_ENDPOINT, &bucket.starting_at)? else { continue };
            for r in bucket.results.unwrap_or_default() {
                let text = r.amount.text();
                let cents = Decimal::from_str(text.trim()).or_else(|_| Decimal::from_scientific(text.trim())).map_err(
                    |_| unexpected(COST_ENDPOINT, format_args!("an amount that is not a decimal ({text:?})")),
                )?;
                let currency = match r.currency.as_deref() {
                    // "Currently always USD" per the API reference.
                    None | Some("") => Currency::usd(),
                    Some(c) => c.parse::<Currency>().map_err(|e| unexpected(COST_ENDPOINT, e.message()))?,
                };
                let key = (start, r.model.unwrap_or_default(), r.workspace_id.unwrap_or_default(), currency);
                let sum = self.0.entry(key).or_default();
                *sum =
                    sum.checked_add(cents).ok_or_else(|| unexpected(COST_ENDPOINT, "amounts too large to add up"))?;
            }
        }
        Ok(())
    }

    fn into_rows(self) -> Result<Vec<SpendRow>> {
        self.0
            .into_iter()
            .map(|((bucket_start, model, project, currency), cents)| {
                Ok(SpendRow {
                    key_id: String::new(),
                    model,
                    project,
                    bucket_start,
                    currency,
                    amount_micros: parse_scaled_micros(&cents.to_string(), 100)
                        .map_err(|e| unexpected(COST_ENDPOINT, e.message()))?,
                    input_tokens: None,
                    output_tokens: None,
                    requests: None,
                })
            })
            .collect()
    }
}

/// Token counts of one usage result, as Anthropic splits them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct UsageTokens {
    uncached: i64,
    cache_write_5m: i64,
    cache_write_1h: i64,
    cache_read: i64,
    output: i64,
}

impl UsageTokens {
    fn of(r: &UsageResult) -> Self {
        let cc = r.cache_creation.as_ref();
        UsageTokens {
            uncached: r.uncached_input_tokens.unwrap_or(0),
            cache_write_5m: cc.and_then(|c| c.ephemeral_5m_input_tokens).unwrap_or(0),
            cache_write_1h: cc.and_then(|c| c.ephemeral_1h_input_tokens).unwrap_or(0),
            cache_read: r.cache_read_input_tokens.unwrap_or(0),
            output: r.output_tokens.unwrap_or(0),
        }
    }

    fn add(&mut self, o: UsageTokens) {
        self.uncached = self.uncached.saturating_add(o.uncached);
        self.cache_write_5m = self.cache_write_5m.saturating_add(o.cache_write_5m);
        self.cache_write_1h = self.cache_write_1h.saturating_add(o.cache_write_1h);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.output = self.output.saturating_add(o.output);
    }

    /// Every input token: uncached, written to and read from the cache.
    fn input_total(&self) -> i64 {
        self.uncached
            .saturating_add(self.cache_write_5m)
            .saturating_add(self.cache_write_1h)
            .saturating_add(self.cache_read)
    }

    /// The list-price estimate. The price table's cache-write price is the 5-minute one
    /// (1.25× input); 1-hour cache writes cost 2× the input price, so they are priced as two
    /// input tokens each rather than under-counted at the 5-minute rate.
    fn estimate_micros(&self, prices: &PriceTable, model: &str, tier: ServiceTier) -> Option<i64> {
        let tokens = Tokens {
            input: self.uncached.saturating_add(self.cache_write_1h.saturating_mul(2)),
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write_5m,
        };
        prices.estimate_tier_micros(model, tokens, tier)
    }
}

/// Tokens per (hour, key, model, workspace, price tier), summed across pages. Tiers become
/// separate rows of the same bucket, which the ledger sums.
#[derive(Default)]
struct UsageTotals(BTreeMap<(i64, String, String, String, ServiceTier), UsageTokens>);

impl UsageTotals {
    fn add_page(&mut self, page: ReportPage<UsageResult>, window: Window) -> Result<()> {
        for bucket in page.data {
            let Some(start) = window.bucket_start(USAGE_ENDPOINT, &bucket.starting_at)? else { continue };
            for r in bucket.results.unwrap_or_default() {
                let tokens = UsageTokens::of(&r);
                let key = (
                    start,
                    r.api_key_id.unwrap_or_default(),
                    r.model.unwrap_or_default(),
                    r.workspace_id.unwrap_or_default(),
                    r.service_tier.as_deref().map_or(ServiceTier::Standard, ServiceTier::from_provider),
                );
                self.0.entry(key).or_default().add(tokens);
            }
        }
        Ok(())
    }

    /// Estimated rows. A model without a list price keeps its tokens at amount 0, with one
    /// warning per model.
    fn into_rows(self, prices: &PriceTable) -> Vec<SpendRow> {
        let mut unpriced = BTreeSet::new();
        let rows = self
            .0
            .into_iter()
            .map(|((bucket_start, key_id, model, project, tier), t)| {
                let amount_micros = t.estimate_micros(prices, &model, tier).unwrap_or_else(|| {
                    unpriced.insert(model.clone());
                    0
                });
                SpendRow {
                    key_id,
                    model,
                    project,
                    bucket_start,
                    currency: Currency::usd(),
                    amount_micros,
                    input_tokens: Some(t.input_total()),
                    output_tokens: Some(t.output),
                    requests: None,
                }
            })
            .collect();
        for model in unpriced {
            tracing::warn!(
                provider = "anthropic",
                model,
                "no list price for this model: its tokens are kept, its estimated cost is 0"
            );
        }
        rows
    }
}

/// `partial_key_hint` (`sk-ant-api03-R2D...igAA`) in Burnrate's fingerprint shape (`sk-…igAA`),
/// which is also what the same key shows when added as a source. None when the hint has no
/// recognisable redaction.
fn fingerprint_from_hint(hint: &str) -> Option<String> {
    let hint = hint.trim();
    let (_, tail) = hint.rsplit_once("...").or_else(|| hint.rsplit_once('…'))?;
    if tail.is_empty() || tail.chars().count() > 8 {
        return None;
    }
    let prefix = if hint.starts_with("sk-") { "sk-" } else { "" };
    Some(format!("{prefix}…{tail}"))
}

fn key_record(k: ApiKey, workspace_names: &BTreeMap<String, String>) -> Result<KeyRecord> {
    let project = match k.workspace_id {
        None => DEFAULT_WORKSPACE.to_owned(),
        Some(id) => workspace_names.get(&id).cloned().unwrap_or(id),
    };
    let created_at = k.created_at.as_deref().map(|t| parse_time(KEYS_ENDPOINT, t)).transpose()?;
    Ok(KeyRecord {
        provider_key_id: k.id,
        display_name: k.name.filter(|n| !n.trim().is_empty()),
        fingerprint: k.partial_key_hint.as_deref().and_then(fingerprint_from_hint),
        project: Some(project),
        created_at,
        last_used_at: None,
        // inactive, archived and expired keys no longer authenticate.
        disabled: k.status.as_deref().is_some_and(|s| s != "active"),
    })
}

/// Counts fetched pages for progress; the total is the expected number, raised as needed.
struct Pages {
    done: u64,
    total: u64,
}

impl Pages {
    fn tick(&mut self, ctx: &PollContext) {
        self.done += 1;
        ctx.progress.report(self.done, self.total, "pages");
    }
}

/// Follows `next_page` through every page of a usage or cost report.
async fn report_pages<R: DeserializeOwned>(
    ctx: &PollContext,
    endpoint: &str,
    path: &str,
    params: &[(&str, String)],
    pages: &mut Pages,
    mut each: impl FnMut(ReportPage<R>) -> Result<()>,
) -> Result<()> {
    let mut walk = Pagination::new(ctx.provider, endpoint, MAX_PAGES);
    while let Some(cursor) = walk.next_page()? {
        let query = params.iter().map(|(k, v)| (*k, v.as_str()));
        let url = ctx.url_with_query(path, query.chain(cursor.as_deref().map(|p| ("page", p))))?;
        let page: ReportPage<R> = ctx.get_json(endpoint, url, Auth::XApiKey).await?;
        pages.tick(ctx);
        walk.followed_by(match (page.has_more, page.next_page.clone()) {
            (false, _) => NextPage::Last,
            (true, Some(p)) => NextPage::From(p),
            (true, None) => NextPage::Unknown,
        })?;
        each(page)?;
    }
    Ok(())
}

/// Follows `after_id = last_id` through every page of a list endpoint.
async fn list_pages<T: DeserializeOwned>(
    ctx: &PollContext,
    endpoint: &str,
    path: &str,
    params: &[(&str, String)],
    pages: &mut Pages,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut walk = Pagination::new(ctx.provider, endpoint, MAX_PAGES);
    while let Some(after) = walk.next_page()? {
        let query = params.iter().map(|(k, v)| (*k, v.as_str()));
        let url = ctx.url_with_query(path, query.chain(after.as_deref().map(|a| ("after_id", a))))?;
        let page: ListPage<T> = ctx.get_json(endpoint, url, Auth::XApiKey).await?;
        pages.tick(ctx);
        walk.followed_by(match (page.has_more, page.last_id) {
            (false, _) => NextPage::Last,
            // A page with nothing on it cannot move the cursor: stop rather than loop.
            (true, _) if page.data.is_empty() => NextPage::Last,
            (true, Some(last)) => NextPage::From(last),
            (true, None) => NextPage::Unknown,
        })?;
        items.extend(page.data);
    }
    Ok(items)
}

impl Connector for Anthropic {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let window = Window { from: ctx.range.start_ts(), to: ctx.range.end_ts() };
            let (starting_at, ending_at) = (ts_to_rfc3339(window.from), ts_to_rfc3339(window.to));
            let days = ((window.to - window.from) / 86_400).max(1) as u64;
            let expected = days.div_ceil(COST_PAGE_DAYS) + (days * 24).div_ceil(USAGE_PAGE_HOURS) + 2;
            let mut pages = Pages { done: 0, total: expected };

            let mut costs = CostTotals::default();
            let cost_params = [
                ("starting_at", starting_at.clone()),
                ("ending_at", ending_at.clone()),
                ("bucket_width", "1d".to_owned()),
                ("group_by[]", "workspace_id".to_owned()),
                ("group_by[]", "description".to_owned()),
                ("limit", COST_PAGE_DAYS.to_string()),
            ];
            report_pages(ctx, COST_ENDPOINT, "v1/organizations/cost_report", &cost_params, &mut pages, |p| {
                costs.add_page(p, window)
            })
            .await?;

            let mut usage = UsageTotals::default();
            let usage_params = [
                ("starting_at", starting_at),
                ("ending_at", ending_at),
                ("bucket_width", "1h".to_owned()),
                ("group_by[]", "api_key_id".to_owned()),
                ("group_by[]", "model".to_owned()),
                ("group_by[]", "workspace_id".to_owned()),
                ("group_by[]", "service_tier".to_owned()),
                ("limit", USAGE_PAGE_HOURS.to_string()),
            ];
            report_pages(
                ctx,
                USAGE_ENDPOINT,
                "v1/organizations/usage_report/messages",
                &usage_params,
                &mut pages,
                |p| usage.add_page(p, window),
            )
            .await?;

            let workspaces: Vec<Workspace> = list_pages(
                ctx,
                WORKSPACES_ENDPOINT,
                "v1/organizations/workspaces",
                &[("include_archived", "true".to_owned()), ("limit", LIST_PAGE.to_string())],
                &mut pages,
            )
            .await?;
            let names: BTreeMap<String, String> =
                workspaces.into_iter().filter_map(|w| Some((w.id, w.name.filter(|n| !n.is_empty())?))).collect();

            // No status filter: the parameter only narrows the list, and keys that were since
            // disabled or archived still carry spend in the window.
            let api_keys: Vec<ApiKey> = list_pages(
                ctx,
                KEYS_ENDPOINT,
                "v1/organizations/api_keys",
                &[("limit", LIST_PAGE.to_string())],
                &mut pages,
            )
            .await?;
            let mut keys = BTreeMap::new();
            for k in api_keys {
                let record = key_record(k, &names)?;
                keys.insert(record.provider_key_id.clone(), record);
            }

            Ok(PollResult {
                keys: keys.into_values().collect(),
                windows: vec![
                    SpendWindow {
                        width: BucketWidth::Day,
                        kind: SpendKind::Billed,
                        from: window.from,
                        to: window.to,
                        rows: costs.into_rows()?,
                    },
                    SpendWindow {
                        width: BucketWidth::Hour,
                        kind: SpendKind::Estimated,
                        from: window.from,
                        to: window.to,
                        rows: usage.into_rows(&ctx.prices),
                    },
                ],
                balances: vec![],
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

/// `POST /v1/organizations/api_keys/{api_key_id}` with `{"status": "inactive"}` (Admin API;
/// the console or `{"status": "active"}` turns it back on).
async fn disable_key(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
    const ENDPOINT: &str = "POST /v1/organizations/api_keys/{api_key_id}";
    let url = ctx.url_segments(&["v1", "organizations", "api_keys", &target.key_id])?;
    let answer =
        ctx.send_action(Method::POST, ENDPOINT, url, Auth::XApiKey, Some(&json!({"status": "inactive"}))).await?;
    check_action_answer(ctx.provider, ENDPOINT, &answer, "/status", json!("inactive"))?;
    Ok(format!(
        "Anthropic set the key inactive ({ENDPOINT} answered status: inactive); it can be activated again at {}",
        ProviderId::Anthropic.revoke_help()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::{day_start, parse_day};

    const COST_EXAMPLE: &str = include_str!("../../../../tests/fixtures/anthropic/cost_report_example.json");
    const USAGE_EXAMPLE: &str = include_str!("../../../../tests/fixtures/anthropic/usage_report_messages_example.json");
    const KEYS_EXAMPLE: &str = include_str!("../../../../tests/fixtures/anthropic/api_keys_list_example.json");
    const WORKSPACES_EXAMPLE: &str = include_str!("../../../../tests/fixtures/anthropic/workspaces_list_example.json");
    const ERROR_EXAMPLE: &str = include_str!("../../../../tests/fixtures/anthropic/error_400_example.json");

    fn window(from: &str, to: &str) -> Window {
        Window { from: day_start(parse_day(from).unwrap()), to: day_start(parse_day(to).unwrap()) + 86_400 }
    }

    fn cost_rows(json: &str, w: Window) -> Vec<SpendRow> {
        let mut totals = CostTotals::default();
        totals.add_page(serde_json::from_str(json).unwrap(), w).unwrap();
        totals.into_rows().unwrap()
    }

    #[test]
    fn the_documented_cost_example_parses_as_cents() {
        let page: ReportPage<CostResult> = serde_json::from_str(COST_EXAMPLE).unwrap();
        assert!(page.has_more);
        assert_eq!(page.next_page.as_deref(), Some("page_MjAyNS0wNS0xNFQwMDowMDowMFo="));
        let rows = cost_rows(COST_EXAMPLE, window("2025-08-01", "2025-08-01"));
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        // "123.78912" cents = $1.2378912 -> 1.237891 (half away from zero at the sixth place).
        assert_eq!(r.amount_micros, 1_237_891);
        assert_eq!(r.bucket_start, day_start(parse_day("2025-08-01").unwrap()));
        assert_eq!(r.model, "claude-opus-5");
        assert_eq!(r.project, "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ");
        assert_eq!(r.key_id, "", "the cost report has no key dimension");
        assert_eq!(r.currency.as_str(), "USD");
    }

    #[test]
    fn cents_convert_exactly_and_lines_of_a_day_are_summed_before_rounding() {
        let json = r#"{"data":[{"starting_at":"2026-03-01T00:00:00Z","ending_at":"2026-03-02T00:00:00Z","results":[
            {"amount":"0.00005","currency":"USD","model":"claude-haiku-4-5","workspace_id":null,"description":"in"},
            {"amount":"0.00005","currency":"USD","model":"claude-haiku-4-5","workspace_id":null,"description":"out"},
            {"amount":"0.00005","currency":"USD","model":"claude-haiku-4-5","workspace_id":null,"description":"cache"},
            {"amount":"41280.000000","currency":"USD","model":null,"workspace_id":"wrkspc_FAKE","cost_type":"web_search"},
            {"amount":"-0.5","currency":"USD","model":null,"workspace_id":"wrkspc_FAKE"},
            {"amount":"99999999999.99994","currency":"USD","model":"claude-opus-5","workspace_id":"wrkspc_FAKE"}
        ]}],"has_more":false,"next_page":null}"#;
        let rows = cost_rows(json, window("2026-03-01", "2026-03-01"));
        let by = |model: &str, project: &str| {
            rows.iter().find(|r| r.model == model && r.project == project).map(|r| r.amount_micros)
        };
        // 3 × 0.00005 cents = $0.0000015 -> 2 micros; rounding each line first would give 3.
        assert_eq!(by("claude-haiku-4-5", ""), Some(2));
        // Documented example: "41280.000000" = $412.80; minus half a cent.
        assert_eq!(by("", "wrkspc_FAKE"), Some(412_795_000));
        // Large amounts keep every digit: $999,999,999.9999994 -> 999999999.999999.
        assert_eq!(by("claude-opus-5", "wrkspc_FAKE"), Some(999_999_999_999_999));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn null_fields_extra_fields_and_empty_buckets_are_fine() {
        let json = r#"{"data":[
            {"starting_at":"2026-03-01T00:00:00Z","ending_at":"2026-03-02T00:00:00Z","results":[]},
            {"starting_at":"2026-03-02T00:00:00Z","ending_at":"2026-03-03T00:00:00Z","results":null},
            {"starting_at":"2026-03-03T00:00:00Z","ending_at":"2026-03-04T00:00:00Z","future_field":{"x":1},"results":[
                {"amount":"12.5","currency":"usd","model":null,"workspace_id":null,"cost_type":null,"token_type":null,
                 "description":null,"service_tier":null,"context_window":null,"inference_geo":null,"brand_new":[1,2]},
                {"amount":7,"model":"claude-sonnet-4-5"}
            ]},
            {"starting_at":"2026-03-04T00:00:00Z","ending_at":"2026-03-05T00:00:00Z","results":[{"amount":"1","model":"x"}]}
        ],"has_more":false,"next_page":null,"object":"page"}"#;
        let rows = cost_rows(json, window("2026-03-01", "2026-03-03"));
        assert_eq!(rows.len(), 2, "the bucket after the window is left for the sync that covers it: {rows:?}");
        assert_eq!((rows[0].model.as_str(), rows[0].project.as_str(), rows[0].amount_micros), ("", "", 125_000));
        assert_eq!(rows[0].currency.as_str(), "USD");
        assert_eq!((rows[1].model.as_str(), rows[1].amount_micros), ("claude-sonnet-4-5", 70_000));
    }

    #[test]
    fn unreadable_amounts_and_times_name_the_endpoint() {
        let mut totals = CostTotals::default();
        let bad: ReportPage<CostResult> = serde_json::from_str(
            r#"{"data":[{"starting_at":"2026-03-01T00:00:00Z","results":[{"amount":"12,50"}]}],"has_more":false}"#,
        )
        .unwrap();
        let e = totals.add_page(bad, window("2026-03-01", "2026-03-01")).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
        assert!(e.message().contains(COST_ENDPOINT) && e.message().contains("12,50"), "{}", e.message());

        let mut usage = UsageTotals::default();
        let bad: ReportPage<UsageResult> =
            serde_json::from_str(r#"{"data":[{"starting_at":"yesterday","results":[]}],"has_more":false}"#).unwrap();
        let e = usage.add_page(bad, window("2026-03-01", "2026-03-01")).unwrap_err();
        assert!(e.message().contains(USAGE_ENDPOINT) && e.message().contains("yesterday"), "{}", e.message());
    }

    const PRICES: &str = r#"{"models":{"claude-opus-5":{"input":"5e-06","output":"2.5e-05","cache_read":"5e-07","cache_write":"6.25e-06"}}}"#;

    fn prices() -> PriceTable {
        PriceTable::parse(PRICES).unwrap()
    }

    #[test]
    fn the_documented_usage_example_is_priced_with_1h_cache_writes_at_twice_input() {
        let page: ReportPage<UsageResult> = serde_json::from_str(USAGE_EXAMPLE).unwrap();
        assert!(page.has_more);
        let mut usage = UsageTotals::default();
        usage.add_page(page, window("2025-08-01", "2025-08-01")).unwrap();
        let rows = usage.into_rows(&prices());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.key_id, "apikey_01Rj2N8SVvo6BePZj99NhmiT");
        assert_eq!(r.model, "claude-opus-5");
        assert_eq!(r.project, "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ");
        // input: 1500 uncached + 500 (5m) + 1000 (1h) + 200 read.
        assert_eq!(r.input_tokens, Some(3_200));
        assert_eq!(r.output_tokens, Some(500));
        // 1500×5 + 1000×2×5 + 500×6.25 + 200×0.5 + 500×25 micro-USD
        // = 7500 + 10000 + 3125 + 100 + 12500 = 33225 micro-USD.
        assert_eq!(r.amount_micros, 33_225);
    }

    #[test]
    fn usage_is_summed_per_hour_key_model_across_pages_and_unpriced_models_keep_tokens() {
        let page = |body: &str| -> ReportPage<UsageResult> { serde_json::from_str(body).unwrap() };
        let mut usage = UsageTotals::default();
        let w = window("2026-03-01", "2026-03-01");
        usage
            .add_page(
                page(
                    r#"{"data":[{"starting_at":"2026-03-01T05:00:00Z","ending_at":"2026-03-01T06:00:00Z","results":[
                {"api_key_id":"apikey_FAKE_1","model":"claude-opus-5","workspace_id":null,"uncached_input_tokens":1000,
                 "cache_creation":null,"cache_read_input_tokens":null,"output_tokens":10,"server_tool_use":null},
                {"api_key_id":null,"model":"claude-opus-5","uncached_input_tokens":1,"output_tokens":1}
            ]}],"has_more":true,"next_page":"p2"}"#,
                ),
                w,
            )
            .unwrap();
        usage
            .add_page(
                page(
                    r#"{"data":[
                {"starting_at":"2026-03-01T05:00:00Z","ending_at":"2026-03-01T06:00:00Z","results":[
                    {"api_key_id":"apikey_FAKE_1","model":"claude-opus-5","workspace_id":null,"uncached_input_tokens":1000,"output_tokens":30}]},
                {"starting_at":"2026-03-01T06:00:00Z","ending_at":"2026-03-01T07:00:00Z","results":[
                    {"api_key_id":"apikey_FAKE_1","model":"claude-unknown-FAKE","uncached_input_tokens":7,
                     "cache_creation":{"ephemeral_5m_input_tokens":3},"output_tokens":5}]},
                {"starting_at":"2026-03-01T07:00:00Z","ending_at":"2026-03-01T08:00:00Z","results":[]}
            ],"has_more":false,"next_page":null}"#,
                ),
                w,
            )
            .unwrap();
        let rows = usage.into_rows(&prices());
        assert_eq!(rows.len(), 3, "{rows:?}");
        let five = w.from + 5 * 3600;
        let key1 = rows.iter().find(|r| r.key_id == "apikey_FAKE_1" && r.bucket_start == five).unwrap();
        assert_eq!((key1.input_tokens, key1.output_tokens), (Some(2_000), Some(40)));
        assert_eq!(key1.amount_micros, 2_000 * 5 + 40 * 25);
        let console = rows.iter().find(|r| r.key_id.is_empty()).unwrap();
        assert_eq!(console.amount_micros, 30, "1×5 + 1×25: Console usage is unattributed, still estimated");
        let unknown = rows.iter().find(|r| r.model == "claude-unknown-FAKE").unwrap();
        assert_eq!((unknown.amount_micros, unknown.input_tokens, unknown.output_tokens), (0, Some(10), Some(5)));
        assert!(rows.iter().all(|r| r.currency.as_str() == "USD" && r.requests.is_none()));
    }

    #[test]
    fn batch_tokens_are_priced_at_the_batch_price_in_the_same_bucket() {
        let page: ReportPage<UsageResult> = serde_json::from_str(
            r#"{"data":[{"starting_at":"2026-03-01T05:00:00Z","ending_at":"2026-03-01T06:00:00Z","results":[
                {"api_key_id":"apikey_FAKE_1","model":"claude-opus-5","uncached_input_tokens":1000,"output_tokens":10,"service_tier":"standard"},
                {"api_key_id":"apikey_FAKE_1","model":"claude-opus-5","uncached_input_tokens":1000,"output_tokens":10,"service_tier":"batch"},
                {"api_key_id":"apikey_FAKE_1","model":"claude-opus-5","uncached_input_tokens":1000,"output_tokens":10,"service_tier":"priority"}
            ]}],"has_more":false,"next_page":null}"#,
        )
        .unwrap();
        let mut usage = UsageTotals::default();
        usage.add_page(page, window("2026-03-01", "2026-03-01")).unwrap();
        let mut table: serde_json::Value = serde_json::from_str(PRICES).unwrap();
        table["models"]["claude-opus-5"]["tiers"] =
            serde_json::json!({"batch": {"input": "0.0000025", "output": "0.0000125"}});
        let rows = usage.into_rows(&PriceTable::parse(&table.to_string()).unwrap());
        // Standard and priority (no listed priority price) at 1000×5 + 10×25; batch at half.
        let mut amounts: Vec<i64> = rows.iter().map(|r| r.amount_micros).collect();
        amounts.sort();
        assert_eq!(amounts, vec![2_625, 5_250, 5_250]);
        assert!(rows.iter().all(|r| r.bucket_start == rows[0].bucket_start && r.key_id == "apikey_FAKE_1"));
    }

    #[test]
    fn documented_key_and_workspace_lists_name_keys() {
        let ws: ListPage<Workspace> = serde_json::from_str(WORKSPACES_EXAMPLE).unwrap();
        assert!(ws.has_more);
        assert_eq!(ws.last_id.as_deref(), Some("last_id"));
        let names: BTreeMap<String, String> = ws.data.into_iter().map(|w| (w.id, w.name.unwrap())).collect();
        assert_eq!(names["wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"], "Workspace Name");

        let keys: ListPage<ApiKey> = serde_json::from_str(KEYS_EXAMPLE).unwrap();
        assert!(keys.has_more);
        let k = key_record(keys.data.into_iter().next().unwrap(), &names).unwrap();
        assert_eq!(
            k,
            KeyRecord {
                provider_key_id: "apikey_01Rj2N8SVvo6BePZj99NhmiT".into(),
                display_name: Some("Developer Key".into()),
                fingerprint: Some("sk-…igAA".into()),
                project: Some("Workspace Name".into()),
                created_at: Some(1_730_332_707), // 2024-10-30T23:58:27Z
                last_used_at: None,
                disabled: false,
            }
        );
    }

    #[test]
    fn key_status_workspace_and_hint_edge_cases() {
        let names = BTreeMap::from([("wrkspc_FAKE_A".to_owned(), "Research".to_owned())]);
        let parse = |json: &str| key_record(serde_json::from_str::<ApiKey>(json).unwrap(), &names).unwrap();
        let archived = parse(
            r#"{"id":"apikey_FAKE_2","name":"old","status":"archived","workspace_id":null,"partial_key_hint":"sk-ant-api03-abc...wxyz"}"#,
        );
        assert!(archived.disabled);
        assert_eq!(archived.project.as_deref(), Some(DEFAULT_WORKSPACE));
        assert_eq!(archived.fingerprint.as_deref(), Some("sk-…wxyz"));
        for status in ["inactive", "expired"] {
            assert!(parse(&format!(r#"{{"id":"k","status":"{status}"}}"#)).disabled, "{status}");
        }
        // A workspace Burnrate has no name for keeps its id; an unusual hint is not stored.
        let other = parse(
            r#"{"id":"k","status":"active","workspace_id":"wrkspc_FAKE_GONE","partial_key_hint":"hidden","extra":1}"#,
        );
        assert!(!other.disabled);
        assert_eq!(other.project.as_deref(), Some("wrkspc_FAKE_GONE"));
        assert_eq!(other.fingerprint, None);
        assert_eq!(parse(r#"{"id":"k","workspace_id":"wrkspc_FAKE_A"}"#).project.as_deref(), Some("Research"));
        assert_eq!(fingerprint_from_hint("sk-ant-api03-R2D…igAA").as_deref(), Some("sk-…igAA"));
    }

    #[test]
    fn the_documented_error_body_has_a_message() {
        let v: serde_json::Value = serde_json::from_str(ERROR_EXAMPLE).unwrap();
        assert_eq!(v.pointer("/error/type").and_then(|t| t.as_str()), Some("invalid_request_error"));
        assert!(v.pointer("/error/message").and_then(|t| t.as_str()).unwrap().starts_with("messages: roles"));
    }
}
