//! Self-hosted OpenAI-compatible relays and a generic JSON endpoint:
//! - [`new_api::NewApi`]: new-api / one-api `GET /api/user/self` (account quota and used quota);
//! - [`sub2api::Sub2Api`]: sub2api `GET /v1/usage` (balance or key quota, per-model spend per day);
//! - [`custom_json::CustomJson`]: any endpoint that returns one number (a balance, a running total
//!   or today's spend) at a JSON pointer.
//!
//! Relays are configured in their SDK's convention (`https://relay.example.com/v1`) as often as by
//! their root, so the relay connectors accept both: a trailing `/v1` is dropped before the
//! dashboard paths are joined. See docs/providers/new-api.md, sub2api.md and custom-json.md.

pub mod custom_json;
pub mod new_api;
mod shared;
pub mod sub2api;

pub use custom_json::CustomJson;
pub use new_api::NewApi;
pub use sub2api::Sub2Api;

/// A poll context against a loopback mock, for the connectors' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use crate::days::{parse_day, DayRange};
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
