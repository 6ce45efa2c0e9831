import { Loadable } from './loadable.svelte';
import { settings } from './settings.svelte';
import { shell } from './shell.svelte';
import { sources } from './sources.svelte';
import { setSetting, setStartAtLogin, startAtLogin as readStartAtLogin, toIpcError, type IpcError } from '../ipc';

/**
 * Starting at login: read from the OS (an autostart entry), not from Burnrate's settings. Shared
 * by the Settings tab's switch and the one-time offer in the Spend view, so both show the same.
 */
class StartAtLogin {
  readonly enabled = new Loadable<boolean | null>(readStartAtLogin, null, { pending: true });
  saving = $state(false);
  saveError = $state<IpcError | null>(null);
  offerError = $state<IpcError | null>(null);

  /**
   * Offered once, after the first source exists, unless it is already on; `start_at_login_offered`
   * remembers that it was asked, whatever the answer.
   */
  readonly offered = $derived(
    sources.list.length > 0 &&
      settings.current.value !== null &&
      !settings.current.value.start_at_login_offered &&
      this.enabled.value === false,
  );

  load(): Promise<void> {
    return this.enabled.load();
  }

  /** Turns it on or off; on refusal, shows what the OS still has. Resolves to whether it worked. */
  async set(wanted: boolean): Promise<boolean> {
    this.saving = true;
    this.saveError = null;
    try {
      this.enabled.value = await setStartAtLogin(wanted);
      shell.status = this.enabled.value
        ? 'Burnrate will start when you log in, hidden in the tray.'
        : 'Burnrate will no longer start when you log in.';
      return true;
    } catch (reason) {
      this.saveError = toIpcError(reason);
      await this.enabled.load();
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** The answer to the offer: either way it is not asked again. */
  async answerOffer(accept: boolean): Promise<void> {
    this.offerError = null;
    if (accept && !(await this.set(true))) {
      this.offerError = this.saveError;
      return;
    }
    try {
      const next = await setSetting('start_at_login_offered', 'on');
      await settings.changed(next, accept ? shell.status : 'Start at login stays off; it is in Settings.');
    } catch (reason) {
      this.offerError = toIpcError(reason);
    }
  }
}

export const startAtLogin = new StartAtLogin();
