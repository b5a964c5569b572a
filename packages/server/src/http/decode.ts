import { invalidParameter } from '@keel/core';
import { Kind, OptionalKind, type TObject, type TSchema } from '@sinclair/typebox';

/**
 * Turns an untyped request (a parsed JSON body, or a query string for GET) into a message shaped
 * by a TypeBox schema, following the protobuf-JSON leniency MLflow's server has:
 * int64 may arrive as a numeric string, doubles as "NaN"/"Infinity" strings, ids as numbers,
 * a single query-string value as a one-element list, booleans only as true/false.
 * Unknown fields are dropped. Required fields that are absent or empty are rejected with
 * MLflow's "Missing value for required parameter" message; every error names the field.
 */
export function decodeMessage<T>(schema: TObject, input: unknown, fromQuery: boolean): T {
  if (!isPlainObject(input)) {
    throw invalidParameter('Invalid request body: expected a JSON object');
  }
  return decodeObject(schema, aliasRunUuid(schema, input), '', fromQuery) as T;
}

/** `run_uuid` is MLflow's deprecated spelling of `run_id`; accept it wherever `run_id` is. */
function aliasRunUuid(schema: TObject, input: Record<string, unknown>): Record<string, unknown> {
  if ('run_id' in schema.properties && input.run_id === undefined && input.run_uuid !== undefined) {
    return { ...input, run_id: input.run_uuid };
  }
  return input;
}

interface FieldPlan {
  readonly name: string;
  readonly schema: TSchema;
  readonly optional: boolean;
  /** Required strings treat '' as missing, as MLflow's handlers do. */
  readonly emptyIsMissing: boolean;
}

// log-batch decodes a thousand metric objects per call: the field list of each object schema is
// worked out once, not per object.
const fieldPlans = new WeakMap<TObject, readonly FieldPlan[]>();

function planOf(schema: TObject): readonly FieldPlan[] {
  let plan = fieldPlans.get(schema);
  if (!plan) {
    plan = Object.entries(schema.properties).map(([name, fieldSchema]) => {
      const optional = fieldSchema[OptionalKind] === 'Optional';
      return {
        name,
        schema: fieldSchema,
        optional,
        emptyIsMissing: !optional && fieldSchema[Kind] === 'String',
      };
    });
    fieldPlans.set(schema, plan);
  }
  return plan;
}

function decodeObject(schema: TObject, input: Record<string, unknown>, path: string, fromQuery: boolean) {
  const out: Record<string, unknown> = {};
  for (const field of planOf(schema)) {
    const raw = Object.hasOwn(input, field.name) ? input[field.name] : undefined;
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    if (raw === undefined || raw === null || (raw === '' && field.emptyIsMissing)) {
      if (!field.optional) {
        throw invalidParameter(
          `Missing value for required parameter '${fieldPath}'. See the API docs for more information about request parameters.`,
        );
      }
      continue;
    }
    out[field.name] = decodeValue(field.schema, raw, fieldPath, fromQuery);
  }
  return out;
}

function decodeValue(schema: TSchema, raw: unknown, field: string, fromQuery: boolean): unknown {
  // A repeated query key arrives as an array; for a scalar field only one value is meaningful.
  const value = Array.isArray(raw) && schema[Kind] !== 'Array' && fromQuery ? raw[raw.length - 1] : raw;
  switch (schema[Kind]) {
    case 'String':
      if (typeof value === 'string') return checkString(schema, value, field);
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      return invalid(field, value, 'a string');
    case 'Integer':
      return decodeInteger(value, field);
    case 'Number':
      return decodeDouble(value, field);
    case 'Boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      return invalid(field, value, 'a boolean (true or false)');
    case 'Array': {
      const items = Array.isArray(value) ? value : fromQuery ? [value] : undefined;
      if (items === undefined) return invalid(field, value, 'a list');
      return items.map((item, index) =>
        decodeValue(schema.items as TSchema, item, `${field}[${index}]`, fromQuery),
      );
    }
    case 'Object':
      if (!isPlainObject(value)) return invalid(field, value, 'an object');
      return decodeObject(schema as TObject, value, field, fromQuery);
    case 'Union': {
      const allowed = (schema.anyOf as TSchema[]).map((s) => s.const as unknown);
      if (allowed.includes(value)) return value;
      // Protobuf JSON also accepts an enum by number; Keel's enum lists are in proto order from 1.
      if (schema.protoEnum === true && (typeof value === 'number' || typeof value === 'string')) {
        const index = Number(value);
        if (Number.isInteger(index) && index >= 1 && index <= allowed.length) return allowed[index - 1];
      }
      return invalid(field, value, `one of ${allowed.join(', ')}`);
    }
    case 'Literal':
      if (value === schema.const) return value;
      return invalid(field, value, String(schema.const));
    case 'Unknown':
    case 'Any':
      return value;
    default:
      throw new Error(`decodeMessage: unsupported schema kind ${String(schema[Kind])} at ${field}`);
  }
}

function checkString(schema: TSchema, value: string, field: string): string {
  // PostgreSQL text cannot hold NUL, and no MLflow field has a use for it.
  if (value.includes('\u0000'))
    throw invalidParameter(`Invalid value for parameter '${field}': NUL characters are not allowed`);
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
    throw invalidParameter(
      `Invalid value for parameter '${field}': length ${value.length} exceeds the limit of ${schema.maxLength}`,
    );
  }
  return value;
}

function decodeInteger(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value.trim())) return Number(value.trim());
  return invalid(field, value, 'an integer');
}

function decodeDouble(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === 'NaN') return Number.NaN;
    if (text === 'Infinity' || text === '+Infinity') return Number.POSITIVE_INFINITY;
    if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (text !== '' && Number.isFinite(Number(text))) return Number(text);
  }
  return invalid(field, value, 'a number');
}

function invalid(field: string, value: unknown, expected: string): never {
  const shown = typeof value === 'string' ? `'${value.slice(0, 100)}'` : JSON.stringify(value)?.slice(0, 100);
  throw invalidParameter(
    `Invalid value ${shown} for parameter '${field}' supplied: expected ${expected}. See the API docs for more information about request parameters.`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
