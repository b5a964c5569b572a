/**
 * Path patterns with `:name` segments, matched segment by segment. Kept apart from the route table
 * so it stays a pure function (unit-tested in `match-route.test.ts`).
 */

/** Path parameters of a matched route, decoded (`/models/a%2Fb` gives `{ name: 'a/b' }`). */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * Matches `pathname` against `pattern` (e.g. `/models/:name/versions/:version`).
 *
 * @returns the decoded parameters, or `undefined` when the path does not match.
 *
 * @example
 * matchPath('/experiments/:id', '/experiments/12'); // { id: '12' }
 * matchPath('/experiments/:id', '/experiments');    // undefined
 */
export function matchPath(pattern: string, pathname: string): RouteParams | undefined {
  const want = segments(pattern);
  const have = segments(pathname);
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const expected = want[i] as string;
    const actual = have[i] as string;
    if (expected.startsWith(':')) {
      const value = safeDecode(actual);
      if (value === undefined || value === '') return undefined;
      params[expected.slice(1)] = value;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}

/**
 * Fills `pattern`'s `:name` segments from `params`, encoding each value.
 *
 * @example
 * buildPath('/models/:name/versions/:version', { name: 'churn model', version: '3' });
 * // '/models/churn%20model/versions/3'
 */
export function buildPath(pattern: string, params: Readonly<Record<string, string>>): string {
  return pattern.replace(/:([A-Za-z_]\w*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`buildPath: no value for :${name} in ${pattern}`);
    return encodeURIComponent(value);
  });
}

function segments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
