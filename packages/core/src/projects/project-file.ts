import { type Document, isScalar, parseDocument } from 'yaml';
import { invalidParameter } from '../errors.js';
import { validateKey } from '../validation.js';
import {
  ENTRY_POINT_RUNTIMES,
  type EntryPointRuntime,
  type EntryPointSpec,
  KEEL_PROJECT_FILE,
  MLPROJECT_FILE,
  type NodeEnvSpec,
  PARAMETER_TYPES,
  type ParameterSpec,
  type ParameterType,
  type ProjectEnvironment,
  type ProjectSpec,
} from './project-spec.js';

/** Keys each mapping of a Keel project file may have (MLproject files ignore unknown keys, as MLflow does). */
const KEEL_KEYS = {
  top: ['name', 'entry_points', 'python_env', 'conda_env', 'docker_env', 'node_env'],
  entryPoint: ['parameters', 'command', 'runtime'],
  parameter: ['type', 'default'],
  nodeEnv: ['lockfile', 'node'],
} as const;

type Mapping = Record<string, unknown>;

/** The booleans of PyYAML, which MLflow reads project files with. */
const PYYAML_BOOLEANS: Readonly<Record<string, RegExp>> = {
  true: /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  false: /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
};

/**
 * YAML 1.1 as PyYAML reads it: the `yaml` package's 1.1 schema also takes `y`, `Y`, `n` and `N`
 * for booleans (so a parameter named `n` would become `false`); PyYAML does not. Timestamps stay
 * strings, as for MLmodel files.
 */
export const PYYAML_TAGS = (tags: unknown[]): unknown[] =>
  tags
    .filter((tag) => (tag as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp')
    .map((tag) => {
      const bool = tag as { tag?: string; default?: boolean; identify?: (value: unknown) => boolean };
      if (bool.tag !== 'tag:yaml.org,2002:bool') return tag;
      const kind = bool.identify?.(true) ? 'true' : 'false';
      return { ...bool, test: PYYAML_BOOLEANS[kind] };
    });

/** Reads one project file, naming the file in every error. */
interface FileReader {
  readonly file: string;
  readonly strict: boolean;
  readonly doc: Document;
}

/**
 * Parses and validates a project file: MLflow's `MLproject` (`format: 'mlproject'`, unknown keys
 * ignored as MLflow does) or Keel's `keel-project.yaml` (`format: 'keel'`: the same shape plus
 * `runtime` per entry point and `node_env`; unknown keys are refused, to catch typos). Parameters
 * are `name: type` or `name: {type, default}`; defaults are kept as text (numbers as written,
 * YAML booleans as `True`/`False`, the way MLflow's Python formats them).
 *
 * @throws INVALID_PARAMETER_VALUE naming the file and the field, e.g.
 *   `MLproject: entry_points.main.parameters.alpha.type must be one of string, float, int, path, uri; got 'double'`.
 * @example
 * const project = parseProjectFile('entry_points:\n  main:\n    command: python train.py\n', 'mlproject');
 * project.entryPoints.main?.command; // 'python train.py'
 */
export function parseProjectFile(text: string, format: 'keel' | 'mlproject'): ProjectSpec {
  const file = format === 'keel' ? KEEL_PROJECT_FILE : MLPROJECT_FILE;
  // YAML 1.1, like PyYAML, so `yes`/`no` and the rest read as MLflow reads them.
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, customTags: PYYAML_TAGS as never });
  if (doc.errors.length > 0) {
    throw invalidParameter(`${file} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  }
  const reader: FileReader = { file, strict: format === 'keel', doc };
  const top = doc.toJS() ?? {};
  if (!isMapping(top)) throw invalidParameter(`${file} must be a YAML mapping at the top level`);
  checkKeys(reader, top, KEEL_KEYS.top, '');
  const name = optionalString(reader, top.name, 'name');
  const nodeEnv = format === 'keel' ? readNodeEnv(reader, top.node_env) : undefined;
  return {
    ...(name === undefined ? {} : { name }),
    format,
    entryPoints: readEntryPoints(reader, top.entry_points),
    environment: readEnvironment(reader, top),
    ...(nodeEnv === undefined ? {} : { nodeEnv }),
  };
}

function readEntryPoints(reader: FileReader, value: unknown): Record<string, EntryPointSpec> {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) fail(reader, 'entry_points', 'must be a mapping of entry point names', value);
  const entryPoints: Record<string, EntryPointSpec> = {};
  for (const [name, body] of Object.entries(value)) {
    const path = `entry_points.${name}`;
    if (!isMapping(body)) fail(reader, path, 'must be a mapping with a command', body);
    checkKeys(reader, body, KEEL_KEYS.entryPoint, path);
    const command = body.command;
    if (typeof command !== 'string' || command.trim() === '') {
      fail(reader, `${path}.command`, 'must be a non-empty string', command);
    }
    entryPoints[name] = {
      name,
      parameters: readParameters(reader, body.parameters, name),
      command,
      runtime: readRuntime(reader, body.runtime, path),
    };
  }
  return entryPoints;
}

function readRuntime(reader: FileReader, value: unknown, path: string): EntryPointRuntime {
  if (value === undefined || value === null) return 'shell';
  if (typeof value !== 'string' || !(ENTRY_POINT_RUNTIMES as readonly string[]).includes(value)) {
    fail(reader, `${path}.runtime`, `must be one of ${ENTRY_POINT_RUNTIMES.join(', ')}`, value);
  }
  return value as EntryPointRuntime;
}

function readParameters(reader: FileReader, value: unknown, entryPoint: string): ParameterSpec[] {
  if (value === undefined || value === null) return [];
  const path = `entry_points.${entryPoint}.parameters`;
  if (!isMapping(value)) fail(reader, path, 'must be a mapping of parameter names', value);
  return Object.entries(value).map(([name, body]) => {
    const at = `${path}.${name}`;
    try {
      validateKey(name, 'parameter name');
    } catch (error) {
      throw invalidParameter(`${reader.file}: ${at}: ${(error as Error).message}`);
    }
    if (typeof body === 'string') return { name, type: readType(reader, body, at) };
    if (!isMapping(body)) fail(reader, at, 'must be a type name or a mapping with type and default', body);
    checkKeys(reader, body, KEEL_KEYS.parameter, at);
    const type = body.type === undefined || body.type === null ? 'string' : readType(reader, body.type, at);
    const text = defaultText(reader, ['entry_points', entryPoint, 'parameters', name, 'default']);
    if (text !== undefined) checkDefault(reader, type, text, `${at}.default`);
    return { name, type, ...(text === undefined ? {} : { default: text }) };
  });
}

function readType(reader: FileReader, value: unknown, at: string): ParameterType {
  if (typeof value !== 'string' || !(PARAMETER_TYPES as readonly string[]).includes(value)) {
    fail(reader, `${at}.type`, `must be one of ${PARAMETER_TYPES.join(', ')}`, value);
  }
  return value as ParameterType;
}

/**
 * A default as text: numbers as the file writes them (`1.0` stays `1.0`), booleans as Python
 * prints them, strings as they are; `null` (or no key) means the parameter is required.
 */
function defaultText(reader: FileReader, path: readonly string[]): string | undefined {
  const node = reader.doc.getIn(path, true);
  if (node === undefined || node === null) return undefined;
  if (!isScalar(node))
    fail(reader, path.join('.'), 'must be a string, a number or a boolean', 'a collection');
  const value = node.value;
  if (value === null) return undefined;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return node.source ?? String(value);
  if (typeof value === 'string') return value;
  fail(reader, path.join('.'), 'must be a string, a number or a boolean', value);
}

function checkDefault(reader: FileReader, type: ParameterType, text: string, at: string): void {
  if (type === 'float' && !isFloatText(text)) fail(reader, at, 'must be a float', text);
  if (type === 'int' && !isIntText(text)) fail(reader, at, 'must be an int', text);
}

function readEnvironment(reader: FileReader, top: Mapping): ProjectEnvironment {
  const declared = (['python_env', 'conda_env', 'docker_env'] as const).filter(
    (key) => top[key] !== undefined && top[key] !== null,
  );
  if (declared.length > 1) {
    throw invalidParameter(
      `${reader.file}: a project declares one environment at most; found ${declared.join(' and ')}`,
    );
  }
  const key = declared[0];
  if (key === undefined) return { kind: 'none' };
  const value = top[key];
  if (key === 'docker_env') {
    if (!isMapping(value) || typeof value.image !== 'string' || value.image === '') {
      fail(reader, 'docker_env', 'must be a mapping with a non-empty image', value);
    }
    return { kind: 'docker_env', image: value.image };
  }
  if (typeof value !== 'string' || value === '') fail(reader, key, 'must be the path of a YAML file', value);
  return { kind: key, file: value };
}

function readNodeEnv(reader: FileReader, value: unknown): NodeEnvSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) fail(reader, 'node_env', 'must be a mapping (lockfile, node)', value);
  checkKeys(reader, value, KEEL_KEYS.nodeEnv, 'node_env');
  const lockfile = optionalString(reader, value.lockfile, 'node_env.lockfile') ?? 'package-lock.json';
  const node = value.node;
  if (node !== undefined && node !== null && !(Number.isSafeInteger(node) && (node as number) > 0)) {
    fail(reader, 'node_env.node', 'must be a Node.js major version such as 20', node);
  }
  return { lockfile, ...(typeof node === 'number' ? { node } : {}) };
}

function optionalString(reader: FileReader, value: unknown, at: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(reader, at, 'must be a string', value);
  return value;
}

function checkKeys(reader: FileReader, value: Mapping, allowed: readonly string[], at: string): void {
  if (!reader.strict) return;
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    const where = at === '' ? unknown : `${at}.${unknown}`;
    throw invalidParameter(`${reader.file}: unknown key '${where}' (expected one of: ${allowed.join(', ')})`);
  }
}

/** Whether `text` is a float as `keel run` accepts it: decimal or exponent notation, `inf`, `nan`. */
export function isFloatText(text: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || /^[+-]?(inf|infinity|nan)$/i.test(text);
}

/** Whether `text` is a whole number, optionally signed. */
export function isIntText(text: string): boolean {
  return /^[+-]?\d+$/.test(text);
}

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(reader: FileReader, at: string, rule: string, value: unknown): never {
  throw invalidParameter(`${reader.file}: ${at} ${rule}; got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
