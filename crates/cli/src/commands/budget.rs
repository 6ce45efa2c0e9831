//! `burnrate budget …`: spending budgets; alerts fire at their thresholds after each sync.

use std::process::ExitCode;

use burnrate_core::budgets::parse_threshold_list;
use burnrate_core::budgets::{AddBudgetRequest, BudgetView};
use burnrate_core::money::format_human;
use burnrate_core::{Burnrate, Result};
use clap::Subcommand;

use crate::output::{alert_line, errln, outln, print_json, print_table, report_undelivered};

#[derive(Subcommand)]
pub enum BudgetCmd {
    /// Add a budget; prints its id.
    Add {
        /// total, source:NAME, key:KEY_ID or key:SOURCE/KEY_ID (key ids: `burnrate report daily --by key --json`)
        #[arg(long)]
        scope: String,
        /// day, week (Monday to Sunday) or month, in the time zone setting
        #[arg(long)]
        period: String,
        /// The amount per period, e.g. 50 or 12.50
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// ISO-4217 code [default: USD]; spend in other currencies is converted at each day's rate
        /// (see `burnrate rates`)
        #[arg(long)]
        currency: Option<String>,
        /// Percentages of the amount at which to alert, ascending, 1 to 1000 [default: 50,80,100]
        #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
        thresholds: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List budgets with what was spent in the current period.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a budget (the alerts it fired stay in the history).
    Remove { id: i64 },
}

pub fn run(app: &Burnrate, cmd: BudgetCmd) -> Result<ExitCode> {
    match cmd {
        BudgetCmd::Add { scope, period, amount, currency, thresholds, json } => {
            let thresholds = thresholds.as_deref().map(parse_threshold_list).transpose()?;
            let added = app.add_budget(&AddBudgetRequest { scope, period, amount, currency, thresholds })?;
            let view = added.budget;
            if json {
                print_json(&view)?;
            } else {
                outln!("{}", view.id);
                errln!("added budget {}: {}", view.id, describe_budget(&view));
            }
            // Standard output stays the budget (its id or JSON); what it fired at once goes beside.
            for a in &added.alerts {
                errln!("{}", alert_line(a));
            }
            report_undelivered(&added.alerts);
        }
        BudgetCmd::List { json } => {
            let budgets = app.list_budgets()?;
            if json {
                print_json(&budgets)?;
            } else if budgets.is_empty() {
                outln!("no budgets yet; add one with: burnrate budget add --scope total --period month --amount 50");
            } else {
                print_budgets(&budgets);
            }
        }
        BudgetCmd::Remove { id } => {
            app.remove_budget(id)?;
            outln!("removed budget {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_budget(b: &BudgetView) -> String {
    let amount = burnrate_core::money::parse_micros(&b.amount).unwrap_or(0);
    let thresholds: Vec<String> = b.thresholds.iter().map(|t| format!("{t}%")).collect();
    let scope = match &b.key_name {
        Some(name) => format!("{} ({name})", b.scope),
        None => b.scope.clone(),
    };
    format!(
        "{} per {} for {scope}, alerts at {}",
        format_human(amount, &b.currency),
        b.period.as_str(),
        thresholds.join(", ")
    )
}

fn print_budgets(budgets: &[BudgetView]) {
    let rows: Vec<Vec<String>> = budgets
        .iter()
        .map(|b| {
            let human =
                |d: &str| format_human(burnrate_core::money::parse_micros(d).unwrap_or(0), "").trim_end().to_owned();
            let thresholds: Vec<String> = b.thresholds.iter().map(u32::to_string).collect();
            let estimate = if b.estimated { " (estimate)" } else { "" };
            // A missing rate leaves the sum unknown: say "at least" and why, never a bare smaller number.
            let spent = match (&b.missing_rate, b.spent_known) {
                (Some(missing), false) => format!("at least {}{estimate}; {missing}", human(&b.spent)),
                _ if !b.converted_from.is_empty() => {
                    format!("{}{estimate} (converted from {})", human(&b.spent), b.converted_from.join(", "))
                }
                _ => format!("{}{estimate}", human(&b.spent)),
            };
            vec![
                b.id.to_string(),
                match &b.key_name {
                    Some(name) => format!("{} ({name})", b.scope),
                    None => b.scope.clone(),
                },
                b.period.as_str().to_owned(),
                human(&b.amount),
                b.currency.clone(),
                thresholds.join(","),
                format!("{}..{}", b.period_start, b.period_end),
                spent,
            ]
        })
        .collect();
    print_table(&["ID", "SCOPE", "PERIOD", "AMOUNT", "CURRENCY", "THRESHOLDS %", "CURRENT PERIOD", "SPENT"], &rows);
}
