//! `burnrate chart …`: draw a chart of spend to an SVG or PNG file.

use std::process::ExitCode;

use burnrate_core::charts::{ChartKind, ChartQuery, ChartTheme};
use burnrate_core::dto::Dimension;
use burnrate_core::{Burnrate, Error, Result};
use clap::{Args, ValueEnum};

use super::by_parser;
use crate::output::{errln, outln};

#[derive(Args)]
pub struct ChartArgs {
    /// daily: spend per UTC day stacked by --by; cumulative: this month's running total
    /// against the monthly budget, with the forecast; hourly: the UTC hours of --to (today),
    /// from the sources that report by the hour
    #[arg(value_enum)]
    kind: ChartKindArg,
    #[arg(long = "by", value_parser = by_parser(), default_value = "key")]
    by: Dimension,
    /// First UTC day, inclusive (YYYY-MM-DD) [default: 30 days before --to]
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<String>,
    /// Last UTC day, inclusive (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<String>,
    /// ISO currency to draw [default: the one with the most spend]
    #[arg(long, value_name = "CODE")]
    currency: Option<String>,
    /// Series named before the rest is "other" (1-20)
    #[arg(long, value_name = "N")]
    top: Option<u32>,
    #[arg(long, value_enum, default_value_t = ThemeArg::Light)]
    theme: ThemeArg,
    /// FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ChartKindArg {
    Daily,
    Cumulative,
    Hourly,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ThemeArg {
    Light,
    Dark,
}

pub fn run(app: &Burnrate, args: ChartArgs) -> Result<ExitCode> {
    let ChartArgs { kind, by, from, to, currency, top, theme, out } = args;
    let png = match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => true,
        Some("svg") => false,
        _ => {
            return Err(Error::invalid_input(format!(
                "{} must end in .svg or .png (that decides the format)",
                out.display()
            )))
        }
    };
    let query = ChartQuery {
        kind: match kind {
            ChartKindArg::Daily => ChartKind::Daily,
            ChartKindArg::Cumulative => ChartKind::Cumulative,
            ChartKindArg::Hourly => ChartKind::Hourly,
        },
        by,
        from,
        to,
        currency,
        top,
        theme: match theme {
            ThemeArg::Light => ChartTheme::Light,
            ThemeArg::Dark => ChartTheme::Dark,
        },
        width: None,
        height: None,
        convert_to: None,
    };
    let view = app.chart(&query)?;
    let bytes = if png { burnrate_core::charts::svg_to_png(&view.svg, 2.0)? } else { view.svg.into_bytes() };
    burnrate_core::fs::write_atomic(&out, &bytes)
        .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", out.display())))?;
    match (&view.empty, &view.currency) {
        (Some(why), _) => errln!("note: {why}"),
        (None, Some(currency)) if view.currencies.len() > 1 => errln!(
            "note: drew {currency} only; this range also has {} (use --currency)",
            view.currencies.iter().filter(|c| *c != currency).cloned().collect::<Vec<_>>().join(", ")
        ),
        _ => {}
    }
    if let Some(note) = &view.note {
        errln!("note: {note}");
    }
    outln!(
        "wrote {} ({} series, {} to {}, total {} {})",
        out.display(),
        view.series.len(),
        view.from,
        view.to,
        view.total.as_deref().unwrap_or("0"),
        view.currency.as_deref().unwrap_or("")
    );
    Ok(ExitCode::SUCCESS)
}
