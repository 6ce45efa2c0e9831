//! Remembers the main window's size and position (see `burnrate_core::window_state`): restored
//! at start, saved half a second after the last move or resize and when the app quits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::window_state::{self, MonitorArea, WindowGeometry};
use tauri::{PhysicalPosition, PhysicalSize, Runtime, WebviewWindow, Window, WindowEvent};

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
        if window.label() != "main" || !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
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
