/**
 * Search-filter and order_by grammar shared by every Keel search endpoint (and the web UI, which
 * can validate filters locally: this module is browser-safe).
 */
export {
  COMPARISON_OPS,
  type Comparison,
  type ComparisonOp,
  ENTITY_KINDS,
  type EntityKind,
  type FilterExpr,
  type OrderByClause,
} from './ast.js';
export { EXPERIMENT_SEARCH_SCHEMA, RUN_SEARCH_SCHEMA } from './builtin-schemas.js';
export { formatFilter } from './format-filter.js';
export { InvalidSearchError } from './invalid-search-error.js';
export { LOGGED_MODEL_SEARCH_SCHEMA } from './logged-model-schemas.js';
export { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter } from './parse-filter.js';
export { parseOrderBy } from './parse-order-by.js';
export { MODEL_VERSION_SEARCH_SCHEMA, REGISTERED_MODEL_SEARCH_SCHEMA } from './registry-schemas.js';
export {
  type ClosedEntityOptions,
  defineSearchSchema,
  type EntityOptions,
  type EntityRule,
  type FieldOptions,
  type FieldRule,
  type KeyOptions,
  type OpenEntityOptions,
  type SearchSchema,
  type SearchSchemaOptions,
  type ValueType,
} from './search-schema.js';
