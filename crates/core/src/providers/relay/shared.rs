//! What the relay connectors share: the relay's root URL and exact decimal amounts.

use rust_decimal::Decimal;
use url::Url;

use crate::error::{Error, ErrorCode, Result};
use crate::money::parse_micros;
use crate::providers::http::PollContext;

/// `path` (no leading '/') joined to the relay's root: the base URL without a trailing `/v1`.
pub(super) fn root_url(ctx: &PollContext, path: &str) -> Result<Url> {
    let mut root = ctx.base_url.clone();
    let trimmed = root.path().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    root.set_path(&format!("{trimmed}/"));
    root.join(path).map_err(|e| Error::internal(format!("bad endpoint path {path}: {e}")))
}

/// The exact decimal a JSON number was written as (serde_json keeps integers exact and prints
/// floats as their shortest round-trip text, which is what the provider wrote).
pub(super) fn json_decimal(n: &serde_json::Number) -> Option<Decimal> {
    decimal_text(&n.to_string())
}

pub(super) fn decimal_text(text: &str) -> Option<Decimal> {
    let text = text.trim();
    text.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(text).ok())
}

/// A provider amount as micro-units; an amount too large for the ledger is the provider's fault.
pub(super) fn provider_micros(provider: &str, endpoint: &str, amount: Decimal) -> Result<i64> {
    parse_micros(&amount.to_string()).map_err(|_| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "{provider} reported an amount Burnrate cannot store ({amount}) at {endpoint}; nothing was written"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_keep_their_written_digits() {
        let n: serde_json::Number = serde_json::from_str("123456789012").unwrap();
        assert_eq!(json_decimal(&n), Some(Decimal::from(123_456_789_012_i64)));
        let n: serde_json::Number = serde_json::from_str("0.1").unwrap();
        assert_eq!(json_decimal(&n).unwrap().to_string(), "0.1");
        let n: serde_json::Number = serde_json::from_str("1e-7").unwrap();
        assert_eq!(json_decimal(&n).unwrap(), Decimal::new(1, 7));
        assert_eq!(decimal_text(" 12.50 "), Some(Decimal::new(1250, 2)));
        assert_eq!(decimal_text("12,5"), None);
    }

    #[test]
    fn amounts_round_at_the_micro_unit() {
        let third = Decimal::ONE / Decimal::from(3);
        assert_eq!(provider_micros("X", "GET /", third).unwrap(), 333_333);
        assert_eq!(provider_micros("X", "GET /", Decimal::new(25, 7)).unwrap(), 3);
        let e = provider_micros("X", "GET /", Decimal::MAX).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
    }
}
