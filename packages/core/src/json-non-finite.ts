/**
 * Python's `json.dumps` writes bare `NaN`, `Infinity` and `-Infinity` tokens, which `JSON.parse`
 * refuses. MLflow's servers accept them, so Keel's must too.
 */

const NON_FINITE = ['-Infinity', 'Infinity', 'NaN'] as const;

/**
 * Rewrites the `NaN`/`Infinity`/`-Infinity` tokens that stand outside string literals into JSON
 * strings, prefixed with `mark` (written into the literal as is, so it must be valid JSON string content).
 *
 * @example
 * quoteNonFiniteTokens('{"a": NaN, "b": "NaN"}') // '{"a": "NaN", "b": "NaN"}'
 */
export function quoteNonFiniteTokens(text: string, mark = ''): string {
  let out = '';
  let i = 0;
  let last = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token && !isIdentifierChar(text[i - 1]) && !isIdentifierChar(text[i + token.length])) {
      out += `${text.slice(last, i)}"${mark}${token}"`;
      i += token.length;
      last = i;
      continue;
    }
    i++;
  }
  return out + text.slice(last);
}

function isIdentifierChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch);
}

/** Prefix of the strings standing in for non-finite numbers: a NUL no JSON text holds unescaped. */
const NUMBER_MARK = '\u0000keel-number:';
/** {@link NUMBER_MARK} as written inside a JSON string literal. */
const NUMBER_MARK_JSON = '\\u0000keel-number:';

/**
 * `JSON.parse` that also reads bare `NaN`, `Infinity` and `-Infinity` as the numbers they name.
 *
 * @throws SyntaxError when the text is not JSON even with those tokens allowed.
 *
 * @example
 * parseJsonAllowingNonFinite('[1, NaN, -Infinity]') // [1, NaN, -Infinity]
 */
export function parseJsonAllowingNonFinite(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const quoted = quoteNonFiniteTokens(text, NUMBER_MARK_JSON);
    if (quoted === text) throw error;
    return JSON.parse(quoted, (_key, value: unknown) =>
      typeof value === 'string' && value.startsWith(NUMBER_MARK)
        ? Number(value.slice(NUMBER_MARK.length))
        : value,
    );
  }
}
