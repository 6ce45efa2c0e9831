//! IPC commands: one-line adapters from the web view to `burnrate_core`. Errors reach the
//! UI as `{code, message}` (ApiError); the UI branches on `code`.

use std::sync::Arc;

use burnrate_core::alerts::AlertView;
use burnrate_core::auto_disable::{AddAutoDisableRequest, AutoDisableRuleView};
use burnrate_core::budgets::{AddBudgetRequest, BudgetView};
use burnrate_core::channels::{AddChannelRequest, ChannelTestResult, ChannelView};
use burnrate_core::charts::{ChartFormat, ChartQuery, ChartView};
use burnrate_core::checklist::dto::{
    Answer, AssessmentSummary, AssessmentView, EvidenceView, NewAssessmentRequest, ReportFormat, SmokePlan,
    SmokeRequest, SmokeResult,
};
use burnrate_core::checklist::watch::UrlCheck;
use burnrate_core::connection_test::ConnectionCheck;
use burnrate_core::dashboard::KeyRow;
use burnrate_core::dto::{
    AddSourceRequest, AppInfo, KeyInput, LedgerFormat, ReconcileRow, ReportQuery, ReportRow, SettingsView, SourceView,
    SyncOutcome,
};
use burnrate_core::events::{AppEvent, FocusHandoff, FocusKey};
use burnrate_core::import::{CsvFormat, ImportSummary};
use burnrate_core::incident::DossierFormat;
use burnrate_core::key_actions::{DisableConfirm, KeyActionView};
use burnrate_core::poller::{PollerHandle, SourceStatus};
use burnrate_core::tray_status::TrayStatus;
use burnrate_core::{ApiError, Burnrate, Error};
use tauri::ipc::InvokeBody;
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_autostart::ManagerExt;

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

/// Saves the source; the poller picks it up at once and syncs it in the background.
#[tauri::command]
pub fn add_source(app: Core<'_>, poller: State<'_, PollerHandle>, request: AddSourceRequest) -> CmdResult<SourceView> {
    let added = app.add_source(&request)?;
    poller.wake();
    Ok(added)
}

/// Polls the form's source once without saving it or its key; see `Burnrate::test_connection`.
#[tauri::command]
pub async fn test_connection(app: Core<'_>, request: AddSourceRequest) -> CmdResult<ConnectionCheck> {
    Ok(app.test_connection(&request).await?)
}

/// What a saved source's key can read now; writes nothing. See `Burnrate::test_source`.
#[tauri::command]
pub async fn test_source(app: Core<'_>, name: String) -> CmdResult<ConnectionCheck> {
    Ok(app.test_source(&name).await?)
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
pub fn spend_headline(app: Core<'_>) -> CmdResult<burnrate_core::headline::SpendHeadline> {
    Ok(app.spend_headline()?)
}

/// How old the exchange rates are and whether the last ECB fetch worked.
#[tauri::command]
pub fn rates_status(app: Core<'_>) -> CmdResult<burnrate_core::fx::RatesStatus> {
    Ok(app.rates_status()?)
}

#[tauri::command]
pub fn set_model_price(app: Core<'_>, model: String, input: String, output: String) -> CmdResult<()> {
    Ok(app.set_model_price(&model, &input, &output)?)
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

/// The UI reads the file the user picked and sends its text; the core parses it whole. With
/// `dry_run`, nothing is written: the summary is the preview the user confirms.
#[tauri::command]
pub fn import_csv(
    handle: AppHandle,
    app: Core<'_>,
    source: String,
    format: CsvFormat,
    data: String,
    dry_run: Option<bool>,
) -> CmdResult<ImportSummary> {
    if dry_run == Some(true) {
        return Ok(app.preview_csv_import(&source, format, data.as_bytes())?);
    }
    let summary = app.import_csv(&source, format, data.as_bytes())?;
    crate::tray::refresh(&handle);
    Ok(summary)
}

#[tauri::command]
pub fn list_budgets(app: Core<'_>) -> CmdResult<Vec<BudgetView>> {
    Ok(app.list_budgets()?)
}

#[tauri::command]
pub fn add_budget(
    handle: AppHandle,
    app: Core<'_>,
    poller: State<'_, PollerHandle>,
    request: AddBudgetRequest,
) -> CmdResult<BudgetView> {
    let added = app.add_budget(&request)?;
    if !added.alerts.is_empty() {
        let _ = handle.emit(AppEvent::AlertsFired.name(), &added.alerts);
        // Their deliveries are queued: the channels hear of them now, not within the minute.
        poller.wake();
    }
    crate::tray::refresh(&handle);
    Ok(added.budget)
}

#[tauri::command]
pub fn remove_budget(handle: AppHandle, app: Core<'_>, id: i64) -> CmdResult<()> {
    app.remove_budget(id)?;
    crate::tray::refresh(&handle);
    Ok(())
}

#[tauri::command]
pub fn list_channels(app: Core<'_>) -> CmdResult<Vec<ChannelView>> {
    Ok(app.list_channels()?)
}

/// The URL or password in `request.secret` goes to the OS secret store (or stays in the named
/// environment variable); it never comes back to the web view.
#[tauri::command]
pub fn add_channel(app: Core<'_>, request: AddChannelRequest) -> CmdResult<ChannelView> {
    Ok(app.add_channel(&request)?)
}

#[tauri::command]
pub fn remove_channel(app: Core<'_>, name: String) -> CmdResult<()> {
    Ok(app.remove_channel(&name)?)
}

#[tauri::command]
pub async fn test_channel(app: Core<'_>, name: String) -> CmdResult<ChannelTestResult> {
    Ok(app.test_channel(&name).await?)
}

#[tauri::command]
pub fn list_auto_disable(app: Core<'_>) -> CmdResult<Vec<AutoDisableRuleView>> {
    Ok(app.list_auto_disable()?)
}

#[tauri::command]
pub fn add_auto_disable(app: Core<'_>, request: AddAutoDisableRequest) -> CmdResult<AutoDisableRuleView> {
    Ok(app.add_auto_disable(&request)?)
}

#[tauri::command]
pub fn remove_auto_disable(app: Core<'_>, id: i64) -> CmdResult<()> {
    Ok(app.remove_auto_disable(id)?)
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
    let before = app.get_settings()?;
    let settings = app.set_setting(&name, &value)?;
    if matches!(name.trim(), "serve_local" | "serve_port") {
        // The port may be taken: then the setting goes back to what it was, and the UI says why.
        if let Err(e) = crate::local_server::apply(&handle) {
            let previous = match name.trim() {
                "serve_local" => if before.serve_local { "on" } else { "off" }.to_owned(),
                _ => before.serve_port.to_string(),
            };
            app.set_setting(&name, &previous)?;
            return Err(e.into());
        }
    }
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

// --- The gateway checklist -------------------------------------------------------------------

#[tauri::command]
pub fn list_assessments(app: Core<'_>) -> CmdResult<Vec<AssessmentSummary>> {
    Ok(app.list_assessments()?)
}

#[tauri::command]
pub fn new_assessment(app: Core<'_>, request: NewAssessmentRequest) -> CmdResult<AssessmentView> {
    Ok(app.new_assessment(&request)?)
}

#[tauri::command]
pub fn update_assessment(app: Core<'_>, id: i64, request: NewAssessmentRequest) -> CmdResult<AssessmentView> {
    Ok(app.update_assessment(id, &request)?)
}

#[tauri::command]
pub fn remove_evidence(app: Core<'_>, id: i64, evidence_id: i64) -> CmdResult<AssessmentView> {
    Ok(app.remove_evidence(id, evidence_id)?)
}

/// Every evidence file is re-hashed: a changed or missing file comes back flagged.
#[tauri::command]
pub fn get_assessment(app: Core<'_>, id: i64) -> CmdResult<AssessmentView> {
    Ok(app.get_assessment(id)?)
}

#[tauri::command]
pub fn answer_question(
    app: Core<'_>,
    id: i64,
    question_id: String,
    answer: Answer,
    note: Option<String>,
) -> CmdResult<AssessmentView> {
    Ok(app.answer(id, &question_id, answer, note.as_deref())?)
}

#[tauri::command]
pub fn set_red_flag(app: Core<'_>, id: i64, flag_id: String, checked: bool) -> CmdResult<AssessmentView> {
    Ok(app.set_red_flag(id, &flag_id, checked)?)
}

#[tauri::command]
pub fn attach_url(
    app: Core<'_>,
    id: i64,
    question_id: String,
    url: String,
    note: Option<String>,
) -> CmdResult<EvidenceView> {
    Ok(app.attach_url(id, &question_id, &url, note.as_deref())?)
}

#[tauri::command]
pub fn attach_note(app: Core<'_>, id: i64, question_id: String, text: String) -> CmdResult<EvidenceView> {
    Ok(app.attach_note(id, &question_id, &text)?)
}

/// The file's bytes arrive as the raw request body (a web view cannot hand over a path); the
/// assessment id, question id and the file's name (percent-encoded) come as headers.
#[tauri::command]
pub fn attach_file(app: Core<'_>, request: tauri::ipc::Request<'_>) -> CmdResult<EvidenceView> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(Error::invalid_input("attach_file takes the file's bytes as the request body").into());
    };
    let header = |name: &str| -> Result<String, Error> {
        let value = request.headers().get(name).and_then(|v| v.to_str().ok());
        value.map(percent_decode).ok_or_else(|| Error::invalid_input(format!("attach_file needs the {name} header")))
    };
    let id = header("x-assessment-id")?
        .parse::<i64>()
        .map_err(|_| Error::invalid_input("x-assessment-id must be a number"))?;
    Ok(app.attach_bytes(id, &header("x-question-id")?, &header("x-file-name")?, bytes)?)
}

/// Decodes `%XX` escapes (as encodeURIComponent writes them); anything malformed is kept as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && text.is_char_boundary(i + 3) {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tauri::command]
pub fn duplicate_assessment(app: Core<'_>, id: i64) -> CmdResult<AssessmentView> {
    Ok(app.duplicate_assessment(id)?)
}

#[tauri::command]
pub fn delete_assessment(app: Core<'_>, id: i64) -> CmdResult<()> {
    Ok(app.delete_assessment(id)?)
}

/// What the paid test will send and cost at most; nothing paid is sent. The key is needed only
/// to read the model list when no model is named.
#[tauri::command]
pub async fn smoke_plan(app: Core<'_>, id: i64, request: SmokeRequest, key: Option<KeyInput>) -> CmdResult<SmokePlan> {
    let key = if request.models.iter().any(|m| !m.trim().is_empty()) && key.is_none() {
        String::new()
    } else {
        app.gateway_key(key.as_ref())?
    };
    Ok(app.smoke_plan(id, &request, &key).await?)
}

#[tauri::command]
pub async fn smoke_run(app: Core<'_>, id: i64, plan: SmokePlan, key: KeyInput) -> CmdResult<SmokeResult> {
    let key = app.gateway_key(Some(&key))?;
    Ok(app.smoke_run(id, &plan, &key).await?)
}

/// Fetches the assessment's URL evidence and compares each page with its last fetch.
#[tauri::command]
pub async fn recheck_urls(handle: AppHandle, app: Core<'_>, id: Option<i64>) -> CmdResult<Vec<UrlCheck>> {
    let checks = app.recheck_urls(id).await?;
    crate::tray::refresh(&handle);
    Ok(checks)
}

/// Writes the report under the data dir's `exports/` and returns the file's path.
#[tauri::command]
pub fn export_assessment_report(app: Core<'_>, id: i64, format: ReportFormat) -> CmdResult<String> {
    Ok(app.export_assessment_report(id, format)?.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn file_names_from_headers_are_percent_decoded() {
        assert_eq!(percent_decode("terms%20%C3%BC.pdf"), "terms ü.pdf");
        assert_eq!(percent_decode("..%2F..%2Fetc%2Fpasswd"), "../../etc/passwd");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("plain.txt"), "plain.txt");
    }
}

/// Whether Burnrate starts when the user logs in (read from the OS, not the ledger).
#[tauri::command]
pub fn start_at_login(handle: AppHandle) -> CmdResult<bool> {
    handle.autolaunch().is_enabled().map_err(|e| login_item_error("read", e))
}

/// Turns starting at login on or off; returns the state the OS now reports.
#[tauri::command]
pub fn set_start_at_login(handle: AppHandle, enabled: bool) -> CmdResult<bool> {
    let launcher = handle.autolaunch();
    let changed = if enabled { launcher.enable() } else { launcher.disable() };
    changed.map_err(|e| login_item_error("change", e))?;
    tracing::info!(enabled, "start at login changed");
    launcher.is_enabled().map_err(|e| login_item_error("read", e))
}

fn login_item_error(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::from(Error::internal(format!(
        "could not {what} the start-at-login entry ({e}); check that your home folder's autostart \
         settings are writable"
    )))
}

/// The page has loaded and listens for events; returns the key the user asked to open while
/// the web view was being built (see `burnrate_core::events::FocusHandoff`).
#[tauri::command]
pub fn main_window_ready(handoff: State<'_, FocusHandoff>) -> Option<FocusKey> {
    tracing::debug!("page ready");
    handoff.page_ready()
}
