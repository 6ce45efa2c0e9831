//! The printing that more than one command shares: JSON, aligned tables and alert lines.

use burnrate_core::alerts::AlertView;
use burnrate_core::{Error, Result};

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// Prints rows as aligned columns.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Says once on stderr why alerts did not reach the desktop (they are recorded regardless).
pub fn report_undelivered(alerts: &[AlertView]) {
    let mut reasons: Vec<&str> = alerts.iter().filter_map(|a| a.notify_error.as_deref()).collect();
    reasons.dedup();
    for reason in reasons {
        eprintln!("note: alerts not shown on the desktop: {reason}");
    }
}

/// One line per auto-disable action for `sync` and `watch`: what was done and where the report is.
pub fn auto_disabled_line(a: &burnrate_core::auto_disable::AutoDisabled) -> String {
    let what = match (a.dry_run, a.ok) {
        (true, _) => "dry run",
        (false, true) => "disabled",
        (false, false) => "FAILED",
    };
    let report = match (&a.dossier, &a.dossier_error) {
        (Some(path), _) => format!("; incident report: {path}"),
        (None, Some(e)) => format!("; incident report not written: {e}"),
        (None, None) => String::new(),
    };
    format!("auto-disable: {what}: key {} of {} (action #{}): {}{report}", a.key_id, a.source, a.action_id, a.detail)
}

/// One line per alert for `sync` and `watch`.
pub fn alert_line(a: &AlertView) -> String {
    format!("alert: {} — {}", a.title, a.body)
}
