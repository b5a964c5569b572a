import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import type { Comparison, ComparisonOp, EntityKind, FilterExpr } from './ast.js';
import { EXPERIMENT_SEARCH_SCHEMA, RUN_SEARCH_SCHEMA } from './builtin-schemas.js';
import { InvalidSearchError } from './invalid-search-error.js';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter } from './parse-filter.js';
import type { SearchSchema } from './search-schema.js';

const runs = (text: string | undefined) => parseFilter(text, RUN_SEARCH_SCHEMA);

function cmp(
  entity: EntityKind,
  key: string,
  op: ComparisonOp,
  value: Comparison['value'],
  position: number,
): Comparison {
  return { kind: 'comparison', entity, key, op, value, position };
}

const and = (...items: FilterExpr[]): FilterExpr => ({ kind: 'and', items });
const or = (...items: FilterExpr[]): FilterExpr => ({ kind: 'or', items });

/** Asserts that `text` is rejected with INVALID_PARAMETER_VALUE at `position`, for the reason `problem`. */
function expectInvalid(
  text: string,
  position: number,
  problem: RegExp,
  schema: SearchSchema = RUN_SEARCH_SCHEMA,
) {
  let caught: unknown;
  try {
    parseFilter(text, schema);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidSearchError);
  expect(caught).toBeInstanceOf(KeelError);
  const error = caught as InvalidSearchError;
  expect(error.code).toBe('INVALID_PARAMETER_VALUE');
  expect(error.status).toBe(400);
  expect(error.position).toBe(position);
  expect(error.message).toMatch(new RegExp(`at position ${position}(?!\\d)`));
  expect(error.message).toMatch(problem);
  return error;
}

describe('parseFilter: no filter', () => {
  it.each([undefined, '', '   ', '\n\t '])('returns undefined for %j', (text) => {
    expect(runs(text)).toBeUndefined();
  });
});

describe('parseFilter: operators', () => {
  it.each(['=', '!=', '<', '<=', '>', '>='] as const)('parses metric %s', (op) => {
    expect(runs(`metrics.acc ${op} 1`)).toEqual(cmp('metric', 'acc', op, 1, 0));
  });

  it.each(['=', '!=', 'LIKE', 'ILIKE'] as const)('parses param %s', (op) => {
    expect(runs(`params.opt ${op} 'adam'`)).toEqual(cmp('param', 'opt', op, 'adam', 0));
  });

  it.each(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'] as const)('parses dataset %s', (op) => {
    const value = op === 'IN' || op === 'NOT IN' ? "('train')" : "'train'";
    const expected = op === 'IN' || op === 'NOT IN' ? ['train'] : 'train';
    expect(runs(`datasets.context ${op} ${value}`)).toEqual(cmp('dataset', 'context', op, expected, 0));
  });

  it('parses IN and NOT IN on run_id, params and tags', () => {
    expect(runs("run_id IN ('a', 'b')")).toEqual(cmp('attribute', 'run_id', 'IN', ['a', 'b'], 0));
    expect(runs("run_id NOT IN ('a')")).toEqual(cmp('attribute', 'run_id', 'NOT IN', ['a'], 0));
    expect(runs("params.opt IN ('adam','sgd')")).toEqual(cmp('param', 'opt', 'IN', ['adam', 'sgd'], 0));
    expect(runs("tags.team NOT IN ('x')")).toEqual(cmp('tag', 'team', 'NOT IN', ['x'], 0));
  });

  it('reads word operators case-insensitively and stores them upper-case', () => {
    expect(runs("params.a like 'x'")).toEqual(cmp('param', 'a', 'LIKE', 'x', 0));
    expect(runs("params.a iLike 'x'")).toEqual(cmp('param', 'a', 'ILIKE', 'x', 0));
    expect(runs("run_id in ('x')")).toEqual(cmp('attribute', 'run_id', 'IN', ['x'], 0));
    expect(runs("run_id not  In ('x')")).toEqual(cmp('attribute', 'run_id', 'NOT IN', ['x'], 0));
  });

  it('needs no whitespace around symbol operators', () => {
    expect(runs('metrics.a>=1')).toEqual(cmp('metric', 'a', '>=', 1, 0));
    expect(runs("params.a!='x'")).toEqual(cmp('param', 'a', '!=', 'x', 0));
  });
});

describe('parseFilter: identifiers', () => {
  it('splits entity and key on the first dot only', () => {
    expect(runs("tags.mlflow.source.name = 'train.py'")).toEqual(
      cmp('tag', 'mlflow.source.name', '=', 'train.py', 0),
    );
  });

  it('accepts double-quoted and backticked keys', () => {
    expect(runs('metrics."model class" > 0')).toEqual(cmp('metric', 'model class', '>', 0, 0));
    expect(runs("tags.`user-name` = 'ann'")).toEqual(cmp('tag', 'user-name', '=', 'ann', 0));
    expect(runs("tags.`a.b` = 'x'")).toEqual(cmp('tag', 'a.b', '=', 'x', 0));
  });

  it('accepts quoted entity prefixes', () => {
    expect(runs("`attributes`.`run_name` = 'r'")).toEqual(cmp('attribute', 'run_name', '=', 'r', 0));
    expect(runs('"tags"."a b" = \'x\'')).toEqual(cmp('tag', 'a b', '=', 'x', 0));
    expect(runs('`metrics`.acc < 2')).toEqual(cmp('metric', 'acc', '<', 2, 0));
  });

  it('resolves escapes and doubled quotes inside quoted keys', () => {
    expect(runs("tags.`a``b` = 'x'")).toEqual(cmp('tag', 'a`b', '=', 'x', 0));
    expect(runs('tags."a\\"b" = \'x\'')).toEqual(cmp('tag', 'a"b', '=', 'x', 0));
  });

  it('accepts digits and non-ASCII letters in unquoted keys', () => {
    expect(runs('metrics.1st_loss < 1')).toEqual(cmp('metric', '1st_loss', '<', 1, 0));
    expect(runs('metrics.précision > 0')).toEqual(cmp('metric', 'précision', '>', 0, 0));
    expect(runs("tags.v1.0 = 'x'")).toEqual(cmp('tag', 'v1.0', '=', 'x', 0));
  });

  it('treats bare, backticked and double-quoted names without a prefix as attributes', () => {
    expect(runs("status = 'FINISHED'")).toEqual(cmp('attribute', 'status', '=', 'FINISHED', 0));
    expect(runs("`user_id` = 'ann'")).toEqual(cmp('attribute', 'user_id', '=', 'ann', 0));
    expect(runs('"artifact_uri" LIKE \'s3://%\'')).toEqual(
      cmp('attribute', 'artifact_uri', 'LIKE', 's3://%', 0),
    );
  });

  it.each([
    ['metrics', 'metric'],
    ['metric', 'metric'],
    ['METRICS', 'metric'],
    ['params', 'param'],
    ['param', 'param'],
    ['parameter', 'param'],
    ['parameters', 'param'],
    ['tags', 'tag'],
    ['tag', 'tag'],
    ['Tags', 'tag'],
    ['attributes', 'attribute'],
    ['attribute', 'attribute'],
    ['attr', 'attribute'],
    ['run', 'attribute'],
    ['datasets', 'dataset'],
    ['dataset', 'dataset'],
  ] as const)('maps prefix %s to %s', (prefix, entity) => {
    const key = entity === 'attribute' ? 'run_id' : entity === 'dataset' ? 'name' : 'k';
    const value = entity === 'metric' ? '1' : "'v'";
    const parsed = runs(`${prefix}.${key} = ${value}`);
    expect(parsed).toEqual(cmp(entity, key, '=', entity === 'metric' ? 1 : 'v', 0));
  });

  it.each([
    ['created', 'start_time'],
    ['Created', 'start_time'],
    ['attributes.created', 'start_time'],
    ['`run name`', 'run_name'],
    ['"Run name"', 'run_name'],
    ['attributes."Run Name"', 'run_name'],
  ])('resolves attribute alias %s to %s', (identifier, key) => {
    const value = key === 'start_time' ? '5' : "'x'";
    const parsed = runs(`${identifier} = ${value}`);
    expect(parsed).toEqual(cmp('attribute', key, '=', key === 'start_time' ? 5 : 'x', 0));
  });

  it('records the offset of the identifier, after leading whitespace', () => {
    expect(runs('   metrics.a = 1')).toEqual(cmp('metric', 'a', '=', 1, 3));
    expect(runs("metrics.a = 1 AND\n  params.b = 'x'")).toEqual(
      and(cmp('metric', 'a', '=', 1, 0), cmp('param', 'b', '=', 'x', 20)),
    );
  });
});

describe('parseFilter: values', () => {
  it.each([
    ["'adam'", 'adam'],
    ['"adam"', 'adam'],
    ["''", ''],
    ["'it''s'", "it's"],
    ["'it\\'s'", "it's"],
    ['"say ""hi"""', 'say "hi"'],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'back\\\\slash'", 'back\\slash'],
    ["'50\\%'", '50\\%'],
    ["'C:\\temp'", 'C:\\temp'],
    ["'a AND (b) OR c'", 'a AND (b) OR c'],
    ["'ünï cødé ✓'", 'ünï cødé ✓'],
    ["'line\nbreak'", 'line\nbreak'],
  ])('reads string %s', (literal, value) => {
    expect(runs(`params.p = ${literal}`)).toEqual(cmp('param', 'p', '=', value, 0));
  });

  it.each([
    ['0', 0],
    ['42', 42],
    ['-1', -1],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['-.25', -0.25],
    ['3.', 3],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['-1.5e+2', -150],
    ['1700000000000', 1_700_000_000_000],
  ])('reads number %s', (literal, value) => {
    expect(runs(`metrics.m > ${literal}`)).toEqual(cmp('metric', 'm', '>', value, 0));
  });

  it('keeps -0 distinct from 0', () => {
    const parsed = runs('metrics.m = -0') as Comparison;
    expect(Object.is(parsed.value, -0)).toBe(true);
  });

  it('reads numeric attributes', () => {
    expect(runs('start_time >= 1700000000000')).toEqual(
      cmp('attribute', 'start_time', '>=', 1_700_000_000_000, 0),
    );
    expect(runs('end_time < 5')).toEqual(cmp('attribute', 'end_time', '<', 5, 0));
  });

  it('reads IN lists with both quote styles, escapes and free whitespace', () => {
    expect(runs("run_id IN ( 'a' ,\"b\",  'c''d' , 'e\\'f' )")).toEqual(
      cmp('attribute', 'run_id', 'IN', ['a', 'b', "c'd", "e'f"], 0),
    );
  });

  it('allows a keyword right after a closing quote', () => {
    expect(runs("params.a='x'AND params.b='y'")).toEqual(
      and(cmp('param', 'a', '=', 'x', 0), cmp('param', 'b', '=', 'y', 16)),
    );
  });
});

describe('parseFilter: AND, OR and parentheses', () => {
  const a = "params.a = 'a'";
  const b = "params.b = 'b'";
  const c = "params.c = 'c'";
  const d = "params.d = 'd'";
  /** Comparison on params.<name> at `position`. */
  const p = (name: string, position: number) => cmp('param', name, '=', name, position);

  it('joins comparisons with AND', () => {
    expect(runs(`${a} AND ${b} AND ${c}`)).toEqual(and(p('a', 0), p('b', 19), p('c', 38)));
  });

  it('joins comparisons with OR', () => {
    expect(runs(`${a} OR ${b}`)).toEqual(or(p('a', 0), p('b', 18)));
  });

  it('binds AND tighter than OR', () => {
    expect(runs(`${a} OR ${b} AND ${c}`)).toEqual(or(p('a', 0), and(p('b', 18), p('c', 37))));
    expect(runs(`${a} AND ${b} OR ${c}`)).toEqual(or(and(p('a', 0), p('b', 19)), p('c', 37)));
  });

  it('groups with parentheses', () => {
    expect(runs(`(${a} OR ${b}) AND ${c}`)).toEqual(and(or(p('a', 1), p('b', 19)), p('c', 39)));
    expect(runs(`${a} AND (${b} OR ${c}) AND ${d}`)).toEqual(
      and(p('a', 0), or(p('b', 20), p('c', 38)), p('d', 58)),
    );
  });

  it('flattens nested groups of the same kind', () => {
    expect(runs(`${a} AND (${b} AND ${c})`)).toEqual(and(p('a', 0), p('b', 20), p('c', 39)));
    expect(runs(`(${a} OR ${b}) OR (${c} OR ${d})`)).toEqual(
      or(p('a', 1), p('b', 19), p('c', 39), p('d', 57)),
    );
  });

  it('drops redundant parentheses', () => {
    expect(runs(`((${a}))`)).toEqual(p('a', 2));
    expect(runs(`(${a}) AND ((${b}))`)).toEqual(and(p('a', 1), p('b', 23)));
  });

  it('reads AND and OR case-insensitively', () => {
    expect(runs(`${a} and ${b} Or ${c}`)).toEqual(or(and(p('a', 0), p('b', 19)), p('c', 37)));
  });

  it(`accepts exactly ${MAX_FILTER_DEPTH} levels of parentheses`, () => {
    const text = `${'('.repeat(MAX_FILTER_DEPTH)}metrics.a = 1${')'.repeat(MAX_FILTER_DEPTH)}`;
    expect(runs(text)).toEqual(cmp('metric', 'a', '=', 1, MAX_FILTER_DEPTH));
  });
});

describe('parseFilter: errors', () => {
  it('reports the example from the specification exactly', () => {
    const error = expectInvalid('metrics.acc >> 1', 13, /unexpected token '>'/);
    expect(error.message).toMatch(/^Invalid filter 'metrics\.acc >> 1': unexpected token '>' at position 13/);
  });

  it.each([
    ['metrics.acc = ', 14, /unexpected end of filter/],
    ['metrics.acc', 11, /unexpected end of filter/],
    ['metrics.acc 1', 12, /unexpected token '1'/],
    ['metrics.acc == 1', 13, /unexpected token '='/],
    ['metrics.acc <> 1', 13, /unexpected token '>'/],
    ['metrics.acc ! 1', 12, /unexpected character '!'/],
    ['metrics.acc = 1 #', 16, /unexpected character '#'/],
    ['metrics.acc IS NULL', 12, /unexpected token 'IS'/],
    ["params.a NOT LIKE 'x'", 13, /unexpected token 'LIKE'/],
    ['= 1', 0, /unexpected token '='/],
    ["'x' = 'y'", 0, /unexpected token ''x''/],
    ['1 = metrics.a', 0, /unexpected token '1'/],
  ])('rejects syntax error in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ["tags.x = 'abc", 9, /unterminated quoted string/],
    ['tags.x = "abc', 9, /unterminated quoted string/],
    ["tags.x = 'abc\\'", 9, /unterminated quoted string/],
    ["tags.`abc = 'x'", 5, /unterminated backtick-quoted name/],
    ['metrics.acc = 1e', 14, /malformed number '1e'/],
    ['metrics.acc = 1.2.3', 14, /malformed number '1\.2\.3'/],
    ['metrics.acc = 12abc', 14, /malformed number '12abc'/],
    ['metrics.acc = 1e999', 14, /out of range/],
    ['metrics.acc = -x', 14, /unexpected character '-'/],
    ['metrics. acc = 1', 8, /expected a key after 'metrics\.'/],
    ['metrics.-acc = 1', 8, /expected a key after 'metrics\.'/],
    ['metrics.`` = 1', 8, /empty key/],
    ['metrics.acc. = 1', 11, /unexpected character '\.'/],
  ])('rejects lexical error in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ['params.a = adam', 11, /unquoted value 'adam'/],
    ['metrics.a = NaN', 12, /unquoted value 'NaN'/],
    ['tags.a = `x`', 9, /unquoted value '`x`'/],
    ['tags.a = tags.b', 9, /unquoted value 'tags\.b'/],
    ['tags.a = (', 9, /unexpected token '\('/],
  ])('rejects unquoted or missing value in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ['(metrics.a > 1', 0, /'\(' is never closed/],
    ['((metrics.a > 1)', 0, /'\(' is never closed/],
    ['metrics.a > 1 AND (metrics.b > 1', 18, /'\(' is never closed/],
    ['metrics.a > 1)', 13, /unmatched '\)'/],
    ['(metrics.a > 1))', 15, /unmatched '\)'/],
    ['()', 1, /unexpected token '\)'/],
    ['(', 1, /unexpected end of filter/],
    ['(metrics.a > 1 metrics.b > 1)', 15, /unexpected token 'metrics\.b'.*expected AND, OR or '\)'/],
  ])('rejects unbalanced parentheses in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ['metrics.a > 1 AND', 14, /dangling 'AND'/],
    ['metrics.a > 1 or ', 14, /dangling 'or'/],
    ['OR metrics.a > 1', 0, /dangling 'OR'/],
    ['and metrics.a > 1', 0, /dangling 'and'/],
    ['metrics.a > 1 AND OR metrics.b > 1', 18, /dangling 'OR'/],
    ['(metrics.a > 1 OR) AND metrics.b > 1', 15, /dangling 'OR'/],
  ])('rejects dangling connector in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ['metrics.a > 1 metrics.b > 2', 14, /unexpected token 'metrics\.b'/],
    ["metrics.a > 1 'x'", 14, /unexpected token ''x''/],
    ['metrics.a > 1 2', 14, /unexpected token '2'/],
    ['metrics.a > 1 NOT', 14, /unexpected token 'NOT'/],
  ])('rejects trailing garbage in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ["foo.bar = 'x'", 0, /unknown entity 'foo'/],
    ["`nope`.x = 'x'", 0, /unknown entity 'nope'/],
    ["metrics.a = 1 AND experiments.x = 'y'", 18, /unknown entity 'experiments'/],
    ["bogus = 'x'", 0, /unknown attribute 'bogus'/],
    ["RUN_ID = 'x'", 0, /unknown attribute 'RUN_ID'/],
    ["attributes.bogus = 'x'", 11, /unknown attribute 'bogus'/],
    ["datasets.size = 'x'", 9, /unknown dataset field 'size'/],
  ])('rejects unknown identifier in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ["metrics.acc LIKE '1'", 12, /operator 'LIKE' is not allowed for metric 'acc'/],
    ["metrics.acc IN ('1')", 12, /operator 'IN' is not allowed for metric 'acc'/],
    ['params.lr > 1', 10, /operator '>' is not allowed for param 'lr'/],
    ["tags.t < 'a'", 7, /operator '<' is not allowed for tag 't'/],
    ["run_name IN ('a')", 9, /operator 'IN' is not allowed for attribute 'run_name'/],
    ["status NOT IN ('A')", 7, /operator 'NOT IN' is not allowed for attribute 'status'/],
    ["created LIKE '1'", 8, /operator 'LIKE' is not allowed for attribute 'start_time'/],
    ["datasets.name > 'a'", 14, /operator '>' is not allowed for dataset field 'name'/],
  ])('rejects disallowed operator in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ["metrics.acc = '1'", 14, /metric 'acc' is numeric and cannot be compared with a string/],
    ["start_time > '2020'", 13, /attribute 'start_time' is numeric/],
    ['params.lr = 1', 12, /param 'lr' is a string and cannot be compared with a number/],
    ['tags.x = 1', 9, /tag 'x' is a string/],
    ['run_id = 5', 9, /attribute 'run_id' is a string/],
    ['datasets.name = 3', 16, /dataset field 'name' is a string/],
  ])('rejects wrong value type in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it.each([
    ['run_id IN ()', 10, /empty IN list/],
    ['run_id NOT IN ( )', 14, /empty IN list/],
    ["run_id IN 'a'", 10, /unexpected token ''a''.*parenthesised list/],
    ["run_id IN ('a',)", 15, /unexpected token '\)'/],
    ["run_id IN ('a' 'b')", 15, /unexpected token ''b''/],
    ["run_id IN ('a', 1)", 16, /unexpected token '1'/],
    ['run_id IN (a)', 11, /unexpected token 'a'/],
    ["run_id IN ('a'", 10, /'\(' is never closed/],
    ["run_id IN ('a', ('b'))", 16, /unexpected token '\('/],
  ])('rejects bad IN list in %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem);
  });

  it(`rejects filters longer than ${MAX_FILTER_LENGTH} characters before parsing them`, () => {
    const valid = 'metrics.a = 1';
    expect(runs(valid.padEnd(MAX_FILTER_LENGTH, ' '))).toEqual(cmp('metric', 'a', '=', 1, 0));
    const error = expectInvalid(
      valid.padEnd(MAX_FILTER_LENGTH + 1, ' '),
      MAX_FILTER_LENGTH,
      /maximum of 10000/,
    );
    expect(error.message.length).toBeLessThan(400);
  });

  it(`rejects more than ${MAX_FILTER_DEPTH} levels of parentheses`, () => {
    const depth = MAX_FILTER_DEPTH + 1;
    const text = `${'('.repeat(depth)}metrics.a = 1${')'.repeat(depth)}`;
    expectInvalid(text, MAX_FILTER_DEPTH, /nested deeper than 100 levels/);
  });

  it('survives hostile nesting within the length limit without overflowing the stack', () => {
    expectInvalid('('.repeat(MAX_FILTER_LENGTH), MAX_FILTER_DEPTH, /nested deeper/);
    const longChain = Array.from({ length: 600 }, (_, i) => `metrics.m${i} > 1`).join(' OR ');
    expect(
      (runs(longChain.slice(0, longChain.lastIndexOf(' OR ', MAX_FILTER_LENGTH))) as FilterExpr).kind,
    ).toBe('or');
  });
});

describe('parseFilter: experiment schema', () => {
  const experiments = (text: string) => parseFilter(text, EXPERIMENT_SEARCH_SCHEMA);

  it('accepts name, times and tags', () => {
    expect(experiments("name LIKE 'prod-%' AND tags.team = 'cv' AND creation_time > 5")).toEqual(
      and(
        cmp('attribute', 'name', 'LIKE', 'prod-%', 0),
        cmp('tag', 'team', '=', 'cv', 23),
        cmp('attribute', 'creation_time', '>', 5, 44),
      ),
    );
    expect(experiments('attributes.last_update_time <= 10')).toEqual(
      cmp('attribute', 'last_update_time', '<=', 10, 0),
    );
  });

  it.each([
    ["experiment_id = '1'", 0, /attribute 'experiment_id' cannot be filtered on/],
    ['metrics.acc > 1', 0, /unknown entity 'metrics'/],
    ["run.name = 'x'", 0, /unknown entity 'run'/],
    ["run_id = 'x'", 0, /unknown attribute 'run_id'/],
    ["name IN ('a')", 5, /operator 'IN' is not allowed for attribute 'name'/],
    ["tags.x IN ('a')", 7, /operator 'IN' is not allowed for tag 'x'/],
    ["creation_time = '1'", 16, /attribute 'creation_time' is numeric/],
  ])('rejects %j at %i', (text, position, problem) => {
    expectInvalid(text, position, problem, EXPERIMENT_SEARCH_SCHEMA);
  });
});
