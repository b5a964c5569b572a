/**
 * Parsing of the model URIs MLflow clients pass around (mlflow-compat.md §3). Browser-safe: only
 * the syntax is checked here; resolving a URI to files is the server's job.
 */
import { invalidParameter } from './errors.js';

/** A parsed `models:/` or `runs:/` URI. */
export type ModelUri =
  /** `models:/name/3` */
  | { kind: 'version'; name: string; version: number }
  /** `models:/name@champion` */
  | { kind: 'alias'; name: string; alias: string }
  /** `models:/name/Production` (stage matched case-insensitively; kept as written) */
  | { kind: 'stage'; name: string; stage: string }
  /** `models:/name/latest` (case-insensitive) */
  | { kind: 'latest'; name: string }
  /** `models:/m-<hex>`: an MLflow 3 logged model, by id */
  | { kind: 'logged'; modelId: string }
  /** `runs:/<run_id>/path` (path may be empty: the run's artifact root) */
  | { kind: 'run'; runId: string; path: string };

/**
 * Parses a model URI into a tagged union.
 *
 * - `models:/<name>/<digits>` → a version; `models:/<name>/latest` → the latest version;
 *   `models:/<name>/<other>` → a stage (validity of the stage is checked when resolving);
 *   `models:/<name>@<alias>` → an alias; `models:/m-<id>` (one segment starting `m-`, no `@`) → an
 *   MLflow 3 logged model. `models://<authority>/…` (a registry URI) is accepted and
 *   the authority ignored. Names are percent-decoded.
 * - `runs:/<run_id>/<path>` → a run artifact path.
 *
 * @throws INVALID_PARAMETER_VALUE for anything else (other schemes, missing parts, extra segments).
 *
 * @example
 * parseModelUri('models:/churn@champion') // { kind: 'alias', name: 'churn', alias: 'champion' }
 * parseModelUri('runs:/0a1b/model')       // { kind: 'run', runId: '0a1b', path: 'model' }
 */
export function parseModelUri(uri: string): ModelUri {
  const bad = (why: string): never => {
    throw invalidParameter(`Invalid model URI '${uri.slice(0, 200)}': ${why}`);
  };
  const match = /^([a-z]+):(.*)$/i.exec(uri);
  const scheme = match?.[1]?.toLowerCase();
  let rest = match?.[2] ?? '';
  if (scheme !== 'models' && scheme !== 'runs') return bad("expected a 'models:/' or 'runs:/' URI");
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  if (!rest.startsWith('/')) return bad(`expected '${scheme}:/' followed by a path`);
  rest = rest.replace(/^\/+/, '').replace(/\/+$/, '');
  if (/[?#]/.test(rest)) return bad('query strings and fragments are not allowed');

  if (scheme === 'runs') {
    const slash = rest.indexOf('/');
    const runId = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash + 1);
    if (runId === '') return bad('the run id is missing');
    return { kind: 'run', runId, path };
  }

  const parts = rest.split('/');
  if (parts.length === 1) {
    if (/^m-[\w-]+$/.test(rest)) return { kind: 'logged', modelId: rest };
    const at = rest.lastIndexOf('@');
    if (at <= 0 || at === rest.length - 1) {
      return bad("expected 'models:/<name>/<version|stage|latest>' or 'models:/<name>@<alias>'");
    }
    return { kind: 'alias', name: decode(rest.slice(0, at), bad), alias: rest.slice(at + 1) };
  }
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    return bad("expected 'models:/<name>/<version|stage|latest>' or 'models:/<name>@<alias>'");
  }
  const name = decode(parts[0] as string, bad);
  const suffix = parts[1] as string;
  if (/^\d+$/.test(suffix)) {
    const version = Number(suffix);
    if (!Number.isSafeInteger(version)) return bad('the version number is too large');
    return { kind: 'version', name, version };
  }
  if (suffix.toLowerCase() === 'latest') return { kind: 'latest', name };
  return { kind: 'stage', name, stage: suffix };
}

/** Formats a version URI, percent-encoding what would break parsing. */
export function modelVersionUri(name: string, version: number | string): string {
  return `models:/${encodeURIComponent(name)}/${version}`;
}

function decode(text: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return bad('the model name is not validly percent-encoded');
  }
}
