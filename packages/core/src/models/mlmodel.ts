/**
 * The MLflow `MLmodel` file (mlflow-compat.md §3): the YAML document at the root of every model
 * directory. Browser-safe: text in, text out; reading the directory is the caller's job.
 */
import { parse, stringify } from 'yaml';
import { invalidParameter } from '../errors.js';

/**
 * `signature` as it sits in the YAML: each value is a JSON **string** (MLflow writes
 * `json.dumps(...)` inside YAML), or `null` when that part is absent. Decode with `parseSignature`.
 */
export interface MLmodelSignature {
  inputs?: string | null;
  outputs?: string | null;
  params?: string | null;
}

/** Where the input example was stored, e.g. `{artifact_path: input_example.json, type: dataframe}`. */
export interface SavedInputExampleInfo {
  artifact_path: string;
  /** `dataframe`, `ndarray`, `json_object`, `sparse_matrix_csc`, … */
  type?: string;
  /** `split` or `records` for dataframes. */
  pandas_orient?: string;
  serving_input_path?: string;
  [key: string]: unknown;
}

/** One flavor's configuration: free-form, owned by the flavor (`onnx`, `python_function`, `js`, …). */
export type FlavorConfig = Record<string, unknown>;

/**
 * A parsed `MLmodel`. Known keys are typed; any other key (`databricks_runtime`, `resources`,
 * `env_vars`, a future MLflow key, …) is kept as parsed so it survives a round trip.
 * `null` is kept where MLflow wrote `null` (e.g. `run_id: null` for locally saved models).
 */
export interface MLmodel {
  artifact_path?: string | null;
  run_id?: string | null;
  /** 32 hex characters, generated at save time. */
  model_uuid?: string | null;
  /** MLflow 3 LoggedModel id, e.g. `m-…`. */
  model_id?: string | null;
  /** Naive UTC timestamp as MLflow writes it: `2022-01-12 05:17:31.634689`. */
  utc_time_created?: string | null;
  mlflow_version?: string | null;
  /** Flavor name → its config. Empty when the file has no `flavors` key. */
  flavors: Record<string, FlavorConfig>;
  signature?: MLmodelSignature | null;
  saved_input_example_info?: SavedInputExampleInfo | null;
  model_size_bytes?: number | null;
  metadata?: Record<string, unknown> | null;
  [key: string]: unknown;
}

const STRING_KEYS = [
  'artifact_path',
  'run_id',
  'model_uuid',
  'model_id',
  'utc_time_created',
  'mlflow_version',
] as const;

const SIGNATURE_KEYS = ['inputs', 'outputs', 'params'] as const;

/** PyYAML reads unquoted timestamps as datetimes; Keel keeps them as the strings they were. */
const withoutTimestamps = (tags: unknown[]): unknown[] =>
  tags.filter((tag) => (tag as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the text of an `MLmodel` file.
 *
 * The YAML is read as YAML 1.1 (what PyYAML, and so MLflow, writes), except that timestamps stay
 * strings. Duplicate keys are refused. Known keys are checked for type; unknown keys are kept in
 * file order. A missing `flavors` key yields `flavors: {}`.
 *
 * @throws INVALID_PARAMETER_VALUE naming the key for invalid YAML, a non-mapping document, or a
 *   known key of the wrong type (e.g. `flavors.onnx` not a mapping, `signature.inputs` not a string).
 *
 * @example
 * const model = parseMLmodel(await readFile('model/MLmodel', 'utf8'));
 * model.flavors.onnx?.data // 'model.onnx'
 */
export function parseMLmodel(yamlText: string): MLmodel {
  let doc: unknown;
  try {
    doc = parse(yamlText, {
      version: '1.1',
      uniqueKeys: true,
      customTags: withoutTimestamps as never,
    });
  } catch (error) {
    throw invalidParameter(`MLmodel is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(doc)) throw invalidParameter('MLmodel must be a YAML mapping at the top level');

  for (const key of STRING_KEYS) {
    const value = doc[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw invalidParameter(`MLmodel key '${key}' must be a string, got ${describe(value)}`);
    }
  }

  const flavors = doc.flavors ?? {};
  if (!isRecord(flavors)) throw invalidParameter(`MLmodel key 'flavors' must be a mapping`);
  for (const [name, config] of Object.entries(flavors)) {
    if (!isRecord(config)) {
      throw invalidParameter(`MLmodel key 'flavors.${name}' must be a mapping, got ${describe(config)}`);
    }
  }

  const signature = doc.signature;
  if (signature !== undefined && signature !== null) {
    if (!isRecord(signature)) throw invalidParameter(`MLmodel key 'signature' must be a mapping`);
    for (const key of SIGNATURE_KEYS) {
      const value = signature[key];
      if (value !== undefined && value !== null && typeof value !== 'string') {
        throw invalidParameter(
          `MLmodel key 'signature.${key}' must be a JSON string, got ${describe(value)}`,
        );
      }
    }
  }

  const info = doc.saved_input_example_info;
  if (info !== undefined && info !== null) {
    if (!isRecord(info) || typeof info.artifact_path !== 'string') {
      throw invalidParameter(
        `MLmodel key 'saved_input_example_info' must be a mapping with a string 'artifact_path'`,
      );
    }
  }

  const size = doc.model_size_bytes;
  if (size !== undefined && size !== null && !(Number.isSafeInteger(size) && (size as number) >= 0)) {
    throw invalidParameter(`MLmodel key 'model_size_bytes' must be a non-negative integer`);
  }

  const metadata = doc.metadata;
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
    throw invalidParameter(`MLmodel key 'metadata' must be a mapping`);
  }

  return { ...doc, flavors } as MLmodel;
}

/** Options for {@link serializeMLmodel}. */
export interface SerializeMLmodelOptions {
  /**
   * Sort keys at every level, as MLflow does (PyYAML's `safe_dump` sorts by default). With `false`
   * keys are written in the object's order. Files written by MLflow are already sorted, so either
   * way a parse → serialize round trip keeps their order.
   * @default true
   */
  sortKeys?: boolean;
}

/**
 * Writes an `MLmodel` as MLflow does: block-style YAML 1.1, sorted keys, sequences not indented
 * under their key, strings quoted where PyYAML would (`'2022-01-12 05:17:31.634689'`, `'3.10'`,
 * `'yes'`), single quotes preferred, `null` for absent values, lines folded at 80 columns.
 * Unknown keys are written like known ones. `undefined` values are left out.
 *
 * @example
 * serializeMLmodel({ artifact_path: 'model', flavors: { onnx: { data: 'model.onnx' } } })
 * // 'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n'
 */
export function serializeMLmodel(model: MLmodel, options: SerializeMLmodelOptions = {}): string {
  const sortKeys = options.sortKeys ?? true;
  const text = stringify(model, {
    version: '1.1',
    indentSeq: false,
    singleQuote: true,
    sortMapEntries: sortKeys,
    nullStr: 'null',
    lineWidth: 0,
  });
  return foldLikePyYaml(text);
}

/** PyYAML's `best_width`. */
const PYYAML_WIDTH = 80;

/**
 * Folds long `key: value` lines where PyYAML would, so MLflow's files round-trip byte for byte (the
 * `yaml` package folds before the limit; PyYAML breaks at the first single space *past* column 80,
 * indenting the continuation two spaces more than the key). Only plain and single-quoted values
 * are folded; lines inside block scalars are left alone.
 */
function foldLikePyYaml(text: string): string {
  const out: string[] = [];
  let blockIndent: number | undefined;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (blockIndent !== undefined && (indent > blockIndent || line.trim() === '')) {
      out.push(line);
      continue;
    }
    blockIndent = /: [|>][-+]?\d*$/.test(line) ? indent : undefined;
    const match = /^( *)([^ '"#-][^:]*|'[^']*'): ('?)(.*)$/.exec(line);
    if (
      match === null ||
      line.length <= PYYAML_WIDTH ||
      (match[3] === '' && /^["[{&*!|>%@`]/.test(match[4] ?? ''))
    ) {
      out.push(line);
      continue;
    }
    const [, spaces = '', key = '', quote = '', body = ''] = match;
    let column = spaces.length + key.length + 2 + quote.length;
    let folded = `${spaces}${key}: ${quote}`;
    const content = quote === "'" ? body.slice(0, -1) : body;
    for (let i = 0; i < content.length; i++) {
      const ch = content[i];
      const single = ch === ' ' && content[i - 1] !== ' ' && content[i + 1] !== ' ';
      if (single && i !== 0 && i !== content.length - 1 && column > PYYAML_WIDTH) {
        folded += `\n${spaces}  `;
        column = spaces.length + 2;
      } else {
        folded += ch;
        column++;
      }
    }
    out.push(folded + (quote === "'" ? "'" : ''));
  }
  return out.join('\n');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}
