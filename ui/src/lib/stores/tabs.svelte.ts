import { tick } from 'svelte';
import { autoDisable } from './autoDisable.svelte';
import { budgets } from './budgets.svelte';
import { channels } from './channels.svelte';
import { spend } from './spend.svelte';

export type Tab = 'spend' | 'budgets' | 'alerts' | 'gateways' | 'settings';

export const TABS: { id: Tab; label: string }[] = [
  { id: 'spend', label: 'Spend' },
  { id: 'budgets', label: 'Budgets' },
  { id: 'alerts', label: 'Alerts' },
  { id: 'gateways', label: 'Gateways' },
  { id: 'settings', label: 'Settings' },
];

/** Which tab is shown, and what opening a tab starts. */
class Tabs {
  current = $state<Tab>('spend');
  /** Alerts fired while the Alerts tab was not shown. */
  unreadAlerts = $state(0);
  /**
   * The Gateways and Settings tabs are built when first opened, then stay mounted: their code
   * is a separate chunk, so the first screen does not load, parse or lay them out.
   */
  gatewaysOpened = $state(false);
  settingsOpened = $state(false);

  async select(next: Tab, focusTab = false) {
    this.current = next;
    if (next === 'alerts') this.unreadAlerts = 0;
    if (next === 'budgets') void budgets.ensureKeys();
    // Budgets added or removed meanwhile change the headline's "on track" line.
    if (next === 'spend') void spend.refreshHeadline();
    // Each visit re-reads them: deliveries waiting and actions taken change in the background.
    if (next === 'settings') void Promise.all([channels.refresh(), autoDisable.load()]);
    if (next === 'gateways') this.gatewaysOpened = true;
    if (next === 'settings') this.settingsOpened = true;
    if (focusTab) {
      await tick();
      document.getElementById(`tab-${next}`)?.focus();
    }
  }
}

export const tabs = new Tabs();
