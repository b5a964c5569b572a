/**
 * Types and values of workflows: parsing a {@link TypeSpec}, whether one type accepts another
 * ({@link typeAccepts}) and whether a value has a type ({@link checkValue}). Browser-safe.
 */
import { invalidParameter } from './errors.js';
import { parseModelUri } from './model-uri.js';
import { knownFields, objectAt } from './spec-fields.js';
import {
  type ArtifactValue,
  DATASET_FORMATS,
  INTERFACE_NAME_PATTERN,
  SCALAR_TYPES,
  type TypedInterface,
  type TypeSpec,
  WORKFLOW_LIMITS,
} from './workflow-spec.js';

const SHA256 = /^[0-9a-f]{64}$/;
const TYPE_NAMES = [
  ...SCALAR_TYPES,
  'file',
  'directory',
  'dataset',
  'model',
  'array',
  'record',
  'optional',
] as const;

/**
 * Where a value checked by {@link checkValue} comes from:
 * - `literal`: a literal binding in a registration. Files, directories and datasets must be
 *   {@link ArtifactValue}s (content-addressed: they are part of the version's content hash).
 * - `launch`: a launch input or an input's default. A file, directory or dataset may also be a
 *   non-empty string — an artifact-store path or a URI (`runs:/…`, `mlflow-artifacts:/…`,
 *   `s3://…`, a local path on the server) — that the service resolves into an ArtifactValue
 *   (uploading and hashing it) before the execution starts.
 */
export type ValueUse = 'literal' | 'launch';

/**
 * A type as text for messages: `int`, `array<float>`, `record{a: int, b?: string}`, `optional<file>`.
 *
 * @example formatType({ type: 'array', items: { type: 'int' } }); // 'array<int>'
 */
export function formatType(type: TypeSpec): string {
  switch (type.type) {
    case 'array':
      return `array<${formatType(type.items)}>`;
    case 'optional':
      return `optional<${formatType(type.of)}>`;
    case 'record':
      return `record{${Object.entries(type.fields)
        .map(([name, field]) => `${name}: ${formatType(field)}`)
        .join(', ')}}`;
    case 'dataset':
      return type.format === undefined ? 'dataset' : `dataset(${type.format})`;
    default:
      return type.type;
  }
}

/**
 * Parses a type (a parsed JSON value) into a {@link TypeSpec} with only known fields.
 *
 * @throws INVALID_PARAMETER_VALUE naming the path, e.g. `workflow.interface.inputs.x.type must be one of …`.
 * @example parseTypeSpec({ type: 'array', items: { type: 'float' } }, 'inputs.alphas');
 */
export function parseTypeSpec(value: unknown, path: string, depth = 0): TypeSpec {
  if (depth > WORKFLOW_LIMITS.maxTypeDepth) {
    throw invalidParameter(`${path} nests types deeper than ${WORKFLOW_LIMITS.maxTypeDepth} levels`);
  }
  const spec = objectAt(value, path, 'a type object such as { "type": "int" }');
  const type = TYPE_NAMES.find((name) => name === spec.type);
  if (type === undefined) throw invalidParameter(`${path}.type must be one of ${TYPE_NAMES.join(', ')}`);
  switch (type) {
    case 'array':
      knownFields(spec, path, ['type', 'items']);
      return { type, items: parseTypeSpec(spec.items, `${path}.items`, depth + 1) };
    case 'optional': {
      knownFields(spec, path, ['type', 'of']);
      const of = parseTypeSpec(spec.of, `${path}.of`, depth + 1);
      if (of.type === 'optional') throw invalidParameter(`${path}.of must not be optional itself`);
      return { type, of };
    }
    case 'record':
      knownFields(spec, path, ['type', 'fields']);
      return { type, fields: parseFields(spec.fields, `${path}.fields`, depth + 1) };
    case 'dataset': {
      knownFields(spec, path, ['type', 'format']);
      if (spec.format === undefined) return { type };
      const format = DATASET_FORMATS.find((f) => f === spec.format);
      if (format === undefined) {
        throw invalidParameter(`${path}.format must be one of ${DATASET_FORMATS.join(', ')}`);
      }
      return { type, format };
    }
    default:
      knownFields(spec, path, ['type']);
      return { type };
  }
}

/**
 * Parses `{ inputs, outputs }`: names match `INTERFACE_NAME_PATTERN`, at most
 * `WORKFLOW_LIMITS.maxInterfaceFields` of each.
 *
 * @throws INVALID_PARAMETER_VALUE naming the path.
 */
export function parseTypedInterface(value: unknown, path: string): TypedInterface {
  const spec = objectAt(value, path, 'an object { inputs, outputs }');
  knownFields(spec, path, ['inputs', 'outputs']);
  return {
    inputs: parseFields(spec.inputs ?? {}, `${path}.inputs`, 0),
    outputs: parseFields(spec.outputs ?? {}, `${path}.outputs`, 0),
  };
}

function parseFields(value: unknown, path: string, depth: number): Record<string, TypeSpec> {
  const fields = objectAt(value, path, 'an object of name → type');
  const names = Object.keys(fields);
  if (names.length > WORKFLOW_LIMITS.maxInterfaceFields) {
    throw invalidParameter(
      `${path} has ${names.length} fields; at most ${WORKFLOW_LIMITS.maxInterfaceFields} are allowed`,
    );
  }
  const out: Record<string, TypeSpec> = {};
  for (const name of names) {
    checkInterfaceName(name, `${path}.${name}`);
    out[name] = parseTypeSpec(fields[name], `${path}.${name}`, depth);
  }
  return out;
}

/** @throws INVALID_PARAMETER_VALUE unless `name` matches `INTERFACE_NAME_PATTERN`. */
export function checkInterfaceName(name: string, path: string): void {
  if (!INTERFACE_NAME_PATTERN.test(name)) {
    throw invalidParameter(
      `${path}: '${name.slice(0, 100)}' is not a valid name (1 to 64 letters, digits or '_', not starting with a digit)`,
    );
  }
}

/**
 * Whether a value of type `actual` may be passed where `expected` is declared:
 * - equal types; `int` where `float` is expected; `model` where `string` is; `dataset` where `file` is;
 *   a `dataset` of one format where a dataset of another is not (an absent format matches any);
 * - `optional<T>` accepts T and `optional<T>`; a non-optional type never accepts an optional one;
 * - `json` accepts every type whose values are plain JSON (no file, directory or dataset inside);
 *   a `json` value is accepted only where `json` (or `optional<json>`) is expected;
 * - arrays by their items; records structurally: the same field names, except that a field
 *   optional in `expected` may be missing from `actual`.
 *
 * @example
 * typeAccepts({ type: 'float' }, { type: 'int' }); // true
 * typeAccepts({ type: 'int' }, { type: 'optional', of: { type: 'int' } }); // false
 */
export function typeAccepts(expected: TypeSpec, actual: TypeSpec): boolean {
  if (expected.type === 'json') return isPlainJsonType(actual);
  if (expected.type === 'optional') {
    return typeAccepts(expected.of, actual.type === 'optional' ? actual.of : actual);
  }
  if (actual.type === 'optional') return false;
  switch (expected.type) {
    case 'float':
      return actual.type === 'float' || actual.type === 'int';
    case 'string':
      return actual.type === 'string' || actual.type === 'model';
    case 'file':
      return actual.type === 'file' || actual.type === 'dataset';
    case 'dataset':
      return (
        actual.type === 'dataset' &&
        (expected.format === undefined || actual.format === undefined || expected.format === actual.format)
      );
    case 'array':
      return actual.type === 'array' && typeAccepts(expected.items, actual.items);
    case 'record':
      return actual.type === 'record' && recordAccepts(expected.fields, actual.fields);
    default:
      return expected.type === actual.type;
  }
}

function recordAccepts(expected: Record<string, TypeSpec>, actual: Record<string, TypeSpec>): boolean {
  for (const name of Object.keys(actual)) if (!(name in expected)) return false;
  return Object.entries(expected).every(([name, type]) => {
    const field = actual[name];
    return field === undefined ? type.type === 'optional' : typeAccepts(type, field);
  });
}

/** True when values of `type` are plain JSON: no file, directory or dataset anywhere inside. */
function isPlainJsonType(type: TypeSpec): boolean {
  switch (type.type) {
    case 'file':
    case 'directory':
    case 'dataset':
      return false;
    case 'array':
      return isPlainJsonType(type.items);
    case 'optional':
      return isPlainJsonType(type.of);
    case 'record':
      return Object.values(type.fields).every(isPlainJsonType);
    default:
      return true;
  }
}

/**
 * Checks that `value` has type `type` (see {@link ValueUse} for what file values may be): `int`
 * a safe integer, `float` a finite number, `model` a `runs:/` or `models:/` URI, `json` any JSON
 * value (finite numbers only), arrays item by item, records with exactly their fields (an
 * `optional` field may be missing or null), `optional` null or its type.
 *
 * @throws INVALID_PARAMETER_VALUE naming the path of the bad part, e.g. `inputs.alphas[2] must be a number (float)`.
 * @example checkValue({ type: 'int' }, 3, 'inputs.k');
 */
export function checkValue(type: TypeSpec, value: unknown, path: string, use: ValueUse = 'literal'): void {
  switch (type.type) {
    case 'int':
      if (!Number.isSafeInteger(value)) throw invalidParameter(`${path} must be a whole number (int)`);
      return;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalidParameter(`${path} must be a number (float)`);
      }
      return;
    case 'string':
      if (typeof value !== 'string') throw invalidParameter(`${path} must be a string`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw invalidParameter(`${path} must be true or false (boolean)`);
      return;
    case 'json':
      checkJson(value, path, 0);
      return;
    case 'model':
      checkModelUri(value, path);
      return;
    case 'file':
    case 'dataset':
    case 'directory':
      checkArtifact(type.type === 'directory' ? 'directory' : 'file', value, path, use);
      return;
    case 'array':
      if (!Array.isArray(value)) throw invalidParameter(`${path} must be a list (${formatType(type)})`);
      value.forEach((item, i) => {
        checkValue(type.items, item, `${path}[${i}]`, use);
      });
      return;
    case 'record':
      checkRecord(type.fields, value, path, use);
      return;
    case 'optional':
      if (value !== null && value !== undefined) checkValue(type.of, value, path, use);
      return;
    default:
      assertNever(type);
  }
}

/** True for an {@link ArtifactValue} of either kind (shape only). */
export function isArtifactValue(value: unknown): value is ArtifactValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.$artifact === 'string' &&
    v.$artifact !== '' &&
    typeof v.sha256 === 'string' &&
    SHA256.test(v.sha256) &&
    (v.kind === 'file' || v.kind === 'directory') &&
    (v.size === undefined || (Number.isSafeInteger(v.size) && (v.size as number) >= 0)) &&
    Object.keys(v).every((key) => ARTIFACT_FIELDS.includes(key))
  );
}

const ARTIFACT_FIELDS = ['$artifact', 'sha256', 'kind', 'size'];

function checkArtifact(kind: ArtifactValue['kind'], value: unknown, path: string, use: ValueUse): void {
  if (use === 'launch' && typeof value === 'string') {
    if (value === '') throw invalidParameter(`${path} must not be empty`);
    return;
  }
  if (!isArtifactValue(value) || value.kind !== kind) {
    const alternative = use === 'launch' ? ', or a path or URI to upload' : '';
    throw invalidParameter(
      `${path} must be an artifact reference { "$artifact": path, "sha256": hex, "kind": "${kind}" }${alternative}`,
    );
  }
}

function checkRecord(fields: Record<string, TypeSpec>, value: unknown, path: string, use: ValueUse): void {
  const record = objectAt(value, path, `an object with fields ${Object.keys(fields).join(', ')}`);
  knownFields(record, path, Object.keys(fields));
  for (const [name, type] of Object.entries(fields)) {
    const field = record[name];
    if ((field === undefined || field === null) && type.type !== 'optional') {
      throw invalidParameter(`${path}.${name} is required (${formatType(type)})`);
    }
    checkValue(type, field, `${path}.${name}`, use);
  }
}

function checkModelUri(value: unknown, path: string): void {
  if (typeof value !== 'string') throw invalidParameter(`${path} must be a runs:/ or models:/ URI (model)`);
  try {
    parseModelUri(value);
  } catch (error) {
    throw invalidParameter(`${path}: ${(error as Error).message}`);
  }
}

function checkJson(value: unknown, path: string, depth: number): void {
  if (depth > 256) throw invalidParameter(`${path} nests deeper than 256 levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidParameter(`${path} must be a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      checkJson(item, `${path}[${i}]`, depth + 1);
    });
    return;
  }
  const record = objectAt(value, path, 'a JSON value');
  for (const [key, item] of Object.entries(record)) checkJson(item, `${path}.${key}`, depth + 1);
}

/** Exhaustiveness check of a switch over a union. */
function assertNever(value: never): never {
  throw new Error(`Unexpected value ${JSON.stringify(value)}`);
}
