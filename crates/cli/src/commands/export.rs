//! `burnrate export …`: the ledger in formats other tools read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burnrate_core::{Burnrate, Error, ErrorCode, Result};
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
                    write_atomically(&path, csv.as_bytes())?;
                    errln!("wrote {} ({} FOCUS rows)", path.display(), csv.lines().count().saturating_sub(1));
                }
                None => print_raw(&csv),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes a temporary file next to `path`, then renames it over `path`: a reader sees the old
/// file or the whole new one, never a partial export.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| {
        Error::new(
            ErrorCode::InvalidInput,
            format!("cannot write {}: {e}; check that the folder exists and is writable", path.display()),
        )
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}
