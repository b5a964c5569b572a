import { readFile } from 'node:fs/promises';
import { CACHE_MODES, checkValue, formatType, type TypedInterface, type TypeSpec } from '@keel/core';
import { Option } from 'commander';
import { CliError, oneLine } from '../../cli-error.js';

/** The input flags of `keel workflows launch`. */
export interface InputFlags {
  /** `--input name=value`, repeatable. */
  input?: string[];
  /** `--inputs-file inputs.json`: a JSON object of inputs (`--input` wins for a name given twice). */
  inputsFile?: string;
}

/**
 * A launch's inputs from `--inputs-file` (a JSON object, values as written) and `--input
 * name=value` flags, each value read by the type the workflow declares for `name`:
 * - `int`, `float`: a number (`int` a whole one); `boolean`: `true` or `false`;
 * - `string`, `model`: the text as it is;
 * - `file`, `dataset`, `directory`: a local path (the SDK uploads it) or an artifact URI;
 * - `json`, arrays and records: JSON text;
 * - `optional<T>`: `null`, or a value of `T`.
 *
 * Values are checked against their types before anything is uploaded.
 *
 * @throws {CliError} naming the flag for an unknown input, a value that does not parse, or a
 *   `--inputs-file` that is not a JSON object; the core's INVALID_PARAMETER_VALUE for a value of
 *   the wrong type.
 * @example
 * await inputsFromFlags(iface, { input: ['data=./train.csv', 'alpha=0.5', 'tags=["a","b"]'] });
 * // { data: './train.csv', alpha: 0.5, tags: ['a', 'b'] }
 */
export async function inputsFromFlags(
  iface: TypedInterface,
  flags: InputFlags,
  workflow: string,
): Promise<Record<string, unknown>> {
  const inputs: Record<string, unknown> =
    flags.inputsFile === undefined ? {} : await readInputsFile(flags.inputsFile);
  for (const entry of flags.input ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(`Invalid --input '${entry}': expected name=value`);
    const name = entry.slice(0, at);
    const type = iface.inputs[name];
    if (type === undefined) {
      const known = Object.keys(iface.inputs);
      throw new CliError(
        `Unknown --input '${name}': workflow '${workflow}' takes ${known.length === 0 ? 'no inputs' : known.join(', ')}`,
      );
    }
    inputs[name] = parseInputValue(type, entry.slice(at + 1), `--input ${name}`);
  }
  for (const [name, value] of Object.entries(inputs)) {
    const type = iface.inputs[name];
    if (type !== undefined) checkValue(type, value, `inputs.${name}`, 'launch');
  }
  return inputs;
}

/**
 * One `--input` value read by its type (see {@link inputsFromFlags}).
 * @example parseInputValue({ type: 'int' }, '3', '--input k'); // 3
 */
export function parseInputValue(type: TypeSpec, text: string, flag: string): unknown {
  switch (type.type) {
    case 'int':
      if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
        throw invalid(flag, text, 'a whole number (int)');
      }
      return Number(text);
    case 'float': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw invalid(flag, text, 'a number (float)');
      return value;
    }
    case 'boolean':
      if (!/^(true|false)$/i.test(text.trim())) throw invalid(flag, text, 'true or false');
      return text.trim().toLowerCase() === 'true';
    case 'string':
    case 'model':
    case 'file':
    case 'dataset':
    case 'directory':
      return text;
    case 'optional':
      return text.trim() === 'null' ? null : parseInputValue(type.of, text, flag);
    case 'json':
    case 'array':
    case 'record':
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw invalid(flag, text, `JSON (${formatType(type)}): ${oneLine(error)}`);
      }
    default:
      return assertNever(type);
  }
}

async function readInputsFile(path: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`Cannot read --inputs-file '${path}': ${oneLine(error)}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`Invalid --inputs-file '${path}': expected a JSON object of inputs`);
  }
  return parsed as Record<string, unknown>;
}

function invalid(flag: string, text: string, expected: string): CliError {
  return new CliError(`Invalid ${flag} '${text}': expected ${expected}`);
}

function assertNever(type: never): never {
  throw new Error(`Unknown type ${JSON.stringify(type)}`);
}

/**
 * `--cache <mode>`: how the task cache is used — `use` (read and write, the default), `skip`
 * (neither) or `overwrite` (run, then replace the entries).
 */
export function cacheOption(): Option {
  return new Option('--cache <mode>', 'task cache: use (read and write), skip, or overwrite').choices(
    CACHE_MODES,
  );
}
