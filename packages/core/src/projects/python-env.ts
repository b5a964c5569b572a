import { isScalar, parseDocument } from 'yaml';
import { invalidParameter } from '../errors.js';
import { PYYAML_TAGS } from './project-file.js';

/** MLflow's `python_env.yaml`: the Python version and the pip requirements of a virtualenv. */
export interface PythonEnvSpec {
  /** e.g. `3.11` or `3.11.2`; absent = the Python found first. */
  readonly python?: string;
  /** Installed first (MLflow's default list is `pip`, `setuptools`, `wheel`). */
  readonly buildDependencies: readonly string[];
  /** pip requirement specifiers; `-r requirements.txt` is relative to the project. */
  readonly dependencies: readonly string[];
}

/**
 * Parses a `python_env.yaml` (`python`, `build_dependencies`, `dependencies`).
 *
 * @throws INVALID_PARAMETER_VALUE naming `file` and the field.
 * @example
 * parsePythonEnv('python: "3.11"\ndependencies: [scikit-learn==1.2.1]\n', 'python_env.yaml');
 * // { python: '3.11', buildDependencies: [], dependencies: ['scikit-learn==1.2.1'] }
 */
export function parsePythonEnv(text: string, file: string): PythonEnvSpec {
  const parsed = parseDocument(text, { version: '1.1', uniqueKeys: true, customTags: PYYAML_TAGS as never });
  if (parsed.errors.length > 0) {
    throw invalidParameter(`${file} is not valid YAML: ${parsed.errors[0]?.message.split('\n')[0]}`);
  }
  const doc: unknown = parsed.toJS() ?? {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalidParameter(`${file} must be a YAML mapping at the top level`);
  }
  const fields = doc as Record<string, unknown>;
  const python = fields.python;
  if (python !== undefined && python !== null && typeof python !== 'string' && typeof python !== 'number') {
    throw invalidParameter(`${file}: python must be a version such as "3.11"`);
  }
  // An unquoted `python: 3.10` is the number 3.1 to YAML; the text as written is the version.
  const node = parsed.get('python', true);
  const version = isScalar(node) && typeof node.value === 'number' ? (node.source ?? String(python)) : python;
  return {
    ...(version === undefined || version === null ? {} : { python: String(version) }),
    buildDependencies: stringList(fields.build_dependencies, file, 'build_dependencies'),
    dependencies: stringList(fields.dependencies, file, 'dependencies'),
  };
}

function stringList(value: unknown, file: string, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.trim() === '')) {
    throw invalidParameter(`${file}: ${field} must be a list of pip requirement strings`);
  }
  return value as string[];
}
