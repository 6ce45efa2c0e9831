//! Alerts as stored: inserted once per `dedupe_key` (what fired), read back as [`AlertView`]s,
//! and their desktop delivery recorded.

use rusqlite::{params, Connection, OptionalExtension};

use super::dto::{AlertKind, AlertView};
use crate::channels::outbox;
use crate::days::ts_to_rfc3339;
use crate::error::{Error, Result};
use crate::money::format_micros;

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::Threshold,
        AlertKind::Forecast,
        AlertKind::Spike,
        AlertKind::PriceDrift,
        AlertKind::TermsChanged,
        AlertKind::SourceStale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Threshold => "threshold",
            AlertKind::Forecast => "forecast",
            AlertKind::Spike => "spike",
            AlertKind::PriceDrift => "price_drift",
            AlertKind::TermsChanged => "terms_changed",
            AlertKind::SourceStale => "source_stale",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "threshold" => Some(AlertKind::Threshold),
            "forecast" => Some(AlertKind::Forecast),
            "spike" => Some(AlertKind::Spike),
            "price_drift" => Some(AlertKind::PriceDrift),
            "terms_changed" => Some(AlertKind::TermsChanged),
            "source_stale" => Some(AlertKind::SourceStale),
            _ => None,
        }
    }
}

/// An alert about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: AlertKind,
    /// Names what fired; a second alert with the same key is never recorded.
    pub dedupe_key: String,
    pub budget_id: Option<i64>,
    pub source_id: Option<i64>,
    pub key_id: Option<String>,
    pub period_start: Option<String>,
    pub threshold_pct: Option<u32>,
    pub amount_micros: i64,
    pub limit_micros: Option<i64>,
    pub currency: String,
    pub estimated: bool,
    pub title: String,
    pub body: String,
    pub details: serde_json::Value,
}

/// Records `alert` unless one with its dedupe key exists, and queues its deliveries to the
/// alert channels in the same transaction. Returns the new row's id, or None.
pub fn insert(conn: &Connection, alert: &NewAlert, fired_at: i64) -> Result<Option<i64>> {
    let n = conn.execute(
        "INSERT INTO alerts (kind, dedupe_key, budget_id, source_id, key_id, period_start, threshold_pct, amount_micros,
                             limit_micros, currency, estimated, title, body, details, fired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (dedupe_key) DO NOTHING",
        params![
            alert.kind.as_str(),
            alert.dedupe_key,
            alert.budget_id,
            alert.source_id,
            alert.key_id,
            alert.period_start,
            alert.threshold_pct,
            alert.amount_micros,
            alert.limit_micros,
            alert.currency,
            alert.estimated,
            alert.title,
            alert.body,
            alert.details.to_string(),
            fired_at
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let id = conn.last_insert_rowid();
    outbox::enqueue(conn, id, alert.kind.as_str(), 0, fired_at)?;
    Ok(Some(id))
}

/// The highest threshold already fired for a budget's period.
pub fn highest_threshold_fired(conn: &Connection, budget_id: i64, period_start: &str) -> Result<Option<u32>> {
    Ok(conn
        .query_row(
            "SELECT max(threshold_pct) FROM alerts WHERE kind = 'threshold' AND budget_id = ?1 AND period_start = ?2",
            params![budget_id, period_start],
            |r| r.get::<_, Option<u32>>(0),
        )
        .optional()?
        .flatten())
}

/// An alert [`super::engine::evaluate`] hands to delivery: a new alert, or (`renotify`) a spike
/// episode recorded earlier whose amount has at least tripled since it was last announced; its
/// title and body were rewritten to say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    pub alert_id: i64,
    pub renotify: bool,
}

impl Announcement {
    /// A newly recorded alert.
    pub fn new_alert(alert_id: i64) -> Self {
        Announcement { alert_id, renotify: false }
    }

    /// The alert ids of `announcements`, in order (what [`get_many`] reads back).
    pub fn ids(announcements: &[Self]) -> Vec<i64> {
        announcements.iter().map(|a| a.alert_id).collect()
    }
}

/// A spike alert as its episode needs it (see [`super::spike_alerts`]).
#[derive(Debug, Clone)]
pub struct StoredSpike {
    pub id: i64,
    pub fired_at: i64,
    pub amount_micros: i64,
    pub title: String,
    pub body: String,
    pub details: serde_json::Value,
}

/// The most recent spike alert of one key's series (source, key, currency), if any. Episodes of
/// a series never overlap, so this is the only one that can still be open.
pub fn latest_spike(conn: &Connection, source_id: i64, key_id: &str, currency: &str) -> Result<Option<StoredSpike>> {
    Ok(conn
        .query_row(
            "SELECT id, fired_at, amount_micros, title, body, details FROM alerts
             WHERE source_id = ?1 AND key_id = ?2 AND kind = 'spike' AND currency = ?3
             ORDER BY fired_at DESC, id DESC LIMIT 1",
            params![source_id, key_id, currency],
            |r| {
                let details: String = r.get(5)?;
                Ok(StoredSpike {
                    id: r.get(0)?,
                    fired_at: r.get(1)?,
                    amount_micros: r.get(2)?,
                    title: r.get(3)?,
                    body: r.get(4)?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                })
            },
        )
        .optional()?)
}

/// Rewrites a spike episode's figures (and, when it is announced again, its title and body).
/// `fired_at` and the delivery record stay: the alert is the same one.
pub fn update_spike(
    conn: &Connection,
    id: i64,
    amount_micros: i64,
    title: &str,
    body: &str,
    details: &serde_json::Value,
) -> Result<()> {
    conn.execute(
        "UPDATE alerts SET amount_micros = ?2, title = ?3, body = ?4, details = ?5 WHERE id = ?1 AND kind = 'spike'",
        params![id, amount_micros, title, body, details.to_string()],
    )?;
    Ok(())
}

/// Records a delivery attempt. A failed re-announcement keeps the time the alert was last shown
/// (`notified_at`) and records why this one was not.
pub fn record_delivery(conn: &Connection, id: i64, notified_at: Option<i64>, error: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE alerts SET notified_at = coalesce(?2, notified_at), notify_error = ?3 WHERE id = ?1",
        params![id, notified_at, error],
    )?;
    Ok(())
}

const SELECT: &str =
    "SELECT a.id, a.kind, a.budget_id, s.name, a.key_id, k.display_name, k.fingerprint, a.period_start,
        a.threshold_pct, a.amount_micros, a.limit_micros, a.currency, a.estimated, a.title, a.body, a.fired_at,
        a.notified_at, a.notify_error, a.details
 FROM alerts a
 LEFT JOIN sources s ON s.id = a.source_id
 LEFT JOIN api_keys k ON k.source_id = a.source_id AND k.provider_key_id = a.key_id";

fn view(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertView> {
    let kind: String = r.get(1)?;
    let key_id: Option<String> = r.get(4)?;
    let notified_at: Option<i64> = r.get(16)?;
    let details: String = r.get(18)?;
    Ok(AlertView {
        id: r.get(0)?,
        kind: AlertKind::parse(&kind).unwrap_or(AlertKind::Spike),
        budget_id: r.get(2)?,
        source: r.get(3)?,
        key_name: key_id.as_deref().map(|k| key_label(r.get(5).ok().flatten(), r.get(6).ok().flatten(), k)),
        fingerprint: r.get(6)?,
        key_id,
        period_start: r.get(7)?,
        threshold: r.get(8)?,
        amount: format_micros(r.get(9)?),
        limit: r.get::<_, Option<i64>>(10)?.map(format_micros),
        currency: r.get(11)?,
        estimated: r.get(12)?,
        title: r.get(13)?,
        body: r.get(14)?,
        fired_at: ts_to_rfc3339(r.get(15)?),
        notified: notified_at.is_some(),
        notified_at: notified_at.map(ts_to_rfc3339),
        notify_error: r.get(17)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        deliveries: Vec::new(),
    })
}

/// Alerts, newest first.
pub fn list(conn: &Connection, limit: Option<u32>) -> Result<Vec<AlertView>> {
    let sql = format!("{SELECT} ORDER BY a.fired_at DESC, a.id DESC LIMIT ?1");
    let mut stmt = conn.prepare(&sql)?;
    let limit = limit.map(i64::from).unwrap_or(-1);
    let rows = stmt.query_map([limit], view)?;
    let alerts: Vec<AlertView> = rows.collect::<rusqlite::Result<_>>()?;
    with_deliveries(conn, alerts)
}

fn with_deliveries(conn: &Connection, mut alerts: Vec<AlertView>) -> Result<Vec<AlertView>> {
    let any_channel: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM alert_deliveries)", [], |r| r.get(0))?;
    if any_channel {
        for alert in &mut alerts {
            alert.deliveries = outbox::deliveries_of(conn, alert.id)?;
        }
    }
    Ok(alerts)
}

/// The alerts with these ids, in the given order.
pub fn get_many(conn: &Connection, ids: &[i64]) -> Result<Vec<AlertView>> {
    let sql = format!("{SELECT} WHERE a.id = ?1");
    let mut stmt = conn.prepare(&sql)?;
    let alerts = ids
        .iter()
        .map(|id| stmt.query_row([id], view).map_err(|e| Error::internal(format!("alert {id}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    with_deliveries(conn, alerts)
}

/// How a key is named to people: "Production (sk-…abcd)", the fingerprint alone, or the
/// provider's key id. Never a secret: neither column ever holds one.
pub fn key_label(display_name: Option<String>, fingerprint: Option<String>, key_id: &str) -> String {
    let name = display_name.filter(|n| !n.trim().is_empty());
    let fp = fingerprint.filter(|f| !f.trim().is_empty());
    match (name, fp) {
        (Some(n), Some(f)) if n != f => format!("{n} ({f})"),
        (Some(n), _) => n,
        (None, Some(f)) => f,
        (None, None) if key_id.is_empty() => crate::ledger::NOT_ATTRIBUTED_TO_A_KEY.to_owned(),
        (None, None) => key_id.to_owned(),
    }
}

/// [`key_label`] read from the ledger.
pub fn key_label_of(conn: &Connection, source_id: i64, key_id: &str) -> Result<String> {
    let found: Option<(Option<String>, Option<String>)> = conn
        .query_row(
            "SELECT display_name, fingerprint FROM api_keys WHERE source_id = ?1 AND provider_key_id = ?2",
            params![source_id, key_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (name, fp) = found.unwrap_or_default();
    Ok(key_label(name, fp, key_id))
}
