//! `burnrate rates …`: the dated exchange rates conversions use (units per 1 EUR, by UTC day).

use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::days::ts_to_rfc3339;
use burnrate_core::{Burnrate, Result};
use clap::Subcommand;

use crate::commands::import::read_file;
use crate::output::{outln, print_json, print_table};

#[derive(Subcommand)]
pub enum RatesCmd {
    /// Fetch the European Central Bank's reference rates (the whole history the first time, then
    /// the last 90 days). Asks at most once a day; set BURNRATE_ECB_URL to use a mirror.
    Sync {
        /// Ask the ECB again even if it was asked less than a day ago
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Import rates from a CSV file: a header date,currency,rate, then one line per day and
    /// currency (units of the currency per 1 EUR). A file with any bad line imports nothing.
    /// An imported rate wins over the ECB's for the same day.
    Import {
        /// The CSV file; `-` reads standard input
        file: PathBuf,
    },
    /// How old the stored rates are, whether anything needs them, and the last failed fetch.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The stored rates, oldest first.
    List {
        /// First UTC day (YYYY-MM-DD)
        #[arg(long)]
        from: Option<String>,
        /// Last UTC day (YYYY-MM-DD)
        #[arg(long)]
        to: Option<String>,
        /// Only this currency, e.g. USD
        #[arg(long, value_name = "C")]
        currency: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(app: &Burnrate, cmd: RatesCmd) -> Result<ExitCode> {
    match cmd {
        RatesCmd::Sync { force, json } => {
            let sync = app.sync_rates(force).await?;
            if json {
                print_json(&sync)?;
            } else if sync.fetched {
                outln!(
                    "fetched {}: {} rates over {} days; newest rates from {}",
                    sync.file,
                    sync.rates,
                    sync.days,
                    sync.newest_day.as_deref().unwrap_or("(none)")
                );
            } else {
                outln!(
                    "the ECB was asked less than a day ago ({}); newest rates from {}. Use --force to ask again",
                    ts_to_rfc3339(sync.fetched_at),
                    sync.newest_day.as_deref().unwrap_or("(none)")
                );
            }
        }
        RatesCmd::Status { json } => {
            let status = app.rates_status()?;
            if json {
                print_json(&status)?;
                return Ok(ExitCode::SUCCESS);
            }
            match (&status.newest_day, status.age_days) {
                (Some(day), Some(age)) => outln!("newest rates: {day} ({age} days old)"),
                _ => outln!("no rates stored; fetch them with `burnrate rates sync` or import a CSV"),
            }
            if let Some(at) = &status.fetched_at {
                outln!("last fetched from the ECB: {at}");
            }
            outln!(
                "{}",
                if status.needed {
                    "in use: the poller fetches new rates once a day"
                } else {
                    "not in use: nothing is converted (set display_currency, or spend in several currencies), so the poller does not fetch rates"
                }
            );
            if let (Some(at), Some(error)) = (&status.failed_at, &status.last_error) {
                outln!("last fetch failed at {at}: {error}");
            }
        }
        RatesCmd::Import { file } => {
            let stored = app.import_rates(&read_file(&file)?)?;
            outln!("imported {stored} rates from {}", file.display());
        }
        RatesCmd::List { from, to, currency, json } => {
            let rows = app.list_rates(from.as_deref(), to.as_deref(), currency.as_deref())?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                outln!("no rates stored for this range; fetch them with `burnrate rates sync` or import a CSV");
            } else {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| vec![r.day.clone(), r.currency.clone(), r.rate.clone(), r.source.clone()])
                    .collect();
                print_table(&["DAY", "CURRENCY", "PER 1 EUR", "SOURCE"], &cells);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
