/**
 * An abort signal that fires when nothing has happened for `ms` milliseconds. Every call to
 * {@link IdleTimeout.touch} starts the wait again, so a long transfer that keeps moving bytes
 * never times out while a stalled one does; a request that never touches it gets a plain
 * overall timeout.
 *
 * @example
 * const idle = new IdleTimeout(30_000);
 * const response = await fetch(url, { signal: idle.signal });
 * for await (const chunk of response.body!) { idle.touch(); write(chunk); }
 * idle.clear();
 */
export class IdleTimeout {
  /** Aborted with a `TimeoutError` `DOMException` once the wait runs out. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.controller.abort(new DOMException(`No progress for ${ms} ms`, 'TimeoutError'));
    }, ms);
  }

  /** Starts the wait again; call it whenever bytes move. */
  readonly touch = (): void => {
    if (!this.signal.aborted) this.timer.refresh();
  };

  /** Whether the wait ran out. */
  get fired(): boolean {
    return this.signal.aborted;
  }

  /** Stops the timer; the signal will not fire any more. */
  clear(): void {
    clearTimeout(this.timer);
  }
}
