//! IPC commands: one-line adapters from the web view to `burnrate_core`. Errors reach the
//! UI as `{code, message}` (ApiError); the UI branches on `code`.

use std::sync::Arc;

use burnrate_core::dto::{AddSourceRequest, AppInfo, ReconcileRow, ReportQuery, ReportRow, SourceView, SyncOutcome};
use burnrate_core::poller::{PollerHandle, SourceStatus};
use burnrate_core::{ApiError, Burnrate};
use tauri::State;

pub type CmdResult<T> = Result<T, ApiError>;
type Core<'a> = State<'a, Arc<Burnrate>>;

#[tauri::command]
pub fn app_info(app: Core<'_>) -> AppInfo {
    app.app_info()
}

#[tauri::command]
pub fn list_sources(app: Core<'_>) -> CmdResult<Vec<SourceView>> {
    Ok(app.list_sources()?)
}

#[tauri::command]
pub fn add_source(app: Core<'_>, request: AddSourceRequest) -> CmdResult<SourceView> {
    Ok(app.add_source(&request)?)
}

#[tauri::command]
pub fn remove_source(app: Core<'_>, name: String) -> CmdResult<()> {
    Ok(app.remove_source(&name)?)
}

/// Runs through the poller, so a manual sync never races a scheduled one.
#[tauri::command]
pub async fn sync_now(poller: State<'_, PollerHandle>, source: Option<String>) -> CmdResult<Vec<SyncOutcome>> {
    Ok(poller.sync_now(source).await?)
}

#[tauri::command]
pub fn poller_status(poller: State<'_, PollerHandle>) -> Vec<SourceStatus> {
    poller.status()
}

#[tauri::command]
pub async fn set_polling_paused(poller: State<'_, PollerHandle>, paused: bool) -> CmdResult<()> {
    poller.set_paused(paused).await;
    Ok(())
}

#[tauri::command]
pub fn daily_report(app: Core<'_>, query: ReportQuery) -> CmdResult<Vec<ReportRow>> {
    Ok(app.daily_report(&query)?)
}

#[tauri::command]
pub fn reconcile(app: Core<'_>, query: ReportQuery) -> CmdResult<Vec<ReconcileRow>> {
    Ok(app.reconcile(&query)?)
}
