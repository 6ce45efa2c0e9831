//! WebKit's network process outlives the web views on Linux: WebKitGTK does not end it when the
//! last page closes, and Tauri keeps the web context (so the process) for the app's lifetime
//! (tauri-apps/tauri#14626). While Burnrate sits in the tray without a web view that is some
//! 35 MB doing nothing, so it is ended; WebKit starts a new one when a window is built again.

use std::path::Path;
use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime};

/// How long the web process gets to exit after its window is destroyed.
const WEB_PROCESS_EXIT: Duration = Duration::from_secs(15);
/// Then how long the network process gets to write what the page stored (local storage).
const STORAGE_FLUSH: Duration = Duration::from_secs(2);

/// Call when the main window was destroyed: ends WebKit's network process once the web process
/// has gone, unless a window was built again meanwhile.
pub fn end_network_process_when_idle<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let started = tokio::time::Instant::now();
        while !helpers("WebKitWebProcess").is_empty() {
            if started.elapsed() > WEB_PROCESS_EXIT {
                tracing::debug!("WebKit's web process is still running; keeping its network process");
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(STORAGE_FLUSH).await;
        if app.get_webview_window(crate::window::MAIN).is_some() {
            return; // opened again: it needs the network process
        }
        for pid in helpers("WebKitNetworkProcess") {
            end(pid);
        }
    });
}

#[cfg(target_os = "linux")]
fn end(pid: i32) {
    use rustix::process::{kill_process, Pid, Signal};
    let Some(pid) = Pid::from_raw(pid) else { return };
    match kill_process(pid, Signal::TERM) {
        Ok(()) => tracing::info!(pid = pid.as_raw_nonzero().get(), "ended WebKit's idle network process"),
        Err(e) => tracing::debug!("could not end WebKit's network process: {e}"),
    }
}

#[cfg(not(target_os = "linux"))]
fn end(_pid: i32) {}

/// This process's children whose program is named `name` (Linux: from /proc; elsewhere none:
/// WebKit on macOS ends its helpers itself, Windows has WebView2).
fn helpers(name: &str) -> Vec<i32> {
    if !cfg!(target_os = "linux") {
        return Vec::new();
    }
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let dir = Path::new("/proc").join(pid.to_string());
            parent_of(&dir).as_deref() == Some(me.as_str()) && program_of(&dir).as_deref() == Some(name)
        })
        .collect()
}

/// The parent pid from /proc/PID/stat ("pid (comm) state ppid …"; comm may hold spaces).
fn parent_of(dir: &Path) -> Option<String> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1).map(str::to_owned)
}

/// The file name of the program, from /proc/PID/cmdline (comm is cut at 15 characters).
fn program_of(dir: &Path) -> Option<String> {
    let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
    let argv0 = cmdline.split(|&b| b == 0).next()?;
    Path::new(std::str::from_utf8(argv0).ok()?).file_name()?.to_str().map(str::to_owned)
}
