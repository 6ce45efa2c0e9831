//! What a channel receives for an alert: the webhook's JSON body (documented in
//! docs/alerts.md; the exec command gets the same on standard input) and its renderings for
//! Slack, Discord, ntfy and e-mail. Provider-supplied names end up in these texts, so each
//! rendering makes them inert for its receiver (no mentions, no markup, no links).

use serde::Serialize;
use serde_json::json;

use crate::alerts::{AlertKind, AlertView};

/// The webhook body. Amounts are decimal strings in `currency` (never floats).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    /// Also the `Idempotency-Key` header: the alert id, with `.ROUND` when a growing spike
    /// episode is announced again.
    pub id: String,
    pub alert_id: i64,
    /// 0 for the alert; 1, 2, … for later announcements of the same alert.
    pub round: u32,
    pub kind: AlertKind,
    /// `critical` (over budget, a spike) or `warning`.
    pub severity: &'static str,
    pub title: String,
    pub body: String,
    pub source: Option<String>,
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub fingerprint: Option<String>,
    pub amount: String,
    pub currency: String,
    pub estimated: bool,
    pub budget: Option<BudgetRef>,
    pub threshold: Option<u32>,
    pub fired_at: String,
    /// Sent by "Send a test alert"; nothing fired.
    pub test: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetRef {
    pub id: i64,
    pub limit: Option<String>,
}

impl AlertMessage {
    pub fn new(alert: &AlertView, round: u32) -> Self {
        AlertMessage {
            id: if round == 0 { alert.id.to_string() } else { format!("{}.{round}", alert.id) },
            alert_id: alert.id,
            round,
            kind: alert.kind,
            severity: if alert.is_critical() { "critical" } else { "warning" },
            title: alert.title.clone(),
            body: alert.body.clone(),
            source: alert.source.clone(),
            key_id: alert.key_id.clone(),
            key_name: alert.key_name.clone(),
            fingerprint: alert.fingerprint.clone(),
            amount: alert.amount.clone(),
            currency: alert.currency.clone(),
            estimated: alert.estimated,
            budget: alert.budget_id.map(|id| BudgetRef { id, limit: alert.limit.clone() }),
            threshold: alert.threshold,
            fired_at: alert.fired_at.clone(),
            test: false,
        }
    }

    /// The message "Send a test alert" sends.
    pub fn test(channel: &str, now: &str) -> Self {
        AlertMessage {
            id: format!("test-{now}"),
            alert_id: 0,
            round: 0,
            kind: AlertKind::Threshold,
            severity: "warning",
            title: "Burnrate test alert".to_owned(),
            body: format!(
                "This is a test of the alert channel {channel:?}. Budget, forecast and spike alerts will arrive here like this."
            ),
            source: None,
            key_id: None,
            key_name: None,
            fingerprint: None,
            amount: "0.000000".to_owned(),
            currency: "USD".to_owned(),
            estimated: false,
            budget: None,
            threshold: None,
            fired_at: now.to_owned(),
            test: true,
        }
    }

    fn critical(&self) -> bool {
        self.severity == "critical"
    }
}

/// Slack's mrkdwn treats `<…>` as links and mentions (`<!channel>`) and `&` as an entity:
/// Slack asks for these three to be escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn slack_body(m: &AlertMessage) -> serde_json::Value {
    let icon = if m.critical() { ":rotating_light:" } else { ":warning:" };
    let text = format!("{icon} *{}*\n{}", slack_escape(&m.title), slack_escape(&m.body));
    json!({ "text": text })
}

/// Discord: mentions are switched off (`allowed_mentions`), so a key named `@everyone` pings
/// nobody; content is cut to Discord's 2,000 characters.
pub fn discord_body(m: &AlertMessage) -> serde_json::Value {
    let text = format!("**{}**\n{}", m.title.replace(['*', '_', '`', '~', '|'], ""), m.body);
    json!({ "content": truncate(&text, 2_000), "allowed_mentions": { "parse": [] } })
}

/// ntfy's JSON publishing (POST to the server's root): topic, title, message, priority 5 for
/// critical alerts and 3 otherwise. Markdown stays off, so names are shown as typed.
pub fn ntfy_body(m: &AlertMessage, topic: &str) -> serde_json::Value {
    json!({
        "topic": topic,
        "title": m.title,
        "message": m.body,
        "priority": if m.critical() { 5 } else { 3 },
        "tags": [if m.critical() { "rotating_light" } else { "warning" }],
    })
}

/// The e-mail's subject and plain-text body.
pub fn email_text(m: &AlertMessage) -> (String, String) {
    let subject = format!("[Burnrate] {}", m.title.replace(['\r', '\n'], " "));
    let mut body = format!("{}\n\n", m.body);
    for (label, value) in [
        ("Source", m.source.clone()),
        ("Key", m.key_name.clone()),
        ("Amount", Some(format!("{} {}{}", m.amount, m.currency, if m.estimated { " (estimate)" } else { "" }))),
        ("Fired at", Some(m.fired_at.clone())),
    ] {
        if let Some(v) = value {
            body.push_str(&format!("{label}: {v}\n"));
        }
    }
    body.push_str("\nSent by Burnrate. Open the app or run `burnrate alerts` for the history.\n");
    (subject, body)
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile() -> AlertMessage {
        let mut alert =
            AlertView::sample(AlertKind::Spike, "2026-03-02T12:40:00Z", "Spend spike: key <!channel> @everyone & co");
        alert.body = "25.00 USD in the hour from 13:00, key =HYPERLINK(\"x\") <https://evil.example|click>".into();
        AlertMessage::new(&alert, 0)
    }

    #[test]
    fn slack_and_discord_render_provider_names_inert() {
        let slack = slack_body(&hostile())["text"].as_str().unwrap().to_owned();
        assert!(!slack.contains("<!channel>") && slack.contains("&lt;!channel&gt;"), "{slack}");
        assert!(!slack.contains("<https://"), "no link markup survives: {slack}");
        assert!(slack.contains("&amp; co"), "{slack}");
        let discord = discord_body(&hostile());
        assert_eq!(discord["allowed_mentions"], json!({ "parse": [] }), "no mention can ping anyone");
    }

    #[test]
    fn a_spike_is_critical_and_a_reannouncement_has_its_own_id() {
        let m = hostile();
        assert_eq!((m.severity, m.id.as_str()), ("critical", "1"));
        let again = AlertMessage::new(&AlertView::sample(AlertKind::Spike, "2026-03-02T12:40:00Z", "x"), 2);
        assert_eq!(again.id, "1.2");
        assert_eq!(ntfy_body(&m, "burn")["priority"], 5);
        let forecast = AlertMessage::new(&AlertView::sample(AlertKind::Forecast, "2026-03-02T12:40:00Z", "x"), 0);
        assert_eq!((forecast.severity, ntfy_body(&forecast, "t")["priority"].as_i64()), ("warning", Some(3)));
    }

    #[test]
    fn discord_content_is_cut_to_its_limit_and_email_subjects_stay_on_one_line() {
        let mut alert = AlertView::sample(AlertKind::Spike, "2026-03-02T12:40:00Z", "a\r\nBcc: x@evil.example");
        alert.body = "x".repeat(5_000);
        let m = AlertMessage::new(&alert, 0);
        assert_eq!(discord_body(&m)["content"].as_str().unwrap().chars().count(), 2_000);
        let (subject, _) = email_text(&m);
        assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    }
}
