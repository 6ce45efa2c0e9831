//! Self-hosted OpenAI-compatible relays and a generic JSON endpoint:
//! - [`new_api::NewApi`]: new-api / one-api `GET /api/user/self` (account quota and used quota);
//! - [`sub2api::Sub2Api`]: sub2api `GET /v1/usage` (balance or key quota, per-model spend per day);
//! - [`custom_json::CustomJson`]: any endpoint that returns one number (a balance, a running total
//!   or today's spend) at a JSON pointer.
//!
//! Relays are configured in their SDK's convention (`https://relay.example.com/v1`) as often as by
//! their root, so the relay connectors accept both: a trailing `/v1` is dropped before the
//! dashboard paths are joined. See docs/providers/new-api.md, sub2api.md and custom-json.md.

use rust_decimal::Decimal;
use url::Url;

use super::http::PollContext;
use crate::error::{Error, ErrorCode, Result};
use crate::money::parse_micros;

pub mod custom_json;
pub mod new_api;
pub mod sub2api;

pub use custom_json::CustomJson;
pub use new_api::NewApi;
pub use sub2api::Sub2Api;

/// `path` (no leading '/') joined to the relay's root: the base URL without a trailing `/v1`.
fn root_url(ctx: &PollContext, path: &str) -> Result<Url> {
    let mut root = ctx.base_url.clone();
    let trimmed = root.path().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    root.set_path(&format!("{trimmed}/"));
    root.join(path).map_err(|e| Error::internal(format!("bad endpoint path {path}: {e}")))
}

/// The exact decimal a JSON number was written as (serde_json keeps integers exact and prints
/// floats as their shortest round-trip text, which is what the provider wrote).
fn json_decimal(n: &serde_json::Number) -> Option<Decimal> {
    decimal_text(&n.to_string())
}

fn decimal_text(text: &str) -> Option<Decimal> {
    let text = text.trim();
    text.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(text).ok())
}

/// A provider amount as micro-units; an amount too large for the ledger is the provider's fault.
fn provider_micros(provider: &str, endpoint: &str, amount: Decimal) -> Result<i64> {
    parse_micros(&amount.to_string()).map_err(|_| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "{provider} reported an amount Burnrate cannot store ({amount}) at {endpoint}; nothing was written"
            ),
        )
    })
}

/// A poll context against a loopback mock, for the connectors' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use crate::ledger::{parse_day, DayRange};
    use crate::prices::PriceTable;
    use crate::providers::http::{HttpClient, PollContext, Progress, RetryPolicy};
    use crate::providers::ProviderId;
    use crate::settings::Settings;

    pub const KEY: &str = "sk-FAKEFAKEFAKEFAKErelay0001";

    pub fn ctx(
        provider: ProviderId,
        base: &str,
        settings: &[(&str, &str)],
        days: (&str, &str),
        now: &str,
    ) -> PollContext {
        let values = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PollContext {
            provider,
            base_url: base.parse().unwrap(),
            key: KEY.into(),
            range: DayRange::new(parse_day(days.0).unwrap(), parse_day(days.1).unwrap()).unwrap(),
            now: now.parse::<DateTime<Utc>>().unwrap(),
            http: HttpClient::new(
                Duration::from_secs(5),
                RetryPolicy { max_attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO },
            )
            .unwrap(),
            settings: Settings::with_defaults(values, &provider.settings()),
            prices: Arc::new(PriceTable::bundled()),
            progress: Progress::default(),
        }
    }

    pub fn fixture(rel: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }
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
