import { Loadable } from './loadable.svelte';
import {
  deleteAssessment,
  duplicateAssessment,
  getAssessment,
  listAssessments,
  newAssessment,
  toIpcError,
  type IpcError,
} from '../ipc';
import type { AssessmentSummary } from '../bindings/AssessmentSummary';
import type { AssessmentView } from '../bindings/AssessmentView';
import type { NewAssessmentRequest } from '../bindings/NewAssessmentRequest';

/** The Gateways tab: the assessments, read when the tab is first opened, and the open one. */
class Gateways {
  readonly list = new Loadable<AssessmentSummary[]>(listAssessments, [], { pending: true, reloadsShowLoading: false });
  /** The assessment open in the wizard; null shows the list. */
  current = $state<AssessmentView | null>(null);
  actionError = $state<IpcError | null>(null);
  /** The running action, as "open-ID", "dup-ID" or "del-ID". */
  busy = $state<string | null>(null);
  /** The assessment whose deletion waits for a confirmation. */
  confirmDelete = $state<number | null>(null);
  showNew = $state(false);

  refresh(): Promise<void> {
    return this.list.load();
  }

  /** Starts an assessment; rejects with the IPC error (the form shows it and saves nothing). */
  async create(request: NewAssessmentRequest) {
    const view = await newAssessment(request);
    this.showNew = false;
    await this.refresh();
    this.current = view;
  }

  async open(id: number) {
    await this.#act(`open-${id}`, async () => {
      this.current = await getAssessment(id);
    });
  }

  /** Duplicates an assessment; the copy's id, or null when it failed. */
  async duplicate(id: number): Promise<number | null> {
    let copy: number | null = null;
    await this.#act(`dup-${id}`, async () => {
      copy = (await duplicateAssessment(id)).id;
      await this.refresh();
    });
    return copy;
  }

  /** Deletes an assessment; whether it is gone. */
  async remove(id: number): Promise<boolean> {
    let removed = false;
    await this.#act(`del-${id}`, async () => {
      await deleteAssessment(id);
      this.confirmDelete = null;
      removed = true;
      await this.refresh();
    });
    return removed;
  }

  /** Closes the wizard and re-reads the list; the id that was open. */
  async close(): Promise<number | undefined> {
    const id = this.current?.id;
    this.current = null;
    await this.refresh();
    return id;
  }

  async #act(busy: string, action: () => Promise<void>) {
    this.busy = busy;
    this.actionError = null;
    try {
      await action();
    } catch (reason) {
      this.actionError = toIpcError(reason);
    } finally {
      this.busy = null;
    }
  }
}

export const gateways = new Gateways();
