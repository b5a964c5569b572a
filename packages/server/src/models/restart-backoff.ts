/**
 * How fast Keel restarts something that keeps dying (a worker thread, a model's child process): the
 * first failure in a quiet period is restarted at once, each further one waits twice as long as the
 * one before, up to a cap, so a model that crashes at start cannot spin the CPU in a restart loop.
 */

/**
 * When to restart after a failure. Failures older than `windowMs`, or older than the last request
 * answered successfully, are forgotten, so a model that crashed once an hour ago (or crashed on one
 * request and has answered others since) restarts at once again.
 *
 * With the defaults, a model that fails on every start is retried after 0, 0.1, 0.2, 0.4, … s, then
 * every 30 s: about ten restarts in its first minute, two a minute after that.
 */
export interface RestartPolicy {
  /**
   * Delay before the second restart within `windowMs`; each later one doubles it.
   * @default 100
   */
  initialDelayMs?: number;
  /**
   * Longest delay between two restarts.
   * @default 30_000
   */
  maxDelayMs?: number;
  /**
   * How long a failure counts toward the next delay.
   * @default 60_000
   */
  windowMs?: number;
}

/** The defaults of {@link RestartPolicy}. */
export const DEFAULT_RESTART_POLICY: Readonly<Required<RestartPolicy>> = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  windowMs: 60_000,
});

/**
 * Counts recent failures and turns them into the delay before the next restart.
 *
 * @example
 * const backoff = new RestartBackoff({ initialDelayMs: 100 });
 * backoff.recordFailure(); // 0: restart at once
 * backoff.recordFailure(); // 100
 * backoff.recordFailure(); // 200
 */
export class RestartBackoff {
  readonly #policy: Readonly<Required<RestartPolicy>>;
  readonly #now: () => number;
  readonly #failures: number[] = [];

  /**
   * @param now clock in milliseconds; tests pass their own.
   * @throws RangeError when a policy value is negative or not finite.
   */
  constructor(policy: RestartPolicy = {}, now: () => number = Date.now) {
    const resolved = { ...DEFAULT_RESTART_POLICY, ...withoutUndefined(policy) };
    for (const [key, value] of Object.entries(resolved)) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`restart.${key} must be a non-negative number, got ${value}`);
      }
    }
    this.#policy = Object.freeze(resolved);
    this.#now = now;
  }

  /** Records a failure now; returns how long to wait before the next start attempt, in ms. */
  recordFailure(): number {
    const now = this.#now();
    this.#failures.push(now);
    this.#forgetOld(now);
    const { initialDelayMs, maxDelayMs } = this.#policy;
    const count = this.#failures.length;
    if (count <= 1) return 0;
    // Past ~40 doublings any sane cap is reached; bound the exponent so it stays a finite number.
    return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(count - 2, 40));
  }

  /**
   * Forgets every failure: call it when the restarted thing has proved healthy (it answered a
   * request), so a rare crash on one bad request is not slowed down by an older one.
   */
  reset(): void {
    this.#failures.length = 0;
  }

  /** Failures within the window (for messages and metrics). */
  get recentFailures(): number {
    this.#forgetOld(this.#now());
    return this.#failures.length;
  }

  #forgetOld(now: number): void {
    while (this.#failures.length > 0 && (this.#failures[0] as number) <= now - this.#policy.windowMs) {
      this.#failures.shift();
    }
    // The delay is capped long before 64 failures; older entries change nothing.
    if (this.#failures.length > 64) this.#failures.splice(0, this.#failures.length - 64);
  }
}

function withoutUndefined(policy: RestartPolicy): RestartPolicy {
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
}
