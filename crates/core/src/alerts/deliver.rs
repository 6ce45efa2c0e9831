//! Desktop delivery of fired alerts. Every alert stays recorded whatever happens here; this
//! only notes when it was shown, or why it was not (alerts paused, quiet hours, no notification
//! daemon), and logs that reason.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::dto::AlertView;
use super::store;
use crate::app_settings::AppSettings;
use crate::error::Result;
use crate::notify::{Notice, NoticeUrgency, Notifier};

/// The notification for an alert. "Open" focuses the key (`key:SOURCE/KEY_ID`), else the budget
/// (`budget:ID`), else the alert list.
pub fn notice_for(alert: &AlertView) -> Notice {
    let open_target = match (&alert.source, &alert.key_id, alert.budget_id) {
        (Some(source), Some(key), _) => Some(format!("key:{source}/{key}")),
        (_, _, Some(budget)) => Some(format!("budget:{budget}")),
        _ => Some("alerts".to_owned()),
    };
    let urgent = alert.is_critical();
    Notice {
        summary: alert.title.clone(),
        body: alert.body.clone(),
        open_target,
        urgency: if urgent { NoticeUrgency::Critical } else { NoticeUrgency::Normal },
    }
}

/// Shows each alert through `notifier` (None: this process has no desktop) unless alerts are
/// paused or it is quiet hours, and records the outcome. Returns the alerts as now recorded.
pub fn deliver(
    conn: &Connection,
    alerts: &[AlertView],
    notifier: Option<&dyn Notifier>,
    now: DateTime<Utc>,
    settings: &AppSettings,
) -> Result<Vec<AlertView>> {
    let silenced = settings.silenced(now);
    for alert in alerts {
        let outcome = match (&silenced, notifier) {
            (Some(reason), _) => Err(reason.clone()),
            (None, None) => Err("desktop notifications are off in this process".to_owned()),
            (None, Some(n)) => n.notify(&notice_for(alert)).map_err(|e| e.message().to_owned()),
        };
        match outcome {
            Ok(()) => store::record_delivery(conn, alert.id, Some(now.timestamp()), None)?,
            Err(reason) => {
                tracing::warn!(alert = alert.id, "alert recorded but not shown on the desktop: {reason}");
                store::record_delivery(conn, alert.id, None, Some(&reason))?;
            }
        }
    }
    store::get_many(conn, &alerts.iter().map(|a| a.id).collect::<Vec<_>>())
}
