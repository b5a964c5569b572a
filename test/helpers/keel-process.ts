// Spawning the built `keel` CLI for end-to-end tests. Every process is started in its own process
// group so that cleanup can kill the server together with its cluster workers, even when a test fails.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds first; during development run `npx tsc -b packages/cli`). */
export const KEEL_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** How a spawned process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `keel server`. */
export interface KeelServer {
  /** `http://127.0.0.1:<port>` from the ready line. */
  readonly url: string;
  /** The first process: the only one with `--workers 1`, the cluster primary otherwise. */
  readonly pid: number;
  readonly readyLine: string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Signals the whole process group (`SIGKILL` takes the workers down too) and waits for the primary. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /** Signals the primary only and waits for it to exit. */
  signal(signal: NodeJS.Signals): Promise<Exit>;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

// Last resort if a test run dies before its afterAll: no server outlives the test process.
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

/** Kills every process these helpers started (and their workers). Call from afterAll/afterEach. */
export async function killAll(): Promise<void> {
  const waits = [...live].map((child) => {
    const exit = exitOf(child);
    killGroup(child, 'SIGKILL');
    return exit;
  });
  await Promise.all(waits);
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function spawnKeel(
  args: readonly string[],
  env: Record<string, string>,
  stdin: 'ignore' | 'pipe',
): ChildProcess {
  return spawnTracked(process.execPath, [KEEL_BIN, ...args], { env, stdin });
}

/** Spawns `file` in its own process group, tracked for {@link killAll}, with `KEEL_LOG_LEVEL=warn`. */
function spawnTracked(
  file: string,
  args: readonly string[],
  options: { env?: Record<string, string>; stdin?: 'ignore' | 'pipe'; cwd?: string },
): ChildProcess {
  const child = spawn(file, [...args], {
    detached: true,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEEL_LOG_LEVEL: 'warn', ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  live.add(child);
  child.once('exit', () => {
    // Workers of a SIGKILLed primary exit by themselves (cluster disconnect); make sure of it.
    killGroup(child, 'SIGKILL');
    live.delete(child);
  });
  return child;
}

/** What {@link waitForReadyLine} saw: the ready line, its URL, and the output so far. */
interface Ready {
  readyLine: string;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

/**
 * Collects the child's output and resolves once a complete stdout line matches `ready`. Rejects with
 * its stderr when it exits first or is not ready within `timeoutMs` (then it is killed).
 */
async function waitForReadyLine(
  child: ChildProcess,
  ready: RegExp,
  label: string,
  timeoutMs: number,
): Promise<Ready> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = exitOf(child);
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${label} not ready within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    const check = (): void => {
      // Complete lines only: a chunk may end mid-line, before the URL.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((candidate) => ready.test(candidate));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve(line);
    };
    child.stdout?.on('data', check);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${JSON.stringify(exit)}) before ready; stderr: ${err}`));
    });
  });
  const url = /http:\/\/\S+/.exec(readyLine)?.[0];
  if (url === undefined) throw new Error(`no URL in ready line '${readyLine}'`);
  return { readyLine, url, stdout: () => out, stderr: () => err, exited };
}

/** `keel server` arguments for a store and artifacts inside `dir`: `keel.db` and `artifacts/`. */
export function sqliteServerArgs(dir: string): string[] {
  return [
    '--backend-store-uri',
    `sqlite:///${join(dir, 'keel.db')}`,
    '--artifacts-destination',
    join(dir, 'artifacts'),
  ];
}

/**
 * Starts `keel server --port 0 <args>` and resolves once it prints its ready line. Rejects with
 * its stderr when it exits first or is not ready within `timeoutMs`.
 */
export async function startKeelServer(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<KeelServer> {
  const child = spawnKeel(['server', '--port', '0', ...args], options.env ?? {}, 'ignore');
  const ready = await waitForReadyLine(
    child,
    /^Keel listening on /,
    'keel server',
    options.timeoutMs ?? 20_000,
  );
  return {
    ...ready,
    pid: child.pid as number,
    kill: (signal = 'SIGKILL') => {
      killGroup(child, signal);
      return ready.exited;
    },
    signal: (signal) => {
      child.kill(signal);
      return ready.exited;
    },
  };
}

/** Runs `keel <args>` to completion. stdin is a pipe closed at once: never a terminal. */
export async function runKeel(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawnKeel(args, options.env ?? {}, 'pipe');
  child.stdin?.end();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs ?? 30_000);
  // 'close', unlike 'exit', comes after the last stdout/stderr data.
  const exit = await new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** Whether util-linux `script` is installed, which {@link runKeelOnTerminal} needs for a pseudo-terminal. */
export const CAN_FAKE_TERMINAL = spawnSync('script', ['--version']).status === 0;

/**
 * Runs `keel <args>` on a pseudo-terminal (through `script`), typing `input`. The terminal merges
 * stdout and stderr, so both arrive in `stdout`.
 */
export async function runKeelOnTerminal(
  args: readonly string[],
  input: string,
): Promise<Exit & { stdout: string }> {
  const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, KEEL_BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, KEEL_LOG_LEVEL: 'warn' },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stdin?.end(input);
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 30_000);
  const exit = await new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  return { ...exit, stdout };
}

/** Child pids of `pid` (the cluster workers of a primary). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number)
      .filter((child) => isAlive(child));
  } catch {
    return []; // pgrep exits 1 when there are none.
  }
}

/** Whether `pid` is a running process (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A process started by {@link startProcess}, past its ready line. */
export interface StartedProcess {
  /** The first `http://…` URL in the ready line. */
  readonly url: string;
  readonly pid: number;
  readonly readyLine: string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Signals the process only (not its group) and waits for it to exit. */
  signal(signal: NodeJS.Signals): Promise<Exit>;
}

/**
 * Starts `file args…` in its own process group (killed by {@link killAll}) and resolves once a stdout
 * line matches `ready` — e.g. `keel models serve` or a generated Docker entrypoint. Rejects with its
 * stderr when it exits first or is not ready within `timeoutMs`.
 */
export async function startProcess(
  file: string,
  args: readonly string[],
  options: { ready: RegExp; env?: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<StartedProcess> {
  const child = spawnTracked(file, args, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const ready = await waitForReadyLine(child, options.ready, file, options.timeoutMs ?? 30_000);
  return {
    ...ready,
    pid: child.pid as number,
    signal: (signal) => {
      child.kill(signal);
      return ready.exited;
    },
  };
}
