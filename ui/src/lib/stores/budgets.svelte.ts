import { tick } from 'svelte';
import { Loadable } from './loadable.svelte';
import { shell } from './shell.svelte';
import { distinctKeys } from '../budgets';
import { budgetScopeLabel, formatMoney, periodLabel } from '../format';
import { dailyReport, listBudgets, removeBudget, toIpcError } from '../ipc';
import type { BudgetView } from '../bindings/BudgetView';

export type BudgetKey = { source: string; key_id: string; key_name: string | null };

/** The budgets (read at start-up for the Budgets tab) and the keys the budget form offers. */
class Budgets {
  readonly list = new Loadable<BudgetView[]>(listBudgets, [], { pending: true, reloadsShowLoading: false });
  /** Keys seen in recent spend, offered as budget scopes; read when the Budgets tab first opens. */
  readonly keys = new Loadable<BudgetKey[]>(
    async () => distinctKeys(await dailyReport({ by: ['key', 'source'], from: null, to: null })),
    [],
  );
  /** Id of the budget being removed, null when idle. */
  removing = $state<number | null>(null);

  #keysRequested = false;

  refresh(): Promise<void> {
    return this.list.load();
  }

  /** Reads the key list the first time only. */
  async ensureKeys() {
    if (this.#keysRequested) return;
    this.#keysRequested = true;
    await this.keys.load();
  }

  /** What a sync changes here: the budgets' spend, and the key list once it was read. */
  async refreshAfterSync() {
    await Promise.all([this.refresh(), this.#keysRequested ? this.keys.load() : null]);
  }

  async added(budget: BudgetView) {
    shell.status = `Added a ${periodLabel(budget.period).toLowerCase()} budget of ${formatMoney(budget.amount, budget.currency)} for ${budgetScopeLabel(budget)}.`;
    await this.refresh();
  }

  /** Removes a budget; false (with the reason in the status line) when the core refused. */
  async remove(id: number): Promise<boolean> {
    this.removing = id;
    this.list.error = null;
    try {
      await removeBudget(id);
    } catch (reason) {
      shell.status = `Could not remove the budget: ${toIpcError(reason).message}`;
      this.removing = null;
      return false;
    }
    this.removing = null;
    shell.status = 'Removed the budget. Its alerts stay in the history.';
    await this.refresh();
    await tick();
    document.getElementById('budgets-title')?.focus();
    return true;
  }
}

export const budgets = new Budgets();
