//! `burnrate key …`: act on a provider key and list what was done; the key table.

use std::process::ExitCode;

use burnrate_core::key_actions::{DisableConfirm, KeyActionView};
use burnrate_core::providers::DisableSupport;
use burnrate_core::{Burnrate, Error, ErrorCode, Result};
use clap::Subcommand;

use crate::output::{outln, print_json, print_table};

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Disable a key at its provider (OpenRouter, LiteLLM and Anthropic switch it off; OpenAI can
    /// only delete it). Every app using the key stops working. The attempt is recorded.
    Disable {
        /// The source the key belongs to (see `burnrate source list`)
        #[arg(long, value_name = "NAME")]
        source: String,
        /// The provider's id of the key, as `burnrate report daily --by key --json` lists it
        key_id: String,
        /// The alert this answers, recorded with the action
        #[arg(long, value_name = "ID")]
        alert: Option<i64>,
        /// Confirm that every app using the key stops working
        #[arg(long)]
        yes: bool,
        /// Acknowledge that the provider deletes the key for good (required for OpenAI)
        #[arg(long = "i-understand-this-deletes-the-key")]
        acknowledged_irreversible: bool,
        #[arg(long)]
        json: bool,
    },
    /// The key table: spend today / 7 / 30 days per key and currency, with the inventory flags
    /// (rotate: older than the key_rotation_days setting; dormant: no use in 30 days; no limit: the
    /// provider offers per-key limits and none is set; disabled; tokens not priced; environment).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Label a key dev, staging or prod (none clears it); syncs keep the label.
    Env {
        #[arg(long, value_name = "NAME")]
        source: String,
        key_id: String,
        #[arg(value_parser = ["dev", "staging", "prod", "none"])]
        environment: String,
    },
    /// List the actions taken on keys, newest first, successful or not.
    Actions {
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        #[arg(long = "key", value_name = "KEY_ID")]
        key_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(app: &Burnrate, cmd: KeyCmd) -> Result<ExitCode> {
    match cmd {
        KeyCmd::Disable { source, key_id, alert, yes, acknowledged_irreversible, json } => {
            let confirm = DisableConfirm { confirmed: yes, acknowledged_irreversible };
            let view = match app.disable_key(&source, &key_id, confirm, alert).await {
                Err(e) if e.code == ErrorCode::ConfirmationRequired => {
                    let irreversible = app.disable_support(&source)? == DisableSupport::Irreversible;
                    let flags = match (yes, irreversible) {
                        (false, true) => "--yes --i-understand-this-deletes-the-key",
                        (false, false) => "--yes",
                        (true, _) => "--i-understand-this-deletes-the-key",
                    };
                    return Err(Error::new(e.code, format!("{}; re-run with {flags}", e.message())));
                }
                other => other?,
            };
            if json {
                print_json(&view)?;
            } else {
                outln!("{}", view.detail);
                outln!("recorded as key action #{} ({} of {})", view.id, describe_action_key(&view), view.source);
            }
        }
        KeyCmd::List { json } => {
            let table = app.key_table()?;
            if json {
                print_json(&table)?;
            } else if table.is_empty() {
                outln!("no keys yet; sync a source that lists keys (burnrate sync), or import a CSV with key_id");
            } else {
                print_key_table(&table);
            }
        }
        KeyCmd::Env { source, key_id, environment } => {
            let label = Some(environment.as_str()).filter(|e| *e != "none");
            app.set_key_environment(&source, &key_id, label)?;
            outln!("{source}/{key_id}: environment {environment}");
        }
        KeyCmd::Actions { source, key_id, json } => {
            let actions = app.key_actions(source.as_deref(), key_id.as_deref())?;
            if json {
                print_json(&actions)?;
            } else if actions.is_empty() {
                outln!("no key actions recorded");
            } else {
                let rows: Vec<Vec<String>> = actions
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.requested_at.clone(),
                            a.source.clone(),
                            describe_action_key(a),
                            if a.ok { "disabled".into() } else { "failed".into() },
                            a.detail.clone(),
                        ]
                    })
                    .collect();
                print_table(&["ID", "REQUESTED (UTC)", "SOURCE", "KEY", "RESULT", "DETAIL"], &rows);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_action_key(a: &KeyActionView) -> String {
    match (&a.key_name, &a.key_fingerprint) {
        (Some(name), Some(fp)) if name != fp => format!("{name} ({fp}, {})", a.key_id),
        (Some(name), _) => format!("{name} ({})", a.key_id),
        (None, Some(fp)) => format!("{fp} ({})", a.key_id),
        (None, None) => a.key_id.clone(),
    }
}

fn print_key_table(table: &[burnrate_core::dashboard::KeyRow]) {
    let rows: Vec<Vec<String>> = table
        .iter()
        .map(|r| {
            let mut flags = Vec::new();
            if r.rotation_due {
                flags.push(format!("rotate ({} days old)", r.age_days.unwrap_or_default()));
            }
            if r.dormant {
                flags.push("dormant".to_owned());
            }
            if r.no_limit {
                flags.push("no limit".to_owned());
            }
            if r.disabled {
                flags.push("disabled".to_owned());
            }
            if r.unpriced_tokens > 0 {
                flags.push(format!("{} tokens not priced", burnrate_core::money::thousands(r.unpriced_tokens)));
            }
            let money = |m: &str| if r.currency.is_empty() { "-".to_owned() } else { format!("{m} {}", r.currency) };
            vec![
                r.source.clone(),
                match (&r.name, &r.fingerprint) {
                    (Some(n), Some(f)) => format!("{n} ({f})"),
                    (Some(n), None) => n.clone(),
                    (None, Some(f)) => f.clone(),
                    (None, None) => r.key_id.clone(),
                },
                r.environment.clone().unwrap_or_else(|| "-".into()),
                money(&r.today),
                money(&r.last_7_days),
                money(&r.last_30_days),
                format!("{}.{:02} %", r.share_basis_points / 100, r.share_basis_points % 100),
                flags.join(", "),
            ]
        })
        .collect();
    print_table(&["SOURCE", "KEY", "ENV", "TODAY", "7 DAYS", "30 DAYS", "SHARE", "FLAGS"], &rows);
}
