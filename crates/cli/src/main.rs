//! `burnrate`: the headless command over burnrate-core, for scripts, servers and tests.
//! Every failure prints one line, `error: <message>`, and exits non-zero.
//! Each subcommand lives in `commands/<name>.rs`; all printing goes through `output.rs`, which
//! makes names and messages from providers safe for a terminal.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::logging::Redacted;
use burnrate_core::notify::{DesktopNotifier, Notifier};
use burnrate_core::process::ProcessOptions;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::{Burnrate, Error, Result};
use clap::{Parser, Subcommand};

mod commands;
mod output;

use crate::output::errln;
use commands::{
    alerts, auto_disable, budget, channel, chart, check, doctor, export, import, incident, key, metrics, prices, rates,
    report, serve, settings, source, sync, watch,
};

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
    Source(source::SourceCmd),
    /// Poll every source (or one) once, write the ledger, and exit.
    Sync(sync::SyncArgs),
    /// Spend reports from the ledger.
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Keep polling every source on its schedule until interrupted (for servers); logs each poll.
    Watch(watch::WatchArgs),
    /// What `watch` runs plus a read-only HTTP server: /metrics for Prometheus, /healthz and a
    /// JSON API (docs/api.md). Loopback by default; any other address requires a token.
    Serve(serve::ServeArgs),
    /// Import spend from files.
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// Add, list or remove spending budgets (alerts fire at their thresholds after each sync).
    #[command(subcommand)]
    Budget(budget::BudgetCmd),
    /// The alerts that fired (budget thresholds, forecasts, spikes), newest first.
    Alerts(alerts::AlertsArgs),
    /// Where alerts go besides the desktop: webhook, Slack, Discord, ntfy, e-mail or a command.
    #[command(subcommand)]
    Channel(channel::ChannelCmd),
    /// Switch a leaking key off on its own: rules per key or source (opt-in; --dry-run to try).
    #[command(subcommand)]
    AutoDisable(auto_disable::AutoDisableCmd),
    /// Show or change application settings: time_zone, quiet_hours, alerts_paused_until.
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// Act on a provider key: disable it at the provider, list what was done.
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Incident dossiers: everything Burnrate knows about a key around a spike.
    #[command(subcommand)]
    Incident(incident::IncidentCmd),
    /// The gateway trust checklist: assess a gateway, attach evidence, run the paid test, export a report.
    #[command(subcommand)]
    Check(check::CheckCmd),
    /// Draw a chart of spend to an SVG or PNG file (the format follows the file's extension).
    Chart(chart::ChartArgs),
    /// Export the ledger for other tools: `export focus` writes FOCUS 1.2 CSV.
    #[command(subcommand)]
    Export(export::ExportCmd),
    /// The list prices token estimates use: set one, or see the tokens no price covers.
    #[command(subcommand)]
    Prices(prices::PricesCmd),
    /// Dated exchange rates (per 1 EUR, by day): fetch the ECB's, import your own, list them.
    #[command(subcommand)]
    Rates(rates::RatesCmd),
    /// Check the ledger for damage and back it up; salvage what is readable of a damaged one
    /// into a fresh ledger, keeping the damaged file aside. Stop the app and `watch` first.
    /// Exits 1 when it found damage.
    Doctor(doctor::DoctorArgs),
    /// Print every metric (spend today and this month per source, key and model, budgets,
    /// balances, source health, unpriced tokens, alerts) in the OpenMetrics or Prometheus text
    /// format, or write them atomically to a file for node_exporter's textfile collector.
    Metrics(metrics::MetricsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // `serve` answers HTTP while the poller writes the ledger (SQLite blocks its thread): it gets
    // worker threads of its own. Everything else does one thing at a time.
    let mut builder = if matches!(cli.command, Command::Serve(_)) {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&Error::internal(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    errln!("error: {}", e.message());
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
    Burnrate::from_process(ProcessOptions {
        data_dir: cli.data_dir.clone(),
        http_timeout: Duration::from_secs(cli.timeout),
        retry: RetryPolicy { max_attempts: cli.retries, ..RetryPolicy::default() },
        // Without a desktop session the notifier fails fast and each alert records why.
        notifier: (!cli.no_notify).then(|| Arc::new(DesktopNotifier::new()) as Arc<dyn Notifier>),
    })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let app = match app(&cli) {
        Ok(app) => app,
        // A monitoring check that cannot even start reports "unknown", not "warning".
        Err(e) if matches!(&cli.command, Command::Alerts(args) if args.is_check()) => {
            return Ok(alerts::check_failed(&e));
        }
        Err(e) => return Err(e),
    };
    match cli.command {
        Command::Source(cmd) => source::run(&app, cmd).await,
        Command::Sync(args) => sync::run(&app, args).await,
        Command::Report(cmd) => report::run(&app, cmd),
        Command::Watch(args) => watch::run(app, args).await,
        Command::Serve(args) => serve::run(app, args).await,
        Command::Import(cmd) => import::run(&app, cmd),
        Command::Budget(cmd) => budget::run(&app, cmd),
        Command::Alerts(args) => alerts::run(&app, args),
        Command::Channel(cmd) => channel::run(&app, cmd).await,
        Command::AutoDisable(cmd) => auto_disable::run(&app, cmd),
        Command::Settings(cmd) => settings::run(&app, cmd),
        Command::Key(cmd) => key::run(&app, cmd).await,
        Command::Incident(cmd) => incident::run(&app, cmd),
        Command::Check(cmd) => check::run(&app, cmd).await,
        Command::Chart(args) => chart::run(&app, args),
        Command::Export(cmd) => export::run(&app, cmd),
        Command::Prices(cmd) => prices::run(&app, cmd),
        Command::Rates(cmd) => rates::run(&app, cmd).await,
        Command::Doctor(args) => doctor::run(&app, args),
        Command::Metrics(args) => metrics::run(&app, args),
    }
}
