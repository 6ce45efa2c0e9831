//! A Tauri 2 app that is only a tray icon (with a Quit item) and never has a window: what
//! Burnrate hidden in the tray is measured against (scripts/bench-desktop).

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::RunEvent;

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
            TrayIconBuilder::with_id("bare-tray")
                .icon(Image::from_bytes(include_bytes!("../../../icons/tray.png"))?)
                .tooltip("bare tray")
                .menu(&Menu::with_items(app, &[&quit])?)
                .on_menu_event(|app, event| {
                    if event.id.as_ref() == "quit" {
                        app.exit(0);
                    }
                })
                .build(app)?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the bare tray app could not start");
    // Like Burnrate in the tray: only an explicit exit ends it.
    app.run(|_, event| {
        if let RunEvent::ExitRequested { code: None, api, .. } = event {
            api.prevent_exit();
        }
    });
}
