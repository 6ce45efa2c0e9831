//! Auto-disable: opt-in rules that switch a leaking key off without waiting for the user, on a
//! spike of the key or a budget of the key reaching 100 %. A leak that starts at 3 a.m. should
//! not run until breakfast.
//!
//! Only where the provider can switch the key back on (OpenRouter, LiteLLM, Anthropic): OpenAI
//! can only delete a key, which nobody should wake up to, so it is never automatic. At most one
//! action per key and alert (an alert is one spike episode or one budget threshold), none within
//! a rule's cooldown of the last one on that key, every attempt recorded in `key_actions` before
//! the provider is called, the incident dossier written, and a notification saying what was done
//! and how to undo it. A dry run records what would have been done and sends nothing.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::providers::ProviderId;

mod rules;

/// Default: a key switched off is not switched off again for six hours.
pub const DEFAULT_COOLDOWN_HOURS: u32 = 6;

/// What makes a rule act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AutoDisableTrigger {
    /// A spend spike on the key (latest hour, today so far, a new or a waking key).
    Spike,
    /// A budget scoped to the key reaching 100 % (or more) of its amount.
    Budget,
}

impl AutoDisableTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoDisableTrigger::Spike => "spike",
            AutoDisableTrigger::Budget => "budget",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AddAutoDisableRequest {
    pub source: String,
    /// The provider's key id; None: every key of the source.
    #[ts(optional)]
    pub key_id: Option<String>,
    /// What makes it act; at least one.
    pub on: Vec<AutoDisableTrigger>,
    /// Record what would have been done, and send nothing.
    pub dry_run: bool,
    /// None: [`DEFAULT_COOLDOWN_HOURS`].
    #[ts(optional)]
    pub cooldown_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AutoDisableRuleView {
    #[ts(type = "number")]
    pub id: i64,
    pub source: String,
    pub provider: ProviderId,
    /// None: every key of the source.
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub on: Vec<AutoDisableTrigger>,
    pub dry_run: bool,
    pub cooldown_hours: u32,
    /// RFC 3339; the rule acts on alerts that fire from then on.
    pub created_at: String,
    /// Actions it took (or, in a dry run, would have taken).
    pub actions: u32,
}

/// One action a rule took (or, in a dry run, would have taken), with the incident dossier
/// written for it. The action is also in `key_actions` under `action_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AutoDisabled {
    #[ts(type = "number")]
    pub action_id: i64,
    #[ts(type = "number")]
    pub rule_id: i64,
    #[ts(type = "number")]
    pub alert_id: i64,
    pub source: String,
    pub key_id: String,
    pub ok: bool,
    pub dry_run: bool,
    /// What the provider answered (it says how to switch the key back on), or the error.
    pub detail: String,
    /// Where the dossier was written, or None with the reason in `dossier_error`.
    pub dossier: Option<String>,
    pub dossier_error: Option<String>,
}
