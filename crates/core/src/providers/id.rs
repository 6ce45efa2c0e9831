//! The providers Burnrate knows, by name. A leaf: what each provider needs and does lives in
//! [`super::catalog`] and its connector.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};

/// The providers Burnrate knows. The kebab-case names are the CLI contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum ProviderId {
    Openai,
    Anthropic,
    Openrouter,
    Deepseek,
    Litellm,
    NewApi,
    Sub2api,
    CustomJson,
}

impl ProviderId {
    pub const ALL: [ProviderId; 8] = [
        ProviderId::Openai,
        ProviderId::Anthropic,
        ProviderId::Openrouter,
        ProviderId::Deepseek,
        ProviderId::Litellm,
        ProviderId::NewApi,
        ProviderId::Sub2api,
        ProviderId::CustomJson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderId::Openai => "openai",
            ProviderId::Anthropic => "anthropic",
            ProviderId::Openrouter => "openrouter",
            ProviderId::Deepseek => "deepseek",
            ProviderId::Litellm => "litellm",
            ProviderId::NewApi => "new-api",
            ProviderId::Sub2api => "sub2api",
            ProviderId::CustomJson => "custom-json",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProviderId::Openai => "OpenAI",
            ProviderId::Anthropic => "Anthropic",
            ProviderId::Openrouter => "OpenRouter",
            ProviderId::Deepseek => "DeepSeek",
            ProviderId::Litellm => "LiteLLM proxy",
            ProviderId::NewApi => "new-api / one-api relay",
            ProviderId::Sub2api => "sub2api relay",
            ProviderId::CustomJson => "Custom JSON endpoint",
        }
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ProviderId::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = ProviderId::ALL.iter().map(|p| p.as_str()).collect();
            Error::new(
                ErrorCode::UnknownProvider,
                format!("unknown provider {s:?}; choose one of: {}", names.join(", ")),
            )
        })
    }
}
