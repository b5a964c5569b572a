import { describe, expect, it } from 'vitest';
import type { Comparison, FilterExpr } from './ast.js';
import { RUN_SEARCH_SCHEMA } from './builtin-schemas.js';
import { formatFilter } from './format-filter.js';
import { InvalidSearchError } from './invalid-search-error.js';
import { parseFilter } from './parse-filter.js';
import { defineSearchSchema, type SearchSchema } from './search-schema.js';

/** Positions refer to the text a tree was parsed from, so round trips compare trees without them. */
function withoutPositions(expr: FilterExpr): unknown {
  if (expr.kind === 'comparison') {
    const { position: _position, ...rest } = expr;
    return rest;
  }
  return { kind: expr.kind, items: expr.items.map(withoutPositions) };
}

function parse(text: string, schema: SearchSchema = RUN_SEARCH_SCHEMA): FilterExpr {
  const expr = parseFilter(text, schema);
  if (expr === undefined) throw new Error(`no filter in ${JSON.stringify(text)}`);
  return expr;
}

function cmp(
  entity: Comparison['entity'],
  key: string,
  op: Comparison['op'],
  value: Comparison['value'],
): Comparison {
  return { kind: 'comparison', entity, key, op, value, position: 0 };
}

/** A schema whose attribute names need quoting, to round-trip identifiers the run schema cannot express. */
const ODD_SCHEMA = defineSearchSchema({
  name: 'odd',
  entities: {
    attribute: {
      prefixes: ['attributes'],
      keys: {
        or: { type: 'string', operators: ['='] },
        'a.b': { type: 'string', operators: ['='] },
        'x y': { type: 'number', operators: ['<'] },
        'tick`': { type: 'string', operators: ['='] },
      },
    },
    tag: { prefixes: ['tags'], anyKey: { type: 'string', operators: ['=', 'IN'] } },
  },
});

describe('formatFilter', () => {
  it.each([
    [
      "metric.`acc` >= 1e-3 and (tag.x = \"it's\" or run_id in ('a'))",
      "metrics.acc >= 0.001 AND (tags.x = 'it''s' OR run_id IN ('a'))",
    ],
    ['params.a like "x%"', "params.a LIKE 'x%'"],
    ['run_id not in (\'a\',"b")', "run_id NOT IN ('a', 'b')"],
    ['attributes."Run Name" ILIKE \'x\'', "run_name ILIKE 'x'"],
    ['created > 5', 'start_time > 5'],
    ["tags.mlflow.source.name = 'x'", "tags.mlflow.source.name = 'x'"],
    ['tags."user name" = \'x\'', "tags.`user name` = 'x'"],
    ["tags.`a-b` = 'x'", "tags.`a-b` = 'x'"],
    ["dataset.context = 'train'", "datasets.context = 'train'"],
    ["params.p = 'C:\\\\dir\\\\'", "params.p = 'C:\\\\dir\\\\'"],
    ["params.p = 'x\\'y'", "params.p = 'x''y'"],
    ['metrics.m = -0', 'metrics.m = -0'],
    ['metrics.m > 1e21', 'metrics.m > 1e+21'],
    [
      '(metrics.a > 1 AND metrics.b > 1) OR metrics.c > 1',
      'metrics.a > 1 AND metrics.b > 1 OR metrics.c > 1',
    ],
    ['((metrics.a > 1))', 'metrics.a > 1'],
  ])('formats %j as %j', (input, expected) => {
    expect(formatFilter(parse(input))).toBe(expected);
  });

  it('parenthesises OR inside AND but not AND inside OR', () => {
    const a = cmp('metric', 'a', '>', 1);
    const b = cmp('metric', 'b', '>', 2);
    const c = cmp('metric', 'c', '>', 3);
    expect(formatFilter({ kind: 'and', items: [a, { kind: 'or', items: [b, c] }] })).toBe(
      'metrics.a > 1 AND (metrics.b > 2 OR metrics.c > 3)',
    );
    expect(formatFilter({ kind: 'or', items: [a, { kind: 'and', items: [b, c] }] })).toBe(
      'metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3',
    );
  });

  it('prints unflattened groups of the same kind without parentheses', () => {
    const a = cmp('metric', 'a', '>', 1);
    const nested: FilterExpr = { kind: 'and', items: [a, { kind: 'and', items: [a, a] }] };
    expect(formatFilter(nested)).toBe('metrics.a > 1 AND metrics.a > 1 AND metrics.a > 1');
  });

  it('quotes keys that the lexer would otherwise read differently', () => {
    expect(formatFilter(cmp('attribute', 'or', '=', 'x'))).toBe("`or` = 'x'");
    expect(formatFilter(cmp('attribute', 'a.b', '=', 'x'))).toBe("`a.b` = 'x'");
    expect(formatFilter(cmp('attribute', '1st', '=', 'x'))).toBe("`1st` = 'x'");
    expect(formatFilter(cmp('tag', 'a`b', '=', 'x'))).toBe("tags.`a``b` = 'x'");
    expect(formatFilter(cmp('tag', 'a\\', '=', 'x'))).toBe("tags.`a\\\\` = 'x'");
    expect(formatFilter(cmp('tag', 'a.', '=', 'x'))).toBe("tags.`a.` = 'x'");
    expect(formatFilter(cmp('tag', '1.5', '=', 'x'))).toBe("tags.1.5 = 'x'");
  });

  it('skips empty groups instead of printing broken text', () => {
    const a = cmp('metric', 'a', '>', 1);
    expect(formatFilter({ kind: 'and', items: [] })).toBe('');
    expect(formatFilter({ kind: 'and', items: [a, { kind: 'or', items: [] }] })).toBe('metrics.a > 1');
  });
});

describe('formatFilter → parseFilter round trip', () => {
  it.each([
    "metrics.acc > 0.9 AND (params.opt = 'adam' OR tags.`user-name` LIKE 'a%')",
    "metrics.a > -1.5e3 or metrics.b <= .5 and status = 'x'",
    "run_id NOT IN ('a', \"b\", 'it''s', 'x\\'y', 'back\\\\slash', 'lit\\%')",
    "(tags.a = 'x' OR tags.b = 'y') AND (tags.c = 'z' OR (tags.d = 'w' AND tags.e != ''))",
    "datasets.name IN ('mnist') AND datasets.digest ILIKE '%ab%' AND end_time < 1700000000000",
    "tags.\"quote\"\"key\" = 'v' OR tags.`tick``key` = 'v' OR tags.`dot.key.` = 'v'",
    "params.p = 'ünï\ncode ✓' AND metrics.précision >= 0.000001",
  ])('round-trips %j', (text) => {
    const first = parse(text);
    const printed = formatFilter(first);
    const second = parse(printed);
    expect(withoutPositions(second)).toEqual(withoutPositions(first));
    expect(formatFilter(second)).toBe(printed);
  });

  it('round-trips attribute names that need quoting', () => {
    const text = "attributes.`or` = 'a' AND attributes.`a.b` = 'b' AND `x y` < 3 AND `tick``` = 'c'";
    const first = parse(text, ODD_SCHEMA);
    const printed = formatFilter(first);
    expect(printed).toBe("`or` = 'a' AND `a.b` = 'b' AND `x y` < 3 AND `tick``` = 'c'");
    expect(withoutPositions(parse(printed, ODD_SCHEMA))).toEqual(withoutPositions(first));
  });

  it('round-trips generated filters, and rejects their mutations only with InvalidSearchError', () => {
    // Deterministic LCG so a failure reproduces.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    const pick = <T>(items: readonly T[]): T => items[random(items.length)] as T;
    const strings = ["'s'", "'it''s'", '"d\\"q"', "''", "'%a_'", "'back\\\\'"];
    const comparison = (): string => {
      switch (random(6)) {
        case 0:
          return `${pick(['metrics.a', 'metric.`m x`', 'created', 'end_time'])} ${pick(['=', '!=', '<', '<=', '>', '>='])} ${pick(['-1.5e2', '42', '.5', '0'])}`;
        case 1:
          return `${pick(['params.p', 'tags."k k"', 'run_id', '"Run Name"', 'status'])} ${pick(['=', '!=', 'LIKE', 'ilike'])} ${pick(strings)}`;
        case 2:
          return `${pick(['params.p', 'tags.t', 'run_id', 'datasets.name'])} ${pick(['IN', 'not in'])} (${Array.from({ length: 1 + random(3) }, () => pick(strings)).join(', ')})`;
        default:
          return `${pick(['tags.mlflow.user', 'attr.user_id', 'datasets.context'])} = ${pick(strings)}`;
      }
    };
    const filter = (depth: number): string => {
      if (depth > 3 || random(3) === 0) return comparison();
      const parts = Array.from({ length: 2 + random(3) }, () => filter(depth + 1));
      const joined = parts.join(pick([' AND ', ' OR ', ' and ', ' or ']));
      return random(2) === 0 ? `(${joined})` : joined;
    };
    const noise = ['(', ')', "'", '`', '"', '.', ',', ' AND ', ' OR ', '=', '!', 'x', '1', ' NOT '];
    const mutate = (text: string): string => {
      const at = random(text.length + 1);
      return random(2) === 0
        ? text.slice(0, at) + text.slice(at + 1 + random(3))
        : text.slice(0, at) + pick(noise) + text.slice(at);
    };

    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const valid = filter(0);
      const text = i % 2 === 0 ? valid : mutate(valid);
      let expr: FilterExpr | undefined;
      try {
        expr = parseFilter(text, RUN_SEARCH_SCHEMA);
      } catch (error) {
        expect(i % 2, `generated filter rejected: ${text}`).toBe(1);
        expect(error, text).toBeInstanceOf(InvalidSearchError);
        const { position } = error as InvalidSearchError;
        expect(position, text).toBeGreaterThanOrEqual(0);
        expect(position, text).toBeLessThanOrEqual(text.length);
        rejected++;
        continue;
      }
      if (expr === undefined) continue;
      parsed++;
      const printed = formatFilter(expr);
      expect(withoutPositions(parse(printed)), `${text} → ${printed}`).toEqual(withoutPositions(expr));
      expect(formatFilter(parse(printed)), printed).toBe(printed);
    }
    // Both branches must be exercised for the property to mean anything.
    expect(parsed).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(500);
  });

  it('round-trips IN lists on a custom schema', () => {
    const first = parse("tags.t IN ('a', 'b''c', '')", ODD_SCHEMA);
    expect(formatFilter(first)).toBe("tags.t IN ('a', 'b''c', '')");
    expect(withoutPositions(parse(formatFilter(first), ODD_SCHEMA))).toEqual(withoutPositions(first));
  });
});
