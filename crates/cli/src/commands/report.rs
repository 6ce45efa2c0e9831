//! `burnrate report …`: spend reports from the ledger.

use std::process::ExitCode;

use burnrate_core::dto::{ConvertedReportRow, Dimension, ReportQuery, ReportRow};
use burnrate_core::ledger::ConvertedReport;
use burnrate_core::money::{format_human, parse_micros};
use burnrate_core::{Burnrate, Result};
use clap::Subcommand;

use super::by_parser;
use crate::output::{errln, outln, print_json, print_raw, print_table};

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
        /// Also show each row in this currency (e.g. EUR), at the exchange rate of its own day
        /// (`burnrate rates`): adds converted_amount, converted_currency and rate_date.
        #[arg(long, value_name = "CUR")]
        convert_to: Option<String>,
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
        ReportCmd::Daily { by, from, to, json, csv, convert_to: Some(target) } => {
            // Converted only when asked: a display_currency setting leaves scripts' output alone.
            let report = app.daily_report_converted(&ReportQuery { by, from, to }, &target)?;
            if let Some(missing) = &report.total.missing {
                errln!("{missing}; import rates with `burnrate rates import` or run `burnrate rates sync`");
            }
            if json {
                print_json(&report.rows)?;
            } else if csv {
                print_raw(&burnrate_core::ledger::report_csv_converted(&report.rows));
            } else {
                print_converted_report(&report);
            }
        }
        ReportCmd::Daily { by, from, to, json, csv, convert_to: None } => {
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

const NO_SPEND: &str = "no spend in this range; run `burnrate sync` first, or widen --from/--to";

/// A row's cells with the amount as people read it (two places, more below a cent).
fn human_cells(r: &ReportRow) -> Vec<String> {
    let mut c = report_cells(r);
    c[4] = human_amount(&r.amount);
    c
}

fn human_amount(amount: &str) -> String {
    format_human(parse_micros(amount).unwrap_or(0), "").trim_end().to_owned()
}

fn print_report(rows: &[ReportRow]) {
    if rows.is_empty() {
        outln!("{NO_SPEND}");
        return;
    }
    let cells: Vec<Vec<String>> = rows.iter().map(human_cells).collect();
    print_table(&["DAY", "SOURCE", "KEY", "MODEL", "AMOUNT", "CURRENCY", "KIND"], &cells);
}

/// The table with a column in the target currency (headed by its code) and a last line with
/// that column's total: the sum of the rounded rows, as the report computed it. Native amounts
/// of different currencies are never added, so that line has no AMOUNT.
fn print_converted_report(report: &ConvertedReport) {
    if report.rows.is_empty() {
        outln!("{NO_SPEND}");
        return;
    }
    let target = report.total.currency.as_str();
    let converted = |amount: &Option<String>| amount.as_deref().map_or_else(|| "no rate".to_owned(), human_amount);
    let mut cells: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r: &ConvertedReportRow| {
            let mut c = human_cells(&r.row);
            c.push(converted(&r.converted_amount));
            c
        })
        .collect();
    let mut total = vec![String::new(); 8];
    total[0] = "total".into();
    total[7] = report.total.amount.as_ref().map_or_else(|| "unknown".to_owned(), |a| human_amount(a));
    cells.push(total);
    print_table(&["DAY", "SOURCE", "KEY", "MODEL", "AMOUNT", "CURRENCY", "KIND", target], &cells);
}

fn print_csv(rows: &[ReportRow]) {
    print_raw(&burnrate_core::ledger::report_csv(rows));
}
