/**
 * What a Docker image needs to run a `process`-flavor model written in Python, read from the model
 * directory. The rule (documented in the generated README and docs/cli.md):
 *
 * 1. The model needs Python when its `process` flavor's command runs `python`, `python3`,
 *    `python3.11`, … or a `.py` script. Other flavors and commands need nothing.
 * 2. Its packages come from the model directory's `requirements.txt` (MLflow's convention), else
 *    from the flavors MLflow itself writes: `sklearn`, or `python_function` with
 *    `loader_module: mlflow.sklearn`, mean scikit-learn.
 * 3. Packages Debian ships are installed with apt (`python3-sklearn`, `python3-numpy`, …, at
 *    Debian's version: pins are not honoured); any other requirement line goes to pip unchanged.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MLmodel } from '@keel/core';

/** Python packages (normalised PyPI names) that Debian bookworm ships, and their Debian names. */
export const DEBIAN_PYTHON_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'scikit-learn': 'python3-sklearn',
  sklearn: 'python3-sklearn',
  numpy: 'python3-numpy',
  scipy: 'python3-scipy',
  pandas: 'python3-pandas',
  joblib: 'python3-joblib',
  threadpoolctl: 'python3-threadpoolctl',
  cloudpickle: 'python3-cloudpickle',
  pyyaml: 'python3-yaml',
});

/** The system and Python packages an image needs for a model; empty lists when it needs no Python. */
export interface PythonRequirements {
  /** Whether the model's command runs Python (then `python3` is always installed). */
  readonly python: boolean;
  /** Debian packages, `python3` first. */
  readonly debian: readonly string[];
  /** `requirements.txt` lines for pip (requirements Debian does not ship). */
  readonly pip: readonly string[];
  /** Where the packages were read from: `requirements.txt`, `MLmodel flavors` or `none`. */
  readonly source: 'requirements.txt' | 'MLmodel flavors' | 'none';
}

const NONE: PythonRequirements = Object.freeze({ python: false, debian: [], pip: [], source: 'none' });

/**
 * Applies the rule above to a model directory whose `MLmodel` is already parsed.
 *
 * @example
 * // MLmodel: flavors: { process: { command: [python3, predict.py] } }; requirements.txt: scikit-learn==1.2.2
 * await pythonRequirements(dir, mlmodel);
 * // { python: true, debian: ['python3', 'python3-sklearn'], pip: [], source: 'requirements.txt' }
 */
export async function pythonRequirements(dir: string, mlmodel: MLmodel): Promise<PythonRequirements> {
  if (!commandRunsPython(mlmodel.flavors.process)) return NONE;
  const text = await readFile(join(dir, 'requirements.txt'), 'utf8').catch(() => undefined);
  const lines = text === undefined ? flavorHints(mlmodel) : requirementLines(text);
  const debian = new Set<string>(['python3']);
  const pip: string[] = [];
  for (const line of lines) {
    const known = DEBIAN_PYTHON_PACKAGES[packageName(line)];
    if (known !== undefined) debian.add(known);
    else pip.push(line);
  }
  if (pip.length > 0) debian.add('python3-pip');
  const source = text !== undefined ? 'requirements.txt' : lines.length > 0 ? 'MLmodel flavors' : 'none';
  return { python: true, debian: [...debian], pip, source };
}

/** Whether a `process` flavor's command (an argv array or a command line) starts Python. */
function commandRunsPython(flavor: unknown): boolean {
  if (typeof flavor !== 'object' || flavor === null) return false;
  const command = (flavor as { command?: unknown }).command;
  const words = Array.isArray(command)
    ? command.filter((word): word is string => typeof word === 'string')
    : typeof command === 'string'
      ? command.split(/\s+/)
      : [];
  const first = words[0];
  if (first === undefined) return false;
  const program = first.split('/').pop() ?? '';
  if (program === 'env') return words.slice(1).some(isPython);
  return isPython(first) || program.endsWith('.py');
}

function isPython(word: string): boolean {
  return /^python(\d+(\.\d+)*)?$/.test(word.split('/').pop() ?? '');
}

/** Requirement lines without comments, blank lines and pip options (`-r`, `--index-url`, …). */
function requirementLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('-'));
}

/** Requirements implied by the flavors MLflow writes next to `python_function`. */
function flavorHints(mlmodel: MLmodel): string[] {
  const pyfunc = mlmodel.flavors.python_function as { loader_module?: unknown } | undefined;
  const sklearn = 'sklearn' in mlmodel.flavors || pyfunc?.loader_module === 'mlflow.sklearn';
  return sklearn ? ['scikit-learn'] : [];
}

/** PEP 503-normalised distribution name of a requirement line: `Scikit_Learn[x]>=1` → `scikit-learn`. */
function packageName(line: string): string {
  const name = /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(line)?.[0] ?? line;
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
