//! The channel operations the CLI and the shell call.

use std::time::Instant;

use super::dto::{AddChannelRequest, ChannelTestResult, ChannelView};
use super::message::AlertMessage;
use super::outbox::{self, Attempt, OutboxReport};
use super::send::{self, HTTP_TIMEOUT};
use super::store;
use crate::alerts::{self, DeliveryState};
use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::Result;

/// Deliveries sent per drain; the rest wait for the next one (moments later).
const DRAIN_BATCH: u32 = 50;
/// Added to a send's timeout for the time a delivery is claimed by one process.
const LEASE_MARGIN_SECS: i64 = 30;

impl Burnrate {
    pub fn add_channel(&self, req: &AddChannelRequest) -> Result<ChannelView> {
        let mut conn = self.open()?;
        let channel =
            store::add(&mut conn, self.env.as_ref(), self.secrets.as_ref(), self.clock.now().timestamp(), req)?;
        tracing::info!(channel = %channel.name, kind = channel.kind.as_str(), "alert channel added");
        store::view(&conn, &channel)
    }

    pub fn list_channels(&self) -> Result<Vec<ChannelView>> {
        let conn = self.open()?;
        store::list(&conn)?.iter().map(|c| store::view(&conn, c)).collect()
    }

    /// Removes a channel with its stored secret and its queued deliveries (the alerts stay).
    pub fn remove_channel(&self, name: &str) -> Result<()> {
        let mut conn = self.open()?;
        store::remove(&mut conn, self.secrets.as_ref(), name)?;
        tracing::info!(channel = name.trim(), "alert channel removed");
        Ok(())
    }

    /// Sends a test alert through a channel now (not through the outbox) and says what happened.
    pub async fn test_channel(&self, name: &str) -> Result<ChannelTestResult> {
        let channel = store::get(&self.open()?, name)?;
        let started = Instant::now();
        let now = ts_to_rfc3339(self.clock.now().timestamp());
        let attempt = match store::secret(&channel, self.env.as_ref(), self.secrets.as_ref()) {
            Ok(secret) => {
                send::send(&send::http_client(), &channel, secret.as_deref(), &AlertMessage::test(&channel.name, &now))
                    .await
            }
            Err(e) => Attempt { ok: false, status: None, error: Some(e.message().to_owned()), retry_after: None },
        };
        let detail = match (&attempt.error, attempt.status) {
            (Some(e), _) => e.clone(),
            (None, Some(code)) if channel.kind == super::ChannelKind::Exec => {
                format!("the command exited with status {code}")
            }
            (None, Some(code)) if channel.kind == super::ChannelKind::Email => {
                format!("the SMTP server accepted it ({code})")
            }
            (None, Some(code)) => format!("{} answered HTTP {code}", channel.target),
            (None, None) => "sent".to_owned(),
        };
        Ok(ChannelTestResult {
            channel: channel.name,
            ok: attempt.ok,
            detail,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// When the next queued delivery is due (Unix seconds), if any.
    pub fn outbox_next_due(&self) -> Result<Option<i64>> {
        outbox::next_due(&self.open()?)
    }

    /// Sends every delivery that is due: at least once, retried with backoff for up to a day,
    /// each attempt recorded. Safe to run from several processes at once.
    pub async fn deliver_outbox(&self) -> Result<OutboxReport> {
        let conn = self.open()?;
        let settings = self.settings_in(&conn)?;
        let mut report = OutboxReport::default();
        let now = self.clock.now();
        let due = outbox::due(&conn, now.timestamp(), DRAIN_BATCH)?;
        if !due.is_empty() {
            let http = send::http_client();
            let silenced = settings.silenced(now);
            for item in due {
                let channel = store::get(&conn, &item.channel)?;
                if channel.quiet_hours && silenced.is_some() {
                    outbox::hold(&conn, item.id, now.timestamp() + outbox::HOLD_RECHECK_SECS)?;
                    report.held += 1;
                    continue;
                }
                // Long enough for this channel's slowest send; another process skips it meanwhile,
                // and after a crash mid-send it is due again once the lease ends.
                let lease =
                    channel.exec.as_ref().and_then(|e| e.timeout_seconds).map_or(HTTP_TIMEOUT.as_secs(), u64::from)
                        as i64
                        + LEASE_MARGIN_SECS;
                if !outbox::claim(&conn, &item, now.timestamp() + lease)? {
                    continue;
                }
                let alert = alerts::store::get_many(&conn, &[item.alert_id])?.remove(0);
                let attempt = match store::secret(&channel, self.env.as_ref(), self.secrets.as_ref()) {
                    Ok(secret) => {
                        send::send(&http, &channel, secret.as_deref(), &AlertMessage::new(&alert, item.round)).await
                    }
                    Err(e) => {
                        Attempt { ok: false, status: None, error: Some(e.message().to_owned()), retry_after: None }
                    }
                };
                let state = outbox::record(&conn, &item, &attempt, self.clock.now().timestamp())?;
                match state {
                    DeliveryState::Delivered => {
                        tracing::info!(alert = item.alert_id, channel = %channel.name, "alert delivered");
                        report.delivered += 1;
                    }
                    DeliveryState::Pending => {
                        tracing::warn!(alert = item.alert_id, channel = %channel.name, "alert delivery failed, retried later: {}", attempt.error.as_deref().unwrap_or(""));
                        report.retrying += 1;
                    }
                    DeliveryState::Failed => {
                        tracing::error!(alert = item.alert_id, channel = %channel.name, "alert delivery given up: {}", attempt.error.as_deref().unwrap_or(""));
                        report.given_up += 1;
                    }
                }
            }
        }
        report.next_attempt_at = outbox::next_due(&conn)?.map(ts_to_rfc3339);
        Ok(report)
    }
}
