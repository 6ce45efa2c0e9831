//! `burnrate import …`: import spend from files.

use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::import::{CsvFormat, ImportSummary};
use burnrate_core::{Burnrate, Error, Result};
use clap::{Subcommand, ValueEnum};

use crate::output::{errln, outln, print_json};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Import daily spend from a CSV file into a source. The days the file has lines on are
    /// replaced for the kinds it contains (re-importing never adds; days between are left
    /// alone); a file with any error imports nothing. Prints what was replaced, and warns when
    /// billed rows from a sync were.
    Csv {
        /// The source to import into (see `burnrate source list`)
        #[arg(long, value_name = "NAME")]
        source: String,
        /// The CSV file; `-` reads standard input
        file: PathBuf,
        /// generic: day,amount,currency[,key_id,key_name,model,kind]; openai: the usage dashboard's
        /// cost export; anthropic: the Claude Console's cost export
        #[arg(long, value_enum, default_value_t = Format::Generic)]
        format: Format,
        /// Check the file and print what the import would write and replace; write nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Generic,
    Openai,
    Anthropic,
}

pub fn run(app: &Burnrate, cmd: ImportCmd) -> Result<ExitCode> {
    match cmd {
        ImportCmd::Csv { source, file, format, dry_run, json } => {
            let format = match format {
                Format::Generic => CsvFormat::Generic,
                Format::Openai => CsvFormat::Openai,
                Format::Anthropic => CsvFormat::Anthropic,
            };
            // Refuse an oversized file before reading it into memory.
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if size > burnrate_core::import::MAX_FILE_BYTES as u64 {
                return Err(Error::invalid_input(format!(
                    "{} is {} MB; Burnrate imports files up to {} MB. Export a shorter date range and import each part",
                    file.display(),
                    size.div_ceil(1024 * 1024),
                    burnrate_core::import::MAX_FILE_BYTES / (1024 * 1024)
                )));
            }
            let data = read_file(&file)?;
            let summary = if dry_run {
                app.preview_csv_import(&source, format, &data)?
            } else {
                app.import_csv(&source, format, &data)?
            };
            if json {
                print_json(&summary)?;
            } else {
                print_summary(&summary);
            }
            if summary.synced_billed_rows_replaced > 0 {
                errln!("warning: {}", synced_billed_warning(&summary));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What was (or would be) written and replaced: a line for the whole, one per run of days.
fn print_summary(s: &ImportSummary) {
    let kinds: Vec<&str> = s.kinds.iter().map(|k| k.as_str()).collect();
    let days = if s.from == s.to {
        format!("on {}", s.from)
    } else {
        format!("on {} between {} and {}", count(s.days.into(), "day"), s.from, s.to)
    };
    let head = format!(
        "{} lines as {} into {} {days} ({}), replacing {} already in the ledger",
        s.lines,
        count(s.rows_written, "row"),
        s.source,
        kinds.join(", "),
        count(s.rows_replaced, "row")
    );
    if s.dry_run {
        outln!("dry run, nothing written: would import {head}");
    } else {
        outln!("imported {head}");
    }
    for r in &s.replaced {
        let days = if r.from == r.to { r.from.clone() } else { format!("{}..{}", r.from, r.to) };
        let synced = if r.synced_rows_replaced > 0 {
            format!(", {} of them from a sync", r.synced_rows_replaced)
        } else {
            String::new()
        };
        outln!(
            "  {days} {} ({}): {} from the file, {} {}{synced}",
            r.kind.as_str(),
            count(r.days.into(), "day"),
            count(r.rows_imported, "row"),
            if s.dry_run { "would replace" } else { "replaced" },
            count(r.rows_replaced, "row"),
        );
    }
}

/// Said out loud: the provider's own bill gave way to the file's amounts on those days.
fn synced_billed_warning(s: &ImportSummary) -> String {
    let days: Vec<String> = s
        .replaced
        .iter()
        .filter(|r| r.kind == burnrate_core::poll::SpendKind::Billed && r.synced_rows_replaced > 0)
        .map(|r| if r.from == r.to { r.from.clone() } else { format!("{}..{}", r.from, r.to) })
        .collect();
    format!(
        "{} {} billed {} that a sync of {} wrote (the provider's bill) on {}; the file's amounts {} instead",
        if s.dry_run { "the import would replace" } else { "the import replaced" },
        s.synced_billed_rows_replaced,
        if s.synced_billed_rows_replaced == 1 { "row" } else { "rows" },
        s.source,
        days.join(", "),
        if s.dry_run { "would count" } else { "count" },
    )
}

fn count(n: i64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A file's bytes (or standard input's for `-`), at most the import size cap.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    use burnrate_core::import::{read_capped_named, MAX_FILE_BYTES};
    let name = path.display().to_string();
    // stdin, a FIFO or a device has no size to check: stop at the limit whatever it sends.
    if path.as_os_str() == "-" {
        return read_capped_named(std::io::stdin().lock(), MAX_FILE_BYTES, "the standard input");
    }
    let file = std::fs::File::open(path).map_err(|e| Error::invalid_input(format!("cannot read {name}: {e}")))?;
    read_capped_named(file, MAX_FILE_BYTES, &name)
}
