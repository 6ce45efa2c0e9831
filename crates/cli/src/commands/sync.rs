//! `burnrate sync`: poll every source (or one) once, write the ledger, and exit.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use burnrate_core::poll::SyncProgress;
use burnrate_core::providers::http::ProgressFn;
use burnrate_core::text::printable;
use burnrate_core::{Burnrate, Result};
use clap::Args;

use crate::output::{alert_line, auto_disabled_line, errln, outln, print_json, report_undelivered};

#[derive(Args)]
pub struct SyncArgs {
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// First UTC day, inclusive (YYYY-MM-DD) [default: 90 days back on the first sync, then incremental]
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    /// Last UTC day, inclusive (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn run(app: &Burnrate, args: SyncArgs) -> Result<ExitCode> {
    let SyncArgs { source, from, to, json } = args;
    let bar = progress_bar();
    let report =
        app.sync_with_alerts(source.as_deref(), from.as_deref(), to.as_deref(), bar.clone().map(|b| b.sink())).await?;
    if let Some(bar) = bar {
        bar.finish();
    }
    let outcomes = report.outcomes;
    if json {
        print_json(&outcomes)?;
    }
    let mut failed = false;
    for o in &outcomes {
        match &o.error {
            None if !json => outln!("ok: {}: {} rows for {}..{}", o.source, o.rows_written, o.from, o.to),
            None => {}
            Some(e) => {
                failed = true;
                errln!("error: {}: {}", o.source, e.message);
            }
        }
    }
    if outcomes.is_empty() && !json {
        outln!("no sources to sync; add one with `burnrate source add`");
    }
    // With --json, stdout stays the outcomes array; `burnrate alerts --json` lists alerts.
    for a in &report.alerts {
        if json {
            errln!("{}", alert_line(a));
        } else {
            outln!("{}", alert_line(a));
        }
    }
    report_undelivered(&report.alerts);
    for a in &report.auto_disabled {
        if json {
            errln!("{}", auto_disabled_line(a));
        } else {
            outln!("{}", auto_disabled_line(a));
        }
        failed |= !a.ok;
    }
    if let Some(e) = &report.alerts_error {
        failed = true;
        errln!("error: alerts: {}", e.message);
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A progress bar on stderr for long syncs, only when a person is watching.
#[derive(Clone)]
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn sink(self) -> ProgressFn {
        Arc::new(move |p: SyncProgress| {
            self.0.set_length(p.total);
            self.0.set_position(p.done);
            self.0.set_message(printable(&format!("{} {}", p.source, p.unit)).into_owned());
        })
    }
    fn finish(self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar() -> Option<Bar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} {msg}").ok()?;
    bar.set_style(style);
    Some(Bar(bar))
}
