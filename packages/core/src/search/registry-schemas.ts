/**
 * Search schemas of the model registry (mlflow-compat.md §2.3, §2.4), plus Keel's OR and
 * parentheses, which the shared grammar gives every search.
 */
import type { ComparisonOp } from './ast.js';
import { defineSearchSchema, type SearchSchema } from './search-schema.js';

const NUMERIC_OPS: readonly ComparisonOp[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING_OPS: readonly ComparisonOp[] = ['=', '!=', 'LIKE', 'ILIKE'];

/**
 * What `registered-models/search` accepts: `name` (`= != LIKE ILIKE`) and `tags.<key>` (`tag`);
 * order_by takes `name`, `creation_timestamp` (alias `timestamp`) and `last_updated_timestamp`.
 *
 * @example
 * parseFilter("name ILIKE '%churn%' OR tags.team = 'growth'", REGISTERED_MODEL_SEARCH_SCHEMA);
 */
export const REGISTERED_MODEL_SEARCH_SCHEMA: SearchSchema = defineSearchSchema({
  name: 'registered models',
  entities: {
    attribute: {
      prefixes: ['attributes', 'attribute', 'attr'],
      keys: {
        name: { type: 'string', operators: STRING_OPS, orderable: true },
        creation_timestamp: { type: 'number', operators: [], orderable: true, aliases: ['timestamp'] },
        last_updated_timestamp: { type: 'number', operators: [], orderable: true },
      },
    },
    tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: STRING_OPS } },
  },
});

/**
 * What `model-versions/search` accepts: `name`, `source_path` (`= != LIKE ILIKE`), `run_id`
 * (`= != IN NOT IN`), `version_number` (numeric), and `tags.<key>`. order_by takes `name`,
 * `version_number`, `creation_timestamp` (alias `timestamp`) and `last_updated_timestamp`.
 *
 * @example
 * parseFilter("name = 'churn' AND version_number >= 3", MODEL_VERSION_SEARCH_SCHEMA);
 */
export const MODEL_VERSION_SEARCH_SCHEMA: SearchSchema = defineSearchSchema({
  name: 'model versions',
  entities: {
    attribute: {
      prefixes: ['attributes', 'attribute', 'attr'],
      keys: {
        name: { type: 'string', operators: STRING_OPS, orderable: true },
        run_id: { type: 'string', operators: ['=', '!=', 'IN', 'NOT IN'] },
        source_path: { type: 'string', operators: STRING_OPS },
        version_number: { type: 'number', operators: NUMERIC_OPS, orderable: true },
        creation_timestamp: {
          type: 'number',
          operators: NUMERIC_OPS,
          orderable: true,
          aliases: ['timestamp'],
        },
        last_updated_timestamp: { type: 'number', operators: NUMERIC_OPS, orderable: true },
      },
    },
    tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: STRING_OPS } },
  },
});
