import { invalidParameter } from '../errors.js';
import { LIMITS } from '../limits.js';
import { validateKey } from '../validation.js';
import { isFloatText, isIntText } from './project-file.js';
import type { EntryPointSpec, ParameterSpec } from './project-spec.js';

/** Where a parameter's value came from. */
export type ValueOrigin = 'given' | 'default';

/** Options of {@link resolveParameters}. */
export interface ResolveParametersOptions {
  /**
   * Turns a `path` value into the path the command gets (the CLI makes it absolute and checks that
   * it exists, throwing an `Error` whose message says what is wrong). @default the value as given
   */
  resolvePath?: (value: string, origin: ValueOrigin) => string;
}

/** The values of one entry point's run. */
export interface ResolvedParameters {
  /** Declared parameters, in declaration order: given values, else defaults; paths resolved. */
  readonly declared: Readonly<Record<string, string>>;
  /** `-P` values the entry point does not declare, in the order given; appended as `--key value`. */
  readonly extra: Readonly<Record<string, string>>;
}

/**
 * Checks `given` (the `-P key=value` pairs) against an entry point's declared parameters and
 * returns the values of the run. Every problem is reported at once, each naming its parameter:
 * a wrong type (`float`, `int`; a `uri` without a scheme; a `path` that `resolvePath` refuses),
 * a required parameter with no value, an undeclared key that is not a valid param name, and a value
 * longer than MLflow's param limit.
 *
 * @throws INVALID_PARAMETER_VALUE `Invalid parameters for entry point 'main': 'alpha' must be a float, got 'abc'; 'data' is required (no default)`
 * @example
 * resolveParameters(entry, { alpha: '0.5', seed: '7' }); // { declared: { alpha: '0.5' }, extra: { seed: '7' } }
 */
export function resolveParameters(
  entry: EntryPointSpec,
  given: Readonly<Record<string, string>>,
  options: ResolveParametersOptions = {},
): ResolvedParameters {
  const problems: string[] = [];
  const declared: Record<string, string> = {};
  for (const parameter of entry.parameters) {
    const has = Object.hasOwn(given, parameter.name);
    const value = has ? given[parameter.name] : parameter.default;
    if (value === undefined) {
      problems.push(`'${parameter.name}' is required (no default)`);
      continue;
    }
    const checked = checkValue(parameter, value, has ? 'given' : 'default', options, problems);
    if (checked !== undefined) declared[parameter.name] = checked;
  }
  const names = new Set(entry.parameters.map((parameter) => parameter.name));
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(given)) {
    if (names.has(key)) continue;
    try {
      validateKey(key, 'parameter name');
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    if (tooLong(key, value, problems)) continue;
    extra[key] = value;
  }
  if (problems.length > 0) {
    throw invalidParameter(`Invalid parameters for entry point '${entry.name}': ${problems.join('; ')}`);
  }
  return { declared, extra };
}

function checkValue(
  parameter: ParameterSpec,
  value: string,
  origin: ValueOrigin,
  options: ResolveParametersOptions,
  problems: string[],
): string | undefined {
  const name = parameter.name;
  const shown = `${origin === 'default' ? 'its default is ' : 'got '}'${value}'`;
  switch (parameter.type) {
    case 'string':
      break;
    case 'float':
      if (!isFloatText(value)) return void problems.push(`'${name}' must be a float, ${shown}`);
      break;
    case 'int':
      if (!isIntText(value)) return void problems.push(`'${name}' must be an int, ${shown}`);
      break;
    case 'uri':
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) {
        return void problems.push(
          `'${name}' must be a URI with a scheme (such as s3:// or runs:/), ${shown}`,
        );
      }
      break;
    case 'path':
      if (value === '') return void problems.push(`'${name}' must be a path, got ''`);
      if (options.resolvePath !== undefined) {
        let resolved: string;
        try {
          resolved = options.resolvePath(value, origin);
        } catch (error) {
          return void problems.push(`'${name}': ${(error as Error).message}`);
        }
        return tooLong(name, resolved, problems) ? undefined : resolved;
      }
      break;
    default:
      return assertNever(parameter.type);
  }
  return tooLong(name, value, problems) ? undefined : value;
}

function tooLong(name: string, value: string, problems: string[]): boolean {
  if (value.length <= LIMITS.maxParamValueLength) return false;
  problems.push(
    `'${name}' is ${value.length} characters long; params hold ${LIMITS.maxParamValueLength} at most`,
  );
  return true;
}

function assertNever(value: never): never {
  throw new Error(`unhandled parameter type ${String(value)}`);
}
