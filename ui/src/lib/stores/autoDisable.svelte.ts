import { tick } from 'svelte';
import { budgets } from './budgets.svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { sources } from './sources.svelte';
import { listAutoDisable, removeAutoDisable, toIpcError } from '../ipc';
import type { AutoDisableRuleView } from '../bindings/AutoDisableRuleView';

/** The auto-disable rules on the Settings tab, and the sources whose keys they may switch off. */
class AutoDisable {
  readonly list = new Loadable<AutoDisableRuleView[]>(listAutoDisable, [], { pending: true, reloadsShowLoading: false });
  /** Id of the rule being removed, null when idle. */
  removing = $state<number | null>(null);

  /** Sources whose provider can switch a key off and back on: the only ones a rule may cover. */
  readonly eligibleSources = $derived(
    sources.list.filter((s) => sources.providers.find((p) => p.id === s.provider)?.disable_key === 'reversible'),
  );

  /** Reads the rules, and the keys the add form offers (the budget form's list). */
  async load() {
    await Promise.all([this.list.load(), budgets.ensureKeys()]);
  }

  async added(rule: AutoDisableRuleView) {
    const what = rule.key_id ? `key ${rule.key_name ?? rule.key_id}` : 'every key';
    shell.status = rule.dry_run
      ? `Added a dry-run rule for ${what} of ${rule.source}: it records what it would do and sends nothing.`
      : `Added a rule: Burnrate switches ${what} of ${rule.source} off on its own when it fires.`;
    await this.list.load();
  }

  /** Removes a rule; false (with the reason in the status line) when the core refused. */
  async remove(id: number): Promise<boolean> {
    this.removing = id;
    try {
      await removeAutoDisable(id);
    } catch (reason) {
      shell.status = `Could not remove the rule: ${toIpcError(reason).message}`;
      this.removing = null;
      return false;
    }
    this.removing = null;
    shell.status = 'Removed the rule. The actions it took stay in each key’s history.';
    await this.list.load();
    await tick();
    document.getElementById('auto-disable-title')?.focus();
    return true;
  }
}

export const autoDisable = new AutoDisable();
