/**
 * The `process` flavor: a program in any language, copied into the model directory and run there as
 * a child process that answers the `keel-jsonl/1` protocol on stdin/stdout.
 */

import { copyTree } from './copy-tree.js';
import type { FlavorFiles } from './onnx-flavor.js';
import { invalidOption } from './sdk-error.js';

/** The protocol the program speaks, recorded in the flavor entry. */
export const PROCESS_PROTOCOL = 'keel-jsonl/1';

/**
 * Where a `process` model comes from: a folder holding the program, and the command that starts it
 * (run with the model directory as its working directory).
 * @example { flavor: 'process', path: './predictor', command: ['python3', 'serve.py'], env: { OMP_NUM_THREADS: '1' } }
 */
export interface ProcessFlavorOptions {
  flavor: 'process';
  /** The folder whose contents are copied into the model directory. */
  path: string;
  /** The program and its arguments, e.g. `['python3', 'serve.py']`. */
  command: readonly string[];
  /** Extra environment variables for the child. @default none */
  env?: Readonly<Record<string, string>>;
}

/**
 * Copies the program folder's contents into `dir` (names the model directory writes itself are
 * refused) and returns the `process` flavor entry `{ command, protocol: 'keel-jsonl/1', env? }`.
 *
 * @throws InvalidParameterError for an empty command, a non-string argument or env value, or a
 *   folder that cannot be copied safely (see `copyTree`).
 */
export async function writeProcessFlavor(
  dir: string,
  options: ProcessFlavorOptions,
  reserved: readonly string[],
): Promise<FlavorFiles> {
  const { command, env } = options;
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    command.some((a) => typeof a !== 'string' || a === '')
  ) {
    throw invalidOption(
      "A 'process' model needs 'command': the program and its arguments, non-empty strings",
    );
  }
  if (env !== undefined && Object.values(env).some((v) => typeof v !== 'string')) {
    throw invalidOption("The 'env' of a 'process' model must map names to strings");
  }
  if (typeof options.path !== 'string' || options.path === '') {
    throw invalidOption("A 'process' model needs 'path': the folder holding the program");
  }
  await copyTree(options.path, dir, { reserved, label: 'the program directory' });
  return {
    flavors: {
      process: {
        command: [...command],
        protocol: PROCESS_PROTOCOL,
        ...(env === undefined ? {} : { env: { ...env } }),
      },
    },
    signature: undefined,
  };
}
