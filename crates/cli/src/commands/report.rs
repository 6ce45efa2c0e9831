//! `burnrate report …`: spend reports from the ledger.

use std::process::ExitCode;

use burnrate_core::dto::{Dimension, ReportQuery, ReportRow};
use burnrate_core::money::format_human;
use burnrate_core::{Burnrate, Result};
use clap::Subcommand;

use super::by_parser;
use crate::output::{outln, print_json, print_raw, print_table};

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Billed against token-based estimated spend per source and day, where both exist.
    Reconcile {
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Spend per UTC day, optionally split by key, model and/or source.
    Daily {
        #[arg(long = "by", value_parser = by_parser())]
        by: Vec<Dimension>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
}

pub fn run(app: &Burnrate, cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Reconcile { from, to, json } => {
            let rows = app.reconcile(&ReportQuery { by: vec![], from, to })?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                outln!("nothing to reconcile: no day in this range has both billed and estimated spend");
            } else {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.day.clone(),
                            r.source.clone(),
                            r.billed.clone(),
                            r.estimated.clone(),
                            r.difference.clone(),
                            r.currency.clone(),
                        ]
                    })
                    .collect();
                print_table(&["DAY", "SOURCE", "BILLED", "ESTIMATED", "DIFFERENCE", "CURRENCY"], &cells);
            }
        }
        ReportCmd::Daily { by, from, to, json, csv } => {
            let rows = app.daily_report(&ReportQuery { by, from, to })?;
            if json {
                print_json(&rows)?;
            } else if csv {
                print_csv(&rows);
            } else {
                print_report(&rows);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_cells(r: &ReportRow) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.day.clone(),
        opt(&r.source),
        opt(&r.key_name),
        opt(&r.model_name),
        r.amount.clone(),
        r.currency.clone(),
        r.kind.as_str().to_owned(),
    ]
}

fn print_report(rows: &[ReportRow]) {
    if rows.is_empty() {
        outln!("no spend in this range; run `burnrate sync` first, or widen --from/--to");
        return;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = report_cells(r);
            let micros = burnrate_core::money::parse_micros(&r.amount).unwrap_or(0);
            c[4] = format_human(micros, "").trim_end().to_owned();
            c
        })
        .collect();
    print_table(&["DAY", "SOURCE", "KEY", "MODEL", "AMOUNT", "CURRENCY", "KIND"], &cells);
}

fn print_csv(rows: &[ReportRow]) {
    print_raw(&burnrate_core::ledger::report_csv(rows));
}
