//! `burnrate source …`: the accounts and gateways Burnrate polls.

use std::process::ExitCode;

use burnrate_core::dto::{AddSourceRequest, KeyInput, SourceView};
use burnrate_core::providers::ProviderId;
use burnrate_core::settings::parse_assignment;
use burnrate_core::{Burnrate, Result};
use clap::{Args, Subcommand};

use crate::output::{errln, outln, print_json, print_table};

#[derive(Subcommand)]
pub enum SourceCmd {
    /// Add a source. The key goes to the OS secret store (--key-stdin) or stays in an environment variable (--key-env).
    Add {
        /// openai, anthropic, openrouter, deepseek, litellm, new-api, sub2api or custom-json
        provider: String,
        #[arg(long)]
        name: String,
        /// The API root in the provider SDK's convention [default: the provider's official URL]
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
        /// A provider-specific setting, e.g. --set quota_per_usd=500000 (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List sources with their key fingerprints and last sync.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a source, its ledger rows and its stored key.
    Remove { name: String },
    /// Poll a source's last two UTC days without writing anything, and print what its key can
    /// read (keys, spend per key/model, balance). Exits 1 when the provider refuses.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct KeyArgs {
    /// Read the key from this environment variable at every sync; it is never stored
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
    /// Read the key from standard input and keep it in the OS secret store
    #[arg(long)]
    key_stdin: bool,
}

pub async fn run(app: &Burnrate, cmd: SourceCmd) -> Result<ExitCode> {
    match cmd {
        SourceCmd::Add { provider, name, base_url, key, set, json } => {
            let provider: ProviderId = provider.parse()?;
            let key = match (key.key_env, key.key_stdin) {
                (Some(var), _) => KeyInput::Env { var },
                (None, _) => KeyInput::Secret {
                    value: super::read_secret_from_stdin(
                        "the API key",
                        "printenv MY_KEY | burnrate source add … --key-stdin",
                    )?,
                },
            };
            let settings = set.iter().map(|a| parse_assignment(a)).collect::<Result<_>>()?;
            let view = app.add_source(&AddSourceRequest { provider, name, base_url, key, settings: Some(settings) })?;
            if json {
                print_json(&view)?;
            } else {
                outln!("added {} ({}), key {}", view.name, view.provider, describe_key(&view));
            }
            if let Some(warning) = &view.cleartext_warning {
                errln!("warning: {warning}");
            }
        }
        SourceCmd::List { json } => {
            let sources = app.list_sources()?;
            if json {
                print_json(&sources)?;
            } else if sources.is_empty() {
                outln!(
                    "no sources yet; add one with: burnrate source add openai --name work --key-env OPENAI_ADMIN_KEY"
                );
            } else {
                print_sources(&sources);
            }
        }
        SourceCmd::Remove { name } => {
            app.remove_source(&name)?;
            outln!("removed {}", name.trim());
        }
        SourceCmd::Test { name, json } => {
            let check = app.test_source(&name).await?;
            if json {
                print_json(&check)?;
            } else if let Some(error) = &check.error {
                errln!("error: {} ({:?})", error.message, error.code);
            } else {
                outln!(
                    "connected to {} with {} in {} ms; what it can read for {} to {} (UTC):",
                    check.base_url,
                    check.key_fingerprint,
                    check.elapsed_ms,
                    check.from,
                    check.to
                );
                for item in &check.readable {
                    outln!("  {} {}: {}", if item.readable { "yes" } else { "no " }, item.what, item.detail);
                }
            }
            return Ok(if check.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_key(s: &SourceView) -> String {
    let fp = s.key_fingerprint.as_deref().unwrap_or("…");
    match &s.key_env_var {
        Some(var) => format!("{fp} from ${var}"),
        None => format!("{fp} in the OS secret store"),
    }
}

fn print_sources(sources: &[SourceView]) {
    let rows: Vec<Vec<String>> = sources
        .iter()
        .map(|s| {
            let status = match &s.last_sync {
                None => "never synced".to_owned(),
                Some(r) if r.ok => format!("ok {} ({} rows)", r.finished_at, r.rows_written),
                Some(r) => {
                    format!("failed {}: {}", r.finished_at, r.error.as_ref().map(|e| e.message.as_str()).unwrap_or(""))
                }
            };
            vec![s.name.clone(), s.provider.to_string(), s.base_url.clone(), describe_key(s), status]
        })
        .collect();
    print_table(&["NAME", "PROVIDER", "BASE URL", "KEY", "LAST SYNC"], &rows);
    for s in sources {
        if let Some(warning) = &s.cleartext_warning {
            errln!("warning: {}: {warning}", s.name);
        }
    }
}
