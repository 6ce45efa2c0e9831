//! OpenRouter. Every poll starts with `GET /key`, which any key may call and which describes
//! the calling key: its usage counters (USD) and limit, and whether it is a management key.
//!
//! - **Ordinary key**: today's spend is `usage_daily` (the current UTC day only), recorded as
//!   that day's billed bucket; `limit_remaining` becomes a balance snapshot. No history.
//! - **Management key** (`is_management_key: true`): the management API gives every key's
//!   history. `GET /credits` is the account balance (`total_credits − total_usage`);
//!   `GET /keys?include_disabled=true` (offset pagination, 100 a page, no `has_more`) names
//!   the keys and carries each one's `usage_daily` for today — once for the default workspace and
//!   once per workspace of `GET /workspaces` (`workspace_id=…`; skipped where the server has no
//!   `/workspaces`), each key kept once with its workspace's name; `GET /activity?api_key_hash=…`
//!   (once per key, not paginated) gives USD per completed UTC day × model × provider endpoint
//!   for the last 30 completed days; `GET /activity` without a key filter gives the account's
//!   total, whose remainder over the listed keys (deleted keys) is
//!   kept as unattributed. A management key that the management API refuses falls back to
//!   the ordinary-key behaviour.
//!
//! Today comes only from `usage_daily` and completed days only from `/activity`, in one
//! window, so no key/day is ever counted from both. Days older than the activity's 30 are
//! never part of a window: the history already in the ledger stays as it is.
//! See docs/providers/openrouter.md.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

use reqwest::Method;
use serde_json::json;

use super::connector::{check_action_answer, BoxFuture, Connector, DisableSupport, KeyTarget};
use super::http::{Auth, KeyActionContext, PollContext};
use super::id::ProviderId;
use crate::days::day_start;
use crate::error::{Error, ErrorCode, Result};
use crate::money::{json_number_to_micros, parse_micros, Currency};
use crate::poll::SpendKind;
use crate::poll::{BalanceSnapshot, BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};

pub struct OpenRouter;

/// `/keys` returns at most this many keys a page; a shorter page is the last.
const KEYS_PAGE: usize = 100;
/// `/activity` covers the last 30 completed UTC days.
const ACTIVITY_DAYS: i64 = 30;
/// A guard against a server that ignores `offset`.
const MAX_PAGES: usize = 1_000;

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct KeyData {
    /// A display label such as `sk-or-v1-au7...890`: already a fingerprint.
    label: String,
    limit: Option<f64>,
    limit_remaining: Option<f64>,
    usage: f64,
    usage_daily: Option<f64>,
    #[serde(default)]
    is_management_key: bool,
    /// The older name of `is_management_key`, still sent (deprecated).
    #[serde(default)]
    is_provisioning_key: bool,
}

/// A workspace from `GET /workspaces` (management key); keys are listed per workspace.
#[derive(Deserialize)]
struct Workspace {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Credits {
    total_credits: f64,
    total_usage: f64,
}

#[derive(Deserialize)]
struct ManagedKey {
    /// SHA-256 hex of the key: its stable id, and what `/activity` filters on.
    hash: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    limit: Option<f64>,
    #[serde(default)]
    limit_remaining: Option<f64>,
    #[serde(default)]
    usage: Option<f64>,
    #[serde(default)]
    usage_daily: Option<f64>,
    #[serde(default)]
    created_at: Option<String>,
    /// The workspace's name, set by [`list_keys`] (not part of the answer).
    #[serde(skip)]
    workspace: Option<String>,
}

#[derive(Deserialize)]
struct Activity {
    /// `YYYY-MM-DD` per the spec; `YYYY-MM-DD 00:00:00` has been observed too.
    date: String,
    #[serde(default)]
    model: String,
    usage: f64,
    #[serde(default)]
    requests: Option<i64>,
    #[serde(default)]
    prompt_tokens: Option<i64>,
    #[serde(default)]
    completion_tokens: Option<i64>,
}

impl Connector for OpenRouter {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let key: Data<KeyData> = ctx.get_json("GET /key", ctx.url("key")?, Auth::Bearer).await?;
            let key = key.data;
            if !(key.is_management_key || key.is_provisioning_key) {
                return own_key(ctx, key);
            }
            match management(ctx).await {
                Err(e) if e.code == ErrorCode::KeyRejected => {
                    tracing::warn!(
                        provider = "openrouter",
                        "the management API refused this key ({}); recording only its own counters",
                        e.message()
                    );
                    own_key(ctx, key)
                }
                other => other,
            }
        })
    }

    fn disable_support(&self) -> DisableSupport {
        DisableSupport::Reversible
    }

    fn disable_key<'a>(&'a self, ctx: &'a KeyActionContext, target: &'a KeyTarget) -> BoxFuture<'a, Result<String>> {
        Box::pin(disable_key(ctx, target))
    }
}

/// `PATCH /keys/{hash}` with `{"disabled": true}` (management API; reversible in the dashboard
/// or with `{"disabled": false}`).
async fn disable_key(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
    const ENDPOINT: &str = "PATCH /keys/{hash}";
    let hash = target.key_id.as_str();
    // A source with an ordinary key records the key under its display label (`sk-or-v1-abc...123`):
    // the management API needs the hash, which only a management key's sync knows.
    if hash.contains("...") || hash.contains('…') || hash.starts_with("sk-or-") {
        return Err(Error::new(
            ErrorCode::Unsupported,
            format!(
                "OpenRouter disables keys by their hash, and {hash} was recorded from an ordinary key's own counters; \
                 add a source with a management key, sync it, and disable the key by the hash it lists, or disable \
                 it yourself at {}",
                ProviderId::Openrouter.revoke_help()
            ),
        ));
    }
    let url = ctx.url_segments(&["keys", hash])?;
    let answer = ctx.send_action(Method::PATCH, ENDPOINT, url, Auth::Bearer, Some(&json!({"disabled": true}))).await?;
    check_action_answer(ctx.provider, ENDPOINT, &answer, "/data/disabled", json!(true))?;
    Ok(format!(
        "OpenRouter disabled the key ({ENDPOINT} answered disabled: true); it can be enabled again at {}",
        ProviderId::Openrouter.revoke_help()
    ))
}

/// What `/key` says about the calling key alone: today's usage and its limit.
fn own_key(ctx: &PollContext, k: KeyData) -> Result<PollResult> {
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
            rows: vec![billed_row(key_id, String::new(), from, json_number_to_micros(daily)?)],
        });
    }
    Ok(result)
}

fn billed_row(key_id: String, model: String, bucket_start: i64, amount_micros: i64) -> SpendRow {
    SpendRow {
        key_id,
        model,
        project: String::new(),
        bucket_start,
        currency: Currency::usd(),
        amount_micros,
        input_tokens: None,
        output_tokens: None,
        requests: None,
    }
}

/// The days one management poll can rewrite: `[from, to)` in UTC days, where completed days
/// (before today) come from `/activity` and today from `usage_daily`. `None` when the
/// requested range has no day either source can give (older than the activity's 30 days,
/// or in the future): the ledger is then left as it is.
fn management_window(range: crate::days::DayRange, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let oldest = today - Duration::days(ACTIVITY_DAYS);
    let from = range.from.max(oldest);
    let to = (range.to + Duration::days(1)).min(today + Duration::days(1));
    (from < to).then_some((from, to))
}

/// Requests made so far and expected, for progress reports.
struct Progress<'a> {
    ctx: &'a PollContext,
    done: u64,
    total: u64,
}

impl Progress<'_> {
    fn fetched(&mut self) {
        self.done += 1;
        self.ctx.progress.report(self.done, self.total, "pages");
    }
}

async fn management(ctx: &PollContext) -> Result<PollResult> {
    let today = ctx.now.date_naive();
    // /credits and the first page of /keys; the rest is added as it becomes known.
    let mut progress = Progress { ctx, done: 0, total: 2 };
    let credits: Data<Credits> = ctx.get_json("GET /credits", ctx.url("credits")?, Auth::Bearer).await?;
    progress.fetched();
    let credits = credits.data;
    let total = json_number_to_micros(credits.total_credits)?;
    let used = json_number_to_micros(credits.total_usage)?;
    let mut result = PollResult {
        balances: vec![BalanceSnapshot {
            key_id: String::new(),
            currency: Currency::usd(),
            balance_micros: Some(total - used),
            limit_micros: Some(total),
            usage_micros: Some(used),
        }],
        ..Default::default()
    };

    let keys = list_keys(ctx, &mut progress).await?;
    for k in &keys {
        result.keys.push(KeyRecord {
            provider_key_id: k.hash.clone(),
            display_name: k.name.clone().filter(|n| !n.trim().is_empty()).or_else(|| k.label.clone()),
            fingerprint: k.label.clone(),
            created_at: k.created_at.as_deref().and_then(parse_rfc3339),
            disabled: k.disabled,
            project: k.workspace.clone(),
            ..Default::default()
        });
        // Only a key with a credit limit has a balance of its own; the others draw on the
        // account's credits (the snapshot above).
        if let Some(limit) = k.limit {
            result.balances.push(BalanceSnapshot {
                key_id: k.hash.clone(),
                currency: Currency::usd(),
                balance_micros: k.limit_remaining.map(json_number_to_micros).transpose()?,
                limit_micros: Some(json_number_to_micros(limit)?),
                usage_micros: k.usage.map(json_number_to_micros).transpose()?,
            });
        }
    }

    let Some((from, to)) = management_window(ctx.range, today) else {
        return Ok(result);
    };
    let mut rows = Vec::new();
    if from < today {
        // Completed days: one /activity call per key, then the unfiltered total.
        let history_to = to.min(today);
        let in_history = |d: NaiveDate| from <= d && d < history_to;
        progress.total += keys.len() as u64 + 1;
        let mut attributed: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
        for k in &keys {
            let mut url = ctx.url("activity")?;
            url.query_pairs_mut().append_pair("api_key_hash", &k.hash);
            for a in fetch_activity(ctx, url).await? {
                let day = activity_day(&a.date)?;
                if !in_history(day) {
                    continue;
                }
                *attributed.entry((day, a.model.clone())).or_default() += decimal(a.usage)?;
                rows.push(activity_row(k.hash.clone(), day, a)?);
            }
            progress.fetched();
        }
        let mut totals: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
        for a in fetch_activity(ctx, ctx.url("activity")?).await? {
            let day = activity_day(&a.date)?;
            if in_history(day) {
                *totals.entry((day, a.model)).or_default() += decimal(a.usage)?;
            }
        }
        progress.fetched();
        let mut short = BTreeSet::new();
        for ((day, model), sum) in totals {
            let rest = sum - attributed.get(&(day, model.clone())).copied().unwrap_or_default();
            if rest > Decimal::ZERO {
                let micros = parse_micros(&rest.to_string())?;
                if micros != 0 {
                    rows.push(billed_row(String::new(), model, day_start(day), micros));
                }
            } else if rest < Decimal::ZERO {
                short.insert(day);
            }
        }
        if !short.is_empty() {
            tracing::warn!(
                provider = "openrouter",
                days = ?short,
                "the account's activity is smaller than its keys' activity on some days; keeping the per-key figures"
            );
        }
    }
    if ctx.range.contains(today) {
        let start = day_start(today);
        for k in &keys {
            let micros = k.usage_daily.map(json_number_to_micros).transpose()?.unwrap_or(0);
            if micros != 0 {
                rows.push(billed_row(k.hash.clone(), String::new(), start, micros));
            }
        }
    }
    result.windows.push(SpendWindow {
        width: BucketWidth::Day,
        kind: SpendKind::Billed,
        from: day_start(from),
        to: day_start(to),
        rows,
    });
    Ok(result)
}

/// Every workspace, `KEYS_PAGE` at a time; `None` when the server has no `/workspaces` (404):
/// then only the default workspace's keys can be listed.
async fn list_workspaces(ctx: &PollContext, progress: &mut Progress<'_>) -> Result<Option<Vec<Workspace>>> {
    let mut workspaces: Vec<Workspace> = Vec::new();
    let mut seen = BTreeSet::new();
    for page in 0..MAX_PAGES {
        let mut url = ctx.url("workspaces")?;
        url.query_pairs_mut()
            .append_pair("limit", &KEYS_PAGE.to_string())
            .append_pair("offset", &(page * KEYS_PAGE).to_string());
        let Some(body) = ctx.get_json_if_exists::<Data<Vec<Workspace>>>("GET /workspaces", url, Auth::Bearer).await?
        else {
            tracing::info!(provider = "openrouter", "no /workspaces here; listing the default workspace's keys only");
            return Ok(None);
        };
        progress.fetched();
        let n = body.data.len();
        let before = seen.len();
        for w in body.data {
            if seen.insert(w.id.clone()) {
                workspaces.push(w);
            }
        }
        if n < KEYS_PAGE {
            return Ok(Some(workspaces));
        }
        progress.total += 1;
        if seen.len() == before {
            return Err(Error::new(
                ErrorCode::UnexpectedResponse,
                "OpenRouter sent the same workspaces again at GET /workspaces (offset ignored?); nothing was written",
            ));
        }
    }
    Err(Error::new(
        ErrorCode::UnexpectedResponse,
        format!("OpenRouter kept returning workspaces at GET /workspaces; stopped after {MAX_PAGES} pages, nothing was written"),
    ))
}

/// Every key of every workspace, disabled ones included. `/keys` answers for the default
/// workspace unless given a `workspace_id`, so it is asked once per workspace (and once
/// without, which also covers servers without workspaces); a key is kept once, by hash.
async fn list_keys(ctx: &PollContext, progress: &mut Progress<'_>) -> Result<Vec<ManagedKey>> {
    let mut keys: Vec<ManagedKey> = Vec::new();
    let mut seen = BTreeSet::new();
    list_keys_in(ctx, progress, None, &mut keys, &mut seen).await?;
    for w in list_workspaces(ctx, progress).await?.unwrap_or_default() {
        progress.total += 1;
        list_keys_in(ctx, progress, Some(&w), &mut keys, &mut seen).await?;
    }
    Ok(keys)
}

/// The keys of one workspace (`None`: the server's default), `KEYS_PAGE` at a time until a
/// short page, added to `keys` unless already seen.
async fn list_keys_in(
    ctx: &PollContext,
    progress: &mut Progress<'_>,
    workspace: Option<&Workspace>,
    keys: &mut Vec<ManagedKey>,
    seen: &mut BTreeSet<String>,
) -> Result<()> {
    let mut seen_here = BTreeSet::new();
    for page in 0..MAX_PAGES {
        let mut url = ctx.url("keys")?;
        url.query_pairs_mut()
            .append_pair("include_disabled", "true")
            .append_pair("offset", &(page * KEYS_PAGE).to_string());
        if let Some(w) = workspace {
            url.query_pairs_mut().append_pair("workspace_id", &w.id);
        }
        let body: Data<Vec<ManagedKey>> = ctx.get_json("GET /keys", url, Auth::Bearer).await?;
        let n = body.data.len();
        if n >= KEYS_PAGE {
            progress.total += 1;
        }
        progress.fetched();
        let before = seen_here.len();
        for mut k in body.data {
            seen_here.insert(k.hash.clone());
            if let Some(w) = workspace {
                // The default listing does not say which workspace; a named one does.
                if let Some(known) = keys.iter_mut().find(|known| known.hash == k.hash) {
                    known.workspace = w.name.clone().or_else(|| Some(w.id.clone()));
                }
                k.workspace = w.name.clone().or_else(|| Some(w.id.clone()));
            }
            if seen.insert(k.hash.clone()) {
                keys.push(k);
            }
        }
        if n < KEYS_PAGE {
            return Ok(());
        }
        if seen_here.len() == before {
            return Err(Error::new(
                ErrorCode::UnexpectedResponse,
                "OpenRouter sent the same keys again at GET /keys (offset ignored?); nothing was written",
            ));
        }
    }
    Err(Error::new(
        ErrorCode::UnexpectedResponse,
        format!("OpenRouter kept returning keys at GET /keys; stopped after {MAX_PAGES} pages, nothing was written"),
    ))
}

async fn fetch_activity(ctx: &PollContext, url: url::Url) -> Result<Vec<Activity>> {
    let body: Data<Vec<Activity>> = ctx.get_json("GET /activity", url, Auth::Bearer).await?;
    Ok(body.data)
}

fn activity_row(key_id: String, day: NaiveDate, a: Activity) -> Result<SpendRow> {
    Ok(SpendRow {
        input_tokens: a.prompt_tokens,
        output_tokens: a.completion_tokens,
        requests: a.requests,
        ..billed_row(key_id, a.model, day_start(day), json_number_to_micros(a.usage)?)
    })
}

fn activity_day(text: &str) -> Result<NaiveDate> {
    text.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).ok_or_else(|| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!("OpenRouter sent an activity date Burnrate cannot read at GET /activity ({text:?}); nothing was written"),
        )
    })
}

/// A JSON number as the exact decimal it was written as (see [`json_number_to_micros`]).
fn decimal(value: f64) -> Result<Decimal> {
    let text = value.to_string();
    Decimal::from_str(&text).map_err(|_| Error::invalid_input(format!("amount {text} is out of range")))
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::{parse_day, DayRange};

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/openrouter/");

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!("{EXAMPLES}{name}")).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn the_documented_examples_parse() {
        let key: Data<KeyData> = serde_json::from_str(&example("key.json")).unwrap();
        assert!(!key.data.is_management_key && !key.data.is_provisioning_key);
        assert_eq!(json_number_to_micros(key.data.limit_remaining.unwrap()).unwrap(), 74_500_000);

        let credits: Data<Credits> = serde_json::from_str(&example("credits_example.json")).unwrap();
        let balance = json_number_to_micros(credits.data.total_credits).unwrap()
            - json_number_to_micros(credits.data.total_usage).unwrap();
        assert_eq!(balance, 74_750_000);

        let keys: Data<Vec<ManagedKey>> = serde_json::from_str(&example("keys_list_example.json")).unwrap();
        let k = &keys.data[0];
        assert_eq!(k.hash, "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943");
        assert_eq!(
            (k.name.as_deref(), k.label.as_deref(), k.disabled),
            (Some("My Production Key"), Some("Production API Key"), false)
        );
        assert_eq!(k.created_at.as_deref().and_then(parse_rfc3339), Some(1_756_031_400)); // 2025-08-24T10:30:00Z
        assert_eq!(json_number_to_micros(k.usage_daily.unwrap()).unwrap(), 25_500_000);

        let activity: Data<Vec<Activity>> = serde_json::from_str(&example("activity_example.json")).unwrap();
        let a = activity.data.into_iter().next().unwrap();
        assert_eq!(activity_day(&a.date).unwrap(), day("2025-08-24"));
        let row = activity_row("h".into(), day("2025-08-24"), a).unwrap();
        assert_eq!((row.model.as_str(), row.amount_micros), ("openai/gpt-4.1", 15_000));
        assert_eq!((row.input_tokens, row.output_tokens, row.requests), (Some(50), Some(125), Some(5)));
        assert_eq!(row.bucket_start, day_start(day("2025-08-24")));
    }

    #[test]
    fn activity_dates_with_a_time_part_are_read_and_junk_is_an_error() {
        assert_eq!(activity_day("2026-01-16 00:00:00").unwrap(), day("2026-01-16"));
        let e = activity_day("16/01/2026").unwrap_err();
        assert!(e.message().contains("GET /activity"), "{}", e.message());
    }

    #[test]
    fn the_window_covers_activity_days_and_today_but_nothing_older_than_30_days() {
        let today = day("2026-03-02");
        let r = |a: &str, b: &str| DayRange::new(day(a), day(b)).unwrap();
        assert_eq!(
            management_window(r("2026-02-21", "2026-03-02"), today),
            Some((day("2026-02-21"), day("2026-03-03")))
        );
        // A 90-day first sync: the days before the activity's 30 are left alone.
        assert_eq!(
            management_window(r("2025-12-03", "2026-03-02"), today),
            Some((day("2026-01-31"), day("2026-03-03")))
        );
        // Past days only.
        assert_eq!(
            management_window(r("2026-02-21", "2026-02-25"), today),
            Some((day("2026-02-21"), day("2026-02-26")))
        );
        assert_eq!(management_window(r("2025-12-01", "2025-12-31"), today), None);
        assert_eq!(management_window(r("2026-03-05", "2026-03-06"), today), None);
    }

    #[test]
    fn decimals_keep_the_written_value() {
        assert_eq!(decimal(0.1).unwrap() + decimal(0.2).unwrap(), Decimal::from_str("0.3").unwrap());
        assert_eq!(decimal(0.0000001).unwrap(), Decimal::from_str("0.0000001").unwrap());
    }
}
