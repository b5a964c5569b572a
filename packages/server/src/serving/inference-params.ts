/**
 * Inference parameters (`params` of an MLflow scoring request, `parameters` of an Open Inference
 * Protocol request) checked against the signature's parameter schema before they reach `predict`,
 * as MLflow's pyfunc does.
 */
import { type ColumnType, invalidParameter, type ParamSpec } from '@keel/core';

/**
 * The parameters a model's `predict` receives, following MLflow's `_enforce_params_schema`:
 *
 * - a model **without** a parameter schema gets none (MLflow ignores `params` it cannot validate, with
 *   a warning) — `undefined` is returned;
 * - with a schema, each declared parameter is taken from the request or, when absent or `null`, from its
 *   `default`; parameters the schema does not declare are dropped;
 * - values must suit the declared type: `boolean` a boolean, `integer`/`long` an integral number
 *   (`integer` within 32 bits), `float`/`double` a number, `string`/`binary` a string, `datetime` an
 *   ISO date string (kept as the string); a parameter with a shape (`[-1]`) takes a list of such values.
 *
 * @throws INVALID_PARAMETER_VALUE naming the parameter whose value does not fit its type or shape.
 *
 * @example
 * enforceParams({ temperature: 1, extra: 'x' }, [{ name: 'temperature', type: 'double', default: 0.5, shape: null }])
 * // { temperature: 1 }
 */
export function enforceParams(
  params: Record<string, unknown> | undefined,
  specs: readonly ParamSpec[] | undefined,
): Record<string, unknown> | undefined {
  if (specs === undefined) return undefined;
  const resolved: Record<string, unknown> = {};
  for (const spec of specs) {
    const given = params?.[spec.name];
    if (given === undefined || given === null) {
      if (spec.default !== undefined && spec.default !== null) resolved[spec.name] = spec.default;
      continue;
    }
    resolved[spec.name] = spec.shape === null ? checkValue(spec, given) : checkList(spec, given);
  }
  return resolved;
}

function checkList(spec: ParamSpec, value: unknown): unknown[] {
  if (!Array.isArray(value)) {
    throw invalidParameter(
      `Parameter '${spec.name}' must be a list of ${spec.type} values (shape [${spec.shape?.join(', ')}]), got ${show(value)}`,
    );
  }
  return value.map((item) => checkValue(spec, item));
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function checkValue(spec: ParamSpec, value: unknown): unknown {
  if (fits(spec.type, value)) return value;
  throw invalidParameter(`Parameter '${spec.name}' must be of type ${spec.type}, got ${show(value)}`);
}

function fits(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX;
    case 'long':
      return Number.isInteger(value);
    case 'float':
    case 'double':
      return typeof value === 'number';
    case 'string':
    case 'binary':
      return typeof value === 'string';
    case 'datetime':
      return typeof value === 'string' && !Number.isNaN(new Date(value).getTime());
    default: {
      const never: never = type;
      return never;
    }
  }
}

function show(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 100);
}
