import { tick } from 'svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { channelKindLabel } from '../channels';
import { listChannels, removeChannel, testChannel, toIpcError } from '../ipc';
import type { ChannelTestResult } from '../bindings/ChannelTestResult';
import type { ChannelView } from '../bindings/ChannelView';

/** The alert channels on the Settings tab: the list, test results, and removal. */
class Channels {
  readonly list = new Loadable<ChannelView[]>(listChannels, [], { pending: true, reloadsShowLoading: false });
  /** Name of the channel being tested or removed, null when idle. */
  testing = $state<string | null>(null);
  removing = $state<string | null>(null);
  /** The last test of each channel, by name, shown under it until the next one. */
  tests = $state<Record<string, ChannelTestResult>>({});

  refresh(): Promise<void> {
    return this.list.load();
  }

  async added(channel: ChannelView) {
    shell.status = `Added the ${channelKindLabel(channel.kind)} channel ${channel.name}. Send it a test alert to check it reaches you.`;
    await this.refresh();
  }

  /** Sends a test alert and keeps what happened; a refusal by the core is kept the same way. */
  async test(name: string) {
    this.testing = name;
    let result: ChannelTestResult;
    try {
      result = await testChannel(name);
    } catch (reason) {
      const error = toIpcError(reason);
      result = { channel: name, ok: false, detail: `${error.message} (${error.code})`, elapsed_ms: 0 };
    }
    this.tests = { ...this.tests, [name]: result };
    this.testing = null;
    shell.status = result.ok ? `Test alert sent through ${name}: ${result.detail}.` : `Test alert through ${name} failed.`;
    // The channel's last attempt and error changed.
    await this.refresh();
  }

  /** Removes a channel; false (with the reason in the status line) when the core refused. */
  async remove(name: string): Promise<boolean> {
    this.removing = name;
    try {
      await removeChannel(name);
    } catch (reason) {
      shell.status = `Could not remove the channel: ${toIpcError(reason).message}`;
      this.removing = null;
      return false;
    }
    this.removing = null;
    const { [name]: _dropped, ...rest } = this.tests;
    this.tests = rest;
    shell.status = `Removed the channel ${name}. Alerts already sent stay in the history.`;
    await this.refresh();
    await tick();
    document.getElementById('channels-title')?.focus();
    return true;
  }
}

export const channels = new Channels();
