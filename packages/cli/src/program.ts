import { KEEL_VERSION } from '@keel/core';
import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.js';
import { artifactsCommand } from './commands/artifacts.js';
import { auditCommand } from './commands/audit.js';
import { dbUpgradeCommand } from './commands/db-upgrade.js';
import { deploymentsCommand } from './commands/deployments.js';
import { experimentsCommand } from './commands/experiments.js';
import { gcCommand } from './commands/gc.js';
import { modelsCommand } from './commands/models.js';
import { predictionsCommand } from './commands/predictions.js';
import { runCommand } from './commands/run.js';
import { runsCommand } from './commands/runs.js';
import { serverCommand } from './commands/server.js';
import { servingCommand } from './commands/serving.js';
import { workflowsCommand } from './commands/workflows.js';
import { errorLine } from './error-line.js';
import { type CliIo, processIo } from './io.js';

/**
 * Builds the `keel` command tree: `server`, `serving`, `db upgrade`, `gc`, `experiments …`, `runs …`, `run`,
 * `artifacts …`, `models …`, `deployments …`, `predictions …`, `audit …`, `workflows …`, `--version`. Every command throws instead of exiting (commander's
 * `exitOverride`), so {@link runCli} — or a test — decides the exit code.
 *
 * @example
 * await buildProgram().parseAsync(['server', '--port', '0'], { from: 'user' });
 */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('keel')
    .description("Keel: ML experiment tracking that speaks MLflow's REST API (server and client commands)")
    .version(KEEL_VERSION, '-V, --version', 'print the Keel version')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    // `keel --version` only before a subcommand: `keel models delete m 3 --version` must not print it.
    .enablePositionalOptions()
    .showSuggestionAfterError();

  program.addCommand(serverCommand(io));
  program.addCommand(servingCommand(io));
  program.addCommand(
    new Command('db').description('Manage the backend store schema').addCommand(dbUpgradeCommand(io)),
  );
  program.addCommand(gcCommand(io));
  program.addCommand(experimentsCommand(io));
  program.addCommand(runsCommand(io));
  program.addCommand(runCommand(io));
  program.addCommand(artifactsCommand(io));
  program.addCommand(auditCommand(io));
  program.addCommand(modelsCommand(io));
  program.addCommand(predictionsCommand(io));
  program.addCommand(deploymentsCommand(io));
  program.addCommand(workflowsCommand(io));
  inheritSettings(program);
  return program;
}

/** `addCommand` does not copy settings the way `.command()` does; copy output and exit handling down. */
function inheritSettings(parent: Command): void {
  for (const child of parent.commands) {
    child.copyInheritedSettings(parent);
    inheritSettings(child);
  }
}

/**
 * Runs `keel` with `argv` (`process.argv` layout) and returns the exit code. Expected failures
 * print one line on stderr and return 1 (or the error's own code): a server's error answer as
 * `error: <message> (<ERROR_CODE>)`, an unreachable server as `error: cannot reach Keel at <uri>: <reason>`.
 * Commander's usage errors have already printed theirs.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr.write(`error: ${errorLine(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
