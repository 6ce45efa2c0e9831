//! `burnrate alerts`: the alerts that fired, newest first.

use std::process::ExitCode;

use burnrate_core::alerts::AlertView;
use burnrate_core::{Burnrate, Result};
use clap::Args;

use crate::output::print_json;

#[derive(Args)]
pub struct AlertsArgs {
    /// Show at most this many
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &Burnrate, args: AlertsArgs) -> Result<ExitCode> {
    let AlertsArgs { limit, json } = args;
    let alerts = app.list_alerts(limit)?;
    if json {
        print_json(&alerts)?;
    } else if alerts.is_empty() {
        println!("no alerts yet");
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
    println!("{}  {}  #{}  {}", a.fired_at, a.kind.as_str(), a.id, a.title);
    println!("    {}", a.body);
    println!("    ({shown})");
}
