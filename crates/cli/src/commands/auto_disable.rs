//! `burnrate auto-disable …`: opt-in rules that switch a leaking key off at the provider on a
//! spike or a key budget reaching 100 %, where the provider can switch it back on.

use std::process::ExitCode;

use burnrate_core::auto_disable::{AddAutoDisableRequest, AutoDisableRuleView, AutoDisableTrigger};
use burnrate_core::{Burnrate, Result};
use clap::{Subcommand, ValueEnum};

use crate::output::{errln, outln, print_json, print_table};

#[derive(Subcommand)]
pub enum AutoDisableCmd {
    /// Add a rule for one key (--key) or every key of a source. OpenRouter, LiteLLM and
    /// Anthropic only: OpenAI can only delete keys, which Burnrate never does on its own.
    Add {
        /// The source whose keys the rule watches
        source: String,
        /// The provider's key id (`burnrate report daily --by key --json` lists them) [default: every key]
        #[arg(long = "key", value_name = "KEY_ID")]
        key_id: Option<String>,
        /// When to act; repeat or separate with commas
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["spike", "budget"])]
        on: Vec<Trigger>,
        /// Record what would have been done (and write the incident report), but send nothing
        #[arg(long)]
        dry_run: bool,
        /// Hours after an action during which alerts on the same key cause no other [default: 6]
        #[arg(long, value_name = "HOURS")]
        cooldown_hours: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// List the rules and how many actions each took.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule (the actions it took stay in `burnrate key actions`).
    Remove { id: i64 },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Trigger {
    /// A spend spike on the key
    Spike,
    /// A budget scoped to the key reaching 100 %
    Budget,
}

pub fn run(app: &Burnrate, cmd: AutoDisableCmd) -> Result<ExitCode> {
    match cmd {
        AutoDisableCmd::Add { source, key_id, on, dry_run, cooldown_hours, json } => {
            let on = on
                .into_iter()
                .map(|t| match t {
                    Trigger::Spike => AutoDisableTrigger::Spike,
                    Trigger::Budget => AutoDisableTrigger::Budget,
                })
                .collect();
            let rule = app.add_auto_disable(&AddAutoDisableRequest { source, key_id, on, dry_run, cooldown_hours })?;
            if json {
                print_json(&rule)?;
            } else {
                outln!("{}", rule.id);
                errln!("added auto-disable rule {}: {}", rule.id, describe(&rule));
            }
        }
        AutoDisableCmd::List { json } => {
            let rules = app.list_auto_disable()?;
            if json {
                print_json(&rules)?;
            } else if rules.is_empty() {
                outln!("no auto-disable rules; add one with: burnrate auto-disable add SOURCE --dry-run");
            } else {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.source.clone(),
                            key_label(r),
                            triggers(r),
                            if r.dry_run { "dry run" } else { "disable" }.to_owned(),
                            format!("{} h", r.cooldown_hours),
                            r.actions.to_string(),
                        ]
                    })
                    .collect();
                print_table(&["ID", "SOURCE", "KEY", "ON", "DOES", "COOLDOWN", "ACTIONS"], &rows);
            }
        }
        AutoDisableCmd::Remove { id } => {
            app.remove_auto_disable(id)?;
            outln!("removed auto-disable rule {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key_label(r: &AutoDisableRuleView) -> String {
    match (&r.key_id, &r.key_name) {
        (Some(id), Some(name)) => format!("{name} ({id})"),
        (Some(id), None) => id.clone(),
        (None, _) => "every key".to_owned(),
    }
}

fn triggers(r: &AutoDisableRuleView) -> String {
    r.on.iter()
        .map(|t| match t {
            AutoDisableTrigger::Spike => "spike",
            AutoDisableTrigger::Budget => "budget 100%",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(r: &AutoDisableRuleView) -> String {
    format!(
        "{} {} of {} on {}, at most once per alert, {} h apart{}",
        if r.dry_run { "would disable (dry run)" } else { "disables" },
        key_label(r),
        r.source,
        triggers(r),
        r.cooldown_hours,
        if r.dry_run { "; nothing is sent to the provider" } else { "" }
    )
}
