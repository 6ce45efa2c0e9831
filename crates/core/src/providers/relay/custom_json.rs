//! A custom JSON endpoint: `GET <base URL>` (the full endpoint URL, no path is added) with the key
//! in a configurable header (`header`, default `Authorization`; `prefix`, default `Bearer ` for
//! `Authorization` and nothing for any other header). One number is read at the JSON pointer
//! `pointer` (a JSON number or a numeric string), divided by `divisor` and recorded in `currency`
//! according to `meaning`:
//! - `balance`: money left, a balance snapshot; spend is derived from its drops;
//! - `total`: spend since the account began, a snapshot's `usage`; spend is derived from its growth;
//! - `today`: spend so far in the current UTC day, written as today's billed bucket (each sync
//!   replaces it, so the last sync of a day leaves that day's final figure).
//!
//! Nothing here is attributed to a key or model. See docs/providers/custom-json.md.

use rust_decimal::Decimal;
use serde_json::Value;

use super::shared::{decimal_text, json_decimal, provider_micros};
use crate::days::day_start;
use crate::error::{Error, ErrorCode, Result};
use crate::money::Currency;
use crate::poll::SpendKind;
use crate::poll::{BalanceSnapshot, BucketWidth, PollResult, SpendRow, SpendWindow};
use crate::providers::connector::{BoxFuture, Connector};
use crate::providers::http::{Auth, PollContext};

pub struct CustomJson;

/// What the number at the pointer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    Balance,
    Total,
    Today,
}

impl Meaning {
    fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "balance" => Ok(Meaning::Balance),
            "total" => Ok(Meaning::Total),
            "today" => Ok(Meaning::Today),
            other => Err(Error::invalid_input(format!(
                "the meaning setting is {other:?}; use balance (money left), total (spend since the account began) or today (spend so far today)"
            ))),
        }
    }
}

/// The header value's text before the key. Settings are stored trimmed, so a prefix given as
/// `Token` gets its separating space back; `none` means no prefix at all.
pub(crate) fn header_prefix(header: &str, prefix: Option<&str>) -> String {
    match prefix.map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("none") => String::new(),
        Some(p) if p.ends_with(|c: char| c.is_ascii_alphanumeric()) => format!("{p} "),
        Some(p) => p.to_owned(),
        None if header.eq_ignore_ascii_case("authorization") => "Bearer ".to_owned(),
        None => String::new(),
    }
}

impl Connector for CustomJson {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let pointer = ctx.settings.require("pointer")?;
            let meaning = Meaning::parse(ctx.settings.get("meaning").unwrap_or("balance"))?;
            let divisor = ctx.settings.decimal("divisor")?.unwrap_or(Decimal::ONE);
            let currency = ctx.settings.currency("currency")?.unwrap_or_else(Currency::usd);
            let header = ctx.settings.get("header").unwrap_or("Authorization");
            let prefix = header_prefix(header, ctx.settings.get("prefix"));
            let endpoint = format!("GET {}", ctx.base_url.path());
            let body: Value =
                ctx.get_json(&endpoint, ctx.base_url.clone(), Auth::Header { name: header, prefix: &prefix }).await?;
            let amount = read_amount(ctx.provider.label(), &endpoint, &body, pointer)?;
            let micros = provider_micros(ctx.provider.label(), &endpoint, amount / divisor)?;
            let snapshot = |balance: Option<i64>, usage: Option<i64>| BalanceSnapshot {
                key_id: String::new(),
                currency: currency.clone(),
                balance_micros: balance,
                limit_micros: None,
                usage_micros: usage,
            };
            Ok(match meaning {
                Meaning::Balance => PollResult {
                    balances: vec![snapshot(Some(micros), None)],
                    derive_spend_from_balances: true,
                    ..Default::default()
                },
                Meaning::Total => PollResult {
                    balances: vec![snapshot(None, Some(micros))],
                    derive_spend_from_balances: true,
                    ..Default::default()
                },
                Meaning::Today => {
                    let today = ctx.now.date_naive();
                    let mut result = PollResult::default();
                    // A window that does not reach today cannot hold today's figure.
                    if ctx.range.contains(today) {
                        let start = day_start(today);
                        result.windows.push(SpendWindow {
                            width: BucketWidth::Day,
                            kind: SpendKind::Billed,
                            from: start,
                            to: start + 86_400,
                            rows: vec![SpendRow {
                                key_id: String::new(),
                                model: String::new(),
                                project: String::new(),
                                bucket_start: start,
                                currency,
                                amount_micros: micros,
                                input_tokens: None,
                                output_tokens: None,
                                requests: None,
                            }],
                        });
                    }
                    result
                }
            })
        })
    }
}

/// The number at `pointer`: a JSON number or a numeric string, as an exact decimal.
fn read_amount(label: &str, endpoint: &str, body: &Value, pointer: &str) -> Result<Decimal> {
    let bad = |what: String| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!("{label} at {endpoint}: {what}; nothing was written. Check the pointer setting (--set pointer=/path/to/amount)"),
        )
    };
    let value = body.pointer(pointer).ok_or_else(|| bad(format!("the response has no value at {pointer}")))?;
    let amount = match value {
        Value::Number(n) => json_decimal(n),
        Value::String(s) => decimal_text(s),
        _ => None,
    };
    amount.ok_or_else(|| bad(format!("the value at {pointer} is {}, not a number", describe(value))))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number out of range",
        Value::String(_) => "a string that is not a decimal number",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_numbers_and_numeric_strings_exactly() {
        let body: Value = serde_json::from_str(
            r#"{"data":{"balance":"12.345","cents":1999,"list":[{"v":0.1}],"flag":true,"name":"abc","none":null,"obj":{}}}"#,
        )
        .unwrap();
        assert_eq!(read_amount("X", "GET /", &body, "/data/balance").unwrap(), Decimal::new(12345, 3));
        assert_eq!(read_amount("X", "GET /", &body, "/data/cents").unwrap(), Decimal::from(1999));
        assert_eq!(read_amount("X", "GET /", &body, "/data/list/0/v").unwrap(), Decimal::new(1, 1));
        for (pointer, expected) in [
            ("/data/missing", "has no value at /data/missing"),
            ("/data/flag", "the value at /data/flag is a boolean, not a number"),
            ("/data/name", "is a string that is not a decimal number"),
            ("/data/none", "is null"),
            ("/data/obj", "is an object"),
            ("/data/list", "is an array"),
        ] {
            let e = read_amount("Custom JSON endpoint", "GET /b", &body, pointer).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnexpectedResponse);
            assert!(e.message().contains(expected), "{pointer}: {}", e.message());
            assert!(e.message().contains("GET /b"), "{}", e.message());
        }
    }

    #[test]
    fn meanings_and_prefixes() {
        assert_eq!(Meaning::parse(" Today ").unwrap(), Meaning::Today);
        assert!(Meaning::parse("spend").unwrap_err().message().contains("balance (money left)"));
        assert_eq!(header_prefix("Authorization", None), "Bearer ");
        assert_eq!(header_prefix("X-Api-Key", None), "");
        assert_eq!(header_prefix("Authorization", Some("Token")), "Token ");
        assert_eq!(header_prefix("Authorization", Some("none")), "");
        assert_eq!(header_prefix("X-Auth", Some("key=")), "key=");
    }
}

#[cfg(test)]
mod poll_tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::testing::{ctx, fixture, KEY};
    use super::*;
    use crate::providers::ProviderId;

    const NOW: &str = "2026-03-02T12:00:00Z";

    async fn serve(file: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/billing/balance"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(fixture(file), "application/json"))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn balance_from_a_numeric_string_with_the_default_bearer_header() {
        let server = serve("custom-json/vercel_credits.json").await;
        let url = format!("{}/billing/balance", server.uri());
        let c = ctx(ProviderId::CustomJson, &url, &[("pointer", "/balance")], ("2026-03-01", "2026-03-02"), NOW);
        let poll = CustomJson.poll(&c).await.unwrap();
        assert!(poll.derive_spend_from_balances);
        let b = &poll.balances[0];
        assert_eq!((b.balance_micros, b.usage_micros, b.currency.as_str()), (Some(95_500_000), None, "USD"));
        let req = &server.received_requests().await.unwrap()[0];
        assert_eq!(req.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {KEY}"));
    }

    #[tokio::test]
    async fn today_in_cents_with_a_custom_header_replaces_todays_bucket() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/billing/balance"))
            .and(header("x-api-key", KEY))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(fixture("custom-json/nested_cents.json"), "application/json"),
            )
            .mount(&server)
            .await;
        let url = format!("{}/billing/balance", server.uri());
        let settings = [
            ("pointer", "/data/account/spent_today_cents"),
            ("meaning", "today"),
            ("divisor", "100"),
            ("currency", "CNY"),
            ("header", "X-Api-Key"),
        ];
        let c = ctx(ProviderId::CustomJson, &url, &settings, ("2026-02-27", "2026-03-02"), NOW);
        let poll = CustomJson.poll(&c).await.unwrap();
        assert!(!poll.derive_spend_from_balances && poll.balances.is_empty());
        let w = &poll.windows[0];
        // Only today's bucket is replaced: earlier days keep what earlier syncs wrote.
        assert_eq!((w.from, w.to, w.kind), (1772409600, 1772496000, SpendKind::Billed));
        assert_eq!((w.rows[0].amount_micros, w.rows[0].currency.as_str()), (7_890_000, "CNY"));

        // A window that ends before today writes nothing.
        let c = ctx(ProviderId::CustomJson, &url, &settings, ("2026-02-27", "2026-03-01"), NOW);
        assert!(CustomJson.poll(&c).await.unwrap().windows.is_empty());
    }

    #[tokio::test]
    async fn total_is_recorded_as_usage() {
        let server = serve("custom-json/nested_cents.json").await;
        let url = format!("{}/billing/balance", server.uri());
        let settings = [("pointer", "/data/account/balance_cents"), ("meaning", "total"), ("divisor", "100")];
        let c = ctx(ProviderId::CustomJson, &url, &settings, ("2026-03-01", "2026-03-02"), NOW);
        let b = CustomJson.poll(&c).await.unwrap().balances.remove(0);
        assert_eq!((b.balance_micros, b.usage_micros), (None, Some(1_234_560_000)));
    }

    #[tokio::test]
    async fn a_wrong_pointer_names_it_and_the_value_type_but_never_the_key() {
        let server = serve("custom-json/nested_cents.json").await;
        let url = format!("{}/billing/balance", server.uri());
        let c =
            ctx(ProviderId::CustomJson, &url, &[("pointer", "/data/account/flags")], ("2026-03-01", "2026-03-02"), NOW);
        let e = CustomJson.poll(&c).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
        assert!(e.message().contains("the value at /data/account/flags is an object, not a number"), "{}", e.message());
        assert!(e.message().contains("GET /billing/balance"), "{}", e.message());
        assert!(!e.message().contains(KEY));
    }
}
