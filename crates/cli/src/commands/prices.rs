//! `burnrate prices …`: the list prices token estimates use, and the tokens none of them covers.

use std::process::ExitCode;

use burnrate_core::{Burnrate, Result};
use clap::Subcommand;

use crate::output::{outln, print_json, print_table};

#[derive(Subcommand)]
pub enum PricesCmd {
    /// Set a model's list price in USD per million tokens (kept in the data directory's
    /// model-prices.json, over the bundled list). Estimates use it from the next sync on.
    Set {
        /// The model id as the provider reports it, e.g. claude-opus-5.
        model: String,
        /// USD per million input tokens, e.g. 5 or 2.50.
        #[arg(long)]
        input: String,
        /// USD per million output tokens.
        #[arg(long)]
        output: String,
    },
    /// Tokens no list price covers (estimated at nothing until priced), per source and model.
    Unpriced {
        /// First UTC day (YYYY-MM-DD); default 29 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last UTC day; default today.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(app: &Burnrate, cmd: PricesCmd) -> Result<ExitCode> {
    match cmd {
        PricesCmd::Set { model, input, output } => {
            app.set_model_price(&model, &input, &output)?;
            outln!(
                "priced {}: {input} USD per million input tokens, {output} per million output tokens; \
                 run `burnrate sync` to re-estimate its tokens",
                model.trim()
            );
        }
        PricesCmd::Unpriced { from, to, json } => {
            let unpriced = app.unpriced(from, to)?;
            if json {
                print_json(&unpriced)?;
            } else if unpriced.is_empty() {
                outln!("every model with tokens in this range has a list price");
            } else {
                let cells: Vec<Vec<String>> = unpriced
                    .iter()
                    .map(|u| {
                        vec![
                            u.source.clone(),
                            if u.model.is_empty() { "(no model)".into() } else { u.model.clone() },
                            burnrate_core::money::thousands(u.tokens),
                        ]
                    })
                    .collect();
                print_table(&["SOURCE", "MODEL", "TOKENS NOT PRICED"], &cells);
                outln!();
                outln!("price one with: burnrate prices set MODEL --input USD_PER_MILLION --output USD_PER_MILLION");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
