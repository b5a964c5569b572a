/**
 * Search schema of MLflow 3 logged models (mlflow-compat.md §2.5), plus Keel's OR and
 * parentheses, which the shared grammar gives every search.
 */
import type { ComparisonOp } from './ast.js';
import { defineSearchSchema, type SearchSchema } from './search-schema.js';

const NUMERIC_OPS: readonly ComparisonOp[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING_OPS: readonly ComparisonOp[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

/**
 * What `logged-models/search` accepts: attributes `name`, `model_id`, `model_type`, `status`,
 * `source_run_id` (`= != LIKE ILIKE IN NOT IN`), `creation_timestamp` and
 * `last_updated_timestamp` (numeric), `params.<key>` and `tags.<key>`. `metrics.<key>` is not
 * accepted: Keel does not link metrics to logged models. order_by takes the attributes.
 *
 * @example
 * parseFilter("params.alpha = '0.5' AND status = 'LOGGED_MODEL_READY'", LOGGED_MODEL_SEARCH_SCHEMA);
 */
export const LOGGED_MODEL_SEARCH_SCHEMA: SearchSchema = defineSearchSchema({
  name: 'logged models',
  entities: {
    attribute: {
      prefixes: ['attributes', 'attribute', 'attr'],
      keys: {
        name: { type: 'string', operators: STRING_OPS, orderable: true },
        model_id: { type: 'string', operators: STRING_OPS, orderable: true },
        model_type: { type: 'string', operators: STRING_OPS, orderable: true },
        status: { type: 'string', operators: STRING_OPS, orderable: true },
        source_run_id: { type: 'string', operators: STRING_OPS, orderable: true },
        creation_timestamp: {
          type: 'number',
          operators: NUMERIC_OPS,
          orderable: true,
          aliases: ['creation_time', 'creation_timestamp_ms'],
        },
        last_updated_timestamp: {
          type: 'number',
          operators: NUMERIC_OPS,
          orderable: true,
          aliases: ['last_updated_timestamp_ms'],
        },
      },
    },
    param: { prefixes: ['params', 'param'], anyKey: { type: 'string', operators: STRING_OPS } },
    tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: STRING_OPS } },
  },
});
