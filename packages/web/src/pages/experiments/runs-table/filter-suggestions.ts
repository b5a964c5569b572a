/**
 * Autocompletion for the runs filter box: from the text before the caret, works out whether the
 * user is typing a key, an operator, a status value or the next `AND` / `OR`, and offers what fits.
 * Pure: no React, no DOM. The grammar is the one docs/tracking.md describes ("Search syntax").
 */
import type { AvailableKeys } from './column-picker';

/** One entry of the suggestion list. */
export interface FilterSuggestion {
  /** What the list shows. */
  label: string;
  /** What replaces the partial word (a space follows it). */
  insert: string;
  /** A short hint shown beside the label (`metric`, `operator`…). */
  detail: string;
}

/** Suggestions for a caret position: replacing `text.slice(from, to)` accepts one. */
export interface FilterSuggestions {
  from: number;
  to: number;
  items: FilterSuggestion[];
}

/** Run statuses (RunInfo.status). */
export const RUN_STATUS_VALUES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;

/** Attributes a run filter takes, and whether they compare as numbers. */
const ATTRIBUTES: readonly { name: string; numeric: boolean }[] = [
  { name: 'status', numeric: false },
  { name: 'run_name', numeric: false },
  { name: 'start_time', numeric: true },
  { name: 'end_time', numeric: true },
  { name: 'user_id', numeric: false },
  { name: 'artifact_uri', numeric: false },
  { name: 'run_id', numeric: false },
];
const DATASET_FIELDS = ['name', 'digest', 'context'];
const NUMERIC_OPERATORS = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPERATORS = ['=', '!=', 'LIKE', 'ILIKE'];
const LIST_OPERATORS = [...STRING_OPERATORS, 'IN', 'NOT IN'];
const OPERATOR_WORDS = new Set(['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN']);
/** Most suggestions shown at once. */
const MAX_ITEMS = 50;

type Entity = 'metrics' | 'params' | 'tags' | 'attributes' | 'datasets';
const ENTITY_ALIASES: Readonly<Record<string, Entity>> = {
  metrics: 'metrics',
  metric: 'metrics',
  params: 'params',
  param: 'params',
  parameter: 'params',
  parameters: 'params',
  tags: 'tags',
  tag: 'tags',
  attributes: 'attributes',
  attribute: 'attributes',
  attr: 'attributes',
  run: 'attributes',
  datasets: 'datasets',
  dataset: 'datasets',
};

/** Tokens: whitespace, strings, comparison operators, parens, commas, words (with quoted parts). */
const TOKEN = /\s+|'(?:[^'\\]|\\.)*'?|<=|>=|!=|=|<|>|[(),]|(?:[^\s'"`()<>=!,]|`[^`]*`?|"[^"]*"?)+|[\s\S]/g;

interface Token {
  text: string;
  start: number;
}

function tokenize(text: string): Token[] {
  return [...text.matchAll(TOKEN)].map((match) => ({ text: match[0], start: match.index }));
}

/** The entity and key name of a filter identifier such as `metrics.acc` or `status`. */
function splitIdentifier(word: string): { entity: Entity; key: string } | undefined {
  const dot = word.indexOf('.');
  if (dot < 0)
    return ATTRIBUTES.some((a) => a.name === word) ? { entity: 'attributes', key: word } : undefined;
  const entity = ENTITY_ALIASES[word.slice(0, dot).toLowerCase()];
  const key = word.slice(dot + 1);
  return entity === undefined || key === '' ? undefined : { entity, key: unquote(key) };
}

function unquote(key: string): string {
  return /^([`"]).*\1$/.test(key) ? key.slice(1, -1) : key;
}

/** Operators the grammar accepts after an identifier of `entity` named `key`. */
export function operatorsFor(entity: Entity, key: string): readonly string[] {
  if (entity === 'metrics') return NUMERIC_OPERATORS;
  if (entity === 'params' || entity === 'tags' || entity === 'datasets') return LIST_OPERATORS;
  if (key === 'start_time' || key === 'created' || key === 'end_time') return NUMERIC_OPERATORS;
  return key === 'run_id' ? LIST_OPERATORS : STRING_OPERATORS;
}

/** `metrics.<key>`, backquoted when the key has characters an unquoted identifier cannot take. */
function identifier(entity: Entity, key: string): string {
  return `${entity}.${/^[\w.]+$/.test(key) ? key : `\`${key}\``}`;
}

/** Every identifier to offer: the loaded runs' keys, then the attributes and dataset fields. */
export function keySuggestions(keys: AvailableKeys): FilterSuggestion[] {
  const of = (entity: Entity, names: readonly string[], detail: string) =>
    [...names]
      .sort()
      .map((name) => ({ label: identifier(entity, name), insert: identifier(entity, name), detail }));
  return [
    ...of('metrics', keys.metrics, 'metric'),
    ...of('params', keys.params, 'param'),
    ...of('tags', keys.tags, 'tag'),
    ...of(
      'attributes',
      ATTRIBUTES.map((a) => a.name),
      'attribute',
    ),
    ...of('datasets', DATASET_FIELDS, 'dataset'),
  ];
}

/** Whether a suggestion matches the partial word: a case-insensitive prefix of it or of its key. */
function matches(item: FilterSuggestion, partial: string): boolean {
  if (partial === '') return true;
  const label = item.label.toLowerCase();
  const wanted = partial.toLowerCase();
  if (label.startsWith(wanted)) return true;
  const dot = label.indexOf('.');
  return (
    dot >= 0 &&
    !wanted.includes('.') &&
    label
      .slice(dot + 1)
      .replace(/^`/, '')
      .startsWith(wanted)
  );
}

function isJoiner(token: Token | undefined): boolean {
  return token === undefined || token.text === '(' || /^(and|or)$/i.test(token.text);
}

function isOperator(tokens: readonly Token[], i: number): boolean {
  const text = tokens[i]?.text.toUpperCase();
  return text !== undefined && OPERATOR_WORDS.has(text);
}

/**
 * What to offer with the caret at `caret` in `text`.
 *
 * @param keys - the param, metric and tag keys of the loaded runs.
 * @returns the replaced range and the matching suggestions (empty `items` when nothing fits).
 */
export function suggestFilter(text: string, caret: number, keys: AvailableKeys): FilterSuggestions {
  const before = text.slice(0, caret);
  const all = tokenize(before);
  const last = all.at(-1);
  const typing = last !== undefined && !/^\s/.test(last.text);
  const partial = typing ? last.text : '';
  const from = caret - partial.length;
  const context = (typing ? all.slice(0, -1) : all).filter((token) => !/^\s/.test(token.text));
  const result = (items: FilterSuggestion[]): FilterSuggestions => {
    const fitting = items.filter((item) => matches(item, partial)).slice(0, MAX_ITEMS);
    // Fully typed already: nothing to complete (and Enter applies the filter).
    const done = fitting.length === 1 && fitting[0]?.insert.toLowerCase() === partial.toLowerCase();
    return { from, to: caret, items: done ? [] : fitting };
  };
  const n = context.length;
  const previous = context[n - 1];

  // Inside an `IN (…)` list: values, nothing to offer.
  if (previous?.text === ',' || (previous?.text === '(' && /^in$/i.test(context[n - 2]?.text ?? ''))) {
    return { from, to: caret, items: [] };
  }
  // Start of a clause: a key.
  if (isJoiner(previous)) return result(keySuggestions(keys));

  // After `<identifier>`: its operators (`NOT` starts `NOT IN`).
  const target = previous === undefined ? undefined : splitIdentifier(previous.text);
  if (target !== undefined && isJoiner(context[n - 2])) {
    if (/^not$/i.test(partial) && operatorsFor(target.entity, target.key).includes('NOT IN')) {
      return { from, to: caret, items: [operatorItem('NOT IN')] };
    }
    return result(operatorsFor(target.entity, target.key).map(operatorItem));
  }

  // After `status <op>`: the statuses, quoted.
  const comparedKey = isOperator(context, n - 1)
    ? context[n - 2]
    : /^not$/i.test(context[n - 2]?.text ?? '') && /^in$/i.test(previous?.text ?? '')
      ? context[n - 3]
      : undefined;
  if (comparedKey !== undefined) {
    const key = splitIdentifier(comparedKey.text);
    if (key?.entity === 'attributes' && key.key === 'status' && !/^\(/.test(partial)) {
      const quoted = partial.replace(/^['"]/, '');
      const statuses = RUN_STATUS_VALUES.map((status) => ({
        label: status,
        insert: `'${status}'`,
        detail: 'status',
      }));
      return {
        from,
        to: caret,
        items: statuses.filter((item) => item.label.startsWith(quoted.toUpperCase())),
      };
    }
    return { from, to: caret, items: [] };
  }

  // After a complete comparison: combine it with the next one.
  if (n >= 3 && (!typing || /^[a-z]+$/i.test(partial))) {
    return result(['AND', 'OR'].map((word) => ({ label: word, insert: word, detail: 'combine' })));
  }
  return { from, to: caret, items: [] };
}

function operatorItem(operator: string): FilterSuggestion {
  return { label: operator, insert: operator, detail: 'operator' };
}

/** `text` with the suggestion applied; returns the new text and caret (after the added space). */
export function applySuggestion(
  text: string,
  range: Pick<FilterSuggestions, 'from' | 'to'>,
  item: FilterSuggestion,
): { text: string; caret: number } {
  const rest = text.slice(range.to);
  const insert = rest.startsWith(' ') ? item.insert : `${item.insert} `;
  const caret = range.from + insert.length + (rest.startsWith(' ') ? 1 : 0);
  return { text: text.slice(0, range.from) + insert + rest, caret };
}
