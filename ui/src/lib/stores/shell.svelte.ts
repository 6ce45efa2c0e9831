/** What every view shares: the status line and the clock relative times are shown against. */
class Shell {
  /** Announced politely to assistive technology; also shown under the header. */
  status = $state('');
  /** Clock for relative times, in ms; ticks with every poller status read and settings change. */
  now = $state(Date.now());

  tickClock() {
    this.now = Date.now();
  }
}

export const shell = new Shell();
