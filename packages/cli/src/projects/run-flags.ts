import { ENV_MANAGERS, type EnvManager } from '@keel/core';
import { Option } from 'commander';
import { CliError } from '../cli-error.js';
import type { CliIo } from '../io.js';
import type { ProjectRunResult } from './project-run.js';

/**
 * Parses `-P key=value` entries (the value may contain `=`; the key may not be empty). A key given
 * twice keeps its last value, as MLflow does.
 *
 * @example
 * parseParamList(['alpha=0.5', 'expr=a=b']); // { alpha: '0.5', expr: 'a=b' }
 */
export function parseParamList(entries: readonly string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(`Invalid -P '${entry}': expected key=value`);
    params[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return params;
}

/** `--env-manager local|node|virtualenv|conda|docker` (conda and docker are refused with what to install). */
export function envManagerOption(): Option {
  return new Option(
    '--env-manager <manager>',
    "environment to run in (default: the project's — node_env, python_env, else local)",
  ).choices(ENV_MANAGERS as unknown as string[]);
}

/** The flags `keel run` and `keel runs reproduce` share. */
export interface SharedRunFlags {
  experimentName?: string;
  experimentId?: string;
  runName?: string;
  envManager?: EnvManager;
}

/**
 * Ends a project command: a finished run prints MLflow's `=== Run (ID '…') succeeded ===`; a
 * failed or killed one becomes a CliError whose exit code is the program's (130/143 after
 * SIGINT/SIGTERM), so `keel run` exits as the program did.
 *
 * @throws CliError `run <id> FAILED: the command exited with code 3`.
 */
export function reportRunEnd(io: CliIo, result: ProjectRunResult): void {
  if (result.status === 'FINISHED') {
    io.stderr.write(`=== Run (ID '${result.runId}') succeeded ===\n`);
    return;
  }
  throw new CliError(`run ${result.runId} ${result.status}: ${result.reason ?? 'no reason given'}`, {
    exitCode: result.exitCode === 0 ? 1 : result.exitCode,
  });
}
