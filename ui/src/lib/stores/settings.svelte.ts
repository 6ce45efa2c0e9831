import { budgets } from './budgets.svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { spend } from './spend.svelte';
import { alertsPausedUntil } from '../format';
import { getSettings } from '../ipc';
import type { SettingsView } from '../bindings/SettingsView';

/** The Settings tab: time zone, quiet hours, the alert pause, key rotation. */
class Settings {
  readonly current = new Loadable<SettingsView | null>(getSettings, null);
  /** Until when desktop alerts are paused, if they are. */
  readonly alertsPaused = $derived(alertsPausedUntil(this.current.value, shell.now));

  refresh(): Promise<void> {
    return this.current.load();
  }

  async changed(next: SettingsView, message: string) {
    const previous = this.current.value;
    const zoneChanged = previous?.effective_time_zone !== next.effective_time_zone;
    const rotationChanged = previous?.key_rotation_days !== next.key_rotation_days;
    const displayChanged = (previous?.display_currency ?? null) !== (next.display_currency ?? null);
    this.current.value = next;
    shell.tickClock();
    shell.status = message;
    // Budget periods follow the time zone; the key table's rotation flags follow the period.
    if (zoneChanged) await budgets.refresh();
    // The headline, key table and chart show converted figures in the display currency.
    if (displayChanged) spend.ledgerVersion += 1;
    if (rotationChanged || displayChanged) await spend.refreshKeys();
  }
}

export const settings = new Settings();
