/** Something to finish before the process ends, e.g. an `ActiveRun` with buffered metrics. */
export interface ExitParticipant {
  /**
   * Called once when the process is about to end: `'beforeExit'` when the event loop ran dry,
   * or the signal received. Must not throw; report failures itself.
   */
  onExit(reason: 'beforeExit' | ExitSignal): Promise<void>;
}

/** The signals on which pending work is flushed (best effort) before the process ends. */
export type ExitSignal = 'SIGINT' | 'SIGTERM';

const SIGNALS: readonly ExitSignal[] = ['SIGINT', 'SIGTERM'];

/** Longest wait for participants after a signal before the process is let go. */
const SIGNAL_GRACE_MS = 5_000;

/**
 * The process-wide registry of work to finish at exit. Listeners are installed only while
 * something is registered, so a program that has ended all its runs keeps Node's default
 * exit and signal behaviour.
 *
 * - `beforeExit` (the event loop ran dry): every participant's `onExit` runs; the work they start
 *   keeps the process alive until it is done.
 * - `SIGINT` / `SIGTERM`: participants get up to 5 s, then the listeners are removed and, unless
 *   the program has its own listener for that signal, the signal is raised again so the process
 *   ends as it would have.
 *
 * @example
 * const unregister = exitHooks.register({ onExit: async () => { await run.flush(); } });
 * // … later, when the work is finished:
 * unregister();
 */
export class ExitHooks {
  private readonly participants = new Set<ExitParticipant>();
  private installed = false;

  private readonly onBeforeExit = (): void => {
    void this.finishAll('beforeExit');
  };

  private readonly onSignal = (signal: ExitSignal): void => {
    const grace = new Promise<void>((resolve) => setTimeout(resolve, SIGNAL_GRACE_MS).unref());
    void Promise.race([this.finishAll(signal), grace]).then(() => {
      this.uninstall();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };

  /** Adds a participant; returns the function that removes it. */
  register(participant: ExitParticipant): () => void {
    this.participants.add(participant);
    this.install();
    return () => {
      this.participants.delete(participant);
      if (this.participants.size === 0) this.uninstall();
    };
  }

  /** How many participants are registered (for tests and diagnostics). */
  get size(): number {
    return this.participants.size;
  }

  /** Runs every participant's `onExit` once, removing them first so none runs twice. */
  async finishAll(reason: 'beforeExit' | ExitSignal): Promise<void> {
    const all = [...this.participants];
    this.participants.clear();
    await Promise.all(all.map((p) => p.onExit(reason).catch(() => undefined)));
    if (this.participants.size === 0) this.uninstall();
  }

  private install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('beforeExit', this.onBeforeExit);
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  private uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    process.off('beforeExit', this.onBeforeExit);
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}

/** The one registry of this process: exit is a process-wide event. */
export const exitHooks = new ExitHooks();
