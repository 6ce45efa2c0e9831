//! `burnrate import …`: import spend from files.

use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::import::CsvFormat;
use burnrate_core::{Burnrate, Error, Result};
use clap::{Subcommand, ValueEnum};

use crate::output::{outln, print_json};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Import daily spend from a CSV file into a source. The file's days are replaced for the
    /// kinds it contains (re-importing never adds); a file with any error imports nothing.
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
        ImportCmd::Csv { source, file, format, json } => {
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
            let summary = app.import_csv(&source, format, &data)?;
            if json {
                print_json(&summary)?;
            } else {
                let kinds: Vec<&str> = summary.kinds.iter().map(|k| k.as_str()).collect();
                outln!(
                    "imported {} lines as {} rows into {} for {}..{} ({})",
                    summary.lines,
                    summary.rows_written,
                    summary.source,
                    summary.from,
                    summary.to,
                    kinds.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut data).map(drop)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data)).map(drop)
    };
    read.map_err(|e| Error::invalid_input(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
}
