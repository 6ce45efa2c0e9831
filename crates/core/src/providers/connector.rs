//! The contract every provider module implements, and the helpers key actions share.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::http::{ActionAnswer, KeyActionContext, PollContext};
use super::id::ProviderId;
use crate::error::{Error, ErrorCode, Result};
use crate::poll::PollResult;

/// What disabling a key through the provider's API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DisableSupport {
    /// The key is switched off and can be switched back on (OpenRouter, LiteLLM, Anthropic).
    Reversible,
    /// The key is deleted; it cannot be undone (OpenAI). Needs an explicit acknowledgement.
    Irreversible,
    /// The provider's API cannot disable keys; revoke the key in its console instead.
    Unsupported,
}

/// The key a key action is about, with what the ledger knows of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyTarget {
    /// The provider's id of the key (OpenAI `key_…`, OpenRouter hash, LiteLLM hashed token, …).
    pub key_id: String,
    /// `api_keys.project` as synced (OpenAI: the project's name, or its id when it has none).
    pub project: Option<String>,
    /// Distinct non-empty `spend.project` values of the key (OpenAI: project ids from the costs).
    pub project_ids: Vec<String>,
}

/// One provider's usage API. A connector only fetches and parses; the sync engine writes
/// what it returns in one transaction, so a failed or interrupted poll writes nothing.
pub trait Connector: Send + Sync {
    /// Fetches everything for the inclusive UTC day window in `ctx`.
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>>;

    /// Whether [`Self::disable_key`] works for this provider, and whether it can be undone.
    fn disable_support(&self) -> DisableSupport {
        DisableSupport::Unsupported
    }

    /// Switches `target` off at the provider with the source's key. Returns what the provider
    /// answered, in words, for the record. Callers confirm with the user first and check
    /// [`Self::disable_support`]; providers without such an API answer `Unsupported`.
    fn disable_key<'a>(&'a self, ctx: &'a KeyActionContext, target: &'a KeyTarget) -> BoxFuture<'a, Result<String>> {
        let _ = target;
        Box::pin(async move { Err(disable_unsupported(ctx.provider, &ctx.base_url)) })
    }
}

/// The error for a provider whose API cannot disable keys: what to do instead.
pub fn disable_unsupported(provider: ProviderId, base_url: &url::Url) -> Error {
    Error::new(
        ErrorCode::Unsupported,
        format!(
            "{} has no API for disabling a key, so Burnrate cannot do it; revoke or delete the key yourself at {}, \
             then replace it in the apps that use it",
            provider.label(),
            provider.revoke_help_at(base_url)
        ),
    )
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Checks what a key action's answer says about the key: it must hold `expected` at `pointer`
/// when it says anything there (some proxies answer with an empty body or a bare `ok`).
pub(crate) fn check_action_answer(
    provider: ProviderId,
    endpoint: &str,
    answer: &ActionAnswer,
    pointer: &str,
    expected: serde_json::Value,
) -> Result<()> {
    let ActionAnswer::Body(body) = answer else { return Ok(()) };
    match body.pointer(pointer) {
        Some(actual) if *actual != expected => Err(Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "{} accepted {endpoint} but answered {pointer} = {actual}, not {expected}; the key may still work: \
                 check it at {}",
                provider.label(),
                provider.revoke_help()
            ),
        )),
        _ => Ok(()),
    }
}
