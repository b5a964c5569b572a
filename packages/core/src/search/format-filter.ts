import { type Comparison, type EntityKind, type FilterExpr, unreachable } from './ast.js';

const PREFIX: Record<Exclude<EntityKind, 'attribute'>, string> = {
  metric: 'metrics',
  param: 'params',
  tag: 'tags',
  dataset: 'datasets',
};

/** Keys that can follow `entity.` without quotes; the lexer reads exactly these. */
const BARE_KEY = /^[\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*$/u;
/** Bare attribute names: a word that the parser would not take for a keyword in its place. */
const BARE_ATTRIBUTE = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const RESERVED_AT_START = new Set(['AND', 'OR']);

/**
 * Prints a filter tree as canonical filter text that {@link parseFilter} reads back to the same tree.
 *
 * Canonical form: entity prefixes `metrics.`, `params.`, `tags.`, `datasets.`; attributes bare; keys
 * backticked only when needed; strings single-quoted (`'` doubled, `\` escaped); operators upper-case;
 * an OR group inside an AND group parenthesised. Groups are expected non-empty, as the parser makes
 * them; an empty group prints as nothing.
 *
 * @example
 * formatFilter(parseFilter("metric.`acc` >= 1e-3 and (tag.x = \"it's\" or run_id in ('a'))", RUN_SEARCH_SCHEMA)!);
 * // "metrics.acc >= 0.001 AND (tags.x = 'it''s' OR run_id IN ('a'))"
 */
export function formatFilter(expr: FilterExpr): string {
  switch (expr.kind) {
    case 'and':
      return joinItems(
        expr.items.map((item) => {
          const text = formatFilter(item);
          return item.kind === 'or' && item.items.length > 1 ? `(${text})` : text;
        }),
        ' AND ',
      );
    case 'or':
      return joinItems(expr.items.map(formatFilter), ' OR ');
    case 'comparison':
      return formatComparison(expr);
    default:
      return unreachable(expr);
  }
}

function joinItems(parts: string[], separator: string): string {
  return parts.filter((part) => part !== '').join(separator);
}

function formatComparison(comparison: Comparison): string {
  const { value } = comparison;
  let text: string;
  if (typeof value === 'string') text = quote(value, "'");
  else if (typeof value === 'number') text = Object.is(value, -0) ? '-0' : String(value);
  else text = `(${value.map((item) => quote(item, "'")).join(', ')})`;
  return `${formatIdentifier(comparison.entity, comparison.key)} ${comparison.op} ${text}`;
}

function formatIdentifier(entity: EntityKind, key: string): string {
  if (entity === 'attribute') {
    return BARE_ATTRIBUTE.test(key) && !RESERVED_AT_START.has(key.toUpperCase()) ? key : quote(key, '`');
  }
  return `${PREFIX[entity]}.${BARE_KEY.test(key) ? key : quote(key, '`')}`;
}

function quote(text: string, mark: "'" | '`'): string {
  return `${mark}${text.replaceAll('\\', '\\\\').replaceAll(mark, mark + mark)}${mark}`;
}
