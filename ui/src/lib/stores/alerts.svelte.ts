import { tick } from 'svelte';
import { budgets } from './budgets.svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { tabs } from './tabs.svelte';
import { keyActions, listAlerts, type FocusKey } from '../ipc';
import { alertKey, sameKey, type KeyTarget } from '../keys';
import type { AlertView } from '../bindings/AlertView';
import type { KeyActionView } from '../bindings/KeyActionView';

/** How many alerts the history loads (newest first). */
const ALERT_HISTORY_LIMIT = 500;

function focusById(id: string) {
  document.getElementById(id)?.focus();
}

/**
 * The Alerts tab: the history, the toast of newly fired alerts, the key panel (from focus-key,
 * an alert, the chart or the key table) and the key the disable dialog is about.
 */
class Alerts {
  readonly list = new Loadable<AlertView[]>(() => listAlerts(ALERT_HISTORY_LIMIT), [], {
    pending: true,
    reloadsShowLoading: false,
  });
  /** The latest alerts-fired batch, shown until dismissed. */
  toast = $state<AlertView[] | null>(null);

  /** The key whose panel is open, with its recorded actions. */
  key = $state<KeyTarget | null>(null);
  readonly keyActions = new Loadable<KeyActionView[]>(
    () => (this.key ? keyActions(this.key.source, this.key.key_id) : Promise.resolve([])),
    [],
  );

  /** The key the disable dialog is open for. */
  disableTarget = $state<KeyTarget | null>(null);

  /** The one key behind every alert in the toast, if there is one: its panel says the most. */
  readonly toastKey = $derived.by(() => {
    const keys = (this.toast ?? []).map(alertKey);
    const first = keys[0];
    if (!first) return null;
    return keys.every((k) => k && sameKey(k, first)) ? first : null;
  });

  refresh(): Promise<void> {
    return this.list.load();
  }

  /** Shows a key's alerts and actions on the Alerts tab and moves focus to it. */
  async openKey(target: KeyTarget) {
    const same = this.key !== null && sameKey(this.key, target);
    this.key = target;
    if (!same) this.keyActions.reset();
    await tabs.select('alerts');
    const loaded = this.keyActions.load();
    await tick();
    focusById('key-panel-title');
    await loaded;
  }

  async closeKey() {
    this.key = null;
    await tick();
    focusById('alerts-title');
  }

  /** focus-key (a notification's or the tray's "Open"). */
  focusKey(key: FocusKey) {
    const known = this.list.value.find((a) => a.source === key.source && a.key_id === key.key_id);
    void this.openKey({
      source: key.source,
      key_id: key.key_id,
      key_name: known?.key_name ?? null,
      fingerprint: null,
      alert_id: null,
    });
    shell.status = `Showing key ${known?.key_name ?? key.key_id} of ${key.source}.`;
  }

  /** alerts-fired: a toast, an unread count on the tab, and the history and budgets re-read. */
  fired(fired: AlertView[]) {
    if (fired.length === 0) return;
    this.toast = fired;
    if (tabs.current !== 'alerts') tabs.unreadAlerts += fired.length;
    void this.refresh();
    void budgets.refresh();
  }

  async showToast() {
    const key = this.toastKey;
    this.toast = null;
    if (key) {
      await this.openKey(key);
      return;
    }
    await tabs.select('alerts');
    await tick();
    focusById('alerts-title');
  }

  /** A disable attempt on the open key adds to its actions. */
  keyAttempted(target: KeyTarget) {
    if (this.key && sameKey(this.key, target)) void this.keyActions.load();
  }
}

export const alerts = new Alerts();
