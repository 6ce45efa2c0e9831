//! The outbox of alert deliveries: rows written in the transaction that records an alert (so
//! an alert never exists without its deliveries), then sent at least once by whichever
//! process drains it (`burnrate sync`, `burnrate watch`, the desktop app), retried with backoff
//! for up to a day. A receiver drops repeats by the `Idempotency-Key` (see docs/alerts.md).

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::{ChannelDelivery, DeliveryState};
use crate::days::ts_to_rfc3339;
use crate::error::Result;

/// How long a delivery is retried before it is given up.
pub const GIVE_UP_AFTER_SECS: i64 = 86_400;
/// The first retry waits this long; each later one twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(30);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3_600);
/// While quiet hours hold a delivery back, it is looked at again this often.
pub const HOLD_RECHECK_SECS: i64 = 300;

/// Queues `alert_id` for every channel that takes alerts of `kind`, as announcement `round`
/// (0: the alert itself). Call inside the transaction that records or updates the alert.
pub fn enqueue(conn: &Connection, alert_id: i64, kind: &str, round: u32, now: i64) -> Result<usize> {
    let n = conn.execute(
        "INSERT INTO alert_deliveries (alert_id, channel_id, round, state, created_at, next_attempt_at)
         SELECT ?1, c.id, ?3, 'pending', ?4, ?4 FROM alert_channels c
         WHERE EXISTS (SELECT 1 FROM json_each(c.alert_kinds) WHERE value IN (?2, '*'))
         ON CONFLICT (alert_id, channel_id, round) DO NOTHING",
        params![alert_id, kind, round, now],
    )?;
    Ok(n)
}

/// Queues a re-announcement of `alert_id` (a spike episode that grew) as the round after the
/// last one queued, so each channel hears about it once more.
pub fn enqueue_next_round(conn: &Connection, alert_id: i64, kind: &str, now: i64) -> Result<usize> {
    let round: u32 = conn.query_row(
        "SELECT coalesce(max(round) + 1, 1) FROM alert_deliveries WHERE alert_id = ?1",
        [alert_id],
        |r| r.get(0),
    )?;
    enqueue(conn, alert_id, kind, round, now)
}

/// What one drain of the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct OutboxReport {
    pub delivered: u32,
    /// Failed this time; retried later.
    pub retrying: u32,
    /// Given up after a day of retries.
    pub given_up: u32,
    /// Held back by quiet hours or paused alerts.
    pub held: u32,
    /// When the next delivery is due (RFC 3339), if any is pending.
    pub next_attempt_at: Option<String>,
}

/// A delivery due now, with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub alert_id: i64,
    pub channel: String,
    pub round: u32,
    pub attempts: u32,
    pub created_at: i64,
    pub next_attempt_at: i64,
}

/// Pending deliveries whose time has come, oldest first.
pub fn due(conn: &Connection, now: i64, limit: u32) -> Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.alert_id, c.name, d.round, d.attempts, d.created_at, d.next_attempt_at
         FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
         ORDER BY d.next_attempt_at, d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(Due {
            id: r.get(0)?,
            alert_id: r.get(1)?,
            channel: r.get(2)?,
            round: r.get(3)?,
            attempts: r.get(4)?,
            created_at: r.get(5)?,
            next_attempt_at: r.get(6)?,
        })
    })?;
    rows.collect::<rusqlite::Result<_>>().map_err(Into::into)
}

/// Takes a due delivery for this process until `lease_until`, unless another process took it
/// first (two processes draining one ledger never send the same delivery at the same time).
pub fn claim(conn: &Connection, due: &Due, lease_until: i64) -> Result<bool> {
    let n = conn.execute(
        "UPDATE alert_deliveries SET next_attempt_at = ?3
         WHERE id = ?1 AND state = 'pending' AND next_attempt_at = ?2",
        params![due.id, due.next_attempt_at, lease_until],
    )?;
    Ok(n == 1)
}

/// Puts a held-back delivery (quiet hours) back without counting an attempt.
pub fn hold(conn: &Connection, id: i64, until: i64) -> Result<()> {
    conn.execute("UPDATE alert_deliveries SET next_attempt_at = ?2 WHERE id = ?1", params![id, until])?;
    Ok(())
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub ok: bool,
    /// The HTTP status or the command's exit code.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// The receiver asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

/// The wait before retry number `attempts` (1 after the first failure).
pub fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = FIRST_BACKOFF.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    exponential.max(retry_after.unwrap_or_default()).min(MAX_BACKOFF)
}

/// Records an attempt and moves the delivery on: delivered, retried later, or given up after a
/// day. Returns its new state.
pub fn record(conn: &Connection, due: &Due, attempt: &Attempt, now: i64) -> Result<DeliveryState> {
    let attempts = due.attempts + 1;
    conn.execute(
        "INSERT INTO alert_delivery_attempts (delivery_id, attempted_at, ok, status, error) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![due.id, now, attempt.ok, attempt.status, attempt.error],
    )?;
    let (state, next, error) = if attempt.ok {
        (DeliveryState::Delivered, now, None)
    } else {
        let error = attempt.error.clone().unwrap_or_else(|| "failed".to_owned());
        let next = now + backoff(attempts, attempt.retry_after).as_secs() as i64;
        if next - due.created_at > GIVE_UP_AFTER_SECS {
            let why = format!("gave up after {attempts} attempts over a day; the last: {error}");
            (DeliveryState::Failed, now, Some(why))
        } else {
            (DeliveryState::Pending, next, Some(error))
        }
    };
    conn.execute(
        "UPDATE alert_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, last_error = ?5,
                delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 ELSE delivered_at END
         WHERE id = ?1",
        params![due.id, state_str(state), attempts, next, error, now],
    )?;
    Ok(state)
}

/// When the next pending delivery is due (Unix seconds), if any.
pub fn next_due(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT min(next_attempt_at) FROM alert_deliveries WHERE state = 'pending'", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

fn state_str(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

fn parse_state(s: &str) -> DeliveryState {
    match s {
        "delivered" => DeliveryState::Delivered,
        "failed" => DeliveryState::Failed,
        _ => DeliveryState::Pending,
    }
}

/// The deliveries of one alert, oldest first.
pub fn deliveries_of(conn: &Connection, alert_id: i64) -> Result<Vec<ChannelDelivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.name, d.round, d.state, d.attempts, d.delivered_at, d.next_attempt_at, d.last_error
         FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id
         WHERE d.alert_id = ?1 ORDER BY d.round, c.name",
    )?;
    let rows = stmt.query_map([alert_id], |r| {
        let state = parse_state(&r.get::<_, String>(2)?);
        let next: i64 = r.get(5)?;
        Ok(ChannelDelivery {
            channel: r.get(0)?,
            round: r.get(1)?,
            state,
            attempts: r.get(3)?,
            delivered_at: r.get::<_, Option<i64>>(4)?.map(ts_to_rfc3339),
            next_attempt_at: (state == DeliveryState::Pending).then(|| ts_to_rfc3339(next)),
            last_error: r.get(6)?,
        })
    })?;
    rows.collect::<rusqlite::Result<_>>().map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour_and_honours_retry_after() {
        let secs = |n, ra: Option<u64>| backoff(n, ra.map(Duration::from_secs)).as_secs();
        assert_eq!(
            [secs(1, None), secs(2, None), secs(3, None), secs(8, None), secs(40, None)],
            [30, 60, 120, 3_600, 3_600]
        );
        assert_eq!(secs(1, Some(600)), 600, "a receiver's Retry-After is honoured");
        assert_eq!(secs(1, Some(86_400)), 3_600, "but never beyond an hour");
    }
}
