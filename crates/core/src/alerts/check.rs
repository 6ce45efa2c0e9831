//! `burnrate alerts --check`: one verdict for cron jobs and CI, in the exit-code convention of
//! monitoring checks (0 ok, 1 warning, 2 critical). Pure: built from the tray's level and the
//! alerts already recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::dto::{AlertKind, AlertView};
use crate::budgets::BudgetView;
use crate::tray_status::{TrayLevel, TrayStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CheckStatus {
    /// No alert is open: no budget at a warning threshold, no recent spike or forecast.
    Ok,
    /// A budget alert (a threshold below 100 %, a forecast) is open for the budget's current
    /// period, or a spike or forecast alert fired in the last day.
    Warning,
    /// A budget is at or over its amount, or a key spiked today.
    Critical,
}

impl CheckStatus {
    /// The process exit code a monitoring check uses for this status.
    pub fn exit_code(self) -> u8 {
        match self {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Critical => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertCheck {
    pub status: CheckStatus,
    /// Why, most serious first; empty when the status is ok.
    pub reasons: Vec<String>,
}

/// The verdict for the tray's `status`, the `budgets` (with their current periods) and the
/// recorded `alerts` (newest first), with `today_start` the start of the user's current day.
pub fn check(
    status: &TrayStatus,
    budgets: &[BudgetView],
    alerts: &[AlertView],
    today_start: DateTime<Utc>,
) -> AlertCheck {
    let spikes_today: Vec<String> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Spike)
        .filter(|a| DateTime::parse_from_rfc3339(&a.fired_at).is_ok_and(|t| t >= today_start))
        .map(|a| a.title.clone())
        .collect();
    // A budget alert stays open for the rest of its budget's period.
    let open_budget_alerts: Vec<String> = alerts
        .iter()
        .filter(|a| matches!(a.kind, AlertKind::Threshold | AlertKind::Forecast))
        .filter(|a| {
            budgets.iter().any(|b| Some(b.id) == a.budget_id && a.period_start.as_deref() == Some(&b.period_start))
        })
        .map(|a| a.title.clone())
        .collect();
    let mut reasons: Vec<String> = status.reason.iter().cloned().collect();
    let status = if status.level == TrayLevel::Over || !spikes_today.is_empty() {
        // The level's reason names the most serious budget; every spike of today is listed.
        if status.level != TrayLevel::Over {
            reasons.clear();
        }
        reasons.extend(spikes_today);
        CheckStatus::Critical
    } else if status.level == TrayLevel::Warning || !open_budget_alerts.is_empty() {
        if status.level != TrayLevel::Warning {
            reasons.clear();
        }
        reasons.extend(open_budget_alerts);
        reasons.dedup();
        CheckStatus::Warning
    } else {
        reasons.clear();
        CheckStatus::Ok
    };
    AlertCheck { status, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tray(level: TrayLevel, reason: Option<&str>) -> TrayStatus {
        TrayStatus {
            level,
            reason: reason.map(Into::into),
            summary: String::new(),
            top_keys: vec![],
            alerts_paused_until: None,
            as_of: None,
            stale: vec![],
        }
    }

    fn spike(fired_at: &str, title: &str) -> AlertView {
        AlertView::sample(AlertKind::Spike, fired_at, title)
    }

    const TODAY: &str = "2026-03-10T00:00:00Z";

    fn check_without_budgets(status: &TrayStatus, alerts: &[AlertView], today_start: DateTime<Utc>) -> AlertCheck {
        check(status, &[], alerts, today_start)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn nothing_open_is_ok() {
        let c = check_without_budgets(
            &tray(TrayLevel::Normal, None),
            &[spike("2026-03-09T23:59:59Z", "yesterday")],
            at(TODAY),
        );
        assert_eq!((c.status, c.status.exit_code(), c.reasons.len()), (CheckStatus::Ok, 0, 0));
    }

    #[test]
    fn a_warning_threshold_is_a_warning_with_its_reason() {
        let c = check_without_budgets(&tray(TrayLevel::Warning, Some("Budget total monthly: 80 %")), &[], at(TODAY));
        assert_eq!((c.status, c.status.exit_code()), (CheckStatus::Warning, 1));
        assert_eq!(c.reasons, vec!["Budget total monthly: 80 %"]);
    }

    #[test]
    fn over_budget_or_a_spike_today_is_critical() {
        let over = check_without_budgets(&tray(TrayLevel::Over, Some("Budget total daily: 128 %")), &[], at(TODAY));
        assert_eq!((over.status, over.status.exit_code()), (CheckStatus::Critical, 2));
        let spiked = check_without_budgets(
            &tray(TrayLevel::Warning, Some("Spike on key prod")),
            &[spike("2026-03-10T09:00:00Z", "Spike: prod spent 8.00 USD in an hour")],
            at(TODAY),
        );
        assert_eq!(spiked.status, CheckStatus::Critical);
        assert_eq!(spiked.reasons, vec!["Spike: prod spent 8.00 USD in an hour"]);
    }
}
