//! burnrate-desktop: the thin Tauri shell. It builds a `Burnrate` from the environment,
//! exposes the core's operations as IPC commands, and owns the window, the tray and logs.

mod commands;
mod local_server;
mod tray;
mod webkit_helpers;
mod window;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use burnrate_core::environment::{Environment, ProcessEnv};
use burnrate_core::events::{AppEvent, FocusHandoff};
use burnrate_core::logging::{daily_files, Redacted};
use burnrate_core::notify::DesktopNotifier;
use burnrate_core::paths::Paths;
use burnrate_core::process::ProcessOptions;
use burnrate_core::{Burnrate, Result};

use burnrate_core::alerts::AlertKind;
use burnrate_core::checklist::watch::UrlStatus;
use burnrate_core::poller::{PollerConfig, PollerEvent, PollerHandle};
use tauri::{Emitter, Manager};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The argument a login start passes: begin hidden in the tray.
pub(crate) const START_HIDDEN: &str = "--hidden";

/// Log files kept (one per day).
const LOG_DAYS: usize = 14;

/// When the process started, for the one "first chart" line (start-up time, in the log).
static STARTED: OnceLock<std::time::Instant> = OnceLock::new();
static FIRST_CHART: OnceLock<()> = OnceLock::new();

/// Logs, once per run, how long the app took from start to its first chart.
pub(crate) fn log_first_chart() {
    if FIRST_CHART.set(()).is_ok() {
        let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
        tracing::info!(ms, "first chart drawn");
    }
}

/// Turns WebKitGTK's accelerated compositing off unless the user chose otherwise. Measured
/// against a bare Tauri app on a machine without a GPU (docs/performance.md): with it on, the
/// web process keeps GL tile buffers of about 110 MB and spends 4.6 s of CPU in the 10 s after
/// the first chart re-rasterising through software GL; off, 98 MB instead of 209 MB and 0.96 s.
/// A monitor's pages need no GPU effects. `BURNRATE_WEBKIT_COMPOSITING=on` keeps WebKit's
/// default; a `WEBKIT_DISABLE_COMPOSITING_MODE` already set is left as it is.
#[cfg(target_os = "linux")]
// Read and set before GTK, WebKit or any other thread starts: the Environment does not exist
// yet, and WebKit reads the variable from the process environment when it starts.
#[allow(clippy::disallowed_methods)]
fn software_compositing_by_default() {
    const WEBKIT: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    let keep_default = std::env::var("BURNRATE_WEBKIT_COMPOSITING").is_ok_and(|v| v.trim().eq_ignore_ascii_case("on"));
    if !keep_default && std::env::var_os(WEBKIT).is_none() {
        std::env::set_var(WEBKIT, "1");
    }
}

/// Set once the app runs, so a notification's "Open" (answered on another thread) can reach it.
type AppCell = Arc<OnceLock<tauri::AppHandle>>;

fn build_core(app_cell: AppCell) -> Result<Burnrate> {
    let notifier = DesktopNotifier::with_open_handler(move |target| {
        if let Some(app) = app_cell.get() {
            tray::open_target(app, &target);
        }
    });
    Burnrate::from_process(ProcessOptions { notifier: Some(Arc::new(notifier)), ..ProcessOptions::default() })
}

fn init_logging(paths: &Paths) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BURNRATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,burnrate_core=info,burnrate_desktop=info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(Redacted(std::io::stderr));
    let registry = tracing_subscriber::registry().with(filter).with(stderr);
    match daily_files(&paths.log_dir(), LOG_DAYS) {
        Ok(files) => registry.with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(files)).init(),
        Err(e) => {
            registry.init();
            tracing::warn!("cannot write log files in {}: {e}", paths.log_dir().display());
        }
    }
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    #[cfg(target_os = "linux")]
    software_compositing_by_default();
    let app_cell = AppCell::default();
    let core = match build_core(app_cell.clone()) {
        Ok(core) => core,
        Err(e) => {
            eprintln!("error: {}", e.message());
            std::process::exit(1);
        }
    };
    init_logging(&core.paths);
    tracing::info!(data_dir = %core.paths.data_dir().display(), "starting Burnrate {}", env!("CARGO_PKG_VERSION"));

    let memory = window::WindowMemory::new(core.paths.data_dir().to_path_buf());
    let core = Arc::new(core);
    let app = tauri::Builder::default()
        // A second launch opens the running app's window instead of starting another poller.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| window::open_main(app)))
        // Start at login (off until the user turns it on): an XDG autostart entry on Linux, a
        // LaunchAgent on macOS, the Run key on Windows; a login start begins in the tray.
        .plugin(tauri_plugin_autostart::Builder::new().app_name("Burnrate").args([START_HIDDEN]).build())
        .manage(core.clone())
        .manage(memory.clone())
        .manage(FocusHandoff::default())
        .manage(local_server::LocalServer::default())
        .on_window_event(|window, event| {
            if window.label() != window::MAIN {
                return;
            }
            match event {
                // The window goes away now (with its web view); remember where it was. Whether
                // the app goes too is decided at ExitRequested below.
                tauri::WindowEvent::CloseRequested { .. } => {
                    tracing::debug!("window close requested");
                    window.state::<window::WindowMemory>().save(window)
                }
                tauri::WindowEvent::Destroyed => {
                    window.state::<FocusHandoff>().page_gone();
                    webkit_helpers::end_network_process_when_idle(window.app_handle());
                }
                _ => window.state::<window::WindowMemory>().on_event(window, event),
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_sources,
            commands::add_source,
            commands::remove_source,
            commands::sync_now,
            commands::poller_status,
            commands::set_polling_paused,
            commands::daily_report,
            commands::reconcile,
            commands::import_csv,
            commands::test_connection,
            commands::test_source,
            commands::set_key_environment,
            commands::chart,
            commands::key_table,
            commands::spend_headline,
            commands::rates_status,
            commands::set_model_price,
            commands::export_ledger,
            commands::save_chart,
            commands::list_budgets,
            commands::add_budget,
            commands::remove_budget,
            commands::list_alerts,
            commands::list_channels,
            commands::add_channel,
            commands::remove_channel,
            commands::test_channel,
            commands::list_auto_disable,
            commands::add_auto_disable,
            commands::remove_auto_disable,
            commands::get_settings,
            commands::set_setting,
            commands::pause_alerts,
            commands::disable_key,
            commands::key_actions,
            commands::export_incident,
            commands::tray_status,
            commands::list_assessments,
            commands::new_assessment,
            commands::update_assessment,
            commands::remove_evidence,
            commands::get_assessment,
            commands::answer_question,
            commands::set_red_flag,
            commands::attach_url,
            commands::attach_note,
            commands::attach_file,
            commands::duplicate_assessment,
            commands::delete_assessment,
            commands::smoke_plan,
            commands::smoke_run,
            commands::export_assessment_report,
            commands::recheck_urls,
            commands::start_at_login,
            commands::set_start_at_login,
            commands::main_window_ready,
        ])
        .setup(move |app| {
            // The window first, so its page loads while the rest starts. A login start has no
            // window (nor web view) until the user opens one.
            if !std::env::args().any(|a| a == START_HIDDEN) {
                window::build_main(app.handle())?;
            }
            // PollerHandle::start spawns on the runtime it is called from: Tauri's.
            let poller = tauri::async_runtime::block_on(async {
                PollerHandle::start(core.clone(), poller_config(core.env.as_ref()))
            });
            forward_events(app.handle().clone(), poller.subscribe());
            recheck_pages_daily(app.handle().clone(), core.clone());
            redraw_tray_regularly(app.handle().clone());
            app.manage(poller);
            // Off by default; a port taken by another program must not stop the app.
            if let Err(e) = local_server::apply(app.handle()) {
                tracing::warn!(code = ?e.code, "the local server did not start: {}", e.message());
            }
            tray::create(app.handle())?;
            quit_on_sigterm(app.handle().clone());
            let _ = app_cell.set(app.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) if e.to_string().contains("failed to forward arguments to the running instance") => {
            relaunch_after_a_quitting_instance(&e, &ProcessEnv)
        }
        Err(e) => {
            tracing::error!("the desktop shell could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(move |handle, event| match event {
        // No code: the last window was closed (by the user: Burnrate has one). Stay in the
        // tray unless the user turned that off; the tray's Quit asks with a code.
        tauri::RunEvent::ExitRequested { code: None, api, .. } if core_of(handle).closes_to_tray() => {
            api.prevent_exit();
            tracing::info!("window closed; Burnrate keeps watching from the tray");
            let core = core_of(handle);
            // The notification waits for the daemon's answer: not on the event loop.
            tauri::async_runtime::spawn_blocking(move || {
                if let Err(e) = core.announce_running_in_tray() {
                    tracing::warn!(code = ?e.code, "could not say that Burnrate keeps running: {}", e.message());
                }
            });
        }
        tauri::RunEvent::ExitRequested { .. } => {
            if let Some(main) = handle.get_webview_window(window::MAIN) {
                memory.save(&main.as_ref().window());
            }
        }
        tauri::RunEvent::Exit => {
            local_server::stop(handle);
            // Let a poll in flight finish so its data is kept.
            if let Some(poller) = handle.try_state::<PollerHandle>() {
                tauri::async_runtime::block_on(poller.inner().shutdown());
            }
            tracing::info!("Burnrate quit");
        }
        _ => {}
    });
}

fn core_of(app: &tauri::AppHandle) -> Arc<Burnrate> {
    app.state::<Arc<Burnrate>>().inner().clone()
}

/// SIGTERM (the session ending, `kill`) quits like the tray's Quit: a poll in flight finishes
/// and the window's geometry is saved.
fn quit_on_sigterm(app: tauri::AppHandle) {
    #[cfg(unix)]
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                if terminate.recv().await.is_some() {
                    tracing::info!("SIGTERM: quitting");
                    app.exit(0);
                }
            }
            Err(e) => tracing::warn!("cannot listen for SIGTERM: {e}"),
        }
    });
    #[cfg(not(unix))]
    let _ = app;
}

/// `BURNRATE_POLL_SECONDS` overrides every source's interval (tests, demos); `off` disables
/// background polling (manual syncs still work).
fn poller_config(env: &dyn Environment) -> PollerConfig {
    let mut config = PollerConfig::default();
    if let Some(value) = env.var("BURNRATE_POLL_SECONDS") {
        match value.trim() {
            "off" => config.background = false,
            v => match v.parse::<u64>() {
                Ok(secs) if secs > 0 => config.interval = Some(Duration::from_secs(secs)),
                _ => tracing::warn!("ignoring BURNRATE_POLL_SECONDS={v:?}: use a number of seconds or \"off\""),
            },
        }
    }
    config
}

/// Events for the web view: `sync-progress` while a long sync runs, `sync-finished` after.
fn forward_events(app: tauri::AppHandle, mut events: tokio::sync::broadcast::Receiver<PollerEvent>) {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(PollerEvent::Progress(p)) => {
                    let _ = app.emit(AppEvent::SyncProgress.name(), p);
                }
                Ok(PollerEvent::Finished(outcomes)) => {
                    let _ = app.emit(AppEvent::SyncFinished.name(), outcomes);
                    tray::refresh(&app);
                }
                Ok(PollerEvent::AlertsFired(alerts)) => {
                    let _ = app.emit(AppEvent::AlertsFired.name(), alerts);
                    tray::refresh(&app);
                }
                Ok(PollerEvent::StatusChanged(statuses)) => {
                    let _ = app.emit(AppEvent::PollerStatus.name(), statuses);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Compares the pages attached as gateway evidence with their last fetch once a day (the first
/// time a minute after start); a change fires a `terms_changed` alert through the core.
/// Redraws the tray every few minutes even when nothing syncs, so a source that stopped
/// syncing turns the icon stale (the check is cheap: a few reads of the ledger).
fn redraw_tray_regularly(app: tauri::AppHandle) {
    const EVERY: Duration = Duration::from_secs(5 * 60);
    tauri::async_runtime::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            tray::refresh(&app);
        }
    });
}

fn recheck_pages_daily(app: tauri::AppHandle, core: Arc<Burnrate>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut every_day = tokio::time::interval(Duration::from_secs(86_400));
        every_day.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every_day.tick().await;
            let started = burnrate_core::days::ts_to_rfc3339(core.clock.now().timestamp());
            match core.recheck_urls(None).await {
                Ok(checks) if checks.iter().any(|c| c.status == UrlStatus::Changed) => {
                    // The alerts this check fired, for the app's toast (the history re-reads them too).
                    let fired: Vec<_> = core
                        .list_alerts(Some(50))
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|a| a.kind == AlertKind::TermsChanged && a.fired_at >= started)
                        .collect();
                    let _ = app.emit(AppEvent::AlertsFired.name(), fired);
                    tray::refresh(&app);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(code = ?e.code, "checking the gateways' evidence pages failed: {}", e.message())
                }
            }
        }
    });
}

/// How many times a launch that met a quitting instance starts itself again, half a second apart.
const RELAUNCH_ATTEMPTS: u32 = 6;
const RELAUNCH_ENV: &str = "BURNRATE_RELAUNCH_ATTEMPT";

/// Another Burnrate still held the single-instance name but was quitting: it left the bus
/// without taking this launch's arguments. A moment later the name is free, so start again
/// (GTK and the plugin cannot be set up twice in one process; on Unix the process replaces
/// itself). After a few tries, say so and stop.
fn relaunch_after_a_quitting_instance(error: &tauri::Error, env: &dyn Environment) -> ! {
    let attempt: u32 = env.var(RELAUNCH_ENV).and_then(|v| v.parse().ok()).unwrap_or(0);
    if attempt >= RELAUNCH_ATTEMPTS {
        tracing::error!(
            "the desktop shell could not start: another Burnrate kept quitting without letting go: {error}"
        );
        eprintln!("error: another Burnrate is still quitting; start Burnrate again in a few seconds");
        std::process::exit(1);
    }
    tracing::warn!(attempt, "another Burnrate was quitting as this one started; starting again: {error}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut command = std::process::Command::new(std::env::current_exe().unwrap_or_else(|_| "burnrate-desktop".into()));
    command.args(std::env::args_os().skip(1)).env(RELAUNCH_ENV, (attempt + 1).to_string());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = command.exec();
        tracing::error!("the desktop shell could not start again: {e}");
        std::process::exit(1);
    }
    #[cfg(not(unix))]
    {
        let code = command.status().ok().and_then(|s| s.code()).unwrap_or(1);
        std::process::exit(code);
    }
}
