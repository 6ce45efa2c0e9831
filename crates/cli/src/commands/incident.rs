//! `burnrate incident …`: incident dossiers of a key around a spike.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::{errln, outln, print_raw};
use burnrate_core::incident::DossierFormat;
use burnrate_core::{Burnrate, Error, Result};
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum IncidentCmd {
    /// Export a key's incident dossier: the key, the window, hourly spend per model, the alerts
    /// that fired and the actions taken. Times are UTC.
    Export {
        #[arg(long, value_name = "NAME")]
        source: String,
        /// The provider's id of the key
        #[arg(long = "key", value_name = "KEY_ID")]
        key_id: String,
        /// Center the window on this alert's episode [default: the key's latest spike episode]
        #[arg(long, value_name = "ID")]
        alert: Option<i64>,
        /// Window start: YYYY-MM-DD (UTC) or an RFC 3339 time [default: 48 h before the first spike alert]
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        /// Window end: YYYY-MM-DD (inclusive, UTC) or an RFC 3339 time [default: now]
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = DossierFormatArg::Md)]
        format: DossierFormatArg,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DossierFormatArg {
    Md,
    Csv,
}

pub fn run(app: &Burnrate, cmd: IncidentCmd) -> Result<ExitCode> {
    match cmd {
        IncidentCmd::Export { source, key_id, alert, from, to, format, out } => {
            let dossier = app.incident_dossier(&source, &key_id, alert, from.as_deref(), to.as_deref())?;
            let format = match format {
                DossierFormatArg::Md => DossierFormat::Markdown,
                DossierFormatArg::Csv => DossierFormat::Csv,
            };
            let text = dossier.render(format);
            if dossier.spend.is_empty() {
                errln!(
                    "note: no spend of key {} was recorded between {} and {} (UTC); sync the source or widen --from/--to",
                    dossier.key.id, dossier.window.from, dossier.window.to
                );
            }
            match out {
                None => print_raw(&text),
                Some(path) => {
                    burnrate_core::fs::write_atomic(&path, text.as_bytes())
                        .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", path.display())))?;
                    outln!(
                        "wrote {} ({} spend rows, {} alerts, {} actions; {} to {} UTC)",
                        path.display(),
                        dossier.spend.len(),
                        dossier.alerts.len(),
                        dossier.actions.len(),
                        dossier.window.from,
                        dossier.window.to
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
