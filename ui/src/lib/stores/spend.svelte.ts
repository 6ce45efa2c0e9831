import { tick } from 'svelte';
import { budgets } from './budgets.svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { sources } from './sources.svelte';
import {
  dailyReport,
  keyTable,
  pollerStatus,
  ratesStatus,
  reconcile,
  removeSource,
  setKeyEnvironment,
  setPollingPaused,
  spendHeadline,
  spendSummary,
  syncNow,
  toIpcError,
  type IpcError,
} from '../ipc';
import type { ChartSelection } from '../../components/SpendChart.svelte';
import type { ImportSummary } from '../bindings/ImportSummary';
import type { KeyRow } from '../bindings/KeyRow';
import type { ReconcileRow } from '../bindings/ReconcileRow';
import type { ReportRow } from '../bindings/ReportRow';
import type { SourceStatus } from '../bindings/SourceStatus';
import type { SourceView } from '../bindings/SourceView';
import type { SyncOutcome } from '../bindings/SyncOutcome';
import type { SyncProgress } from '../bindings/SyncProgress';
import type { SpendHeadline } from '../bindings/SpendHeadline';
import type { RatesStatus } from '../bindings/RatesStatus';
import type { TrayStatus } from '../bindings/TrayStatus';

/**
 * The Spend tab: the sources' sync and poller state, the daily report, reconciliation, the key
 * table and the summary strip. Budgets and the key table follow every sync.
 */
class Spend {
  readonly report = new Loadable<ReportRow[]>(() => dailyReport({ by: ['source'], from: null, to: null }), [], {
    pending: true,
  });
  readonly reconciliation = new Loadable<ReconcileRow[]>(() => reconcile({ by: [], from: null, to: null }), []);
  readonly keys = new Loadable<KeyRow[]>(keyTable, [], { pending: true, reloadsShowLoading: false });
  summary = $state<TrayStatus | null>(null);
  /** The answers first: today, the month against its budget, credit left, as of when. */
  headline = $state<SpendHeadline | null>(null);
  /** How old the exchange rates behind converted figures are (read with the headline). */
  rates = $state<RatesStatus | null>(null);

  /** The poller's status per source name. */
  statuses = $state<Record<string, SourceStatus>>({});
  /** The latest progress step per source while a sync runs; removed when it finishes. */
  progress = $state<Record<string, SyncProgress>>({});
  paused = $state(false);
  /** Once this view set the pause flag, it knows better than a status read that may predate it. */
  #pauseSetHere = false;
  pausing = $state(false);

  /** Name of the source being synced, "*" while syncing all, null when idle. */
  syncing = $state<string | null>(null);
  syncResults = $state<SyncOutcome[] | null>(null);
  actionError = $state<IpcError | null>(null);
  /** Name of the source being removed, null when idle. */
  removing = $state<string | null>(null);

  /** Bumped whenever the ledger may have changed, so the chart re-renders. */
  ledgerVersion = $state(0);
  /** The bar clicked in the chart: the daily table shows that day. */
  chartSelection = $state<ChartSelection | null>(null);
  readonly shownReport = $derived(
    this.chartSelection ? this.report.value.filter((r) => r.day === this.chartSelection!.day) : this.report.value,
  );

  async refreshReport() {
    const reconciled = this.reconciliation.load();
    await this.report.load();
    await reconciled;
  }

  async refreshKeys() {
    spendSummary()
      .then((s) => (this.summary = s))
      .catch(() => {
        // The level line is a convenience; the headline and tables carry the figures.
      });
    await Promise.all([this.refreshHeadline(), this.keys.load()]);
  }

  async refreshHeadline() {
    // Asked together: the rates' age line sits under the headline.
    const [headline, rates] = await Promise.allSettled([spendHeadline(), ratesStatus()]);
    if (headline.status === 'fulfilled') {
      shell.syncClock(headline.value.now);
      this.headline = headline.value;
    } // else keep the last headline; the chart and tables below carry the same figures.
    if (rates.status === 'fulfilled') this.rates = rates.value; // else keep the last age line
  }

  /** Labels a key's environment; rejects with the IPC error (the key panel shows it). */
  async setEnvironment(source: string, keyId: string, environment: string | null) {
    this.keys.value = await setKeyEnvironment(source, keyId, environment);
    shell.status = environment ? `Key labelled ${environment}.` : 'Environment label cleared.';
  }

  async refreshStatus() {
    try {
      this.onPollerStatus(await pollerStatus());
    } catch {
      // Keep the last known status; the next poller-status event brings it.
      shell.tickClock();
    }
  }

  /** The poller's status of every source, as read or as announced by a `poller-status` event. */
  onPollerStatus(list: SourceStatus[]) {
    this.statuses = Object.fromEntries(list.map((s) => [s.source, s]));
    if (!this.#pauseSetHere && list.length > 0) this.paused = list.some((s) => s.state === 'paused');
    shell.tickClock();
  }

  onProgress(step: SyncProgress) {
    this.progress[step.source] = step;
  }

  /** Progress bars of finished sources go away; an empty outcome list means nothing runs. */
  clearProgress(names: string[] | null) {
    if (names === null || names.length === 0) {
      this.progress = {};
      return;
    }
    for (const name of names) delete this.progress[name];
  }

  /**
   * A sync finished, maybe one started elsewhere (the tray, the background poller). Our own
   * syncs refresh themselves when they finish, so the lists are not re-read twice.
   */
  onSyncFinished(outcomes: SyncOutcome[]) {
    this.clearProgress(outcomes.map((o) => o.source));
    if (this.syncing === null && !sources.startup.loading) void this.refreshAfterSync();
    else void this.refreshStatus();
  }

  async togglePolling() {
    if (this.pausing) return;
    const next = !this.paused;
    this.pausing = true;
    this.actionError = null;
    try {
      await setPollingPaused(next);
      this.paused = next;
      this.#pauseSetHere = true;
      shell.status = next ? 'Background sync paused. Sync now and Sync all still work.' : 'Background sync resumed.';
    } catch (reason) {
      this.actionError = toIpcError(reason);
      shell.status = next ? 'Could not pause background sync.' : 'Could not resume background sync.';
    } finally {
      this.pausing = false;
    }
    await this.refreshStatus();
  }

  async #refreshSources() {
    try {
      await sources.refresh();
    } catch (reason) {
      this.actionError = toIpcError(reason);
    }
  }

  async added(source: SourceView) {
    shell.status = `Added source ${source.name}.`;
    this.actionError = null;
    await this.#refreshSources();
  }

  /** A model was priced in the app: the next sync re-estimates its tokens; start one now. */
  priced(model: string) {
    shell.status = `Priced ${model}. Syncing to re-estimate its tokens…`;
    void this.sync(null);
  }

  imported(summary: ImportSummary) {
    shell.status = `Imported ${summary.lines} lines into ${summary.source}.`;
    this.ledgerVersion += 1;
    void this.refreshReport();
  }

  async sync(name: string | null) {
    if (this.syncing !== null) return;
    this.syncing = name ?? '*';
    this.syncResults = null;
    this.actionError = null;
    shell.status = name ? `Syncing ${name}…` : 'Syncing all sources…';
    void this.refreshStatus();
    try {
      const outcomes = await syncNow(name);
      this.syncResults = outcomes;
      const failed = outcomes.filter((o) => !o.ok).length;
      shell.status =
        outcomes.length === 0
          ? 'Nothing to sync.'
          : failed === 0
            ? `Sync finished: ${outcomes.length} ${outcomes.length === 1 ? 'source' : 'sources'} ok.`
            : `Sync finished: ${outcomes.length - failed} ok, ${failed} failed.`;
    } catch (reason) {
      this.actionError = toIpcError(reason);
      shell.status = 'Sync failed.';
    } finally {
      this.syncing = null;
      this.clearProgress(name === null ? null : [name]);
    }
    await this.refreshAfterSync();
  }

  /** What a sync changes: sources, the report, the poller status, budgets and the key table. */
  async refreshAfterSync() {
    const statusRead = this.refreshStatus();
    await this.#refreshSources();
    this.ledgerVersion += 1;
    await Promise.all([this.refreshReport(), statusRead, budgets.refreshAfterSync(), this.refreshKeys()]);
  }

  /** Removes a source; false (with the error shown) when the core refused. */
  async remove(name: string): Promise<boolean> {
    this.removing = name;
    this.actionError = null;
    try {
      await removeSource(name);
    } catch (reason) {
      this.actionError = toIpcError(reason);
      shell.status = `Could not remove ${name}.`;
      this.removing = null;
      return false;
    }
    this.removing = null;
    shell.status = `Removed source ${name}.`;
    this.syncResults = this.syncResults?.filter((o) => o.source !== name) ?? null;
    await this.#refreshSources();
    delete this.statuses[name];
    delete this.progress[name];
    await tick();
    (document.getElementById('sources-title') ?? document.getElementById('add-source-title'))?.focus();
    await this.refreshReport();
    return true;
  }
}

export const spend = new Spend();
