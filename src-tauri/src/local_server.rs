//! The desktop app's local server (the `serve_local` setting, off by default): what
//! `burnrate serve` answers, on 127.0.0.1:`serve_port`, next to the app's own poller. Started at
//! launch when on; started, moved or stopped when Settings change it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use burnrate_core::serve::{ServeOptions, Server};
use burnrate_core::{Burnrate, Result};
use tauri::Manager;
use tokio::sync::oneshot;

/// The running server, if any, and the port it answers on.
#[derive(Default)]
pub struct LocalServer(Mutex<Option<Running>>);

struct Running {
    port: u16,
    stop: oneshot::Sender<()>,
}

/// Makes the server match the settings: on at `serve_port`, or off. Nothing changes on error.
pub fn apply(app: &tauri::AppHandle) -> Result<()> {
    let core = app.state::<Arc<Burnrate>>().inner().clone();
    let settings = core.get_settings()?;
    let wanted = settings.serve_local.then_some(settings.serve_port);
    let state = app.state::<LocalServer>();
    let mut running = state.0.lock().unwrap_or_else(|p| p.into_inner());
    if running.as_ref().map(|r| r.port) == wanted {
        return Ok(());
    }
    let started = match wanted {
        Some(port) => Some(start(core, port)?),
        None => None,
    };
    if let Some(old) = std::mem::replace(&mut *running, started) {
        // Requests in flight finish; the old port is let go.
        let _ = old.stop.send(());
        tracing::info!(port = old.port, "local server stopped");
    }
    Ok(())
}

fn start(core: Arc<Burnrate>, port: u16) -> Result<Running> {
    // A token stored with `burnrate serve --store-token` guards this server too.
    let token = core.serve_token(None)?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = tauri::async_runtime::block_on(Server::bind(core, ServeOptions::new(listen, token)))?;
    let (stop, stopped) = oneshot::channel::<()>();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = server
            .run(async {
                let _ = stopped.await;
            })
            .await
        {
            tracing::warn!("the local server stopped: {}", e.message());
        }
    });
    tracing::info!(port, "local server answering on 127.0.0.1");
    Ok(Running { port, stop })
}

/// Stops the server (quitting).
pub fn stop(app: &tauri::AppHandle) {
    if let Some(state) = app.try_state::<LocalServer>() {
        if let Some(running) = state.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = running.stop.send(());
        }
    }
}
