//! new-api / one-api: `GET /api/user/self` with the account's access token (the "system access
//! token" of the personal settings page, not a relay `sk-` key) answers
//! `{success, message, data: {id, quota, used_quota, request_count, …}}`.
//!
//! - `quota` is what is left and `used_quota` what has been spent, both in integer quota units;
//!   the relay counts `QuotaPerUnit` units per US dollar (500 000 unless the admin changed it), so
//!   USD = units / `quota_per_usd`. Display settings (CNY, tokens) do not change the stored units.
//! - Only account totals exist here: no per-day, per-key or per-model history. Burnrate records a
//!   balance snapshot per sync and the ledger derives daily spend from the growth of `used_quota`
//!   between snapshots (`derive_spend_from_balances`).
//! - Errors come in two shapes: HTTP 401/403 with `{success:false, message}` (new-api since 2025:
//!   missing or mismatched `New-Api-User`, expired token) and HTTP 200 with `success:false` (one-api
//!   and older new-api for an unknown token: "无权进行此操作，access token 无效"). Both mean the
//!   token or user id is wrong.
//! - new-api requires `New-Api-User: <the token owner's numeric id>` next to the token (2025
//!   versions check it, newer ones accept its absence); one-api ignores it. It is sent when the
//!   `user_id` setting is given.
//!
//! Sources: QuantumNous/new-api `middleware/auth.go` (authHelper), `controller/user.go` (GetSelf,
//! buildSelfUserData), `common/constants.go` (QuotaPerUnit); songquanpeng/one-api
//! `middleware/auth.go`, `model/user.go` (ValidateAccessToken strips "Bearer "), `docs/API.md`.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::shared::{json_decimal, provider_micros, root_url};
use crate::error::{Error, ErrorCode, Result};
use crate::money::Currency;
use crate::poll::{BalanceSnapshot, PollResult};
use crate::providers::connector::{BoxFuture, Connector};
use crate::providers::http::{Auth, PollContext};

pub struct NewApi;

const ENDPOINT: &str = "GET /api/user/self";
/// new-api's and one-api's `QuotaPerUnit`: quota units per US dollar.
const DEFAULT_QUOTA_PER_USD: i64 = 500_000;

#[derive(Deserialize)]
struct SelfResponse {
    success: bool,
    #[serde(default)]
    message: String,
    data: Option<UserData>,
}

#[derive(Deserialize)]
struct UserData {
    quota: serde_json::Number,
    used_quota: serde_json::Number,
}

impl Connector for NewApi {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let label = ctx.provider.label();
            let per_usd = ctx.settings.decimal("quota_per_usd")?.unwrap_or(Decimal::from(DEFAULT_QUOTA_PER_USD));
            let user_id = ctx.settings.get("user_id").map(str::trim).filter(|u| !u.is_empty());
            if let Some(id) = user_id {
                if !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::invalid_input(format!(
                        "the user_id setting must be your numeric user id on the relay (shown on its personal settings page), not {id:?}"
                    )));
                }
            }
            let headers: Vec<(&str, &str)> = user_id.map(|id| ("New-Api-User", id)).into_iter().collect();
            let body: SelfResponse =
                ctx.get_json_with(ENDPOINT, root_url(ctx, "api/user/self")?, Auth::Bearer, &headers).await?;
            if !body.success {
                return Err(refusal(ctx, &body.message));
            }
            let user = body.data.ok_or_else(|| {
                Error::new(
                    ErrorCode::UnexpectedResponse,
                    format!("{label} said success but sent no user data at {ENDPOINT}; nothing was written"),
                )
            })?;
            let usd = |field: &str, units: &serde_json::Number| -> Result<i64> {
                let units = json_decimal(units).ok_or_else(|| {
                    Error::new(
                        ErrorCode::UnexpectedResponse,
                        format!(
                            "{label} sent a {field} Burnrate cannot read ({units}) at {ENDPOINT}; nothing was written"
                        ),
                    )
                })?;
                provider_micros(label, ENDPOINT, units / per_usd)
            };
            Ok(PollResult {
                balances: vec![BalanceSnapshot {
                    // The access token speaks for the whole account, across all of its relay keys.
                    key_id: String::new(),
                    currency: Currency::usd(),
                    balance_micros: Some(usd("quota", &user.quota)?),
                    limit_micros: None,
                    usage_micros: Some(usd("used_quota", &user.used_quota)?),
                }],
                derive_spend_from_balances: true,
                ..Default::default()
            })
        })
    }
}

/// `success: false`: a refused token (KeyRejected) or some other failure the relay explains.
fn refusal(ctx: &PollContext, message: &str) -> Error {
    let label = ctx.provider.label();
    let lower = message.to_lowercase();
    // one-api/new-api word their auth refusals "无权进行此操作…" (no permission), "未登录" (not logged
    // in), "…access token 无效" (invalid), "用户已被封禁" (banned), or name New-Api-User.
    let auth = ["无权", "未登录", "封禁", "access token", "new-api-user", "unauthorized", "token"]
        .iter()
        .any(|w| lower.contains(w));
    if auth {
        Error::new(
            ErrorCode::KeyRejected,
            format!(
                "{label} rejected the key at {ENDPOINT} ({message}); this endpoint needs: {}",
                ctx.provider.key_kind()
            ),
        )
    } else {
        let reason = if message.trim().is_empty() { "no reason given" } else { message };
        Error::new(ErrorCode::UnexpectedResponse, format!("{label} refused {ENDPOINT}: {reason}; nothing was written"))
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::testing::{ctx, fixture, KEY};
    use super::*;
    use crate::providers::ProviderId;

    const DAYS: (&str, &str) = ("2026-03-01", "2026-03-02");
    const NOW: &str = "2026-03-02T12:00:00Z";

    async fn serve(status: u16, body: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/user/self"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn quota_units_become_an_exact_usd_snapshot_with_the_user_header() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/user/self"))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .and(header("new-api-user", "42"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(fixture("new-api/user_self.json"), "application/json"),
            )
            .mount(&server)
            .await;
        // The SDK-style base URL (…/v1) reaches the dashboard API at the root.
        let c = ctx(ProviderId::NewApi, &format!("{}/v1", server.uri()), &[("user_id", "42")], DAYS, NOW);
        let poll = NewApi.poll(&c).await.unwrap();
        assert!(poll.derive_spend_from_balances);
        assert!(poll.windows.is_empty());
        let b = &poll.balances[0];
        // 123456789 / 500000 = 246.913578; 98765432 / 500000 = 197.530864.
        assert_eq!(b.balance_micros, Some(246_913_578));
        assert_eq!(b.usage_micros, Some(197_530_864));
        assert_eq!((b.key_id.as_str(), b.currency.as_str(), b.limit_micros), ("", "USD", None));
    }

    #[tokio::test]
    async fn one_api_with_a_custom_quota_unit_and_no_user_header() {
        let server = serve(200, &fixture("new-api/user_self_one_api.json")).await;
        let c = ctx(ProviderId::NewApi, &server.uri(), &[("quota_per_usd", "1000000")], DAYS, NOW);
        let b = NewApi.poll(&c).await.unwrap().balances.remove(0);
        assert_eq!(b.balance_micros, Some(500_000_000));
        // 2500001 / 1000000 = 2.500001
        assert_eq!(b.usage_micros, Some(2_500_001));
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("new-api-user").is_none());
    }

    #[tokio::test]
    async fn refusals_are_key_rejected_whether_200_or_401() {
        for (status, file) in
            [(200, "new-api/error_invalid_token.json"), (401, "new-api/error_missing_user_header.json")]
        {
            let server = serve(status, &fixture(file)).await;
            let c = ctx(ProviderId::NewApi, &server.uri(), &[], DAYS, NOW);
            let e = NewApi.poll(&c).await.unwrap_err();
            assert_eq!(e.code, ErrorCode::KeyRejected, "{file}: {}", e.message());
            assert!(e.message().contains("GET /api/user/self"), "{}", e.message());
            assert!(e.message().contains("Access token of your relay account"), "{}", e.message());
        }
        let server = serve(200, r#"{"success":false,"message":"数据库错误"}"#).await;
        let e = NewApi.poll(&ctx(ProviderId::NewApi, &server.uri(), &[], DAYS, NOW)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
        assert!(e.message().contains("数据库错误"), "{}", e.message());
    }

    #[tokio::test]
    async fn a_non_numeric_user_id_is_refused_before_any_request() {
        let server = serve(200, &fixture("new-api/user_self.json")).await;
        let c = ctx(ProviderId::NewApi, &server.uri(), &[("user_id", "fake-user")], DAYS, NOW);
        let e = NewApi.poll(&c).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message().contains("numeric user id"), "{}", e.message());
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn success_without_data_is_unexpected() {
        let server = serve(200, r#"{"success":true,"message":""}"#).await;
        let e = NewApi.poll(&ctx(ProviderId::NewApi, &server.uri(), &[], DAYS, NOW)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UnexpectedResponse);
    }
}
