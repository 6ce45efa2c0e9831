//! DeepSeek: `GET /user/balance` is the only billing endpoint. It returns the account's balance
//! now, one entry per currency (`CNY`, `USD`), amounts as decimal **strings**:
//! `{"is_available": true, "balance_infos": [{"currency", "total_balance", "granted_balance",
//! "topped_up_balance"}]}`. There is no usage history, per-key or per-model data.
//!
//! Each poll therefore records one balance snapshot per currency (`total_balance`) and asks the
//! ledger to derive daily spend from the drops between snapshots (see
//! [`crate::balance_spend`]); it emits no spend windows itself. Currencies are separate
//! balances and are never summed. See docs/providers/deepseek.md.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::connector::{BoxFuture, Connector};
use super::http::{Auth, PollContext};
use crate::error::{Error, ErrorCode, Result};
use crate::money::{json_number_to_micros, parse_micros, Currency};
use crate::poll::{BalanceSnapshot, PollResult};

pub struct DeepSeek;

const ENDPOINT: &str = "GET /user/balance";

#[derive(Deserialize)]
struct BalanceResponse {
    #[serde(default)]
    is_available: Option<bool>,
    #[serde(default)]
    balance_infos: Vec<BalanceInfo>,
}

#[derive(Deserialize)]
struct BalanceInfo {
    currency: String,
    total_balance: Amount,
}

/// Documented as a decimal string; a JSON number is accepted too rather than failing the poll.
#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Number(f64),
}

impl Amount {
    fn micros(&self) -> Result<i64> {
        match self {
            Amount::Text(s) => parse_micros(s),
            Amount::Number(n) => json_number_to_micros(*n),
        }
    }
}

fn unreadable(detail: String) -> Error {
    Error::new(
        ErrorCode::UnexpectedResponse,
        format!("DeepSeek sent a balance Burnrate cannot read at {ENDPOINT} ({detail}); nothing was written"),
    )
}

/// One snapshot per currency of the account (key id `""`: the balance is the account's, not a key's).
fn snapshots(body: BalanceResponse) -> Result<Vec<BalanceSnapshot>> {
    if body.is_available == Some(false) {
        tracing::info!("DeepSeek reports the account has no balance available for API calls");
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(body.balance_infos.len());
    for info in body.balance_infos {
        let currency = info.currency.parse::<Currency>().map_err(|e| unreadable(e.message().to_owned()))?;
        // Two balances of one currency taken at the same instant would read as a drop between them.
        if !seen.insert(currency.clone()) {
            return Err(unreadable(format!("{currency} is listed twice")));
        }
        let balance = info.total_balance.micros().map_err(|e| unreadable(e.message().to_owned()))?;
        out.push(BalanceSnapshot {
            key_id: String::new(),
            currency,
            balance_micros: Some(balance),
            limit_micros: None,
            usage_micros: None,
        });
    }
    Ok(out)
}

impl Connector for DeepSeek {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let body: BalanceResponse = ctx.get_json(ENDPOINT, ctx.url("user/balance")?, Auth::Bearer).await?;
            Ok(PollResult { balances: snapshots(body)?, derive_spend_from_balances: true, ..Default::default() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<BalanceSnapshot>> {
        snapshots(serde_json::from_str(text).unwrap())
    }

    #[test]
    fn the_documented_example_is_one_cny_snapshot_of_the_total() {
        let text = include_str!("../../../../tests/fixtures/deepseek/user_balance_example.json");
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].currency.as_str(), "CNY");
        assert_eq!(s[0].balance_micros, Some(110_000_000), "total_balance, not granted or topped-up");
        assert_eq!(s[0].key_id, "");
    }

    #[test]
    fn each_currency_is_its_own_snapshot_and_never_summed() {
        let text = include_str!("../../../../tests/fixtures/deepseek/user_balance_cny_usd.json");
        let s = parse(text).unwrap();
        let got: Vec<_> = s.iter().map(|b| (b.currency.as_str().to_owned(), b.balance_micros)).collect();
        assert_eq!(got, vec![("CNY".to_owned(), Some(86_421_357)), ("USD".to_owned(), Some(12_345_678))]);
    }

    #[test]
    fn numbers_are_accepted_and_junk_is_refused() {
        let s = parse(r#"{"is_available":true,"balance_infos":[{"currency":"usd","total_balance":1.5}]}"#).unwrap();
        assert_eq!((s[0].currency.as_str(), s[0].balance_micros), ("USD", Some(1_500_000)));
        let e = parse(r#"{"balance_infos":[{"currency":"CNY","total_balance":"lots"}]}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
        assert!(e.message().contains("GET /user/balance"), "{}", e.message());
        let twice =
            r#"{"balance_infos":[{"currency":"CNY","total_balance":"1"},{"currency":"CNY","total_balance":"2"}]}"#;
        assert!(parse(twice).unwrap_err().message().contains("CNY is listed twice"));
        assert!(parse(r#"{"is_available":false,"balance_infos":[]}"#).unwrap().is_empty());
    }
}
