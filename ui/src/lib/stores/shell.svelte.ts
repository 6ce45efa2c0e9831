/** What every view shares: the status line and the clock relative times are shown against. */
class Shell {
  /** Announced politely to assistive technology; also shown under the header. */
  status = $state('');
  /**
   * The core's clock minus this machine's, in ms: "now" comes from the core, so a replayed
   * moment (`BURNRATE_NOW`) reads the same in the app as in the CLI.
   */
  #offset = 0;
  /** Clock for relative times, in ms; ticks with every poller status read and settings change. */
  now = $state(Date.now());

  tickClock() {
    this.now = Date.now() + this.#offset;
  }

  /** Sets the clock to the core's `now` (RFC 3339); ignored when unparsable. */
  syncClock(coreNow: string) {
    const at = new Date(coreNow).getTime();
    if (Number.isNaN(at)) return;
    const offset = at - Date.now();
    // Within a few seconds the clocks agree: keep the machine's, so relative times tick smoothly.
    this.#offset = Math.abs(offset) > 5_000 ? offset : 0;
    this.tickClock();
  }
}

export const shell = new Shell();
