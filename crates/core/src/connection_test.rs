//! "Test connection": one poll of a source's last two UTC days, summarised as what the key can
//! read. Nothing is written to the ledger, and a key typed into the add-source form is used
//! for this one request and not stored anywhere.
//!
//! The summary is derived from what the connector actually returned, not from what the
//! provider's documentation promises: a key that lists no keys, or gets only account totals,
//! shows exactly that.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use ts_rs::TS;

use crate::error::ApiError;
use crate::money::format_human;
use crate::poll::SpendKind;
use crate::poll::{BucketWidth, PollResult};
use crate::providers::ProviderId;

/// What a key could read in a test poll of the last two UTC days ("test connection").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConnectionCheck {
    pub ok: bool,
    pub provider: ProviderId,
    pub base_url: String,
    pub key_fingerprint: String,
    pub from: String,
    pub to: String,
    pub elapsed_ms: u32,
    /// One line per kind of data, readable or not, in the order the UI shows them.
    pub readable: Vec<ReadableItem>,
    /// Why the test failed, with what to do; None when `ok`.
    pub error: Option<ApiError>,
}

/// One kind of data a key can or cannot read, e.g. "API keys": "3 keys: prod, staging, ci".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReadableItem {
    pub what: String,
    pub readable: bool,
    pub detail: String,
}

/// How many key and model names the summary lists before saying "and N more".
const NAMES_SHOWN: usize = 5;

/// The outcome of a test poll, in the terms the user chose the key by.
pub fn summarise(provider: ProviderId, result: &std::result::Result<PollResult, ApiError>) -> Vec<ReadableItem> {
    let poll = match result {
        Ok(poll) => poll,
        Err(_) => return Vec::new(),
    };
    let mut items = Vec::new();

    // Keys.
    if poll.keys.is_empty() {
        let attributed = poll.windows.iter().flat_map(|w| &w.rows).any(|r| !r.key_id.is_empty());
        items.push(ReadableItem {
            what: "API keys".into(),
            readable: attributed,
            detail: if attributed {
                "spend is attributed to keys, but the key list (names, age, limits) is not readable with this key"
                    .into()
            } else {
                "no per-key detail: spend is for the account as a whole".into()
            },
        });
    } else {
        let names: Vec<String> = poll
            .keys
            .iter()
            .map(|k| match (&k.display_name, &k.fingerprint) {
                (Some(n), Some(f)) => format!("{n} ({f})"),
                (Some(n), None) => n.clone(),
                (None, Some(f)) => f.clone(),
                (None, None) => k.provider_key_id.clone(),
            })
            .collect();
        let disabled = poll.keys.iter().filter(|k| k.disabled).count();
        let mut detail = format!("{} {}: {}", poll.keys.len(), plural(poll.keys.len(), "key"), list(&names));
        if disabled > 0 {
            detail.push_str(&format!("; {disabled} disabled"));
        }
        items.push(ReadableItem { what: "API keys".into(), readable: true, detail });
    }

    // Spend.
    let rows: Vec<_> = poll.windows.iter().flat_map(|w| w.rows.iter().map(move |r| (w, r))).collect();
    if poll.derive_spend_from_balances {
        items.push(ReadableItem {
            what: "Spend".into(),
            readable: true,
            detail: "derived from the balance's drop between syncs (this provider reports no usage)".into(),
        });
    } else if poll.windows.is_empty() {
        items.push(ReadableItem {
            what: "Spend".into(),
            readable: false,
            detail: "this key reads no usage or cost".into(),
        });
    } else {
        let kinds: BTreeSet<&str> = poll
            .windows
            .iter()
            .map(|w| match w.kind {
                SpendKind::Billed => "billed amounts",
                SpendKind::Estimated => "token counts (cost estimated from list prices)",
            })
            .collect();
        let hourly = poll.windows.iter().any(|w| w.width == BucketWidth::Hour);
        let per_key = rows.iter().any(|(_, r)| !r.key_id.is_empty());
        let mut by = vec![if hourly { "hour" } else { "day" }];
        if per_key {
            by.push("key");
        }
        let models: BTreeSet<&str> = rows.iter().map(|(_, r)| r.model.as_str()).filter(|m| !m.is_empty()).collect();
        if !models.is_empty() {
            by.push("model");
        }
        let mut totals: std::collections::BTreeMap<&str, i64> = Default::default();
        for (w, r) in &rows {
            if w.kind == SpendKind::Billed || !poll.windows.iter().any(|o| o.kind == SpendKind::Billed) {
                let total = totals.entry(r.currency.as_str()).or_default();
                *total = total.saturating_add(r.amount_micros);
            }
        }
        let spent = if totals.is_empty() {
            "nothing spent in these two days".to_owned()
        } else {
            totals.iter().map(|(c, m)| format_human(*m, c)).collect::<Vec<_>>().join(", ") + " in these two days"
        };
        items.push(ReadableItem {
            what: "Spend".into(),
            readable: true,
            detail: format!("{} per {}; {spent}", kinds.into_iter().collect::<Vec<_>>().join(" and "), by.join(", ")),
        });
        if !models.is_empty() {
            let names: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
            items.push(ReadableItem {
                what: "Models".into(),
                readable: true,
                detail: format!("{} used: {}", names.len(), list(&names)),
            });
        }
    }

    // Balances and limits.
    let balances: Vec<String> =
        poll.balances.iter().filter_map(|b| b.balance_micros.map(|m| format_human(m, b.currency.as_str()))).collect();
    let limits = poll.balances.iter().filter(|b| b.limit_micros.is_some()).count();
    if !balances.is_empty() || limits > 0 {
        let mut detail = String::new();
        if !balances.is_empty() {
            detail.push_str(&format!("left: {}", list(&balances)));
        }
        if limits > 0 {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!("{limits} spending {} readable", plural(limits, "limit")));
        }
        items.push(ReadableItem { what: "Balance and limits".into(), readable: true, detail });
    } else {
        items.push(ReadableItem {
            what: "Balance and limits".into(),
            readable: false,
            detail: match provider {
                ProviderId::Openai | ProviderId::Anthropic => {
                    "not offered by this provider's API; set a Burnrate budget instead".into()
                }
                _ => "none reported with this key".into(),
            },
        });
    }
    items
}

/// Builds the check shown to the user; `error` is set when the poll failed.
pub fn check(
    provider: ProviderId,
    base_url: &url::Url,
    key_fingerprint: String,
    range: crate::days::DayRange,
    elapsed_ms: u64,
    result: std::result::Result<PollResult, ApiError>,
) -> ConnectionCheck {
    let readable = summarise(provider, &result);
    ConnectionCheck {
        ok: result.is_ok(),
        provider,
        base_url: base_url.to_string(),
        key_fingerprint,
        from: range.from.to_string(),
        to: range.to.to_string(),
        elapsed_ms: u32::try_from(elapsed_ms).unwrap_or(u32::MAX),
        readable,
        error: result.err(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn list(names: &[String]) -> String {
    if names.len() <= NAMES_SHOWN {
        names.join(", ")
    } else {
        format!("{}, and {} more", names[..NAMES_SHOWN].join(", "), names.len() - NAMES_SHOWN)
    }
}
