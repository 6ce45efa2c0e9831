//! IPC commands: one-line adapters from the web view to `burnrate_core`. Errors reach the
//! UI as `{code, message}` (ApiError); the UI branches on `code`.

use std::sync::Arc;

use burnrate_core::dto::{
    AddBudgetRequest, AddSourceRequest, AlertView, AppInfo, BudgetView, ChartFormat, ChartQuery, ChartView,
    ConnectionCheck, DisableConfirm, KeyActionView, KeyRow, LedgerFormat, ReconcileRow, ReportQuery, ReportRow,
    SettingsView, SourceView, SyncOutcome,
};
use burnrate_core::import::{CsvFormat, ImportSummary};
use burnrate_core::incident::DossierFormat;
use burnrate_core::poller::{PollerHandle, SourceStatus};
use burnrate_core::tray_status::TrayStatus;
use burnrate_core::{ApiError, Burnrate};
use tauri::{AppHandle, State};

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

/// Polls the form's source once without saving it or its key; see `Burnrate::test_connection`.
#[tauri::command]
pub async fn test_connection(app: Core<'_>, request: AddSourceRequest) -> CmdResult<ConnectionCheck> {
    Ok(app.test_connection(&request).await?)
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

/// Returns the path of the written file (under the data directory's `exports/`).
#[tauri::command]
pub fn export_ledger(
    app: Core<'_>,
    from: Option<String>,
    to: Option<String>,
    format: LedgerFormat,
) -> CmdResult<String> {
    Ok(app.export_ledger(from, to, format)?.display().to_string())
}

#[tauri::command]
pub fn key_table(app: Core<'_>) -> CmdResult<Vec<KeyRow>> {
    Ok(app.key_table()?)
}

#[tauri::command]
pub fn set_key_environment(
    app: Core<'_>,
    source: String,
    key_id: String,
    environment: Option<String>,
) -> CmdResult<Vec<KeyRow>> {
    Ok(app.set_key_environment(&source, &key_id, environment.as_deref())?)
}

#[tauri::command]
pub fn chart(app: Core<'_>, query: ChartQuery) -> CmdResult<ChartView> {
    let view = app.chart(&query)?;
    crate::log_first_chart();
    Ok(view)
}

/// Returns the path of the written file (under the data directory's `exports/`).
#[tauri::command]
pub fn save_chart(app: Core<'_>, query: ChartQuery, format: ChartFormat) -> CmdResult<String> {
    Ok(app.save_chart(&query, format)?.display().to_string())
}

/// The UI reads the file the user picked and sends its text; the core parses it whole.
#[tauri::command]
pub fn import_csv(
    handle: AppHandle,
    app: Core<'_>,
    source: String,
    format: CsvFormat,
    data: String,
) -> CmdResult<ImportSummary> {
    let summary = app.import_csv(&source, format, data.as_bytes())?;
    crate::tray::refresh(&handle);
    Ok(summary)
}

#[tauri::command]
pub fn list_budgets(app: Core<'_>) -> CmdResult<Vec<BudgetView>> {
    Ok(app.list_budgets()?)
}

#[tauri::command]
pub fn add_budget(handle: AppHandle, app: Core<'_>, request: AddBudgetRequest) -> CmdResult<BudgetView> {
    let budget = app.add_budget(&request)?;
    crate::tray::refresh(&handle);
    Ok(budget)
}

#[tauri::command]
pub fn remove_budget(handle: AppHandle, app: Core<'_>, id: i64) -> CmdResult<()> {
    app.remove_budget(id)?;
    crate::tray::refresh(&handle);
    Ok(())
}

#[tauri::command]
pub fn list_alerts(app: Core<'_>, limit: Option<u32>) -> CmdResult<Vec<AlertView>> {
    Ok(app.list_alerts(limit)?)
}

#[tauri::command]
pub fn get_settings(app: Core<'_>) -> CmdResult<SettingsView> {
    Ok(app.get_settings()?)
}

#[tauri::command]
pub fn set_setting(handle: AppHandle, app: Core<'_>, name: String, value: String) -> CmdResult<SettingsView> {
    let settings = app.set_setting(&name, &value)?;
    crate::tray::refresh(&handle);
    Ok(settings)
}

#[tauri::command]
pub fn pause_alerts(handle: AppHandle, app: Core<'_>, seconds: i64) -> CmdResult<SettingsView> {
    let settings = app.pause_alerts(seconds)?;
    crate::tray::refresh(&handle);
    Ok(settings)
}

#[tauri::command]
pub async fn disable_key(
    app: Core<'_>,
    source: String,
    key_id: String,
    confirm: DisableConfirm,
    alert_id: Option<i64>,
) -> CmdResult<KeyActionView> {
    Ok(app.disable_key(&source, &key_id, confirm, alert_id).await?)
}

#[tauri::command]
pub fn key_actions(app: Core<'_>, source: Option<String>, key_id: Option<String>) -> CmdResult<Vec<KeyActionView>> {
    Ok(app.key_actions(source.as_deref(), key_id.as_deref())?)
}

/// Writes the dossier under the data dir's `exports/` and returns the file's path.
#[tauri::command]
pub fn export_incident(
    app: Core<'_>,
    source: String,
    key_id: String,
    alert_id: Option<i64>,
    format: DossierFormat,
) -> CmdResult<String> {
    Ok(app.export_incident(&source, &key_id, alert_id, format)?.display().to_string())
}

#[tauri::command]
pub fn tray_status(app: Core<'_>) -> CmdResult<TrayStatus> {
    Ok(app.tray_status()?)
}
