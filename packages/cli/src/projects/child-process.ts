import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

/** The signals `keel run` forwards to its program. */
const FORWARDED = ['SIGINT', 'SIGTERM'] as const;

/** How long a program may take to stop after a forwarded signal before it is killed. */
export const KILL_GRACE_MS = 10_000;

/**
 * Catches SIGINT and SIGTERM for the whole of a project run, so that the run is always ended:
 * a signal is forwarded to the process group of the program running (then, after
 * {@link KILL_GRACE_MS}, or at a second signal, SIGKILL), and remembered, so no later step starts;
 * a second signal while no program runs exits at once. `dispose()` gives the signals back.
 *
 * @example
 * const relay = new SignalRelay();
 * try { await runProgram(…, relay); } finally { relay.dispose(); }
 * if (relay.received) …; // 'SIGTERM'
 */
export class SignalRelay {
  /** The first signal received, if any. */
  received: NodeJS.Signals | undefined;
  private child: ChildProcess | undefined;
  private cancel: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => this.onSignal(signal);

  constructor(private readonly graceMs: number = KILL_GRACE_MS) {
    for (const signal of FORWARDED) process.on(signal, this.handler);
  }

  /** Exit code for a run stopped by the received signal: 128 + its number (130, 143). */
  get exitCode(): number {
    return this.received === undefined ? 0 : 128 + (constants.signals[this.received] ?? 15);
  }

  /**
   * What a signal does while no local program runs (cancelling a remote execution); `undefined`
   * to clear it. Called at once when a signal has already come.
   */
  attachCancel(cancel: (() => void) | undefined): void {
    this.cancel = cancel;
    if (cancel !== undefined && this.received !== undefined) cancel();
  }

  /** The child signals go to while it runs; `undefined` when it has exited. */
  attach(child: ChildProcess | undefined): void {
    this.child = child;
    if (child === undefined && this.timer !== undefined) clearTimeout(this.timer);
    if (child !== undefined && this.received !== undefined) killGroup(child, this.received);
  }

  dispose(): void {
    for (const signal of FORWARDED) process.off(signal, this.handler);
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private onSignal(signal: NodeJS.Signals): void {
    const child = this.child;
    if (this.received !== undefined) {
      if (child !== undefined) killGroup(child, 'SIGKILL');
      // Asked twice while keel itself is busy (a remote execution, a server that does not answer):
      // give up on ending the run cleanly rather than ignore the user.
      else process.exit(this.exitCode);
      return;
    }
    this.received = signal;
    if (child === undefined) {
      this.cancel?.();
      return;
    }
    killGroup(child, signal);
    this.timer = setTimeout(() => killGroup(child, 'SIGKILL'), this.graceMs);
    this.timer.unref();
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child.pid, signal);
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Where a program's output goes as it comes. */
export interface OutputSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** How a program ended. */
export interface ProgramExit {
  /** The exit code; `null` when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What {@link runProgram} runs. */
export interface ProgramSpec {
  /** `[file, ...args]`, run without a shell. */
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Longest wait for a program's output pipes to drain after it exited (a background grandchild may hold them). */
const DRAIN_MS = 2_000;

/**
 * Runs a program in its own process group (so that a forwarded signal reaches everything it
 * started), stdin closed, streaming its stdout and stderr to `sinks` as they come. Resolves when
 * it has exited and its output is drained; a program that cannot start resolves with code 127.
 */
export function runProgram(spec: ProgramSpec, sinks: OutputSinks, relay: SignalRelay): Promise<ProgramExit> {
  const [file, ...args] = spec.argv;
  if (file === undefined) throw new Error('runProgram: empty argv');
  const child = spawn(file, args, {
    cwd: spec.cwd,
    env: spec.env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  relay.attach(child);
  const drained = Promise.all([
    streamEnd(child.stdout, (chunk) => sinks.stdout(chunk)),
    streamEnd(child.stderr, (chunk) => sinks.stderr(chunk)),
  ]);
  return new Promise<ProgramExit>((done) => {
    child.once('error', (error) => {
      relay.attach(undefined);
      sinks.stderr(Buffer.from(`keel: cannot start ${file}: ${error.message}\n`));
      done({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => {
      relay.attach(undefined);
      // A stopped run leaves nothing behind: whatever the program started goes with it.
      if (relay.received !== undefined) signalGroup(child.pid, 'SIGKILL');
      const timeout = new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref());
      void Promise.race([drained, timeout]).then(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        done({ code, signal });
      });
    });
  });
}

function streamEnd(stream: NodeJS.ReadableStream | null, onData: (chunk: Buffer) => void): Promise<void> {
  if (stream === null) return Promise.resolve();
  stream.on('data', onData);
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}
