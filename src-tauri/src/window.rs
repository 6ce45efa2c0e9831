//! The main window. While Burnrate sits in the tray there is none: closing the window destroys
//! it with its web view, so WebKit's web process exits; [`open_main`] builds it again from
//! tauri.conf.json. Its size and position are remembered (see `burnrate_core::window_state`):
//! restored whenever it is built, saved half a second after the last move or resize, when it
//! is closed and when the app quits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::window_state::{self, MonitorArea, WindowGeometry};
use tauri::{
    AppHandle, Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow, WebviewWindowBuilder, Window,
    WindowEvent,
};

/// The main window's label, as in tauri.conf.json (and capabilities/default.json).
pub const MAIN: &str = "main";

/// The minimum size in tauri.conf.json, in logical pixels.
const MIN_SIZE: (f64, f64) = (640.0, 480.0);
const SAVE_DELAY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct WindowMemory {
    dir: PathBuf,
    save_pending: Arc<AtomicBool>,
}

impl WindowMemory {
    pub fn new(dir: PathBuf) -> Self {
        WindowMemory { dir, save_pending: Arc::default() }
    }

    /// Applies the saved geometry to the window, if there is one that fits the monitors now.
    pub fn restore<R: Runtime>(&self, window: &WebviewWindow<R>) {
        let Some(saved) = window_state::load(&self.dir) else { return };
        let monitors: Vec<MonitorArea> = window
            .available_monitors()
            .unwrap_or_default()
            .iter()
            .map(|m| MonitorArea {
                x: m.position().x,
                y: m.position().y,
                width: m.size().width,
                height: m.size().height,
            })
            .collect();
        let scale = window.scale_factor().unwrap_or(1.0);
        let min = ((MIN_SIZE.0 * scale) as u32, (MIN_SIZE.1 * scale) as u32);
        let Some(placement) = window_state::fit(&saved, &monitors, min) else { return };
        let _ = window.set_size(PhysicalSize::new(placement.width, placement.height));
        if let Some((x, y)) = placement.position {
            let _ = window.set_position(PhysicalPosition::new(x, y));
        }
        if placement.maximized {
            let _ = window.maximize();
        }
        tracing::debug!(?placement, "window geometry restored");
    }

    /// Call from the window-event handler: schedules a save after moves and resizes settle.
    pub fn on_event<R: Runtime>(&self, window: &Window<R>, event: &WindowEvent) {
        if window.label() != MAIN || !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
            return;
        }
        if self.save_pending.swap(true, Ordering::AcqRel) {
            return; // a save is already scheduled; it reads the geometry when it runs
        }
        let (memory, window) = (self.clone(), window.clone());
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(SAVE_DELAY).await;
            memory.save_pending.store(false, Ordering::Release);
            memory.save(&window);
        });
    }

    /// Saves the window's current geometry now. A minimized window keeps the last saved one.
    pub fn save<R: Runtime>(&self, window: &Window<R>) {
        if window.is_minimized().unwrap_or(false) {
            return;
        }
        let maximized = window.is_maximized().unwrap_or(false);
        let (Ok(position), Ok(size)) = (window.outer_position(), window.inner_size()) else { return };
        // A maximized window reports the screen's size: keep the normal size from before.
        let previous = window_state::load(&self.dir);
        let geometry = match (maximized, previous) {
            (true, Some(p)) => WindowGeometry { maximized: true, ..p },
            _ => WindowGeometry { x: position.x, y: position.y, width: size.width, height: size.height, maximized },
        };
        if previous == Some(geometry) {
            return;
        }
        if let Err(e) = window_state::save(&self.dir, &geometry) {
            tracing::warn!("cannot remember the window size in {}: {e}", self.dir.display());
        }
    }
}

/// Shows the main window, building it first when there is none (closed to the tray, or a
/// login start). Safe from any thread: the work runs on the main thread.
pub fn open_main<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let window = match handle.get_webview_window(MAIN) {
            Some(window) => window,
            None => match build_main(&handle) {
                Ok(window) => window,
                Err(e) => {
                    tracing::error!("cannot open the Burnrate window: {e}");
                    return;
                }
            },
        };
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    });
}

/// Builds the main window from its entry in tauri.conf.json (where `create: false` keeps Tauri
/// from building it at start), hidden until it has its remembered size and position.
/// Call on the main thread.
pub fn build_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<WebviewWindow<R>> {
    let config =
        app.config().app.windows.iter().find(|w| w.label == MAIN).ok_or_else(|| tauri::Error::WindowNotFound)?.clone();
    let window = WebviewWindowBuilder::from_config(app, &config)?.visible(false).build()?;
    if let Some(memory) = app.try_state::<WindowMemory>() {
        memory.restore(&window);
    }
    window.show()?;
    tracing::info!("window opened");
    Ok(window)
}
