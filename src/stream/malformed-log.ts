/**
 * How the viewer server logs one client's malformed messages. A page sends control
 * messages only on user input, so a client that sends many bad ones is broken or
 * hostile, and a line per message flooded the log (2,500 lines from one burst): the
 * first few are logged one by one, the rest counted and logged as one line every
 * `summaryMs` and when the client goes.
 *
 * @internal
 */
export const MALFORMED_LOGGED_EACH = 3;

export class MalformedLog {
  /** Malformed messages from this client so far. */
  count = 0;
  private unlogged = 0;
  private lastError = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly clientId: number,
    private readonly log: (message: string) => void,
    private readonly summaryMs: number,
  ) {}

  note(error: string): void {
    this.count++;
    if (this.count <= MALFORMED_LOGGED_EACH) {
      const more = this.count === MALFORMED_LOGGED_EACH ? `; more from this client are counted and logged every ${this.summaryMs / 1000} s` : '';
      this.log(`ignored a malformed message from client ${this.clientId}: ${error}${more}`);
      return;
    }
    this.unlogged++;
    this.lastError = error;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.summaryMs);
      this.timer.unref();
    }
  }

  /** Logs what is counted but not yet logged; the client is gone or the interval is up. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.unlogged === 0) return;
    this.log(`ignored ${this.unlogged} more malformed message(s) from client ${this.clientId} (${this.count} in all), the last: ${this.lastError}`);
    this.unlogged = 0;
  }
}
