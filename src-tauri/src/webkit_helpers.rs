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
        release_web_view_libraries();
    });
}

/// Libraries only a web view uses: WebKit, JavaScriptCore, ICU, and Mesa's software renderer
/// (llvmpipe, on machines without a GPU). Once a window was shown their pages stay resident
/// after it is gone, some 35 MB of a tray process's 140 (measured: PSS 137 → 103 MB, against
/// 88 MB for a bare Tauri tray app).
#[cfg(target_os = "linux")]
const WEB_VIEW_LIBRARIES: &[&str] = &["libwebkit2gtk", "libjavascriptcoregtk", "libLLVM", "/dri/", "libicu"];

/// Asks the kernel to reclaim the read-only pages of [`WEB_VIEW_LIBRARIES`]
/// (`MADV_PAGEOUT`): clean file pages, read back from the files if a window is built again.
#[cfg(target_os = "linux")]
fn release_web_view_libraries() {
    use rustix::mm::{madvise, Advice};
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
    let mut released = 0usize;
    for line in maps.lines() {
        // "start-end perms offset dev inode path"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [range, perms, _, _, _, path] = fields[..] else { continue };
        if perms.contains('w') || !WEB_VIEW_LIBRARIES.iter().any(|lib| path.contains(lib)) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else { continue };
        // SAFETY: the range is one whole, read-only, file-backed mapping of this process, as
        // the kernel listed it. MADV_PAGEOUT only drops pages from memory; their contents stay
        // the file's, so nothing that reads them later can see a difference. A failure (an old
        // kernel without MADV_PAGEOUT) only leaves the pages resident.
        #[allow(unsafe_code, reason = "madvise on a read-only file mapping changes residency, not contents")]
        let result = unsafe { madvise(start as *mut std::ffi::c_void, end - start, Advice::LinuxPageOut) };
        if result.is_ok() {
            released += end - start;
        }
    }
    tracing::info!(mapped_mb = released / (1 << 20), "let the kernel reclaim the web view's library pages");
}

#[cfg(not(target_os = "linux"))]
fn release_web_view_libraries() {}

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
