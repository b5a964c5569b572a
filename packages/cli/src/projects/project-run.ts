import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PROJECT_SOURCE_TYPE, PROJECT_TAGS, type RunInfo, type RunStatus, TAG_USER } from '@keel/core';
import { collectSystemTags, type KeelClient, SYSTEM_TAG_KEYS } from '@keel/sdk';
import { CliError, oneLine } from '../cli-error.js';
import type { CliIo } from '../io.js';
import { type OutputSinks, type ProgramExit, runProgram, SignalRelay } from './child-process.js';
import type { PreparedEnvironment, SetupRunner } from './environments/environment.js';
import { NODE_MODULES } from './environments/node-env.js';
import { type ProjectPlan, type ProjectRunRequest, planProjectRun } from './project-plan.js';
import type { ProjectSettings } from './project-settings.js';
import { fetchProjectSource, parseProjectUri } from './project-source.js';
import { runOnWorkflowEngine } from './workflow-backend.js';

/** The artifact folder and file the program's output is stored in. */
export const OUTPUT_ARTIFACT_DIR = 'keel-run';
/** The combined stdout and stderr of the program (and of environment setup), as it came. */
export const OUTPUT_ARTIFACT_FILE = 'output.log';

/** How a project run ended. */
export interface ProjectRunResult {
  readonly runId: string;
  readonly experimentId: string;
  readonly status: Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'>;
  /** For `keel run` to exit with: the program's code; 128 + signal number when stopped. */
  readonly exitCode: number;
  /** Why the run did not finish, for the error line. */
  readonly reason?: string;
}

/**
 * `keel run`'s whole job: fetch the project (cloning a git URI at `--version`), check it and its
 * parameters ({@link planProjectRun} — nothing is created when that fails), create the run with
 * its params and MLflow's project tags, build the environment, run the command with the run's
 * ids in `MLFLOW_RUN_ID` / `KEEL_RUN_ID` (and the tracking URI and experiment id), stream its
 * output to the terminal while recording it, store it as `keel-run/output.log`, and end the run
 * FINISHED, FAILED (non-zero exit) or KILLED (SIGINT or SIGTERM, forwarded to the program). With
 * `backend: 'workflow'` the command runs as a one-task execution of the workflow engine instead.
 *
 * @throws CliError or a Keel error for every refusal before the run exists.
 */
export async function runProject(
  client: KeelClient,
  request: ProjectRunRequest,
  io: CliIo,
  settings: ProjectSettings,
): Promise<ProjectRunResult> {
  if (request.experimentName !== undefined && request.experimentId !== undefined) {
    throw new CliError('Give --experiment-name or --experiment-id, not both');
  }
  const uri = parseProjectUri(request.uri, request.cwd);
  const source = await fetchProjectSource(uri, {
    cacheDir: settings.cacheDir,
    ignore: [NODE_MODULES],
    ...(request.version === undefined ? {} : { version: request.version }),
  });
  try {
    const plan = await planProjectRun(source, request, settings.baseEnv.PATH);
    return await executePlan(client, plan, request, io, settings);
  } finally {
    await source.cleanup();
  }
}

/** Runs a checked plan: from here on, a run exists and is always ended. */
async function executePlan(
  client: KeelClient,
  plan: ProjectPlan,
  request: ProjectRunRequest,
  io: CliIo,
  settings: ProjectSettings,
): Promise<ProjectRunResult> {
  // Signals are caught from before the run exists until it is ended, so that it is always ended.
  const relay = new SignalRelay();
  try {
    const experimentId = await resolveExperiment(client, request, settings);
    const run = await client.createRun({
      tags: await projectTags(plan, request, settings),
      ...(experimentId === undefined ? {} : { experimentId }),
      ...(request.runName === undefined ? {} : { runName: request.runName }),
    });
    const ended = await runAndRecord(client, plan, run.info, { io, relay, settings });
    return { runId: run.info.run_id, experimentId: run.info.experiment_id, ...ended };
  } finally {
    relay.dispose();
  }
}

/** Logs the params, runs, stores the output and ends the run with the status it earned. */
async function runAndRecord(
  client: KeelClient,
  plan: ProjectPlan,
  info: RunInfo,
  context: { io: CliIo; relay: SignalRelay; settings: ProjectSettings },
): Promise<Omit<ProjectRunResult, 'runId' | 'experimentId'>> {
  const { io, relay, settings } = context;
  const runId = info.run_id;
  const logDir = await mkdtemp(join(tmpdir(), 'keel-run-'));
  const log = createWriteStream(join(logDir, OUTPUT_ARTIFACT_FILE));
  // A log that cannot be written (a full disk) must not stop the run; the upload reports it.
  log.on('error', () => {});
  const sinks: OutputSinks = {
    stdout: (chunk) => {
      io.stdout.write(chunk);
      log.write(chunk);
    },
    stderr: (chunk) => {
      io.stderr.write(chunk);
      log.write(chunk);
    },
  };
  const note = (line: string): void => sinks.stderr(Buffer.from(`keel: ${line}\n`));
  let ended: Omit<ProjectRunResult, 'runId' | 'experimentId'>;
  try {
    await client.logBatch(runId, { params: plan.loggedParams });
    io.stderr.write(`=== Running command '${plan.command}' in run with ID '${runId}' ===\n`);
    ended =
      plan.backend === 'workflow'
        ? await runOnWorkflowEngine(client, plan, runId, info.experiment_id, {
            sinks,
            note,
            relay,
            cacheDir: settings.cacheDir,
          })
        : await runInEnvironment(client, plan, runId, info.experiment_id, { sinks, note, relay, settings });
  } catch (error) {
    ended = relay.received
      ? { status: 'KILLED', exitCode: relay.exitCode, reason: `stopped by ${relay.received}` }
      : { status: 'FAILED', exitCode: 1, reason: oneLine(error) };
    note(`run failed before its command finished: ${oneLine(error)}`);
  }
  await closeLog(log);
  await client
    .uploadArtifact(runId, join(logDir, OUTPUT_ARTIFACT_FILE), OUTPUT_ARTIFACT_DIR)
    .catch((error: unknown) => {
      io.stderr.write(`keel: warning: could not store the output as an artifact: ${oneLine(error)}\n`);
    });
  await rm(logDir, { recursive: true, force: true });
  await client.updateRun(runId, { status: ended.status, endTime: Date.now() });
  return ended;
}

/** What running the program needs besides the plan. */
interface RunContext {
  readonly sinks: OutputSinks;
  readonly note: (line: string) => void;
  readonly relay: SignalRelay;
  readonly settings: ProjectSettings;
}

/** Builds the environment, then runs the command; never started once a signal has come. */
async function runInEnvironment(
  client: KeelClient,
  plan: ProjectPlan,
  runId: string,
  experimentId: string,
  context: RunContext,
): Promise<Omit<ProjectRunResult, 'runId' | 'experimentId'>> {
  const { relay, sinks, settings } = context;
  const baseEnv = settings.baseEnv;
  // Setup output goes to stderr: stdout stays the program's own, for pipes.
  const setupSinks: OutputSinks = { stdout: sinks.stderr, stderr: sinks.stderr };
  const setup: SetupRunner = async (argv, cwd) => {
    if (relay.received) throw new CliError(`stopped by ${relay.received}`);
    const exit = await runProgram({ argv, cwd, env: baseEnv }, setupSinks, relay);
    if (exit.code !== 0) throw new CliError(`'${argv.join(' ')}' ${describeExit(exit)}`);
  };
  const prepared: PreparedEnvironment = (await plan.environment?.prepare({
    projectDir: plan.source.dir,
    baseEnv,
    cacheDir: settings.cacheDir,
    note: context.note,
    setup,
  })) ?? { env: {}, tags: {} };
  if (Object.keys(prepared.tags).length > 0) await client.logBatch(runId, { tags: prepared.tags });
  if (relay.received)
    return { status: 'KILLED', exitCode: relay.exitCode, reason: `stopped by ${relay.received}` };
  const env = {
    ...baseEnv,
    ...prepared.env,
    MLFLOW_RUN_ID: runId,
    MLFLOW_TRACKING_URI: client.trackingUri,
    MLFLOW_EXPERIMENT_ID: experimentId,
    KEEL_RUN_ID: runId,
    KEEL_TRACKING_URI: client.trackingUri,
    KEEL_EXPERIMENT_ID: experimentId,
  };
  const exit = await runProgram(
    { argv: ['bash', '-c', plan.command], cwd: plan.source.dir, env },
    sinks,
    relay,
  );
  if (relay.received)
    return { status: 'KILLED', exitCode: relay.exitCode, reason: `stopped by ${relay.received}` };
  if (exit.code === 0) return { status: 'FINISHED', exitCode: 0 };
  return { status: 'FAILED', exitCode: exitCodeOf(exit), reason: `the command ${describeExit(exit)}` };
}

/** `--experiment-id`, else `--experiment-name` (created if missing), else the environment's, else the server's default. */
async function resolveExperiment(
  client: KeelClient,
  request: ProjectRunRequest,
  settings: ProjectSettings,
): Promise<string | undefined> {
  if (request.experimentId !== undefined) return request.experimentId;
  if (request.experimentName !== undefined) return client.getOrCreateExperiment(request.experimentName);
  if (settings.experimentId !== undefined) return settings.experimentId;
  if (settings.experimentName !== undefined) return client.getOrCreateExperiment(settings.experimentName);
  return undefined;
}

/** MLflow's project tags, Keel's source tags, the user and the Node and OS versions. */
async function projectTags(
  plan: ProjectPlan,
  request: ProjectRunRequest,
  settings: ProjectSettings,
): Promise<Record<string, string>> {
  const { source, project, entry, envManager } = plan;
  const system = await collectSystemTags({ entry: undefined, cwd: source.dir, env: settings.baseEnv });
  const tags: Record<string, string> = {};
  for (const key of [TAG_USER, SYSTEM_TAG_KEYS.nodeVersion, SYSTEM_TAG_KEYS.os]) {
    const value = system[key];
    if (value !== undefined) tags[key] = value;
  }
  Object.assign(tags, {
    [PROJECT_TAGS.sourceType]: PROJECT_SOURCE_TYPE,
    [PROJECT_TAGS.sourceName]: source.sourceName,
    [PROJECT_TAGS.entryPoint]: entry.name,
    [PROJECT_TAGS.env]: envManager,
    [PROJECT_TAGS.backend]: request.backend,
    [PROJECT_TAGS.projectUri]: source.fetchUri,
    [PROJECT_TAGS.projectSubdirectory]: source.subdirectory,
    [PROJECT_TAGS.projectName]: project.spec.name ?? basename(source.dir),
    [PROJECT_TAGS.projectFile]: project.file ?? 'none',
  });
  if (request.version !== undefined) tags[PROJECT_TAGS.projectVersion] = request.version;
  const git = source.git;
  if (git !== undefined) {
    tags[PROJECT_TAGS.gitCommit] = git.commit;
    tags[PROJECT_TAGS.gitDirty] = String(git.dirty);
    if (git.branch !== undefined) tags[PROJECT_TAGS.gitBranch] = git.branch;
    if (git.repoUrl !== undefined) {
      tags[PROJECT_TAGS.gitRepoUrl] = git.repoUrl;
      tags[PROJECT_TAGS.legacyGitRepoUrl] = git.repoUrl;
    }
  }
  return { ...tags, ...request.tags };
}

function exitCodeOf(exit: ProgramExit): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal === null ? 0 : (constants.signals[exit.signal] ?? 0));
}

function describeExit(exit: ProgramExit): string {
  return exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(() => resolve()));
}
