/**
 * Schemas of the searches Keel serves today, matching MLflow's grammar (mlflow-compat.md §2.1, §2.2)
 * plus Keel's extensions (OR / parentheses everywhere; IN / NOT IN on params and tags).
 */
import type { ComparisonOp } from './ast.js';
import { defineSearchSchema, type SearchSchema } from './search-schema.js';

const NUMERIC_OPS: readonly ComparisonOp[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING_OPS: readonly ComparisonOp[] = ['=', '!=', 'LIKE', 'ILIKE'];
const STRING_LIST_OPS: readonly ComparisonOp[] = [...STRING_OPS, 'IN', 'NOT IN'];

/**
 * What `runs/search` accepts.
 *
 * - `metrics.<key>` (`metric`): numbers, `= != > >= < <=`.
 * - `params.<key>` (`param`, `parameter`, `parameters`) and `tags.<key>` (`tag`): quoted strings,
 *   `= != LIKE ILIKE`, plus `IN` / `NOT IN` as a Keel extension.
 * - attributes (`attributes`, `attribute`, `attr`, `run`, or no prefix): `run_id` (also `IN` / `NOT IN`),
 *   `run_name` (aliases `run name`, `Run name`, `Run Name`), `user_id`, `status`, `artifact_uri` as strings;
 *   `start_time` (aliases `created`, `Created`) and `end_time` as numbers (epoch ms).
 * - `datasets.<name|digest|context>` (`dataset`): strings, `= != LIKE ILIKE IN NOT IN`; not orderable.
 *
 * @example
 * parseFilter("metrics.acc > 0.9 AND tags.mlflow.source.name LIKE '%train%'", RUN_SEARCH_SCHEMA);
 * parseOrderBy(['metrics.rmse DESC', 'created'], RUN_SEARCH_SCHEMA);
 */
export const RUN_SEARCH_SCHEMA: SearchSchema = defineSearchSchema({
  name: 'runs',
  entities: {
    metric: {
      prefixes: ['metrics', 'metric'],
      anyKey: { type: 'number', operators: NUMERIC_OPS, orderable: true },
    },
    param: {
      prefixes: ['params', 'param', 'parameter', 'parameters'],
      anyKey: { type: 'string', operators: STRING_LIST_OPS, orderable: true },
    },
    tag: {
      prefixes: ['tags', 'tag'],
      anyKey: { type: 'string', operators: STRING_LIST_OPS, orderable: true },
    },
    attribute: {
      prefixes: ['attributes', 'attribute', 'attr', 'run'],
      keys: {
        run_id: { type: 'string', operators: STRING_LIST_OPS, orderable: true },
        run_name: {
          type: 'string',
          operators: STRING_OPS,
          orderable: true,
          aliases: ['run name', 'Run name', 'Run Name'],
        },
        user_id: { type: 'string', operators: STRING_OPS, orderable: true },
        status: { type: 'string', operators: STRING_OPS, orderable: true },
        artifact_uri: { type: 'string', operators: STRING_OPS, orderable: true },
        start_time: {
          type: 'number',
          operators: NUMERIC_OPS,
          orderable: true,
          aliases: ['created', 'Created'],
        },
        end_time: { type: 'number', operators: NUMERIC_OPS, orderable: true },
      },
    },
    dataset: {
      prefixes: ['datasets', 'dataset'],
      keys: {
        name: { type: 'string', operators: STRING_LIST_OPS },
        digest: { type: 'string', operators: STRING_LIST_OPS },
        context: { type: 'string', operators: STRING_LIST_OPS },
      },
    },
  },
});

/**
 * What `experiments/search` accepts: attributes `name` (string, `= != LIKE ILIKE`), `creation_time` and
 * `last_update_time` (numbers), and `tags.<key>` (`= != LIKE ILIKE`). order_by takes `name`,
 * `experiment_id`, `creation_time` and `last_update_time`; `experiment_id` cannot be filtered on.
 *
 * @example
 * parseFilter("name LIKE 'prod-%' AND tags.team = 'vision'", EXPERIMENT_SEARCH_SCHEMA);
 */
export const EXPERIMENT_SEARCH_SCHEMA: SearchSchema = defineSearchSchema({
  name: 'experiments',
  entities: {
    attribute: {
      prefixes: ['attributes', 'attribute', 'attr'],
      keys: {
        name: { type: 'string', operators: STRING_OPS, orderable: true },
        experiment_id: { type: 'string', operators: [], orderable: true },
        creation_time: { type: 'number', operators: NUMERIC_OPS, orderable: true },
        last_update_time: { type: 'number', operators: NUMERIC_OPS, orderable: true },
      },
    },
    tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: STRING_OPS } },
  },
});
