import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { walk } from '../artifact-transfer.js';
import { bundleModule } from '../bundle-module.js';
import { copyTree } from '../models/copy-tree.js';
import { invalidOption } from '../models/sdk-error.js';
import type { AnyTask, AnyWorkflow } from './dsl-types.js';

/** The bundle's file name in a code package. */
export const WORKFLOW_BUNDLE_FILE = 'bundle.mjs';

/** The folder of a code package holding command tasks' shipped files (`{{files}}`). */
export const WORKFLOW_FILES_DIR = 'files';

/**
 * Packages left out of workflow bundles (native code, or too big to copy): a worker imports them
 * from its own installation.
 */
export const WORKFLOW_EXTERNAL_PACKAGES: readonly string[] = Object.freeze([
  'onnxruntime-node',
  'better-sqlite3',
  'esbuild',
]);

/** Options of {@link bundleWorkflowModule}. */
export interface BundleWorkflowOptions {
  /**
   * Extra `package.json` export conditions, e.g. `['keel-source']` to bundle Keel's own packages
   * from their sources inside the Keel repository. @default none
   */
  conditions?: readonly string[];
}

/** One file of a code package. */
export interface PackageFile {
  /** Relative to the package folder, `/`-separated: `bundle.mjs`, `files/train.R`. */
  path: string;
  /** sha256 (hex) of the content. */
  sha256: string;
  size: number;
}

/** A workflow module's code package, as {@link bundleWorkflowModule} wrote it. */
export interface WorkflowPackage {
  /** The package folder. */
  dir: string;
  /** sha256 over its sorted `"<path>\0<sha256>\n"` lines: the package's content hash. */
  sha256: string;
  /** Every file, sorted by path. */
  files: PackageFile[];
  /** The module's exports, as loaded from the bundle. */
  exports: Readonly<Record<string, unknown>>;
  /** The workflows the module exports, sorted by name. */
  workflows: AnyWorkflow[];
  /** The tasks the module exports or its workflows reach, sorted by name. */
  tasks: AnyTask[];
}

/**
 * Bundles a workflow module into a code package in `outDir` (created; must be empty): `bundle.mjs`
 * — the module and everything it imports, `@keel/sdk` included, as one ES module for Node 20
 * (only Node's built-ins and {@link WORKFLOW_EXTERNAL_PACKAGES} stay imports) — and, under
 * `files/`, the files command tasks ship. The bundle is then imported (the module's top level
 * runs) to find its workflows and tasks and the files to copy; every exported workflow's graph is
 * derived, so graph errors surface here.
 *
 * @throws InvalidParameterError when the module does not bundle (esbuild's first error), does not
 *   load, a graph is wrong, a shipped file is missing, or `outDir` is not empty.
 * @example
 * const pkg = await bundleWorkflowModule('flows/train.ts', '/tmp/train-package');
 * pkg.sha256; // 'c0ffee…'
 */
export async function bundleWorkflowModule(
  entry: string,
  outDir: string,
  options: BundleWorkflowOptions = {},
): Promise<WorkflowPackage> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw invalidOption(`bundleWorkflowModule: '${outDir}' is not empty`);
  const bundle = join(dir, WORKFLOW_BUNDLE_FILE);
  const moduleDir = dirname(resolve(entry));
  await bundleModule(resolve(entry), bundle, {
    label: 'the workflow module',
    purpose: 'Registering a workflow',
    external: WORKFLOW_EXTERNAL_PACKAGES,
    // Source comments relative to the module: the same module gives the same bytes from any directory.
    workingDir: moduleDir,
    ...(options.conditions === undefined ? {} : { conditions: options.conditions }),
  });
  const exports = await importBundle(bundle, moduleDir, entry);
  const { workflows, tasks } = collectEntities(exports);
  await copyShippedFiles(tasks, moduleDir, join(dir, WORKFLOW_FILES_DIR));
  const files = await hashFiles(dir);
  return { dir, sha256: packageHash(files), files, exports, workflows, tasks };
}

/**
 * The workflows and tasks among a module's exports (recognised by their `kind`, so the bundle's
 * own copy of the SDK counts), with every task the workflows reach. Reading a workflow's `tasks`
 * derives its graph.
 */
export function collectEntities(exports: Readonly<Record<string, unknown>>): {
  workflows: AnyWorkflow[];
  tasks: AnyTask[];
} {
  const workflows = new Map<string, AnyWorkflow>();
  const tasks = new Map<string, AnyTask>();
  const addTask = (task: AnyTask) => {
    const known = tasks.get(task.name);
    if (known !== undefined && known !== task) {
      throw invalidOption(`the module defines two different tasks named '${task.name}'`);
    }
    tasks.set(task.name, task);
  };
  for (const value of Object.values(exports)) {
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (kind === 'keel.task') addTask(value as AnyTask);
    if (kind !== 'keel.workflow') continue;
    const workflow = value as AnyWorkflow;
    const known = workflows.get(workflow.name);
    if (known !== undefined && known !== workflow) {
      throw invalidOption(`the module exports two different workflows named '${workflow.name}'`);
    }
    workflows.set(workflow.name, workflow);
    workflow.tasks.forEach(addTask);
  }
  const sorted = <T extends { name: string }>(map: Map<string, T>) =>
    [...map.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { workflows: sorted(workflows), tasks: sorted(tasks) };
}

/**
 * A package's content hash: sha256 over its files' sorted `"<path>\0<sha256>\n"` lines (the
 * scheme of directory values).
 */
export function packageHash(files: readonly PackageFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.sha256}\n`);
  }
  return hash.digest('hex');
}

/**
 * Imports the bundle from a temporary copy whose folder links to the `node_modules` nearest the
 * module, so that the packages left out of the bundle resolve as they would next to the module.
 */
async function importBundle(
  bundle: string,
  moduleDir: string,
  entry: string,
): Promise<Record<string, unknown>> {
  const stage = await mkdtemp(join(tmpdir(), 'keel-workflow-import-'));
  try {
    const modules = await nearestNodeModules(moduleDir);
    if (modules !== undefined) await symlink(modules, join(stage, 'node_modules'), 'junction');
    const staged = join(stage, WORKFLOW_BUNDLE_FILE);
    await copyFile(bundle, staged);
    try {
      return { ...((await import(pathToFileURL(staged).href)) as Record<string, unknown>) };
    } catch (error) {
      throw invalidOption(`Cannot load the workflow module '${entry}': ${(error as Error).message ?? error}`);
    }
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function nearestNodeModules(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules');
    if ((await stat(candidate).catch(() => undefined))?.isDirectory()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Copies every command task's `files` from the module's folder into `dest`. */
async function copyShippedFiles(tasks: readonly AnyTask[], moduleDir: string, dest: string): Promise<void> {
  const shipped = new Map(tasks.flatMap((task) => task.files.map((path) => [path, task.name] as const)));
  for (const [path, task] of shipped) {
    const source = resolve(moduleDir, path);
    const target = resolve(dest, path);
    if (!source.startsWith(`${moduleDir}${sep}`)) {
      throw invalidOption(`command task '${task}' ships '${path}', which is outside the module's folder`);
    }
    const info = await stat(source).catch(() => undefined);
    if (info?.isDirectory()) {
      await copyTree(source, target, { label: `the folder '${path}' shipped by command task '${task}'` });
    } else if (info?.isFile()) {
      await mkdir(dirname(target), { recursive: true });
      await copyFile(source, target);
    } else {
      throw invalidOption(`command task '${task}' ships '${path}', which does not exist in '${moduleDir}'`);
    }
  }
}

async function hashFiles(dir: string): Promise<PackageFile[]> {
  const files: PackageFile[] = [];
  for (const file of await walk(dir)) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file.path)) hash.update(chunk as Buffer);
    files.push({
      path: relative(dir, file.path).split(sep).join('/'),
      sha256: hash.digest('hex'),
      size: file.size,
    });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
