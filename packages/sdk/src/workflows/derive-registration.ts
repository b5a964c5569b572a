import { createHash } from 'node:crypto';
import {
  canonicalJson,
  type TaskSpec,
  validateWorkflowRegistration,
  type WorkflowRegistration,
} from '@keel/core';
import { invalidOption } from '../models/sdk-error.js';
import type { AnyTask, AnyWorkflow } from './dsl-types.js';
import { sdkCheck } from './type-rules.js';

/** Options of {@link deriveRegistration}. */
export interface DeriveRegistrationOptions {
  /** The version to register. @default the registration's content hash (chosen by the server) */
  version?: string;
  /** @default the workflow's own `description` */
  description?: string;
  /**
   * sha256 (hex) of every file the code package ships for command tasks, by path relative to
   * its `files/` folder (what `bundleWorkflowModule` reports); command tasks' code hashes cover
   * their shipped files' contents. @default none (a command task shipping files then fails)
   */
  files?: Readonly<Record<string, string>>;
}

/**
 * The registration of a workflow (what `POST /api/2.0/keel/workflows/register` takes): its graph
 * (derived by running the body once), every sub-workflow and every task it reaches (both sorted
 * by name), each task with its code hash, and the code package. The same module always gives the
 * same registration, byte for byte.
 *
 * Task code hash: sha256 of `fn.toString()` for a function task; for a command task, sha256 of
 * the canonical JSON of `{ argv, env, files: [{ path, sha256 }] }`.
 *
 * @throws InvalidParameterError for an error in the graph (naming workflow, node and input), a
 *   shipped file missing from `options.files`, or a registration core's
 *   `validateWorkflowRegistration` refuses (naming the field).
 * @example
 * const registration = deriveRegistration(train, { path: `workflows/code/${sha256}`, sha256 });
 */
export function deriveRegistration(
  workflow: AnyWorkflow,
  code: { path: string; sha256: string },
  options: DeriveRegistrationOptions = {},
): WorkflowRegistration {
  if (workflow?.kind !== 'keel.workflow') throw invalidOption('deriveRegistration: not a workflow object');
  const files = options.files ?? {};
  const description = options.description ?? (workflow as { description?: unknown }).description;
  const registration = {
    workflow: workflow.spec,
    subworkflows: byName(workflow.subworkflows.map((sub) => sub.spec)),
    tasks: byName(
      workflow.tasks.map((task): TaskSpec => ({ ...task.spec, codeHash: taskCodeHash(task, files) })),
    ),
    code: { path: code.path, sha256: code.sha256 },
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(typeof description === 'string' ? { description } : {}),
  };
  // A JSON round trip leaves plain data only (no frozen objects shared with the task objects).
  return sdkCheck(() => validateWorkflowRegistration(JSON.parse(JSON.stringify(registration))));
}

/**
 * A task's code hash: what changes when its code changes (see {@link deriveRegistration}).
 * @throws InvalidParameterError when a command task ships a file `files` has no hash for.
 */
export function taskCodeHash(task: AnyTask, files: Readonly<Record<string, string>>): string {
  const { command } = task.spec;
  if (command === undefined) return sha256(task.fn.toString());
  const shipped = task.files.flatMap((path) => {
    const inside = Object.keys(files)
      .filter((file) => file === path || file.startsWith(`${path}/`))
      .sort()
      .map((file) => ({ path: file, sha256: files[file] }));
    if (inside.length === 0) {
      throw invalidOption(
        `command task '${task.name}' ships '${path}', which the code package does not hold`,
      );
    }
    return inside;
  });
  return sha256(canonicalJson({ argv: command.argv, env: command.env ?? {}, files: shipped }));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
