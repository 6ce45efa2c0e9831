//! `burnrate export …`: the ledger in formats other tools read.

use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::{Burnrate, Error, Result};
use clap::{Args, Subcommand};

use crate::output::{errln, print_raw};

#[derive(Subcommand)]
pub enum ExportCmd {
    /// The ledger as FOCUS 1.2 CSV (FinOps Open Cost and Usage Specification): one row per
    /// source, key, model and UTC day. Token estimates have BilledCost 0 and x_CostKind
    /// "estimated"; see docs/focus.md.
    Focus(FocusArgs),
}

#[derive(Args)]
pub struct FocusArgs {
    /// First UTC day, inclusive (YYYY-MM-DD) [default: 29 days before --to]
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    /// Last UTC day, inclusive (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    /// Write to this file (replaced whole, never left half-written) instead of standard output
    #[arg(long, value_name = "FILE.csv")]
    out: Option<PathBuf>,
}

pub fn run(app: &Burnrate, cmd: ExportCmd) -> Result<ExitCode> {
    match cmd {
        ExportCmd::Focus(FocusArgs { from, to, out }) => {
            let csv = app.export_focus(from, to)?;
            match out {
                Some(path) => {
                    burnrate_core::fs::write_atomic(&path, csv.as_bytes()).map_err(|e| {
                        Error::invalid_input(format!(
                            "cannot write {}: {e}; check that the folder exists and is writable",
                            path.display()
                        ))
                    })?;
                    errln!("wrote {} ({} FOCUS rows)", path.display(), csv.lines().count().saturating_sub(1));
                }
                None => print_raw(&csv),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
