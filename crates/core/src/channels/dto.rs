//! The alert-channel shapes that cross the process boundary (IPC and `--json`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::AlertKind;
use crate::dto::KeyInput;

/// Where an alert can go besides the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChannelKind {
    /// A JSON POST to any URL (body documented in docs/alerts.md).
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// A Discord webhook.
    Discord,
    /// An ntfy topic URL (ntfy.sh or self-hosted): a push to a phone.
    Ntfy,
    /// An e-mail over SMTP.
    Email,
    /// A local command, with the alert as JSON on its standard input.
    Exec,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Ntfy,
        ChannelKind::Email,
        ChannelKind::Exec,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Email => "email",
            ChannelKind::Exec => "exec",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the channel's secret is a URL (webhook, Slack, Discord, ntfy: the URL carries
    /// the token). E-mail's secret is the SMTP password; a command has none.
    pub fn secret_is_url(self) -> bool {
        matches!(self, ChannelKind::Webhook | ChannelKind::Slack | ChannelKind::Discord | ChannelKind::Ntfy)
    }
}

/// How the e-mail channel talks to its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine (localhost).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EmailSettings {
    pub host: String,
    /// None: 587 for STARTTLS, 465 for TLS, 25 without.
    #[ts(optional)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// The SMTP login; its password is the channel's secret. None: no login.
    #[ts(optional)]
    pub username: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExecSettings {
    /// Run by the system shell (`sh -c` on Unix, `cmd /C` on Windows).
    pub command: String,
    /// None: 30 seconds. The command is killed after this.
    #[ts(optional)]
    pub timeout_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AddChannelRequest {
    pub kind: ChannelKind,
    pub name: String,
    /// The URL (webhook, slack, discord, ntfy) or the SMTP password (email, optional). Kept in
    /// the OS secret store or read from an environment variable; never stored in the ledger.
    #[ts(optional)]
    pub secret: Option<KeyInput>,
    /// The kinds of alert it receives; None: all.
    #[ts(optional)]
    pub alert_kinds: Option<Vec<AlertKind>>,
    /// Hold deliveries back during quiet hours and while alerts are paused.
    #[serde(default)]
    pub quiet_hours: bool,
    #[ts(optional)]
    pub email: Option<EmailSettings>,
    #[ts(optional)]
    pub exec: Option<ExecSettings>,
}

/// Where a channel's secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SecretStorage {
    Keyring,
    Env,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChannelView {
    pub name: String,
    pub kind: ChannelKind,
    /// What may be shown of where it goes: scheme and host of a URL (its path and token
    /// redacted), the mail recipients, or the command.
    pub target: String,
    pub secret_storage: SecretStorage,
    pub secret_env_var: Option<String>,
    pub alert_kinds: Vec<AlertKind>,
    pub quiet_hours: bool,
    pub created_at: String,
    /// Deliveries waiting (to be sent or retried).
    pub pending: u32,
    /// Deliveries given up after a day of retries.
    pub failed: u32,
    /// The last attempt: when, and its error if it failed.
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

/// What sending a test alert through a channel did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChannelTestResult {
    pub channel: String,
    pub ok: bool,
    /// "HTTP 200", "accepted by smtp.example.com", "exit 0", or what went wrong and what to do.
    pub detail: String,
    #[ts(type = "number")]
    pub elapsed_ms: u64,
}
