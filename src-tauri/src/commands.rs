//! IPC commands: one-line adapters from the web view to `burnrate_core::api`. Errors reach the
//! UI as `{code, message}` (ApiError); the UI branches on `code`.

use burnrate_core::dto::{AddSourceRequest, AppInfo, ReportQuery, ReportRow, SourceView, SyncOutcome};
use burnrate_core::{ApiError, Burnrate};
use tauri::{AppHandle, Emitter, State};

pub type CmdResult<T> = Result<T, ApiError>;

/// Emitted after any sync so every view can refresh.
pub const SYNC_FINISHED: &str = "sync-finished";

#[tauri::command]
pub fn app_info(app: State<'_, Burnrate>) -> AppInfo {
    app.app_info()
}

#[tauri::command]
pub fn list_sources(app: State<'_, Burnrate>) -> CmdResult<Vec<SourceView>> {
    Ok(app.list_sources()?)
}

#[tauri::command]
pub fn add_source(app: State<'_, Burnrate>, request: AddSourceRequest) -> CmdResult<SourceView> {
    Ok(app.add_source(&request)?)
}

#[tauri::command]
pub fn remove_source(app: State<'_, Burnrate>, name: String) -> CmdResult<()> {
    Ok(app.remove_source(&name)?)
}

#[tauri::command]
pub async fn sync_now(
    handle: AppHandle,
    app: State<'_, Burnrate>,
    source: Option<String>,
) -> CmdResult<Vec<SyncOutcome>> {
    let outcomes = app.sync(source.as_deref(), None, None).await?;
    let _ = handle.emit(SYNC_FINISHED, &outcomes);
    Ok(outcomes)
}

#[tauri::command]
pub fn daily_report(app: State<'_, Burnrate>, query: ReportQuery) -> CmdResult<Vec<ReportRow>> {
    Ok(app.daily_report(&query)?)
}
