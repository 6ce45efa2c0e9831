//! `burnrate settings …`: show or change the application settings.

use std::process::ExitCode;

use burnrate_core::dto::SettingsView;
use burnrate_core::{Burnrate, Error, Result};
use clap::Subcommand;

use crate::output::{outln, print_json};

#[derive(Subcommand)]
pub enum SettingsCmd {
    /// Print the settings (or one of them).
    Get {
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a setting: time_zone (IANA name or local), quiet_hours (HH:MM-HH:MM or none),
    /// alerts_paused_until (RFC 3339 or Unix time, or none), key_rotation_days (1-3650 or default),
    /// close_to_tray (on or off: closing the app's window keeps it in the tray, or quits),
    /// start_at_login_offered (on or off: whether the app has offered to start at login),
    /// max_daily_amount (the most one source may report for a day, in its currency; more is
    /// refused at sync and import; default 1000000), metrics_top_n (keys and models per source
    /// with their own series in `burnrate metrics`, 1-10000, default 50; the rest are `other`),
    /// serve_local (on or off: the desktop app answers what `burnrate serve` answers on
    /// 127.0.0.1) and serve_port (default 9464).
    Set { name: String, value: String },
}

pub fn run(app: &Burnrate, cmd: SettingsCmd) -> Result<ExitCode> {
    match cmd {
        SettingsCmd::Get { name, json } => {
            let settings = app.get_settings()?;
            print_settings(&settings, name.as_deref(), json)?;
        }
        SettingsCmd::Set { name, value } => {
            let settings = app.set_setting(&name, &value)?;
            print_settings(&settings, Some(&name), false)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_settings(s: &SettingsView, only: Option<&str>, json: bool) -> Result<()> {
    let none = || "none".to_owned();
    let time_zone = if s.time_zone == s.effective_time_zone {
        s.time_zone.clone()
    } else {
        format!("{} ({})", s.time_zone, s.effective_time_zone)
    };
    let all = [
        ("time_zone", time_zone),
        ("quiet_hours", s.quiet_hours.clone().unwrap_or_else(none)),
        ("alerts_paused_until", s.alerts_paused_until.clone().unwrap_or_else(none)),
        ("key_rotation_days", s.key_rotation_days.to_string()),
        ("close_to_tray", on_off(s.close_to_tray)),
        ("start_at_login_offered", on_off(s.start_at_login_offered)),
        ("max_daily_amount", s.max_daily_amount.clone()),
        ("metrics_top_n", s.metrics_top_n.to_string()),
        ("serve_local", on_off(s.serve_local)),
        ("serve_port", s.serve_port.to_string()),
        ("display_currency", s.display_currency.clone().unwrap_or_else(none)),
    ];
    let only = only.map(str::trim);
    if let Some(name) = only {
        if !all.iter().any(|(n, _)| *n == name) {
            return Err(Error::invalid_input(format!(
                "there is no setting {name:?}; the settings are {}",
                burnrate_core::app_settings::NAMES.join(", ")
            )));
        }
    }
    if json {
        return print_json(s);
    }
    for (name, value) in all.iter().filter(|(n, _)| only.is_none_or(|o| o == *n)) {
        outln!("{name} = {value}");
    }
    Ok(())
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_owned()
}
