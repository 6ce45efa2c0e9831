//! The tray icon: its picture shows the state (normal, warning, over budget), its menu today's
//! and month-to-date spend, the keys spending most today, and Open / Sync now / Pause alerts /
//! Quit. The state comes from `Burnrate::tray_status` (pure logic in the core); this only draws it.

use std::sync::Arc;

use burnrate_core::events::{AppEvent, FocusHandoff, FocusKey};
use burnrate_core::poller::PollerHandle;
use burnrate_core::tray_status::{TrayLevel, TrayStatus};
use burnrate_core::Burnrate;
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub const TRAY_ID: &str = "main-tray";
/// How long "Pause alerts" pauses desktop notifications.
const PAUSE_SECONDS: i64 = 3600;

/// The icon for a status. A stale source greys the flame and adds a clock badge, unless a
/// budget or alert already asks for attention (those icons win; the menu names the stale source).
fn icon_for(status: Option<&TrayStatus>) -> tauri::Result<Image<'static>> {
    let level = status.map_or(TrayLevel::Normal, |s| s.level);
    let stale = status.is_some_and(|s| !s.stale.is_empty());
    Image::from_bytes(match level {
        TrayLevel::Normal if stale => include_bytes!("../../icons/tray-stale.png").as_slice(),
        TrayLevel::Normal => include_bytes!("../../icons/tray.png").as_slice(),
        TrayLevel::Warning => include_bytes!("../../icons/tray-warning.png").as_slice(),
        TrayLevel::Over => include_bytes!("../../icons/tray-over.png").as_slice(),
    })
}

/// "Today 1.20 USD · Month 30.00 USD · as of 14:05", plus a line per stale source.
fn tooltip(status: Option<&TrayStatus>) -> String {
    let Some(status) = status else { return "Burnrate".to_owned() };
    let mut text = status.summary.clone();
    match status.as_of.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => text.push_str(&format!(" · as of {}", t.with_timezone(&chrono::Local).format("%H:%M"))),
        None => text.push_str(" · not synced yet"),
    }
    for s in &status.stale {
        text.push_str(&format!("\n{}: {}", s.source, s.reason));
    }
    text
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = current_status(app);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon_for(status.as_ref())?)
        .tooltip(tooltip(status.as_ref()))
        .menu(&build_menu(app, status.as_ref())?)
        .on_menu_event(|app, event| on_menu(app, event.id.as_ref()))
        .build(app)?;
    Ok(())
}

fn current_status<R: Runtime>(app: &AppHandle<R>) -> Option<TrayStatus> {
    let core = app.try_state::<Arc<Burnrate>>()?;
    match core.tray_status() {
        Ok(status) => Some(status),
        Err(e) => {
            tracing::warn!("tray status unavailable: {}", e.message());
            None
        }
    }
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, status: Option<&TrayStatus>) -> tauri::Result<Menu<R>> {
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = Vec::new();
    let info = |id: &str, text: &str| MenuItem::with_id(app, id, text, false, None::<&str>);
    match status {
        Some(status) => {
            items.push(Box::new(info("summary", &status.summary)?));
            if let Some(reason) = &status.reason {
                items.push(Box::new(info("reason", reason)?));
            }
            for (i, s) in status.stale.iter().enumerate() {
                items.push(Box::new(info(&format!("stale-{i}"), &format!("Not current: {}: {}", s.source, s.reason))?));
            }
            items.push(Box::new(PredefinedMenuItem::separator(app)?));
            if status.top_keys.is_empty() {
                items.push(Box::new(info("no-keys", "No key has spent today")?));
            }
            for key in &status.top_keys {
                let id = format!("key:{}/{}", key.source, key.key_id);
                items.push(Box::new(MenuItem::with_id(app, id, &key.label, true, None::<&str>)?));
            }
        }
        None => items.push(Box::new(info("summary", "Spend unavailable: open Burnrate to see why")?)),
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(MenuItem::with_id(app, "open", "Open Burnrate", true, None::<&str>)?));
    items.push(Box::new(MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?));
    let paused = status.and_then(|s| s.alerts_paused_until.as_deref());
    items.push(Box::new(match paused {
        Some(until) => {
            let time = chrono::DateTime::parse_from_rfc3339(until)
                .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                .unwrap_or_else(|_| until.to_owned());
            MenuItem::with_id(app, "resume-alerts", format!("Resume alerts (paused until {time})"), true, None::<&str>)?
        }
        None => MenuItem::with_id(app, "pause-alerts", "Pause alerts for 1 hour", true, None::<&str>)?,
    }));
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?));
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|i| i.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        "open" => crate::window::open_main(app),
        "sync" => {
            if let Some(poller) = app.try_state::<PollerHandle>() {
                poller.request_sync();
            }
        }
        "pause-alerts" | "resume-alerts" => {
            if let Some(core) = app.try_state::<Arc<Burnrate>>() {
                let seconds = if id == "pause-alerts" { PAUSE_SECONDS } else { 0 };
                match core.pause_alerts(seconds) {
                    Ok(settings) => {
                        let _ = app.emit(AppEvent::SettingsChanged.name(), settings);
                    }
                    Err(e) => tracing::warn!("could not change the alert pause: {}", e.message()),
                }
            }
            refresh(app);
        }
        "quit" => app.exit(0),
        other => {
            if let Some(target) = other.strip_prefix("key:") {
                focus_key(app, target);
            }
        }
    }
}

/// Shows the window on one key; `target` is `SOURCE/KEY_ID` (source names have no `/`). A web
/// view built for this collects the key when its page is ready (`main_window_ready`).
pub fn focus_key<R: Runtime>(app: &AppHandle<R>, target: &str) {
    if let (Some((source, key_id)), Some(handoff)) = (target.split_once('/'), app.try_state::<FocusHandoff>()) {
        if let Some(key) = handoff.request(FocusKey { source: source.into(), key_id: key_id.into() }) {
            let _ = app.emit(AppEvent::FocusKey.name(), key);
        }
    }
    crate::window::open_main(app);
}

/// What a notification's "Open" asks for: `key:SOURCE/KEY_ID`, `budget:ID` or `alerts`.
pub fn open_target<R: Runtime>(app: &AppHandle<R>, target: &str) {
    match target.strip_prefix("key:") {
        Some(key) => focus_key(app, key),
        None => crate::window::open_main(app),
    }
}

/// Redraws icon, tooltip and menu from the ledger. Safe from any thread: the ledger is read
/// here, the menu is swapped on the main thread.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let status = current_status(app);
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let Some(tray) = handle.tray_by_id(TRAY_ID) else { return };
        let result = build_menu(&handle, status.as_ref()).and_then(|menu| {
            tray.set_menu(Some(menu))?;
            tray.set_icon(Some(icon_for(status.as_ref())?))?;
            tray.set_tooltip(Some(tooltip(status.as_ref())))
        });
        if let Err(e) = result {
            tracing::warn!("could not update the tray: {e}");
        }
    });
}
