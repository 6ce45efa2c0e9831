//! burnrate-desktop: the thin Tauri shell. It builds a `Burnrate` from the environment,
//! exposes the core's operations as IPC commands, and owns the window, the tray and logs.

mod commands;
mod tray;

use std::path::PathBuf;
use std::time::Duration;

use burnrate_core::logging::{daily_files, Redacted};
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::HttpClient;
use burnrate_core::secrets::{KeyringBackend, OsKeyring, ProcessEnv};
use burnrate_core::{clock, Burnrate, Result};
use tauri::Manager;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log files kept (one per day).
const LOG_DAYS: usize = 14;

fn build_core() -> Result<Burnrate> {
    let backend = KeyringBackend::parse(&std::env::var("BURNRATE_KEYRING").unwrap_or_default())?;
    Ok(Burnrate::new(
        Paths::resolve(std::env::var_os("BURNRATE_DATA_DIR").map(PathBuf::from))?,
        clock::from_env_value(std::env::var("BURNRATE_NOW").ok().as_deref())?,
        Box::new(ProcessEnv),
        Box::new(OsKeyring::new(backend)),
        HttpClient::new(Duration::from_secs(30), RetryPolicy::default())?,
    ))
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
    let core = match build_core() {
        Ok(core) => core,
        Err(e) => {
            eprintln!("error: {}", e.message());
            std::process::exit(1);
        }
    };
    init_logging(&core.paths);
    tracing::info!(data_dir = %core.paths.data_dir().display(), "starting Burnrate {}", env!("CARGO_PKG_VERSION"));

    let result = tauri::Builder::default()
        // A second launch focuses the running window instead of starting another poller.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| tray::show_main_window(app)))
        .manage(core)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_sources,
            commands::add_source,
            commands::remove_source,
            commands::sync_now,
            commands::daily_report,
        ])
        .setup(|app| {
            tray::create(app.handle())?;
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("the desktop shell stopped: {e}");
        std::process::exit(1);
    }
}

/// The core, from any handle.
pub(crate) fn core<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> tauri::State<'_, Burnrate> {
    app.state::<Burnrate>()
}
