import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import type { OrderByClause } from './ast.js';
import { EXPERIMENT_SEARCH_SCHEMA, RUN_SEARCH_SCHEMA } from './builtin-schemas.js';
import { InvalidSearchError } from './invalid-search-error.js';
import { MAX_FILTER_LENGTH } from './parse-filter.js';
import { parseOrderBy } from './parse-order-by.js';
import type { SearchSchema } from './search-schema.js';

function expectInvalid(
  clauses: readonly string[],
  position: number,
  problem: RegExp,
  schema: SearchSchema = RUN_SEARCH_SCHEMA,
) {
  let caught: unknown;
  try {
    parseOrderBy(clauses, schema);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidSearchError);
  expect(caught).toBeInstanceOf(KeelError);
  const error = caught as InvalidSearchError;
  expect(error.code).toBe('INVALID_PARAMETER_VALUE');
  expect(error.position).toBe(position);
  expect(error.message).toMatch(new RegExp(`at position ${position}(?!\\d)`));
  expect(error.message).toMatch(problem);
  return error;
}

describe('parseOrderBy', () => {
  it('returns no clauses for undefined or an empty list', () => {
    expect(parseOrderBy(undefined, RUN_SEARCH_SCHEMA)).toEqual([]);
    expect(parseOrderBy([], RUN_SEARCH_SCHEMA)).toEqual([]);
  });

  it.each<[string, OrderByClause]>([
    ['metrics.acc', { entity: 'metric', key: 'acc', ascending: true }],
    ['metrics.acc ASC', { entity: 'metric', key: 'acc', ascending: true }],
    ['metrics.acc DESC', { entity: 'metric', key: 'acc', ascending: false }],
    ['metrics.acc desc', { entity: 'metric', key: 'acc', ascending: false }],
    ['metrics.acc Asc', { entity: 'metric', key: 'acc', ascending: true }],
    ['  metrics.acc\tDESC  ', { entity: 'metric', key: 'acc', ascending: false }],
    ['metric.`model class` DESC', { entity: 'metric', key: 'model class', ascending: false }],
    ['params."learning rate"', { entity: 'param', key: 'learning rate', ascending: true }],
    ['tags.mlflow.source.name DESC', { entity: 'tag', key: 'mlflow.source.name', ascending: false }],
    ['attributes.start_time', { entity: 'attribute', key: 'start_time', ascending: true }],
    ['`attributes`.`run_id` DESC', { entity: 'attribute', key: 'run_id', ascending: false }],
    ['attr.end_time DESC', { entity: 'attribute', key: 'end_time', ascending: false }],
    ['run.status', { entity: 'attribute', key: 'status', ascending: true }],
    ['user_id', { entity: 'attribute', key: 'user_id', ascending: true }],
    ['artifact_uri DESC', { entity: 'attribute', key: 'artifact_uri', ascending: false }],
    ['created DESC', { entity: 'attribute', key: 'start_time', ascending: false }],
    ['Created', { entity: 'attribute', key: 'start_time', ascending: true }],
    ['"Run Name" asc', { entity: 'attribute', key: 'run_name', ascending: true }],
    ['`run name`', { entity: 'attribute', key: 'run_name', ascending: true }],
  ])('parses %j', (clause, expected) => {
    expect(parseOrderBy([clause], RUN_SEARCH_SCHEMA)).toEqual([expected]);
  });

  it('keeps the order of several clauses', () => {
    expect(parseOrderBy(['metrics.rmse DESC', 'params.alpha', 'created'], RUN_SEARCH_SCHEMA)).toEqual([
      { entity: 'metric', key: 'rmse', ascending: false },
      { entity: 'param', key: 'alpha', ascending: true },
      { entity: 'attribute', key: 'start_time', ascending: true },
    ]);
  });

  it.each([
    ['', 0, /empty clause/],
    ['   ', 0, /empty clause/],
    ['metrics.acc DESCENDING', 12, /unexpected token 'DESCENDING'.*expected ASC or DESC/],
    ['metrics.acc DESC x', 17, /unexpected token 'x'.*expected the end of the clause/],
    ['metrics.acc ASC DESC', 16, /unexpected token 'DESC'/],
    ['metrics.acc, metrics.b', 11, /unexpected token ','/],
    ['metrics.acc > 1', 12, /unexpected token '>'/],
    ["'metrics.acc'", 0, /unexpected token ''metrics\.acc''.*expected an identifier/],
    ['DESC metrics.acc', 0, /unknown attribute 'DESC'/],
    ['metrics.`acc', 8, /unterminated backtick-quoted name/],
    ['metrics.', 8, /expected a key after 'metrics\.'/],
    ['foo.acc', 0, /unknown entity 'foo'/],
    ['bogus DESC', 0, /unknown attribute 'bogus'/],
    ['attributes.bogus', 11, /unknown attribute 'bogus'/],
    ['datasets.name', 0, /dataset field 'name' cannot be ordered by/],
  ])('rejects %j at %i', (clause, position, problem) => {
    expectInvalid([clause], position, problem);
  });

  it('names the offending clause of a list', () => {
    const error = expectInvalid(['metrics.acc', 'metrics.loss UP'], 13, /unexpected token 'UP'/);
    expect(error.message).toMatch(/^Invalid order_by clause 'metrics\.loss UP': /);
    expect(error.input).toBe('metrics.loss UP');
  });

  it(`rejects clauses longer than ${MAX_FILTER_LENGTH} characters`, () => {
    expectInvalid([`metrics.${'a'.repeat(MAX_FILTER_LENGTH)}`], MAX_FILTER_LENGTH, /maximum of 10000/);
  });

  describe('experiment schema', () => {
    it('orders by name, experiment_id, creation_time and last_update_time', () => {
      expect(
        parseOrderBy(
          ['name', 'experiment_id DESC', 'attributes.creation_time', 'last_update_time desc'],
          EXPERIMENT_SEARCH_SCHEMA,
        ),
      ).toEqual([
        { entity: 'attribute', key: 'name', ascending: true },
        { entity: 'attribute', key: 'experiment_id', ascending: false },
        { entity: 'attribute', key: 'creation_time', ascending: true },
        { entity: 'attribute', key: 'last_update_time', ascending: false },
      ]);
    });

    it.each([
      ['tags.team', 0, /tag 'team' cannot be ordered by/],
      ['metrics.acc', 0, /unknown entity 'metrics'/],
      ['start_time', 0, /unknown attribute 'start_time'/],
    ])('rejects %j at %i', (clause, position, problem) => {
      expectInvalid([clause], position, problem, EXPERIMENT_SEARCH_SCHEMA);
    });
  });
});
