//! What Burnrate tells a user about each provider (key kind, where to create and revoke keys,
//! settings, caveats) and which connector polls it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::connector::{Connector, DisableSupport};
use super::id::ProviderId;
use super::{anthropic, deepseek, litellm, openai, openrouter, relay};
use crate::settings::SettingSpec;

/// What the UI needs to offer a provider in the "add source" form.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProviderInfo {
    pub id: ProviderId,
    pub label: String,
    pub default_base_url: Option<String>,
    /// The kind of key the usage endpoint needs, e.g. "Admin API key (sk-admin-…)".
    pub key_kind: String,
    /// Where the user creates that key.
    pub key_help: String,
    /// The narrowest key that still works, and what not to give Burnrate.
    pub least_privilege: String,
    /// False until the provider's connector lands; the source can be added but not synced yet.
    pub can_sync: bool,
    /// Provider-specific settings the source accepts.
    pub settings: Vec<SettingSpec>,
    /// What the user must know about this provider's numbers (e.g. that per-key amounts are estimates).
    pub note: Option<String>,
    /// Whether Burnrate can switch one of this provider's keys off, and whether that can be undone.
    pub disable_key: DisableSupport,
    /// Where to revoke a key by hand (always shown; the only way when `disable_key` is `unsupported`).
    pub revoke_help: String,
}

impl ProviderId {
    /// How often the background poller reads this provider (±10 % jitter).
    pub fn poll_interval(self) -> std::time::Duration {
        let minutes = match self {
            // Costs are daily and usage hourly; a half-hourly poll sees each hour soon enough.
            ProviderId::Openai => 30,
            // Counters are live: a leaked key shows up within minutes.
            ProviderId::Openrouter | ProviderId::Litellm => 10,
            ProviderId::Anthropic | ProviderId::Deepseek => 15,
            ProviderId::NewApi | ProviderId::Sub2api | ProviderId::CustomJson => 15,
        };
        std::time::Duration::from_secs(minutes * 60)
    }

    /// Whether the provider lets a key carry its own spending limit that Burnrate reads
    /// (OpenRouter's per-key `limit`). Elsewhere limits are per project, workspace or account,
    /// so "no limit" on a key would be no news.
    pub fn offers_key_limits(self) -> bool {
        matches!(self, ProviderId::Openrouter)
    }

    /// Whether the provider's figures for a day arrive after the day has begun (daily cost
    /// reports published late): a day without figures is then "not reported yet", not zero.
    pub fn publishes_days_late(self) -> bool {
        matches!(self, ProviderId::Openai | ProviderId::Anthropic)
    }

    /// The base URL in each provider SDK's convention. Self-hosted gateways have none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderId::Openai => Some("https://api.openai.com/v1"),
            ProviderId::Anthropic => Some("https://api.anthropic.com"),
            ProviderId::Openrouter => Some("https://openrouter.ai/api/v1"),
            ProviderId::Deepseek => Some("https://api.deepseek.com"),
            _ => None,
        }
    }

    pub fn key_kind(self) -> &'static str {
        match self {
            ProviderId::Openai => {
                "Admin API key (sk-admin-…); project keys cannot read organization costs, usage or projects"
            }
            ProviderId::Anthropic => {
                "Admin API key (sk-ant-admin…); standard API keys (sk-ant-api…) cannot read usage or cost"
            }
            ProviderId::Openrouter => {
                "Any API key (its own usage today), or a management key for every key's daily history"
            }
            ProviderId::Deepseek => "API key (sk-…) of the account; any key reads the account balance",
            ProviderId::Litellm => {
                "the proxy's master key (every key's spend), or a virtual key (sk-…) that may read its own user's activity"
            }
            ProviderId::NewApi => {
                "Access token of your relay account (not an sk- relay key), with --set user_id=<your numeric user id> on new-api"
            }
            ProviderId::Sub2api => "API key issued by the relay (sk-…); each key reports its own usage",
            ProviderId::CustomJson => "Whatever the endpoint expects in its auth header (see the header and prefix settings)",
        }
    }

    pub fn key_help(self) -> &'static str {
        match self {
            ProviderId::Openai => {
                "platform.openai.com → Organization settings → Admin keys (read-only scope is enough)"
            }
            ProviderId::Anthropic => {
                "console.anthropic.com → Settings → Admin keys (organization admins only; not available to individual accounts)"
            }
            ProviderId::Openrouter => {
                "openrouter.ai → Settings → Management keys (per-key history), or Settings → API keys (one key's usage today)"
            }
            ProviderId::Deepseek => "platform.deepseek.com → API keys (the balance is per account, not per key)",
            ProviderId::Litellm => "your proxy's LITELLM_MASTER_KEY, or its admin UI → Virtual Keys",
            ProviderId::NewApi => {
                "your relay's dashboard → Personal settings → System access token (generate); the user id is shown there too"
            }
            ProviderId::Sub2api => "your relay's dashboard → API keys",
            ProviderId::CustomJson => "the documentation of the service that serves the endpoint",
        }
    }

    /// The narrowest key that serves Burnrate: it only reads, so it should be able to do no more.
    pub fn least_privilege(self) -> &'static str {
        match self {
            ProviderId::Openai => {
                "Create the Admin key with read-only permissions: Burnrate only reads usage and costs. \
                 Give it write access only if you want Burnrate to delete leaked keys for you."
            }
            ProviderId::Anthropic => {
                "Admin keys cannot be narrowed, so keep this one for Burnrate alone, name it so, and rotate it; \
                 never reuse a key that an application sends requests with."
            }
            ProviderId::Openrouter => {
                "A management key can create and delete keys; use a dedicated one for Burnrate. \
                 An ordinary API key is enough if you only want that key's own spend."
            }
            ProviderId::Deepseek => {
                "Any key reads the balance; create a separate key named for Burnrate so you can revoke it alone."
            }
            ProviderId::Litellm => {
                "Prefer a virtual key scoped to the users or teams you want to watch; \
                 the master key is needed only to see every key or to block keys."
            }
            ProviderId::NewApi => {
                "The access token manages your relay account; keep it only in the OS secret store or an environment variable, \
                 and reset it in the dashboard if it ever leaks."
            }
            ProviderId::Sub2api => "Create a separate relay key for Burnrate with the lowest quota the relay allows.",
            ProviderId::CustomJson => "Use a token that can only read the balance or usage endpoint, if the service offers one.",
        }
    }

    /// The key a key action (disabling a key) needs, for refusals.
    pub fn key_action_kind(self) -> &'static str {
        match self {
            ProviderId::Openai => {
                "an Admin key (sk-admin-…) allowed to write API keys; a read-only Admin key (enough for syncing) cannot delete keys"
            }
            ProviderId::Anthropic => "an Admin API key (sk-ant-admin…) of the organization",
            ProviderId::Openrouter => {
                "a management key (openrouter.ai → Settings → Management keys); ordinary API keys cannot change keys"
            }
            ProviderId::Litellm => "the proxy's master key or a proxy admin's key; only proxy admins may block keys",
            _ => "nothing Burnrate can use: this provider has no API for disabling keys",
        }
    }

    /// Where to revoke a key by hand.
    pub fn revoke_help(self) -> &'static str {
        match self {
            ProviderId::Openai => "https://platform.openai.com/api-keys (or the project's API keys page)",
            ProviderId::Anthropic => "https://console.anthropic.com/settings/keys",
            ProviderId::Openrouter => "https://openrouter.ai/settings/keys",
            ProviderId::Deepseek => "https://platform.deepseek.com/api_keys",
            ProviderId::Litellm => "your proxy's admin UI (<base URL>/ui → Virtual Keys)",
            ProviderId::NewApi => "your relay's dashboard → Tokens",
            ProviderId::Sub2api => "your relay's dashboard → API keys",
            ProviderId::CustomJson => "the dashboard of the service behind the endpoint",
        }
    }

    /// [`Self::revoke_help`] for one source, naming its own dashboard for self-hosted gateways.
    pub fn revoke_help_at(self, base_url: &url::Url) -> String {
        let origin = base_url.origin().ascii_serialization();
        match self {
            ProviderId::Litellm => format!("your proxy's admin UI ({origin}/ui → Virtual Keys)"),
            ProviderId::NewApi => format!("your relay's dashboard ({origin}) → Tokens"),
            ProviderId::Sub2api => format!("your relay's dashboard ({origin}) → API keys"),
            ProviderId::CustomJson => format!("the dashboard of the service at {origin}"),
            _ => self.revoke_help().to_owned(),
        }
    }

    /// Whether Burnrate can disable this provider's keys.
    pub fn disable_support(self) -> DisableSupport {
        self.connector().map_or(DisableSupport::Unsupported, |c| c.disable_support())
    }

    /// What a user must know to read this provider's numbers right.
    pub fn note(self) -> Option<&'static str> {
        match self {
            ProviderId::Anthropic => Some(
                "Anthropic bills per workspace, not per key: amounts per key are estimates from tokens × list price; per-workspace and per-model amounts are billed.",
            ),
            ProviderId::Openai => Some("OpenAI bills per key and project but not per model: amounts per model are estimates from tokens × list price."),
            ProviderId::Deepseek => Some("DeepSeek reports only a balance: daily spend is its drop between syncs, and a top-up between two syncs hides the spend made with it."),
            ProviderId::NewApi | ProviderId::CustomJson => Some("Daily spend is derived from the change between syncs; sync at least daily for daily detail."),
            _ => None,
        }
    }

    /// The settings a source of this provider accepts.
    pub fn settings(self) -> Vec<SettingSpec> {
        use crate::settings::SettingKind::*;
        match self {
            ProviderId::NewApi => vec![
                SettingSpec::new(
                    "quota_per_usd",
                    "Quota units per USD",
                    Decimal,
                    "how many quota units the relay counts as one US dollar",
                )
                .default("500000"),
                SettingSpec::new(
                    "user_id",
                    "User id",
                    Text,
                    "your numeric user id on the relay, sent as New-Api-User (newer new-api versions require it)",
                ),
            ],
            ProviderId::CustomJson => vec![
                SettingSpec::new(
                    "pointer",
                    "JSON pointer",
                    JsonPointer,
                    "where the amount is in the response, e.g. /data/balance",
                )
                .required(),
                SettingSpec::new(
                    "meaning",
                    "What the amount is",
                    Text,
                    "balance (money left), total (spend since the account began) or today (spend so far today)",
                )
                .default("balance"),
                SettingSpec::new(
                    "divisor",
                    "Unit divisor",
                    Decimal,
                    "the amount is divided by this, e.g. 100 for cents",
                )
                .default("1"),
                SettingSpec::new("currency", "Currency", Currency, "ISO-4217 code of the amount").default("USD"),
                SettingSpec::new("header", "Auth header", Header, "the header that carries the key")
                    .default("Authorization"),
                SettingSpec::new(
                    "prefix",
                    "Auth prefix",
                    Text,
                    "text before the key in the header: 'Bearer' for Authorization and nothing for other headers unless given; 'none' for no prefix",
                ),
            ],
            _ => vec![],
        }
    }

    pub fn connector(self) -> Option<&'static dyn Connector> {
        match self {
            ProviderId::Openai => Some(&openai::OpenAi),
            ProviderId::Openrouter => Some(&openrouter::OpenRouter),
            ProviderId::Anthropic => Some(&anthropic::Anthropic),
            ProviderId::Deepseek => Some(&deepseek::DeepSeek),
            ProviderId::Litellm => Some(&litellm::LiteLlm),
            ProviderId::NewApi => Some(&relay::NewApi),
            ProviderId::Sub2api => Some(&relay::Sub2Api),
            ProviderId::CustomJson => Some(&relay::CustomJson),
        }
    }

    pub fn info(self) -> ProviderInfo {
        ProviderInfo {
            id: self,
            label: self.label().into(),
            default_base_url: self.default_base_url().map(Into::into),
            key_kind: self.key_kind().into(),
            key_help: self.key_help().into(),
            least_privilege: self.least_privilege().into(),
            can_sync: self.connector().is_some(),
            settings: self.settings(),
            note: self.note().map(Into::into),
            disable_key: self.disable_support(),
            revoke_help: self.revoke_help().into(),
        }
    }
}
