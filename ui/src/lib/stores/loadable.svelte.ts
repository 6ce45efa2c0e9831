import { toIpcError, type IpcError } from '../ipc';

export interface LoadableOptions {
  /**
   * Whether `loading` starts true (the view shows "Loading…" before the first read). Default
   * false.
   */
  pending?: boolean;
  /**
   * Whether later loads set `loading` again. Default true. Reads that refresh a list already
   * on screen pass false, so the list does not flicker back to "Loading…" on every refresh.
   */
  reloadsShowLoading?: boolean;
}

/**
 * One value read over IPC: the last value read, whether a read is running, and why the last
 * read failed (as an `IpcError`, cleared by the next successful read). The value of a failed
 * read is kept, so a list stays on screen under its error.
 *
 * When reads overlap, only the newest one counts: an older read that finishes later neither
 * overwrites the value nor the error, nor ends `loading`.
 */
export class Loadable<T> {
  value: T = $state() as T;
  loading = $state(false);
  error = $state<IpcError | null>(null);

  readonly #fetch: () => Promise<T>;
  readonly #initial: T;
  readonly #reloadsShowLoading: boolean;
  /** Bumped by every load and reset; a read applies its result only if it is still the newest. */
  #generation = 0;

  constructor(fetch: () => Promise<T>, initial: T, options: LoadableOptions = {}) {
    this.#fetch = fetch;
    this.#initial = initial;
    this.value = initial;
    this.loading = options.pending ?? false;
    this.#reloadsShowLoading = options.reloadsShowLoading ?? true;
  }

  /** Reads the value. Never rejects: a failure lands in `error`. */
  async load(): Promise<void> {
    const generation = ++this.#generation;
    if (this.#reloadsShowLoading) this.loading = true;
    try {
      const value = await this.#fetch();
      if (generation !== this.#generation) return;
      this.value = value;
      this.error = null;
    } catch (reason) {
      if (generation !== this.#generation) return;
      this.error = toIpcError(reason);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  /** Back to the initial value with no error; a read still running is ignored when it ends. */
  reset(): void {
    this.#generation += 1;
    this.value = this.#initial;
    this.error = null;
    this.loading = false;
  }
}
