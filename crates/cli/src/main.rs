//! `burnrate`: the headless command over burnrate-core, for scripts, servers and tests.
//! Every failure prints one line, `error: <message>`, and exits non-zero.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::dto::SyncProgress;
use burnrate_core::dto::{
    AlertView, ChartKind, ChartQuery, ChartTheme, Dimension, DisableConfirm, DisableSupport, KeyActionView,
    ReportQuery, ReportRow,
};
use burnrate_core::import::CsvFormat;
use burnrate_core::incident::DossierFormat;
use burnrate_core::logging::Redacted;
use burnrate_core::money::format_human;
use burnrate_core::notify::DesktopNotifier;
use burnrate_core::paths::Paths;
use burnrate_core::poller::{PollerConfig, PollerEvent, PollerHandle};
use burnrate_core::providers::http::{ProgressFn, RetryPolicy};
use burnrate_core::providers::HttpClient;
use burnrate_core::secrets::{KeyringBackend, OsKeyring, ProcessEnv};
use burnrate_core::{clock, Burnrate, Error, ErrorCode, Result};
use clap::{Parser, Subcommand, ValueEnum};

mod commands;
mod output;

use commands::check;
use output::{print_json, print_table};

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
    Report(ReportCmd),
    /// Keep polling every source on its schedule until interrupted (for servers); logs each poll.
    Watch {
        /// Poll every source this often instead of each provider's default interval
        #[arg(long, value_name = "SECS")]
        every: Option<u64>,
    },
    /// Import spend from files.
    #[command(subcommand)]
    Import(ImportCmd),
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
    Key(KeyCmd),
    /// Incident dossiers: everything Burnrate knows about a key around a spike.
    #[command(subcommand)]
    Incident(IncidentCmd),
    /// The gateway trust checklist: assess a gateway, attach evidence, run the paid test, export a report.
    #[command(subcommand)]
    Check(check::CheckCmd),
    /// Draw a chart of spend to an SVG or PNG file (the format follows the file's extension).
    Chart {
        /// daily: spend per UTC day stacked by --by; cumulative: this month's running total
        /// against the monthly budget, with the forecast; hourly: the UTC hours of --to (today),
        /// from the sources that report by the hour
        #[arg(value_enum)]
        kind: ChartKindArg,
        #[arg(long = "by", value_enum, default_value_t = By::Key)]
        by: By,
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
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ChartKindArg {
    Daily,
    Cumulative,
    Hourly,
}

#[derive(Clone, Copy, ValueEnum)]
enum ThemeArg {
    Light,
    Dark,
}

#[derive(Subcommand)]
enum KeyCmd {
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
    /// (rotate: older than the key_rotation_days setting; dormant; no limit; disabled; environment).
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

#[derive(Subcommand)]
enum IncidentCmd {
    /// Export a key's incident dossier: the key, the window, hourly spend per model, the alerts
    /// that fired and the actions taken. Times are UTC.
    Export {
        #[arg(long, value_name = "NAME")]
        source: String,
        /// The provider's id of the key
        #[arg(long = "key", value_name = "KEY_ID")]
        key_id: String,
        /// Center the window on this alert's episode [default: the key's latest spike episode]
        #[arg(long, value_name = "ID")]
        alert: Option<i64>,
        /// Window start: YYYY-MM-DD (UTC) or an RFC 3339 time [default: 48 h before the first spike alert]
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        /// Window end: YYYY-MM-DD (inclusive, UTC) or an RFC 3339 time [default: now]
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = DossierFormatArg::Md)]
        format: DossierFormatArg,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DossierFormatArg {
    Md,
    Csv,
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import daily spend from a CSV file into a source. The file's days are replaced for the
    /// kinds it contains (re-importing never adds); a file with any error imports nothing.
    Csv {
        /// The source to import into (see `burnrate source list`)
        #[arg(long, value_name = "NAME")]
        source: String,
        /// The CSV file; `-` reads standard input
        file: PathBuf,
        /// generic: day,amount,currency[,key_id,key_name,model,kind]; openai: the usage dashboard's
        /// cost export; anthropic: the Claude Console's cost export
        #[arg(long, value_enum, default_value_t = Format::Generic)]
        format: Format,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Generic,
    Openai,
    Anthropic,
}

#[derive(Subcommand)]
enum ReportCmd {
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
        #[arg(long = "by", value_enum)]
        by: Vec<By>,
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

#[derive(Clone, Copy, ValueEnum)]
enum By {
    Key,
    Model,
    Source,
}

fn dimension(by: By) -> Dimension {
    match by {
        By::Key => Dimension::Key,
        By::Model => Dimension::Model,
        By::Source => Dimension::Source,
    }
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
        Command::Report(ReportCmd::Reconcile { from, to, json }) => {
            let rows = app.reconcile(&ReportQuery { by: vec![], from, to })?;
            if json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                println!("nothing to reconcile: no day in this range has both billed and estimated spend");
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
        Command::Report(ReportCmd::Daily { by, from, to, json, csv }) => {
            let by = by.into_iter().map(dimension).collect();
            let rows = app.daily_report(&ReportQuery { by, from, to })?;
            if json {
                print_json(&rows)?;
            } else if csv {
                print_csv(&rows);
            } else {
                print_report(&rows);
            }
        }
        Command::Key(KeyCmd::Disable { source, key_id, alert, yes, acknowledged_irreversible, json }) => {
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
                println!("{}", view.detail);
                println!("recorded as key action #{} ({} of {})", view.id, describe_action_key(&view), view.source);
            }
        }
        Command::Key(KeyCmd::List { json }) => {
            let table = app.key_table()?;
            if json {
                print_json(&table)?;
            } else if table.is_empty() {
                println!("no keys yet; sync a source that lists keys (burnrate sync), or import a CSV with key_id");
            } else {
                print_key_table(&table);
            }
        }
        Command::Key(KeyCmd::Env { source, key_id, environment }) => {
            let label = Some(environment.as_str()).filter(|e| *e != "none");
            app.set_key_environment(&source, &key_id, label)?;
            println!("{source}/{key_id}: environment {environment}");
        }
        Command::Key(KeyCmd::Actions { source, key_id, json }) => {
            let actions = app.key_actions(source.as_deref(), key_id.as_deref())?;
            if json {
                print_json(&actions)?;
            } else if actions.is_empty() {
                println!("no key actions recorded");
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
        Command::Chart { kind, by, from, to, currency, top, theme, out } => {
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
                by: dimension(by),
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
            };
            let view = app.chart(&query)?;
            let bytes = if png { burnrate_core::charts::svg_to_png(&view.svg, 2.0)? } else { view.svg.into_bytes() };
            std::fs::write(&out, &bytes)
                .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", out.display())))?;
            match (&view.empty, &view.currency) {
                (Some(why), _) => eprintln!("note: {why}"),
                (None, Some(currency)) if view.currencies.len() > 1 => eprintln!(
                    "note: drew {currency} only; this range also has {} (use --currency)",
                    view.currencies.iter().filter(|c| *c != currency).cloned().collect::<Vec<_>>().join(", ")
                ),
                _ => {}
            }
            if let Some(note) = &view.note {
                eprintln!("note: {note}");
            }
            println!(
                "wrote {} ({} series, {} to {}, total {} {})",
                out.display(),
                view.series.len(),
                view.from,
                view.to,
                view.total.as_deref().unwrap_or("0"),
                view.currency.as_deref().unwrap_or("")
            );
        }
        Command::Check(cmd) => return check::run(&app, cmd).await,
        Command::Incident(IncidentCmd::Export { source, key_id, alert, from, to, format, out }) => {
            let dossier = app.incident_dossier(&source, &key_id, alert, from.as_deref(), to.as_deref())?;
            let format = match format {
                DossierFormatArg::Md => DossierFormat::Markdown,
                DossierFormatArg::Csv => DossierFormat::Csv,
            };
            let text = dossier.render(format);
            if dossier.spend.is_empty() {
                eprintln!(
                    "note: no spend of key {} was recorded between {} and {} (UTC); sync the source or widen --from/--to",
                    dossier.key.id, dossier.window.from, dossier.window.to
                );
            }
            match out {
                None => print!("{text}"),
                Some(path) => {
                    std::fs::write(&path, text.as_bytes())
                        .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", path.display())))?;
                    println!(
                        "wrote {} ({} spend rows, {} alerts, {} actions; {} to {} UTC)",
                        path.display(),
                        dossier.spend.len(),
                        dossier.alerts.len(),
                        dossier.actions.len(),
                        dossier.window.from,
                        dossier.window.to
                    );
                }
            }
        }
        Command::Import(ImportCmd::Csv { source, file, format, json }) => {
            let format = match format {
                Format::Generic => CsvFormat::Generic,
                Format::Openai => CsvFormat::Openai,
                Format::Anthropic => CsvFormat::Anthropic,
            };
            // Refuse an oversized file before reading it into memory.
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if size > burnrate_core::import::MAX_FILE_BYTES as u64 {
                return Err(Error::invalid_input(format!(
                    "{} is {} MB; Burnrate imports files up to {} MB. Export a shorter date range and import each part",
                    file.display(),
                    size.div_ceil(1024 * 1024),
                    burnrate_core::import::MAX_FILE_BYTES / (1024 * 1024)
                )));
            }
            let data = read_file(&file)?;
            let summary = app.import_csv(&source, format, &data)?;
            if json {
                print_json(&summary)?;
            } else {
                let kinds: Vec<&str> = summary.kinds.iter().map(|k| k.as_str()).collect();
                println!(
                    "imported {} lines as {} rows into {} for {}..{} ({})",
                    summary.lines,
                    summary.rows_written,
                    summary.source,
                    summary.from,
                    summary.to,
                    kinds.join(", ")
                );
            }
        }
        Command::Source(cmd) => return commands::source::run(&app, cmd).await,
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

fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut data).map(drop)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data)).map(drop)
    };
    read.map_err(|e| Error::invalid_input(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
}

fn describe_action_key(a: &KeyActionView) -> String {
    match (&a.key_name, &a.key_fingerprint) {
        (Some(name), Some(fp)) if name != fp => format!("{name} ({fp}, {})", a.key_id),
        (Some(name), _) => format!("{name} ({})", a.key_id),
        (None, Some(fp)) => format!("{fp} ({})", a.key_id),
        (None, None) => a.key_id.clone(),
    }
}

fn report_cells(r: &ReportRow) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.day.clone(),
        opt(&r.source),
        opt(&r.key_name),
        opt(&r.model),
        r.amount.clone(),
        r.currency.clone(),
        r.kind.as_str().to_owned(),
    ]
}

fn print_report(rows: &[ReportRow]) {
    if rows.is_empty() {
        println!("no spend in this range; run `burnrate sync` first, or widen --from/--to");
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
    print!("{}", burnrate_core::ledger::report_csv(rows));
}

fn print_key_table(table: &[burnrate_core::dto::KeyRow]) {
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
