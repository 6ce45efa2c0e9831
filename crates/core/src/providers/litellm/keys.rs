//! `GET /key/list` (or `/key/info` for a key that may not list keys): key names, blocked state
//! and budgets; and blocking a key.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use reqwest::Method;
use serde_json::json;

use super::common::*;
use crate::error::{Error, Result};
use crate::money::Currency;
use crate::poll::{BalanceSnapshot, KeyRecord};
use crate::providers::connector::{check_action_answer, KeyTarget};
use crate::providers::http::{Auth, KeyActionContext, PollContext};

/// `/key/list` allows at most 100 keys per page.
const KEY_PAGE_SIZE: u32 = 100;

#[derive(Deserialize)]
pub(super) struct KeyList {
    #[serde(default)]
    keys: Vec<ListedKey>,
    total_pages: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ListedKey {
    Full(Box<KeyObject>),
    /// Without `return_full_object` (or on old proxies) only the hashed token is listed.
    Token(String),
}

#[derive(Deserialize)]
pub(super) struct KeyInfo {
    /// The key as looked up: without a `key` parameter, the caller's own hashed token.
    #[serde(default)]
    key: Option<String>,
    info: KeyObject,
}

#[derive(Deserialize, Default)]
pub(super) struct KeyObject {
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

pub(super) fn timestamp(text: Option<&str>) -> Option<i64> {
    let text = text?.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp()))
}

/// `POST /key/block` with `{"key": <hashed token>}`: the proxy accepts the raw key (`sk-…`) or
/// its hash, and Burnrate only ever has the hash. Proxy admins only; `/key/unblock` undoes it.
pub(super) async fn disable_key(ctx: &KeyActionContext, target: &KeyTarget) -> Result<String> {
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
pub(super) fn is_hashed_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn key_record(id: &str, k: &KeyObject, now: DateTime<Utc>) -> KeyRecord {
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
pub(super) fn budget(id: &str, k: &KeyObject) -> Result<Option<BalanceSnapshot>> {
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
pub(super) async fn list_keys(ctx: &PollContext) -> Result<Vec<(String, KeyObject)>> {
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
pub(super) async fn own_key(ctx: &PollContext) -> Result<Vec<(String, KeyObject)>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_objects_become_records_and_budgets() {
        let list: KeyList =
            serde_json::from_str(include_str!("../../../../../tests/fixtures/litellm/key_list_page1.json")).unwrap();
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
