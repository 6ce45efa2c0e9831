//! `burnrate`: the headless command over burnrate-core, for scripts, servers and tests.
//! Every failure prints one line, `error: <message>`, and exits non-zero.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::dto::AlertView;
use burnrate_core::dto::SyncProgress;
use burnrate_core::logging::Redacted;
use burnrate_core::notify::DesktopNotifier;
use burnrate_core::paths::Paths;
use burnrate_core::poller::{PollerConfig, PollerEvent, PollerHandle};
use burnrate_core::providers::http::{ProgressFn, RetryPolicy};
use burnrate_core::providers::HttpClient;
use burnrate_core::secrets::{KeyringBackend, OsKeyring, ProcessEnv};
use burnrate_core::{clock, Burnrate, Error, Result};
use clap::{Parser, Subcommand};

mod commands;
mod output;

use commands::check;
use output::print_json;

#[derive(Parser)]
#[command(name = "burnrate", version, about = "Watch what your AI API keys spend, locally.")]
struct Cli {
    /// Where the ledger and logs live [default: the platform data directory]
    #[arg(long, global = true, env = "BURNRATE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log more (repeat for more detail). Logs go to stderr, keys redacted.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Seconds to wait for a provider before giving up on a request
    #[arg(long, global = true, env = "BURNRATE_HTTP_TIMEOUT", default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    /// Attempts per request when a provider answers 429/5xx or times out
    #[arg(long, global = true, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10), value_name = "N")]
    retries: u32,
    /// Record alerts without showing desktop notifications (servers, scripts)
    #[arg(long, global = true, env = "BURNRATE_NO_NOTIFY", value_parser = clap::builder::BoolishValueParser::new())]
    no_notify: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list or remove the accounts and gateways Burnrate polls.
    #[command(subcommand)]
    Source(commands::source::SourceCmd),
    /// Poll every source (or one) once, write the ledger, and exit.
    Sync {
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// First UTC day, inclusive (YYYY-MM-DD) [default: 90 days back on the first sync, then incremental]
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// Last UTC day, inclusive (YYYY-MM-DD) [default: today]
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Spend reports from the ledger.
    #[command(subcommand)]
    Report(commands::report::ReportCmd),
    /// Keep polling every source on its schedule until interrupted (for servers); logs each poll.
    Watch {
        /// Poll every source this often instead of each provider's default interval
        #[arg(long, value_name = "SECS")]
        every: Option<u64>,
    },
    /// Import spend from files.
    #[command(subcommand)]
    Import(commands::import::ImportCmd),
    /// Add, list or remove spending budgets (alerts fire at their thresholds after each sync).
    #[command(subcommand)]
    Budget(commands::budget::BudgetCmd),
    /// The alerts that fired (budget thresholds, forecasts, spikes), newest first.
    Alerts(commands::alerts::AlertsArgs),
    /// Show or change application settings: time_zone, quiet_hours, alerts_paused_until.
    #[command(subcommand)]
    Settings(commands::settings::SettingsCmd),
    /// Act on a provider key: disable it at the provider, list what was done.
    #[command(subcommand)]
    Key(commands::key::KeyCmd),
    /// Incident dossiers: everything Burnrate knows about a key around a spike.
    #[command(subcommand)]
    Incident(commands::incident::IncidentCmd),
    /// The gateway trust checklist: assess a gateway, attach evidence, run the paid test, export a report.
    #[command(subcommand)]
    Check(check::CheckCmd),
    /// Draw a chart of spend to an SVG or PNG file (the format follows the file's extension).
    Chart(commands::chart::ChartArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&Error::internal(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("error: {}", e.message());
    ExitCode::FAILURE
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "error",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BURNRATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("burnrate={level},burnrate_core={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacted(std::io::stderr))
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn app(cli: &Cli) -> Result<Burnrate> {
    let env = ProcessEnv;
    let backend = KeyringBackend::parse(&std::env::var("BURNRATE_KEYRING").unwrap_or_default())?;
    let core = Burnrate::new(
        Paths::resolve(cli.data_dir.clone())?,
        clock::from_env_value(std::env::var("BURNRATE_NOW").ok().as_deref())?,
        Box::new(env),
        Box::new(OsKeyring::new(backend)),
        HttpClient::new(
            Duration::from_secs(cli.timeout.max(1)),
            RetryPolicy { max_attempts: cli.retries, ..RetryPolicy::default() },
        )?,
    );
    // Without a desktop session the notifier fails fast and each alert records why.
    Ok(if cli.no_notify { core } else { core.with_notifier(Arc::new(DesktopNotifier::new())) })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let app = app(&cli)?;
    match cli.command {
        Command::Sync { source, from, to, json } => {
            let bar = progress_bar();
            let report = app
                .sync_with_alerts(source.as_deref(), from.as_deref(), to.as_deref(), bar.clone().map(|b| b.sink()))
                .await?;
            if let Some(bar) = bar {
                bar.finish();
            }
            let outcomes = report.outcomes;
            if json {
                print_json(&outcomes)?;
            }
            let mut failed = false;
            for o in &outcomes {
                match &o.error {
                    None if !json => println!("ok: {}: {} rows for {}..{}", o.source, o.rows_written, o.from, o.to),
                    None => {}
                    Some(e) => {
                        failed = true;
                        eprintln!("error: {}: {}", o.source, e.message);
                    }
                }
            }
            if outcomes.is_empty() && !json {
                println!("no sources to sync; add one with `burnrate source add`");
            }
            // With --json, stdout stays the outcomes array; `burnrate alerts --json` lists alerts.
            for a in &report.alerts {
                if json {
                    eprintln!("{}", alert_line(a));
                } else {
                    println!("{}", alert_line(a));
                }
            }
            report_undelivered(&report.alerts);
            if let Some(e) = &report.alerts_error {
                failed = true;
                eprintln!("error: alerts: {}", e.message);
            }
            return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
        Command::Watch { every } => {
            let config =
                PollerConfig { interval: every.map(|s| Duration::from_secs(s.max(1))), ..PollerConfig::default() };
            let poller = PollerHandle::start(Arc::new(app), config);
            let mut events = poller.subscribe();
            eprintln!("watching; press Ctrl-C to stop");
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.recv() => match event {
                        Ok(PollerEvent::Finished(outcomes)) => {
                            for o in outcomes {
                                match o.error {
                                    None => println!("ok: {}: {} rows for {}..{}", o.source, o.rows_written, o.from, o.to),
                                    Some(e) => println!("error: {}: {}", o.source, e.message),
                                }
                            }
                        }
                        Ok(PollerEvent::AlertsFired(alerts)) => {
                            for a in &alerts {
                                println!("{}", alert_line(a));
                            }
                            report_undelivered(&alerts);
                        }
                        Ok(PollerEvent::Progress(_)) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
            eprintln!("stopping after the poll in flight…");
            poller.stop().await;
        }
        Command::Check(cmd) => return check::run(&app, cmd).await,
        Command::Source(cmd) => return commands::source::run(&app, cmd).await,
        Command::Key(cmd) => return commands::key::run(&app, cmd).await,
        Command::Import(cmd) => return commands::import::run(&app, cmd),
        Command::Incident(cmd) => return commands::incident::run(&app, cmd),
        Command::Report(cmd) => return commands::report::run(&app, cmd),
        Command::Chart(args) => return commands::chart::run(&app, args),
        Command::Budget(cmd) => return commands::budget::run(&app, cmd),
        Command::Settings(cmd) => return commands::settings::run(&app, cmd),
        Command::Alerts(args) => return commands::alerts::run(&app, args),
    }
    Ok(ExitCode::SUCCESS)
}

/// Says once on stderr why alerts did not reach the desktop (they are recorded regardless).
fn report_undelivered(alerts: &[AlertView]) {
    let mut reasons: Vec<&str> = alerts.iter().filter_map(|a| a.notify_error.as_deref()).collect();
    reasons.dedup();
    for reason in reasons {
        eprintln!("note: alerts not shown on the desktop: {reason}");
    }
}

/// One line per alert for `sync` and `watch`.
fn alert_line(a: &AlertView) -> String {
    format!("alert: {} — {}", a.title, a.body)
}

/// A progress bar on stderr for long syncs, only when a person is watching.
#[derive(Clone)]
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn sink(self) -> ProgressFn {
        Arc::new(move |p: SyncProgress| {
            self.0.set_length(p.total);
            self.0.set_position(p.done);
            self.0.set_message(format!("{} {}", p.source, p.unit));
        })
    }
    fn finish(self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar() -> Option<Bar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} {msg}").ok()?;
    bar.set_style(style);
    Some(Bar(bar))
}
