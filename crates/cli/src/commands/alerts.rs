//! `burnrate alerts`: the alerts that fired, newest first.

use std::process::ExitCode;

use burnrate_core::alerts::{AlertView, DeliveryState};
use burnrate_core::{Burnrate, Result};
use clap::Args;

use crate::output::{errln, outln, print_json};

#[derive(Args)]
pub struct AlertsArgs {
    /// Show at most this many
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    #[arg(long)]
    json: bool,
    /// Print one verdict and exit 0 when no alert is open, 1 for a warning (a warning
    /// threshold, a recent forecast or spike), 2 when a budget is over or a key spiked today,
    /// 3 when the check itself failed (for cron jobs and CI)
    #[arg(long, conflicts_with = "limit")]
    check: bool,
}

/// The exit code of `--check` when the check itself failed (monitoring's "unknown").
const CHECK_FAILED: u8 = 3;

impl AlertsArgs {
    /// Whether this is `--check`, whose failures have their own exit code.
    pub fn is_check(&self) -> bool {
        self.check
    }
}

/// Says why the check could not be made; exits with [`CHECK_FAILED`].
pub fn check_failed(e: &burnrate_core::Error) -> ExitCode {
    errln!("error: {}", e.message());
    ExitCode::from(CHECK_FAILED)
}

pub fn run(app: &Burnrate, args: AlertsArgs) -> Result<ExitCode> {
    let AlertsArgs { limit, json, check } = args;
    if check {
        return Ok(match app.alert_check() {
            Ok(verdict) => {
                if json {
                    print_json(&verdict)?;
                } else {
                    let word = format!("{:?}", verdict.status).to_lowercase();
                    match verdict.reasons.as_slice() {
                        [] => outln!("{word}: no alert is open"),
                        reasons => outln!("{word}: {}", reasons.join("; ")),
                    }
                }
                ExitCode::from(verdict.status.exit_code())
            }
            Err(e) => check_failed(&e),
        });
    }
    let alerts = app.list_alerts(limit)?;
    if json {
        print_json(&alerts)?;
    } else if alerts.is_empty() {
        outln!("no alerts yet");
    } else {
        for a in &alerts {
            print_alert(a);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_alert(a: &AlertView) {
    let shown = match (&a.notified_at, &a.notify_error) {
        (Some(t), _) => format!("shown {t}"),
        (None, Some(why)) => format!("not shown: {why}"),
        (None, None) => "not shown yet".to_owned(),
    };
    outln!("{}  {}  #{}  {}", a.fired_at, a.kind.as_str(), a.id, a.title);
    outln!("    {}", a.body);
    outln!("    ({shown})");
    for d in &a.deliveries {
        let round = if d.round > 0 { format!(" (announced again, #{})", d.round) } else { String::new() };
        let state = match (d.state, &d.delivered_at, &d.last_error) {
            (DeliveryState::Delivered, Some(t), _) => format!("delivered {t}"),
            (DeliveryState::Failed, _, Some(e)) => format!("given up: {e}"),
            (_, _, Some(e)) => format!(
                "not delivered yet ({} attempts; retried at {}): {e}",
                d.attempts,
                d.next_attempt_at.as_deref().unwrap_or("-")
            ),
            _ => "queued".to_owned(),
        };
        outln!("    → {}{round}: {state}", d.channel);
    }
}
