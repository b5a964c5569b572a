/**
 * Reads an `MLmodel` file's signature for display. Lenient on purpose: MLflow's newer column types
 * (`array`, `object`, `map`) and hand-written files show as well as they can, where the server's
 * strict `parseSignature` would refuse them. Pure and unit-tested.
 */

/** One input or output of a model signature, as the preview's table shows it. */
export interface SignatureField {
  /** `''` for an unnamed column or tensor. */
  name: string;
  /** `double`, `array<string>`, `float32` (a tensor's dtype)… */
  type: string;
  /** A tensor's shape, e.g. `[-1, 4]`. */
  shape: string | undefined;
  /** `undefined` for tensors (which have no such flag). */
  required: boolean | undefined;
}

/** One inference parameter of a signature. */
export interface SignatureParam {
  name: string;
  type: string;
  /** The default as JSON text. */
  defaultValue: string;
  shape: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A spec's type as text: `double`, `array<string>`, `object{a: long, b: string}`, `map<double>`.
 *
 * @example
 * typeText({ type: 'array', items: { type: 'string' } }); // 'array<string>'
 */
export function typeText(spec: unknown): string {
  if (typeof spec === 'string') return spec;
  if (!isRecord(spec)) return 'unknown';
  switch (spec.type) {
    case 'array':
      return `array<${typeText(spec.items)}>`;
    case 'map':
      return `map<${typeText(spec.values)}>`;
    case 'object': {
      const properties = isRecord(spec.properties) ? Object.entries(spec.properties) : [];
      return `object{${properties.map(([key, value]) => `${key}: ${typeText(value)}`).join(', ')}}`;
    }
    default:
      return typeof spec.type === 'string' ? spec.type : 'unknown';
  }
}

/**
 * The fields of a signature part (`signature.inputs` or `.outputs`: a JSON list of column or tensor
 * specs).
 *
 * @throws Error when the text is not a JSON list.
 *
 * @example
 * signatureFields('[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]');
 * // [{ name: '', type: 'float32', shape: '[-1, 4]', required: undefined }]
 */
export function signatureFields(json: string): SignatureField[] {
  const specs: unknown = JSON.parse(json);
  if (!Array.isArray(specs)) throw new Error('a signature part must be a JSON list');
  return specs.map((spec): SignatureField => {
    const record = isRecord(spec) ? spec : {};
    const name = typeof record.name === 'string' ? record.name : '';
    if (record.type === 'tensor') {
      const tensor = isRecord(record['tensor-spec']) ? record['tensor-spec'] : {};
      return {
        name,
        type: typeof tensor.dtype === 'string' ? tensor.dtype : 'unknown',
        shape: shapeText(tensor.shape),
        required: undefined,
      };
    }
    return { name, type: typeText(record), shape: undefined, required: record.required !== false };
  });
}

/**
 * The inference parameters of a signature (`signature.params`: a JSON list of `{name, type,
 * default, shape}`).
 *
 * @throws Error when the text is not a JSON list.
 */
export function signatureParams(json: string): SignatureParam[] {
  const specs: unknown = JSON.parse(json);
  if (!Array.isArray(specs)) throw new Error('signature params must be a JSON list');
  return specs.map((spec) => {
    const record = isRecord(spec) ? spec : {};
    return {
      name: typeof record.name === 'string' ? record.name : '',
      type: typeText(record),
      defaultValue: JSON.stringify(record.default ?? null),
      shape: shapeText(record.shape),
    };
  });
}

function shapeText(shape: unknown): string | undefined {
  return Array.isArray(shape) ? `[${shape.join(', ')}]` : undefined;
}

/**
 * A flavor config value as one line of text: strings as they are, anything else as compact JSON.
 *
 * @example
 * configValue({ conda: 'conda.yaml' }); // '{"conda":"conda.yaml"}'
 */
export function configValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? 'null';
}
