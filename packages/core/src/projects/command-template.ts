import { invalidParameter } from '../errors.js';
import type { ResolvedParameters } from './parameters.js';
import type { EntryPointRuntime, EntryPointSpec } from './project-spec.js';

/** Characters that never need quoting in a POSIX shell word (Python's `shlex.quote` set). */
const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/**
 * Quotes `value` as one POSIX shell word, as Python's `shlex.quote` does: left as is when it
 * only has safe characters, else wrapped in single quotes (a `'` inside becomes `'"'"'`). No
 * `;`, `$( )`, backtick, glob or newline in the value can act on the shell.
 *
 * @example
 * shellQuote('0.5');               // 0.5
 * shellQuote("x; touch /tmp/pwned"); // 'x; touch /tmp/pwned'
 * shellQuote("it's");              // 'it'"'"'s'
 */
export function shellQuote(value: string): string {
  if (value === '') return "''";
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** One piece of a parsed template: literal text, or a parameter placeholder. */
type TemplatePart = { readonly text: string } | { readonly name: string };

/**
 * Splits a command template into text and `{name}` placeholders, as Python's `str.format` reads
 * them: `{{` and `}}` are literal braces; `{}`, positional `{0}`, and format specs or conversions
 * (`{x:>5}`, `{x!r}`) are refused, as is a lone brace.
 *
 * @throws INVALID_PARAMETER_VALUE naming `where` and the faulty placeholder.
 */
export function parseCommandTemplate(template: string, where: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i += 1) {
    const char = template[i];
    const next = template[i + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      text += char;
      i += 1;
      continue;
    }
    if (char === '}') throw invalidParameter(`${where}: single '}' in the command (write '}}' for a brace)`);
    if (char !== '{') {
      text += char;
      continue;
    }
    const end = template.indexOf('}', i);
    const name = end === -1 ? '' : template.slice(i + 1, end);
    if (end === -1 || !/^[A-Za-z_][\w-]*$/.test(name)) {
      const shown = end === -1 ? template.slice(i) : template.slice(i, end + 1);
      throw invalidParameter(
        `${where}: '${shown}' is not a parameter placeholder (use {name}; write '{{' and '}}' for braces)`,
      );
    }
    if (text !== '') parts.push({ text });
    text = '';
    parts.push({ name });
    i = end;
  }
  if (text !== '') parts.push({ text });
  return parts;
}

/**
 * The shell command of an entry point's run, built as MLflow builds it: each `{name}` of the
 * template replaced by the shell-quoted value of that declared parameter, then every extra value
 * appended as `--key value` (both quoted). A placeholder naming no declared parameter is refused.
 *
 * @throws INVALID_PARAMETER_VALUE for a bad template or a placeholder without a declared parameter.
 * @example
 * renderCommand(entry, { declared: { alpha: '0.5' }, extra: { note: 'a b' } });
 * // "python train.py --alpha 0.5 --note 'a b'"
 */
export function renderCommand(entry: EntryPointSpec, values: ResolvedParameters): string {
  const where = `entry point '${entry.name}'`;
  const rendered = parseCommandTemplate(entry.command, where)
    .map((part) => {
      if ('text' in part) return part.text;
      const value = values.declared[part.name];
      if (value === undefined) {
        throw invalidParameter(
          `${where}: the command uses {${part.name}}, which is not a declared parameter (write {{ and }} for literal braces)`,
        );
      }
      return shellQuote(value);
    })
    .join('');
  const extra = Object.entries(values.extra).map(
    ([key, value]) => `${shellQuote(`--${key}`)} ${shellQuote(value)}`,
  );
  return [rendered, ...extra].join(' ');
}

/** Script extensions that run as an entry point without being declared, and their runtime. */
export const SCRIPT_RUNTIMES: Readonly<Record<string, EntryPointRuntime>> = {
  '.py': 'python',
  '.sh': 'shell',
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
};

/** Interpreters of script entry points; `python` is what MLflow runs, a CLI may pass `python3`. */
export interface ScriptInterpreters {
  /** @default 'python' */
  python?: string;
}

/**
 * The implicit entry point of a script in the project that the project file does not declare
 * (MLflow runs `.py` with `python` and `.sh` with `bash`; Keel adds `.js`, `.mjs`, `.cjs` with
 * `node`). It has no declared parameters, so every `-P` value is appended as `--key value`.
 * Returns `undefined` for another extension.
 *
 * @example
 * scriptEntryPoint('train.py')?.command; // 'python train.py'
 */
export function scriptEntryPoint(
  file: string,
  interpreters: ScriptInterpreters = {},
): EntryPointSpec | undefined {
  const extension = /\.[^./]+$/.exec(file)?.[0]?.toLowerCase() ?? '';
  const runtime = SCRIPT_RUNTIMES[extension];
  if (runtime === undefined) return undefined;
  const program = { python: interpreters.python ?? 'python', shell: 'bash', node: 'node' }[runtime];
  // Braces in a file name must not read as placeholders.
  const command = `${program} ${shellQuote(file)}`.replaceAll('{', '{{').replaceAll('}', '}}');
  return { name: file, parameters: [], command, runtime };
}
