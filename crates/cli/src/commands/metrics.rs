//! `burnrate metrics`: every metric in the Prometheus/OpenMetrics text format, to standard
//! output or (atomically) to a file for node_exporter's textfile collector.

use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::metrics::{write_atomically, ExpositionFormat};
use burnrate_core::{Burnrate, Result};
use clap::{Args, ValueEnum};

use crate::output::print_raw;

#[derive(Args)]
pub struct MetricsArgs {
    /// Write to FILE instead of standard output, atomically (a temporary file in the same
    /// directory, then renamed), as node_exporter's textfile collector needs. The collector
    /// reads only the Prometheus 0.0.4 format: a FILE ending in .prom gets it unless --format
    /// says otherwise.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// openmetrics (OpenMetrics 1.0 text) or prometheus (the 0.0.4 text format)
    /// [default: openmetrics; prometheus for a --out FILE ending in .prom]
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Openmetrics,
    Prometheus,
}

pub fn run(app: &Burnrate, args: MetricsArgs) -> Result<ExitCode> {
    let prom_file = args.out.as_ref().and_then(|p| p.extension()).is_some_and(|e| e.eq_ignore_ascii_case("prom"));
    let format = match args.format {
        Some(FormatArg::Openmetrics) => ExpositionFormat::OpenMetrics,
        Some(FormatArg::Prometheus) => ExpositionFormat::PrometheusText,
        None if prom_file => ExpositionFormat::PrometheusText,
        None => ExpositionFormat::OpenMetrics,
    };
    let text = app.metrics(format)?;
    match args.out {
        Some(path) => write_atomically(&path, &text)?,
        None => print_raw(&text),
    }
    Ok(ExitCode::SUCCESS)
}
