import { Loadable } from './loadable.svelte';
import { appInfo, listSources } from '../ipc';
import type { AppInfo } from '../bindings/AppInfo';
import type { ProviderInfo } from '../bindings/ProviderInfo';
import type { SourceView } from '../bindings/SourceView';

/** The app's info and the sources: read at start-up, before any view is shown. */
class Sources {
  list = $state<SourceView[]>([]);

  /** The start-up read; its error replaces the views with "Burnrate could not start". */
  readonly startup = new Loadable<AppInfo | null>(
    async () => {
      const [info, list] = await Promise.all([appInfo(), listSources()]);
      this.list = list;
      return info;
    },
    null,
    { pending: true },
  );

  readonly info = $derived(this.startup.value);
  readonly providers = $derived<ProviderInfo[]>(this.info?.providers ?? []);
  /** Started, and there are no sources yet: the views show their first-run notes. */
  readonly empty = $derived(!this.startup.loading && !this.startup.error && this.list.length === 0);

  /** Re-reads the list; rejects with the IPC error (the caller shows it next to its action). */
  async refresh() {
    this.list = await listSources();
  }

  providerFor(name: string): ProviderInfo | null {
    const source = this.list.find((s) => s.name === name);
    return source ? (this.providers.find((p) => p.id === source.provider) ?? null) : null;
  }
}

export const sources = new Sources();
