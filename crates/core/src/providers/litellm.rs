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

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use reqwest::Method;
use serde_json::json;

use super::http::{Auth, KeyActionContext, PollContext};
use super::{check_action_answer, BoxFuture, Connector, KeyTarget};
use crate::dto::{DisableSupport, SpendKind};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::{day_start, BalanceSnapshot, BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use crate::money::{parse_micros, Currency};

pub struct LiteLlm;

const ACTIVITY: &str = "GET /user/daily/activity";
const KEY_LIST: &str = "GET /key/list";
const KEY_INFO: &str = "GET /key/info";
/// The largest page the proxy allows: fewer round trips over its row-level pagination.
const ACTIVITY_PAGE_SIZE: u32 = 1_000;
/// `/key/list` allows at most 100 keys per page.
const KEY_PAGE_SIZE: u32 = 100;
/// A guard against a server that never stops saying more pages follow.
const MAX_PAGES: i64 = 10_000;

// ---- /user/daily/activity ----

#[derive(Deserialize)]
struct ActivityPage {
    #[serde(default)]
    results: Vec<DaySpend>,
    #[serde(default)]
    metadata: PageMeta,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(default)]
    has_more: bool,
    total_pages: Option<i64>,
}

#[derive(Deserialize)]
struct DaySpend {
    date: String,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    breakdown: Breakdown,
}

#[derive(Deserialize, Default)]
struct Breakdown {
    #[serde(default)]
    models: BTreeMap<String, Entry>,
    #[serde(default)]
    api_keys: BTreeMap<String, Entry>,
}

/// A breakdown entry: `{metrics, metadata, api_key_breakdown}` in current proxies, the bare
/// metrics (`{spend, prompt_tokens, …}`) in older ones. The flat fields are spelled out rather
/// than `#[serde(flatten)]`ed: flatten buffers every entry and made ingest several times slower.
#[derive(Deserialize)]
struct Entry {
    metrics: Option<Metrics>,
    #[serde(default)]
    spend: f64,
    #[serde(default)]
    prompt_tokens: f64,
    #[serde(default)]
    completion_tokens: f64,
    #[serde(default)]
    api_requests: f64,
    #[serde(default)]
    metadata: KeyMeta,
    #[serde(default)]
    api_key_breakdown: BTreeMap<String, Entry>,
}

impl Entry {
    fn metrics(&self) -> Metrics {
        self.metrics.unwrap_or(Metrics {
            spend: self.spend,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            api_requests: self.api_requests,
        })
    }
}

#[derive(Deserialize, Default)]
struct KeyMeta {
    key_alias: Option<String>,
}

/// Counts are read as numbers of any JSON kind: some proxy versions print them as floats.
#[derive(Deserialize, Default, Clone, Copy)]
struct Metrics {
    #[serde(default)]
    spend: f64,
    #[serde(default)]
    prompt_tokens: f64,
    #[serde(default)]
    completion_tokens: f64,
    #[serde(default)]
    api_requests: f64,
}

/// Exact sums: spend as the decimal the proxy wrote, counts as integers.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Tally {
    spend: Decimal,
    input: i64,
    output: i64,
    requests: i64,
}

impl Tally {
    fn of(m: &Metrics) -> Result<Tally> {
        Ok(Tally {
            spend: decimal(m.spend)?,
            input: count(m.prompt_tokens),
            output: count(m.completion_tokens),
            requests: count(m.api_requests),
        })
    }
    fn add(&mut self, o: &Tally) {
        self.spend += o.spend;
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.requests = self.requests.saturating_add(o.requests);
    }
    /// What `self` has beyond `o`; counts never go below zero.
    fn minus(&self, o: &Tally) -> Tally {
        Tally {
            spend: self.spend - o.spend,
            input: (self.input - o.input).max(0),
            output: (self.output - o.output).max(0),
            requests: (self.requests - o.requests).max(0),
        }
    }
}

/// The float as the shortest decimal that round-trips, i.e. the number as the proxy wrote it.
fn decimal(v: f64) -> Result<Decimal> {
    let text = v.to_string();
    if !v.is_finite() {
        return Err(unreadable(ACTIVITY, format!("spend {text} is not a number")));
    }
    Decimal::from_str(&text).map_err(|_| unreadable(ACTIVITY, format!("spend {text} is out of range")))
}

fn count(v: f64) -> i64 {
    if v.is_finite() && v > 0.0 {
        v.round() as i64
    } else {
        0
    }
}

fn micros(d: Decimal) -> Result<i64> {
    parse_micros(&d.to_string())
}

/// Below half a micro-dollar: float noise of the proxy's sums, not money.
fn is_noise(d: Decimal) -> bool {
    d.abs() < Decimal::new(5, 7)
}

fn unreadable(endpoint: &str, detail: String) -> Error {
    Error::new(
        ErrorCode::UnexpectedResponse,
        format!("LiteLLM proxy sent a response Burnrate cannot use at {endpoint} ({detail}); nothing was written"),
    )
}

/// One UTC day of activity, merged over every page it appeared on.
#[derive(Default)]
struct Day {
    total: Tally,
    keys: BTreeMap<String, Tally>,
    models: BTreeMap<String, Tally>,
    cross: BTreeMap<(String, String), Tally>,
}

#[derive(Default)]
struct Activity {
    days: BTreeMap<NaiveDate, Day>,
    aliases: BTreeMap<String, String>,
}

impl Activity {
    /// Adds one page's entries. Each page is aggregated from disjoint DB rows, so a date seen
    /// again is more of that date, never a repeat.
    fn merge(&mut self, results: Vec<DaySpend>) -> Result<()> {
        for r in results {
            let date = NaiveDate::parse_from_str(r.date.get(..10).unwrap_or(&r.date), "%Y-%m-%d")
                .map_err(|_| unreadable(ACTIVITY, format!("date {:?} is not YYYY-MM-DD", r.date)))?;
            let day = self.days.entry(date).or_default();
            day.total.add(&Tally::of(&r.metrics)?);
            for (key, e) in &r.breakdown.api_keys {
                day.keys.entry(key.clone()).or_default().add(&Tally::of(&e.metrics())?);
                remember_alias(&mut self.aliases, key, e);
            }
            for (model, e) in &r.breakdown.models {
                day.models.entry(model.clone()).or_default().add(&Tally::of(&e.metrics())?);
                for (key, ke) in &e.api_key_breakdown {
                    day.cross.entry((key.clone(), model.clone())).or_default().add(&Tally::of(&ke.metrics())?);
                    remember_alias(&mut self.aliases, key, ke);
                }
            }
        }
        Ok(())
    }
}

fn remember_alias(aliases: &mut BTreeMap<String, String>, key: &str, e: &Entry) {
    if let Some(alias) = e.metadata.key_alias.as_deref().filter(|a| !a.is_empty()) {
        aliases.insert(key.to_owned(), alias.to_owned());
    }
}

/// The day's rows: key × model from the cross, then what the cross misses, so that the rows
/// sum to the day's total without counting the key and model marginals twice. The flag says
/// the model split had to be dropped (no cross from this proxy).
fn attribute(date: NaiveDate, day: &Day) -> Result<(Vec<SpendRow>, bool)> {
    let start = day_start(date);
    let mut out: Vec<(String, String, Tally)> = Vec::new();
    let mut attributed = Tally::default();
    let mut per_key: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut per_model: BTreeMap<&str, Tally> = BTreeMap::new();
    for ((key, model), t) in &day.cross {
        out.push((key.clone(), model.clone(), *t));
        attributed.add(t);
        per_key.entry(key).or_default().add(t);
        per_model.entry(model).or_default().add(t);
    }
    let rest_of = |marginals: &BTreeMap<String, Tally>, crossed: &BTreeMap<&str, Tally>| -> Vec<(String, Tally)> {
        marginals
            .iter()
            .map(|(name, t)| (name.clone(), t.minus(&crossed.get(name.as_str()).copied().unwrap_or_default())))
            .filter(|(_, r)| r.spend > Decimal::ZERO || r.input > 0 || r.output > 0 || r.requests > 0)
            .map(|(name, r)| (name, Tally { spend: r.spend.max(Decimal::ZERO), ..r }))
            .collect()
    };
    let key_rest = rest_of(&day.keys, &per_key);
    let mut model_rest = rest_of(&day.models, &per_model);
    let sum = |rows: &[(String, Tally)]| {
        rows.iter().fold(Tally::default(), |mut acc, (_, t)| {
            acc.add(t);
            acc
        })
    };
    let mut used = attributed;
    used.add(&sum(&key_rest));
    let mut with_models = used;
    with_models.add(&sum(&model_rest));
    // If the key and model remainders together exceed the day, they are the same spend seen
    // twice (a proxy without api_key_breakdown): keep the per-key view only.
    let over = day.total.spend - with_models.spend;
    let lost_models = !model_rest.is_empty() && over < Decimal::ZERO && !is_noise(over);
    if lost_models {
        model_rest.clear();
    } else {
        used = with_models;
    }
    let rest = day.total.minus(&used);
    for (key, t) in key_rest {
        out.push((key, String::new(), t));
    }
    for (model, t) in model_rest {
        out.push((String::new(), model, t));
    }
    if rest.spend > Decimal::ZERO || rest.input > 0 || rest.output > 0 || rest.requests > 0 {
        out.push((String::new(), String::new(), Tally { spend: rest.spend.max(Decimal::ZERO), ..rest }));
    }
    let mut rows = Vec::with_capacity(out.len());
    for (key_id, model, t) in out {
        let amount_micros = micros(t.spend)?.max(0);
        if amount_micros == 0 && t.input == 0 && t.output == 0 && t.requests == 0 {
            continue;
        }
        rows.push(SpendRow {
            key_id,
            model,
            project: String::new(),
            bucket_start: start,
            currency: Currency::usd(),
            amount_micros,
            input_tokens: Some(t.input),
            output_tokens: Some(t.output),
            requests: Some(t.requests),
        });
    }
    Ok((rows, lost_models))
}

// ---- /key/list and /key/info ----

#[derive(Deserialize)]
struct KeyList {
    #[serde(default)]
    keys: Vec<ListedKey>,
    total_pages: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListedKey {
    Full(Box<KeyObject>),
    /// Without `return_full_object` (or on old proxies) only the hashed token is listed.
    Token(String),
}

#[derive(Deserialize)]
struct KeyInfo {
    /// The key as looked up: without a `key` parameter, the caller's own hashed token.
    #[serde(default)]
    key: Option<String>,
    info: KeyObject,
}

#[derive(Deserialize, Default)]
struct KeyObject {
    /// The sha256 of the key: the id the activity breakdown uses. Absent from `/key/info`.
    token: Option<String>,
    /// Already abbreviated by the proxy (`sk-...abcd`).
    key_name: Option<String>,
    key_alias: Option<String>,
    spend: Option<f64>,
    max_budget: Option<f64>,
    blocked: Option<bool>,
    team_id: Option<String>,
    created_at: Option<String>,
    last_active: Option<String>,
    expires: Option<String>,
    /// `/key/info` only: active, expired, revoked or deleted.
    status: Option<String>,
}

fn timestamp(text: Option<&str>) -> Option<i64> {
    let text = text?.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp()))
}

/// `POST /key/block` with `{"key": <hashed token>}`: the proxy accepts the raw key (`sk-…`) or
/// its hash, and Burnrate only ever has the hash. Proxy admins only; `/key/unblock` undoes it.
async fn disable_key(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
    const ENDPOINT: &str = "POST /key/block";
    if !is_hashed_token(&target.key_id) {
        return Err(Error::invalid_input(format!(
            "LiteLLM blocks virtual keys by their hashed token (64 hex characters, the id Burnrate lists); {:?} is not one",
            target.key_id
        )));
    }
    let body = json!({ "key": target.key_id });
    let answer = ctx.send_action(Method::POST, ENDPOINT, ctx.url("key/block")?, Auth::Bearer, Some(&body)).await?;
    check_action_answer(ctx.provider, ENDPOINT, &answer, "/blocked", json!(true))?;
    Ok(format!(
        "LiteLLM blocked the key ({ENDPOINT} answered blocked: true); POST /key/unblock or the proxy's admin UI \
         unblocks it"
    ))
}

/// A sha256 hex digest, i.e. a hashed token and never a usable key.
fn is_hashed_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn key_record(id: &str, k: &KeyObject, now: DateTime<Utc>) -> KeyRecord {
    let expired = timestamp(k.expires.as_deref()).is_some_and(|t| t < now.timestamp());
    let status_off = matches!(k.status.as_deref(), Some("revoked" | "expired" | "deleted"));
    KeyRecord {
        provider_key_id: id.to_owned(),
        display_name: k.key_alias.clone().filter(|a| !a.is_empty()),
        fingerprint: k.key_name.clone().filter(|n| !n.is_empty()),
        project: k.team_id.clone(),
        created_at: timestamp(k.created_at.as_deref()),
        last_used_at: timestamp(k.last_active.as_deref()),
        disabled: k.blocked.unwrap_or(false) || expired || status_off,
    }
}

/// What is left of the key's budget (USD) in its current budget window.
fn budget(id: &str, k: &KeyObject) -> Result<Option<BalanceSnapshot>> {
    let Some(max) = k.max_budget else { return Ok(None) };
    let limit = micros(decimal(max)?)?;
    let spent = micros(decimal(k.spend.unwrap_or(0.0))?)?;
    Ok(Some(BalanceSnapshot {
        key_id: id.to_owned(),
        currency: Currency::usd(),
        balance_micros: Some(limit - spent),
        limit_micros: Some(limit),
        usage_micros: Some(spent),
    }))
}

/// Every key the caller may list (all keys for the master key), following every page.
async fn list_keys(ctx: &PollContext) -> Result<Vec<(String, KeyObject)>> {
    let mut out = Vec::new();
    let mut page = 1i64;
    loop {
        let mut url = ctx.url("key/list")?;
        url.query_pairs_mut()
            .append_pair("return_full_object", "true")
            .append_pair("page", &page.to_string())
            .append_pair("size", &KEY_PAGE_SIZE.to_string());
        let body: KeyList = ctx.get_json(KEY_LIST, url, Auth::Bearer).await?;
        for k in body.keys {
            match k {
                ListedKey::Full(k) => match k.token.clone() {
                    Some(token) => out.push((token, *k)),
                    None => tracing::warn!("LiteLLM listed a key without its hashed token; skipped"),
                },
                ListedKey::Token(token) => out.push((token, KeyObject::default())),
            }
        }
        if page >= body.total_pages.unwrap_or(page) {
            return Ok(out);
        }
        if page >= MAX_PAGES {
            return Err(unreadable(KEY_LIST, format!("it kept returning pages; stopped after {MAX_PAGES}")));
        }
        page += 1;
    }
}

/// The calling key only, for virtual keys the proxy does not let list keys.
async fn own_key(ctx: &PollContext) -> Result<Vec<(String, KeyObject)>> {
    let body: KeyInfo = ctx.get_json(KEY_INFO, ctx.url("key/info")?, Auth::Bearer).await?;
    // The proxy echoes the key it looked up; keep it only when it is the hash, never a raw key.
    match body.key.filter(|k| is_hashed_token(k)) {
        Some(id) => Ok(vec![(id, body.info)]),
        None => {
            tracing::warn!("LiteLLM /key/info did not return the key's hash; its name and budget are not recorded");
            Ok(vec![])
        }
    }
}

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
                let body: ActivityPage = ctx.get_json(ACTIVITY, url, Auth::Bearer).await?;
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

            let mut rows = Vec::new();
            let mut lost_model_days = Vec::new();
            for (date, day) in &activity.days {
                if !ctx.range.contains(*date) {
                    return Err(unreadable(
                        ACTIVITY,
                        format!("it returned {date}, outside the requested {from}..{to}"),
                    ));
                }
                let (day_rows, lost) = attribute(*date, day)?;
                rows.extend(day_rows);
                if lost {
                    lost_model_days.push(date.to_string());
                }
            }
            if !lost_model_days.is_empty() {
                tracing::warn!(
                    days = %lost_model_days.join(","),
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
                .aliases
                .iter()
                .map(|(id, alias)| {
                    let rec = KeyRecord {
                        provider_key_id: id.clone(),
                        display_name: Some(alias.clone()),
                        ..Default::default()
                    };
                    (id.clone(), rec)
                })
                .collect();
            let mut balances = Vec::new();
            for (id, k) in &listed {
                let mut rec = key_record(id, k, ctx.now);
                if rec.display_name.is_none() {
                    rec.display_name = activity.aliases.get(id).cloned();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn activity(pages: &[&str]) -> Activity {
        let mut a = Activity::default();
        for p in pages {
            let page: ActivityPage = serde_json::from_str(p).unwrap();
            a.merge(page.results).unwrap();
        }
        a
    }

    /// (key, model, micros) of the day's rows.
    fn rows_of(a: &Activity, date: &str) -> (Vec<(String, String, i64)>, bool) {
        let (rows, lost) = attribute(day(date), &a.days[&day(date)]).unwrap();
        (rows.into_iter().map(|r| (r.key_id, r.model, r.amount_micros)).collect(), lost)
    }

    fn r(key: &str, model: &str, micros: i64) -> (String, String, i64) {
        (key.into(), model.into(), micros)
    }

    const CROSS: &str = r#"{"results":[{"date":"2026-03-01",
        "metrics":{"spend":0.60000001,"prompt_tokens":30},
        "breakdown":{
          "models":{
            "gpt-4o":{"metrics":{"spend":0.3,"prompt_tokens":30},"metadata":{},
              "api_key_breakdown":{"hashA":{"metrics":{"spend":0.1,"prompt_tokens":10},"metadata":{"key_alias":"ci"}},
                                   "hashB":{"metrics":{"spend":0.2,"prompt_tokens":20},"metadata":{"key_alias":"batch"}}}},
            "ptu-model":{"metrics":{"spend":0.05},"api_key_breakdown":{}}},
          "api_keys":{
            "hashA":{"metrics":{"spend":0.35000001,"prompt_tokens":10},"metadata":{"key_alias":"ci","key_exists":true}},
            "hashB":{"metrics":{"spend":0.2,"prompt_tokens":20},"metadata":{"key_alias":"batch"}}},
          "providers":{"openai":{"metrics":{"spend":0.6}}}}}],
      "metadata":{"total_spend":0.6,"page":1,"total_pages":1,"has_more":false}}"#;

    #[test]
    fn the_key_model_cross_is_used_and_remainders_complete_the_day() {
        let a = activity(&[CROSS]);
        let (rows, lost) = rows_of(&a, "2026-03-01");
        assert!(!lost);
        assert_eq!(
            rows,
            vec![
                r("hashA", "gpt-4o", 100_000),
                r("hashB", "gpt-4o", 200_000),
                // hashA spent 0.25000001 on rows without a model (e.g. MCP calls).
                r("hashA", "", 250_000),
                // PTU flat cost: a model but no key.
                r("", "ptu-model", 50_000),
            ]
        );
        let total: i64 = rows.iter().map(|r| r.2).sum();
        assert_eq!(total, 600_000, "the day totals metrics.spend, nothing counted twice");
        assert_eq!(a.aliases["hashA"], "ci");
    }

    #[test]
    fn a_date_split_across_pages_is_summed_once_per_page() {
        let p1 = r#"{"results":[{"date":"2026-03-02","metrics":{"spend":1.25},
            "breakdown":{"models":{"m1":{"metrics":{"spend":1.25},"api_key_breakdown":{"k1":{"metrics":{"spend":1.25}}}}},
                         "api_keys":{"k1":{"metrics":{"spend":1.25}}}}}],"metadata":{"has_more":true,"total_pages":2}}"#;
        let p2 = r#"{"results":[{"date":"2026-03-02","metrics":{"spend":0.75},
            "breakdown":{"models":{"m1":{"metrics":{"spend":0.5},"api_key_breakdown":{"k1":{"metrics":{"spend":0.5}}}},
                                   "m2":{"metrics":{"spend":0.25},"api_key_breakdown":{"k2":{"metrics":{"spend":0.25}}}}},
                         "api_keys":{"k1":{"metrics":{"spend":0.5}},"k2":{"metrics":{"spend":0.25}}}}},
            {"date":"2026-03-01","metrics":{"spend":2},
            "breakdown":{"models":{"m1":{"metrics":{"spend":2},"api_key_breakdown":{"k2":{"metrics":{"spend":2}}}}},
                         "api_keys":{"k2":{"metrics":{"spend":2}}}}}],"metadata":{"has_more":false,"total_pages":2}}"#;
        let a = activity(&[p1, p2]);
        assert_eq!(rows_of(&a, "2026-03-02").0, vec![r("k1", "m1", 1_750_000), r("k2", "m2", 250_000)]);
        assert_eq!(rows_of(&a, "2026-03-01").0, vec![r("k2", "m1", 2_000_000)]);
    }

    #[test]
    fn the_documented_older_shape_with_flat_metrics_totals_the_day() {
        // LiteLLM's docs example (repaired into JSON): flat metrics, no api_key_breakdown, and
        // marginals that do not cover the day. Key, model and the rest each get their part.
        let text = include_str!("../../../../tests/fixtures/litellm/user_daily_activity_doc_shape.json");
        let a = activity(&[text]);
        let (rows, lost) = rows_of(&a, "2025-03-27");
        assert!(!lost);
        // 0.0177072 = key 0.0117072 + model 0.00001095 + rest 0.00598905, each rounded.
        assert_eq!(rows, vec![r("3126b6eaf1...", "", 11_707), r("", "gpt-4o-mini", 11), r("", "", 5_989)]);
        let (day_rows, _) = attribute(day("2025-03-27"), &a.days[&day("2025-03-27")]).unwrap();
        let tokens: i64 = day_rows.iter().map(|r| r.input_tokens.unwrap()).sum();
        assert_eq!(tokens, 111);
    }

    #[test]
    fn without_a_cross_complete_marginals_are_split_per_key_only() {
        // Keys and models each cover the whole day: emitting both would double it.
        let p = r#"{"results":[{"date":"2026-03-04","metrics":{"spend":1.0},
            "breakdown":{"models":{"a":{"spend":0.6},"b":{"spend":0.4}},
                         "api_keys":{"k1":{"spend":0.7},"k2":{"spend":0.3}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-04");
        assert!(lost);
        assert_eq!(rows, vec![r("k1", "", 700_000), r("k2", "", 300_000)]);
    }

    #[test]
    fn float_noise_in_the_proxys_sums_makes_no_rows() {
        // 0.1 + 0.2 summed by the proxy in floating point: the key's marginal is 4e-17 above
        // its cross, which is noise, not a remainder row.
        let p = r#"{"results":[{"date":"2026-03-03","metrics":{"spend":0.3},
            "breakdown":{"models":{"m1":{"metrics":{"spend":0.1},"api_key_breakdown":{"k":{"metrics":{"spend":0.1}}}},
                                   "m2":{"metrics":{"spend":0.2},"api_key_breakdown":{"k":{"metrics":{"spend":0.2}}}}},
              "api_keys":{"k":{"metrics":{"spend":0.30000000000000004}}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-03");
        assert!(!lost);
        assert_eq!(rows, vec![r("k", "m1", 100_000), r("k", "m2", 200_000)]);
    }

    #[test]
    fn a_marginal_below_its_cross_never_makes_a_negative_row() {
        let p = r#"{"results":[{"date":"2026-03-03","metrics":{"spend":0.3},
            "breakdown":{"models":{"m":{"metrics":{"spend":0.3},"api_key_breakdown":{"k":{"metrics":{"spend":0.3}}}}},
              "api_keys":{"k":{"metrics":{"spend":0.1}}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-03");
        assert!(!lost);
        assert_eq!(rows, vec![r("k", "m", 300_000)]);
    }

    #[test]
    fn key_objects_become_records_and_budgets() {
        let list: KeyList =
            serde_json::from_str(include_str!("../../../../tests/fixtures/litellm/key_list_page1.json")).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let mut seen = Vec::new();
        for k in &list.keys {
            let ListedKey::Full(k) = k else { panic!("full objects expected") };
            let id = k.token.clone().unwrap();
            seen.push((key_record(&id, k, now), budget(&id, k).unwrap()));
        }
        let (ci, ci_budget) = &seen[0];
        assert_eq!(ci.display_name.as_deref(), Some("ci-pipeline"));
        assert_eq!(ci.fingerprint.as_deref(), Some("sk-...CI01"));
        assert!(!ci.disabled);
        assert_eq!(ci.created_at, Some(1_767_225_600)); // 2026-01-01T00:00:00Z
        let b = ci_budget.as_ref().unwrap();
        assert_eq!(
            (b.limit_micros, b.usage_micros, b.balance_micros),
            (Some(50_000_000), Some(12_345_678), Some(37_654_322))
        );
        let (blocked, no_budget) = &seen[1];
        assert!(blocked.disabled, "blocked keys are disabled");
        assert!(no_budget.is_none(), "no max_budget, no snapshot");
    }

    #[test]
    fn only_a_hash_is_taken_as_a_key_id() {
        assert!(is_hashed_token(&"ab12".repeat(16)));
        assert!(!is_hashed_token("sk-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0"));
    }
}
