// The only module that talks to the Rust core (commands and events). Everything else imports these typed wrappers.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { AddBudgetRequest } from './bindings/AddBudgetRequest';
import type { AddSourceRequest } from './bindings/AddSourceRequest';
import type { AlertView } from './bindings/AlertView';
import type { AppEvent } from './bindings/AppEvent';
import type { Answer } from './bindings/Answer';
import type { AppInfo } from './bindings/AppInfo';
import type { AssessmentSummary } from './bindings/AssessmentSummary';
import type { AssessmentView } from './bindings/AssessmentView';
import type { EvidenceView } from './bindings/EvidenceView';
import type { FocusKey } from './bindings/FocusKey';
import type { KeyInput } from './bindings/KeyInput';
import type { NewAssessmentRequest } from './bindings/NewAssessmentRequest';
import type { ReportFormat } from './bindings/ReportFormat';
import type { SmokePlan } from './bindings/SmokePlan';
import type { SmokeRequest } from './bindings/SmokeRequest';
import type { SmokeResult } from './bindings/SmokeResult';
import type { BudgetView } from './bindings/BudgetView';
import type { AddAutoDisableRequest } from './bindings/AddAutoDisableRequest';
import type { AddChannelRequest } from './bindings/AddChannelRequest';
import type { AutoDisableRuleView } from './bindings/AutoDisableRuleView';
import type { ChannelTestResult } from './bindings/ChannelTestResult';
import type { ChannelView } from './bindings/ChannelView';
import type { ChartFormat } from './bindings/ChartFormat';
import type { ChartQuery } from './bindings/ChartQuery';
import type { ChartView } from './bindings/ChartView';
import type { ConnectionCheck } from './bindings/ConnectionCheck';
import type { CsvFormat } from './bindings/CsvFormat';
import type { DisableConfirm } from './bindings/DisableConfirm';
import type { DossierFormat } from './bindings/DossierFormat';
import type { ErrorCode } from './bindings/ErrorCode';
import type { ImportSummary } from './bindings/ImportSummary';
import type { KeyActionView } from './bindings/KeyActionView';
import type { KeyRow } from './bindings/KeyRow';
import type { LedgerFormat } from './bindings/LedgerFormat';
import type { ReconcileRow } from './bindings/ReconcileRow';
import type { ReportQuery } from './bindings/ReportQuery';
import type { ReportRow } from './bindings/ReportRow';
import type { SpendHeadline } from './bindings/SpendHeadline';
import type { RatesStatus } from './bindings/RatesStatus';
import type { SettingsView } from './bindings/SettingsView';
import type { SourceStatus } from './bindings/SourceStatus';
import type { SourceView } from './bindings/SourceView';
import type { SyncOutcome } from './bindings/SyncOutcome';
import type { SyncProgress } from './bindings/SyncProgress';
import type { TrayStatus } from './bindings/TrayStatus';
import type { UrlCheck } from './bindings/UrlCheck';

/** Every rejection from a wrapper below is one of these. Branch on `code`, never on `message`. */
export class IpcError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'IpcError';
    this.code = code;
  }
}

// Keyed by ErrorCode, so when Rust adds, renames or removes a code (and the generated
// bindings change) this object stops compiling until it is updated to match.
const KNOWN_CODES: Record<ErrorCode, true> = {
  invalid_input: true,
  unsupported: true,
  unknown_provider: true,
  invalid_url: true,
  source_exists: true,
  source_not_found: true,
  budget_not_found: true,
  channel_exists: true,
  channel_not_found: true,
  auto_disable_not_found: true,
  assessment_not_found: true,
  evidence_too_large: true,
  evidence_exists: true,
  key_missing: true,
  secret_store_unavailable: true,
  notifications_unavailable: true,
  key_rejected: true,
  key_not_found: true,
  confirmation_required: true,
  rate_limited: true,
  provider_unavailable: true,
  unexpected_response: true,
  redirect_refused: true,
  implausible_amount: true,
  timeout: true,
  network: true,
  data_dir_unwritable: true,
  db_too_new: true,
  ledger_busy: true,
  database: true,
  internal: true,
  unauthorized: true,
  not_found: true,
  method_not_allowed: true,
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(KNOWN_CODES, value);
}

/** Turns whatever a rejected `invoke` produced into an `IpcError`. */
export function toIpcError(reason: unknown): IpcError {
  if (reason instanceof IpcError) return reason;
  if (reason !== null && typeof reason === 'object') {
    const { code, message } = reason as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : 'Unexpected error.';
    return new IpcError(isErrorCode(code) ? code : 'internal', text);
  }
  if (typeof reason === 'string' && reason !== '') return new IpcError('internal', reason);
  return new IpcError('internal', 'Unexpected error.');
}

async function call<T>(
  cmd: string,
  args?: Record<string, unknown> | Uint8Array,
  options?: { headers: Record<string, string> },
): Promise<T> {
  try {
    return await invoke<T>(cmd, args, options);
  } catch (reason) {
    throw toIpcError(reason);
  }
}

export function appInfo(): Promise<AppInfo> {
  return call('app_info');
}

export function listSources(): Promise<SourceView[]> {
  return call('list_sources');
}

export function addSource(request: AddSourceRequest): Promise<SourceView> {
  return call('add_source', { request });
}

/** Polls the form's source once (last two UTC days) without saving it; the key is not kept. */
export function testConnection(request: AddSourceRequest): Promise<ConnectionCheck> {
  return call('test_connection', { request });
}

/** What a saved source's key can read now (last two UTC days); writes nothing. */
export function testSource(name: string): Promise<ConnectionCheck> {
  return call('test_source', { name });
}

export function removeSource(name: string): Promise<void> {
  return call('remove_source', { name });
}

/** `null` syncs every source. */
export function syncNow(source: string | null): Promise<SyncOutcome[]> {
  return call('sync_now', { source });
}

export function dailyReport(query: ReportQuery): Promise<ReportRow[]> {
  return call('daily_report', { query });
}

/** Billed against estimated spend per day, source and currency, for days that have both. */
export function reconcile(query: ReportQuery): Promise<ReconcileRow[]> {
  return call('reconcile', { query });
}

/**
 * Imports a provider's CSV usage export into a source: parsed whole or not at all (errors name
 * the line and column); replaces that source's rows of the file's days, so a re-import never adds.
 * With `dryRun`, writes nothing and returns what the import would replace (the preview to confirm).
 */
export function importCsv(source: string, format: CsvFormat, data: string, dryRun = false): Promise<ImportSummary> {
  return call('import_csv', { source, format, data, dryRun });
}

/** Today and month-to-date per currency, and the worst budget state (what the tray shows). */
export function spendSummary(): Promise<TrayStatus> {
  return call('tray_status');
}

/** Writes the ledger of a range (per day, source, key, model) as CSV or JSON under exports/; returns its path. */
export function exportLedger(from: string | null, to: string | null, format: LedgerFormat): Promise<string> {
  return call('export_ledger', { from, to, format });
}

/** The Spend view's headline: today, the month against its budget and forecast, credit left, unpriced tokens, as of when. */
export function spendHeadline(): Promise<SpendHeadline> {
  return call('spend_headline');
}

/** How old the exchange rates behind converted figures are, and whether the last ECB fetch failed. */
export function ratesStatus(): Promise<RatesStatus> {
  return call('rates_status');
}

/** Sets a model's list price in USD per million tokens (the data directory's model-prices.json). */
export function setModelPrice(model: string, input: string, output: string): Promise<void> {
  return call('set_model_price', { model, input, output });
}

/** Every key with its spend today / 7 / 30 days, sparkline and inventory flags. */
export function keyTable(): Promise<KeyRow[]> {
  return call('key_table');
}

/** Labels a key dev, staging or prod (null clears it); answers the updated key table. */
export function setKeyEnvironment(source: string, keyId: string, environment: string | null): Promise<KeyRow[]> {
  return call('set_key_environment', { source, keyId, environment });
}

/** A chart of spend rendered by the core: SVG plus the geometry of every bar. */
export function chart(query: ChartQuery): Promise<ChartView> {
  return call('chart', { query });
}

/** Writes the chart to an SVG or PNG file under the data directory's exports/; returns its path. */
export function saveChart(query: ChartQuery, format: ChartFormat): Promise<string> {
  return call('save_chart', { query, format });
}

/** The background poller's view of every source: state, next poll, last error. */
export function pollerStatus(): Promise<SourceStatus[]> {
  return call('poller_status');
}

/** Pauses or resumes scheduled polling; manual syncs keep working while paused. */
export function setPollingPaused(paused: boolean): Promise<void> {
  return call('set_polling_paused', { paused });
}

/** Every budget with what was spent in its current period. */
export function listBudgets(): Promise<BudgetView[]> {
  return call('list_budgets');
}

/** Validated by the core; an invalid request saves nothing and rejects with `invalid_input` & co. */
export function addBudget(request: AddBudgetRequest): Promise<BudgetView> {
  return call('add_budget', { request });
}

/** The budget's alerts stay in the history. */
export function removeBudget(id: number): Promise<void> {
  return call('remove_budget', { id });
}

/** Alerts that fired, newest first; `limit` caps how many (null: the core's default). */
export function listAlerts(limit: number | null = null): Promise<AlertView[]> {
  return call('list_alerts', { limit });
}

/** Where alerts go besides the desktop (webhooks, chat, ntfy, e-mail, a command); no secrets. */
export function listChannels(): Promise<ChannelView[]> {
  return call('list_channels');
}

/**
 * Adds a channel. `request.secret` (a URL with its token, or an SMTP password) goes to the OS
 * secret store, or names an environment variable; it is never sent back.
 */
export function addChannel(request: AddChannelRequest): Promise<ChannelView> {
  return call('add_channel', { request });
}

/** Removes a channel, its stored secret and its queued deliveries; the alerts stay. */
export function removeChannel(name: string): Promise<void> {
  return call('remove_channel', { name });
}

/** Sends a test alert through the channel now; resolves (ok or not) with what happened. */
export function testChannel(name: string): Promise<ChannelTestResult> {
  return call('test_channel', { name });
}

/** The auto-disable rules, with how many actions each took. */
export function listAutoDisable(): Promise<AutoDisableRuleView[]> {
  return call('list_auto_disable');
}

/** Adds an auto-disable rule; refused for providers that cannot switch a key back on. */
export function addAutoDisable(request: AddAutoDisableRequest): Promise<AutoDisableRuleView> {
  return call('add_auto_disable', { request });
}

/** Removes a rule; the actions it took stay recorded. */
export function removeAutoDisable(id: number): Promise<void> {
  return call('remove_auto_disable', { id });
}

export function getSettings(): Promise<SettingsView> {
  return call('get_settings');
}

/** Names the core accepts from the app; `quiet_hours` with "" clears them; switches take 'on' / 'off'. */
export type SettingName =
  | 'time_zone'
  | 'quiet_hours'
  | 'key_rotation_days'
  | 'close_to_tray'
  | 'start_at_login_offered'
  | 'serve_local'
  | 'serve_port'
  | 'display_currency';

export function setSetting(name: SettingName, value: string): Promise<SettingsView> {
  return call('set_setting', { name, value });
}

/** Whether Burnrate starts (hidden, in the tray) when the user logs in. */
export function startAtLogin(): Promise<boolean> {
  return call('start_at_login');
}

/**
 * Tells the shell this page has loaded and listens for events; resolves to the key the user
 * asked to open while the window was being built (from the tray or a notification), if any.
 */
export function mainWindowReady(): Promise<FocusKey | null> {
  return call('main_window_ready');
}

/** Turns starting at login on or off; resolves to the state the OS now reports. */
export function setStartAtLogin(enabled: boolean): Promise<boolean> {
  return call('set_start_at_login', { enabled });
}

/** Silences desktop notifications for `seconds` (alerts are still recorded); 0 resumes them. */
export function pauseAlerts(seconds: number): Promise<SettingsView> {
  return call('pause_alerts', { seconds });
}

/**
 * Asks the source's provider to switch a key off. Every attempt that reaches the provider is
 * recorded by the core, failures too; `alertId` links the action to the alert it answers.
 */
export function disableKey(
  source: string,
  keyId: string,
  confirm: DisableConfirm,
  alertId: number | null = null,
): Promise<KeyActionView> {
  return call('disable_key', { source, keyId, confirm, alertId });
}

/** Recorded key actions, newest first; null filters are not applied. */
export function keyActions(source: string | null = null, keyId: string | null = null): Promise<KeyActionView[]> {
  return call('key_actions', { source, keyId });
}

/** Writes the key's incident dossier; resolves to the path of the file written. */
export function exportIncident(
  source: string,
  keyId: string,
  format: DossierFormat,
  alertId: number | null = null,
): Promise<string> {
  return call('export_incident', { source, keyId, alertId, format });
}

// --- The gateway checklist ---------------------------------------------------------------

/** Every assessment with its verdict, progress and evidence problems. */
export function listAssessments(): Promise<AssessmentSummary[]> {
  return call('list_assessments');
}

export function newAssessment(request: NewAssessmentRequest): Promise<AssessmentView> {
  return call('new_assessment', { request });
}

/** Removes one evidence item; its stored file goes if nothing else uses it. */
export function removeEvidence(id: number, evidenceId: number): Promise<AssessmentView> {
  return call('remove_evidence', { id, evidenceId });
}

/** Replaces an assessment's details; answers, flags and evidence stay. */
export function updateAssessment(id: number, request: NewAssessmentRequest): Promise<AssessmentView> {
  return call('update_assessment', { id, request });
}

/** One assessment; every evidence file is re-hashed (integrity ok / changed / missing). */
export function getAssessment(id: number): Promise<AssessmentView> {
  return call('get_assessment', { id });
}

/** Saves an answer at once; a `note` given replaces the question's note. */
export function answerQuestion(id: number, questionId: string, answer: Answer, note: string | null = null): Promise<AssessmentView> {
  return call('answer_question', { id, questionId, answer, note });
}

export function setRedFlag(id: number, flagId: string, checked: boolean): Promise<AssessmentView> {
  return call('set_red_flag', { id, flagId, checked });
}

/** Attaches a URL with the time it was captured (now). */
export function attachUrl(id: number, questionId: string, url: string, note: string | null = null): Promise<EvidenceView> {
  return call('attach_url', { id, questionId, url, note });
}

export function attachNote(id: number, questionId: string, text: string): Promise<EvidenceView> {
  return call('attach_note', { id, questionId, text });
}

/** Sends the file's bytes as the raw request body; ids and the (percent-encoded) name as headers. */
export function attachFile(id: number, questionId: string, name: string, bytes: Uint8Array): Promise<EvidenceView> {
  return call('attach_file', bytes, {
    headers: {
      'x-assessment-id': String(id),
      'x-question-id': encodeURIComponent(questionId),
      'x-file-name': encodeURIComponent(name),
    },
  });
}

/** A copy with the same answers, flags and evidence, to re-run later. */
export function duplicateAssessment(id: number): Promise<AssessmentView> {
  return call('duplicate_assessment', { id });
}

/** Deletes an assessment and the stored files nothing else uses. */
export function deleteAssessment(id: number): Promise<void> {
  return call('delete_assessment', { id });
}

/**
 * What the paid test will send and cost at most; nothing paid is sent. `key` is needed only
 * when no model is named (to read the gateway's free model list); null otherwise.
 */
export function smokePlan(id: number, request: SmokeRequest, key: KeyInput | null): Promise<SmokePlan> {
  return call('smoke_plan', { id, request, key });
}

/** Runs a plan from smokePlan; the key is used for this request only and never stored. */
export function smokeRun(id: number, plan: SmokePlan, key: KeyInput): Promise<SmokeResult> {
  return call('smoke_run', { id, plan, key });
}

/** Writes the report (Markdown or HTML) under exports/; resolves to its path. */
export function exportAssessmentReport(id: number, format: ReportFormat): Promise<string> {
  return call('export_assessment_report', { id, format });
}

/** Fetches the assessment's URL evidence and compares each page's text with its last fetch. */
export function recheckUrls(id: number | null): Promise<UrlCheck[]> {
  return call('recheck_urls', { id });
}

/** The payload each event of the shell carries, by its name (crates/core/src/events.rs). */
type EventPayloads = {
  'sync-finished': SyncOutcome[];
  'sync-progress': SyncProgress;
  'alerts-fired': AlertView[];
  'focus-key': FocusKey;
  'settings-changed': SettingsView;
  'poller-status': SourceStatus[];
};

/** Fails the type check when an `AppEvent` added in Rust has no payload above, or a name above is no event. */
export type EventPayloadsCoverAppEvents = Expect<SameKeys<EventPayloads, AppEvent>>;
type SameKeys<T, K> = [keyof T] extends [K] ? ([K] extends [keyof T] ? true : false) : false;
type Expect<T extends true> = T;

export type { AppEvent, FocusKey };

async function subscribe<E extends AppEvent>(
  name: E,
  handler: (payload: EventPayloads[E]) => void,
): Promise<() => void> {
  try {
    return await listen<EventPayloads[E]>(name, (event) => handler(event.payload));
  } catch (reason) {
    throw toIpcError(reason);
  }
}

/** Calls `handler` with the outcomes of every finished sync; resolves to an unsubscribe function. */
export function onSyncFinished(handler: (outcomes: SyncOutcome[]) => void): Promise<() => void> {
  return subscribe('sync-finished', handler);
}

/** Calls `handler` with every source's poller status whenever one changes; resolves to an unsubscribe function. */
export function onPollerStatus(handler: (statuses: SourceStatus[]) => void): Promise<() => void> {
  return subscribe('poller-status', handler);
}

/** Calls `handler` with each progress step of a running sync; resolves to an unsubscribe function. */
export function onSyncProgress(handler: (progress: SyncProgress) => void): Promise<() => void> {
  return subscribe('sync-progress', handler);
}

/** Calls `handler` with the alerts each sync fired; resolves to an unsubscribe function. */
export function onAlertsFired(handler: (alerts: AlertView[]) => void): Promise<() => void> {
  return subscribe('alerts-fired', handler);
}

/** Calls `handler` when the shell asks to show one key; resolves to an unsubscribe function. */
export function onFocusKey(handler: (key: FocusKey) => void): Promise<() => void> {
  return subscribe('focus-key', handler);
}

/** Calls `handler` with the new settings when the tray changes one (pausing alerts). */
export function onSettingsChanged(handler: (settings: SettingsView) => void): Promise<() => void> {
  return subscribe('settings-changed', handler);
}
