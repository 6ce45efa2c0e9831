//! The framework's floor for scripts/bench-desktop: a Tauri 2 app built like burnrate-desktop
//! (same tauri version and features, same release profile) that does nothing of its own.
//!
//! - `bare-tauri`: only a tray icon (with a Quit item), never a window: what Burnrate hidden in
//!   the tray is measured against.
//! - `bare-tauri --window`: the tray icon and one window of Burnrate's size showing one static
//!   page; logs `page loaded ms=N` (from process start) when the page has loaded: what
//!   Burnrate's open window is measured against.

use std::time::Instant;

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::webview::PageLoadEvent;
use tauri::{RunEvent, WebviewUrl, WebviewWindowBuilder};

fn main() {
    let started = Instant::now();
    let window = std::env::args().any(|a| a == "--window");
    let app = tauri::Builder::default()
        .setup(move |app| {
            let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
            TrayIconBuilder::with_id("bare-tauri")
                .icon(Image::from_bytes(include_bytes!("../../../icons/tray.png"))?)
                .tooltip("bare tauri")
                .menu(&Menu::with_items(app, &[&quit])?)
                .on_menu_event(|app, event| {
                    if event.id.as_ref() == "quit" {
                        app.exit(0);
                    }
                })
                .build(app)?;
            if window {
                // As Burnrate's main window: same size and minimum size.
                WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                    .title("bare tauri")
                    .inner_size(1100.0, 780.0)
                    .min_inner_size(640.0, 480.0)
                    .on_page_load(move |_, payload| {
                        if payload.event() == PageLoadEvent::Finished {
                            eprintln!("page loaded ms={}", started.elapsed().as_millis());
                        }
                    })
                    .build()?;
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the bare tauri app could not start");
    // Like Burnrate in the tray: only an explicit exit ends it.
    app.run(|_, event| {
        if let RunEvent::ExitRequested { code: None, api, .. } = event {
            api.prevent_exit();
        }
    });
}
