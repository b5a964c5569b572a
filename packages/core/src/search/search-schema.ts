/**
 * Search schemas: what one search target (runs, experiments, registered models…) lets a filter
 * and an order_by mention. The parser is generic; everything endpoint-specific lives in a schema.
 */
import { type ComparisonOp, ENTITY_KINDS, type EntityKind } from './ast.js';

/** The type of value a field is compared with: a quoted string or an unquoted number. */
export type ValueType = 'string' | 'number';

/** How one field (an attribute, or any key of an open entity such as metrics) may be used. */
export interface FieldRule {
  readonly type: ValueType;
  /** Operators accepted in filters; empty when the field can only be ordered by. */
  readonly operators: readonly ComparisonOp[];
  readonly orderable: boolean;
}

/** One entity of a {@link SearchSchema}, resolved from {@link EntityOptions}. */
export interface EntityRule {
  readonly kind: EntityKind;
  /** Prefixes that select the entity, as configured (matched case-insensitively). */
  readonly prefixes: readonly string[];
  /** Rule for every key when any key is allowed (metrics, params, tags); undefined for a fixed key set. */
  readonly anyKey: FieldRule | undefined;
  /** Fixed keys by canonical name; empty when {@link anyKey} is set. */
  readonly keys: ReadonlyMap<string, FieldRule>;
  /** Alternative key spellings → canonical key, e.g. `created` → `start_time`. */
  readonly aliases: ReadonlyMap<string, string>;
}

/** Everything the parser needs to validate one search target; build with {@link defineSearchSchema}. */
export interface SearchSchema {
  /** Name of the search target, used in messages about the schema itself (e.g. `runs`). */
  readonly name: string;
  readonly entities: ReadonlyMap<EntityKind, EntityRule>;
  /** Lower-cased prefix → entity. */
  readonly prefixes: ReadonlyMap<string, EntityKind>;
}

/** How a field may be used. */
export interface FieldOptions {
  type: ValueType;
  /** Operators allowed in filters; `[]` makes the field order-only. */
  operators: readonly ComparisonOp[];
  /**
   * Whether `order_by` may name the field.
   * @default false
   */
  orderable?: boolean;
}

/** A fixed key of a closed entity. */
export interface KeyOptions extends FieldOptions {
  /**
   * Other spellings accepted for the key (case-sensitive), resolved to the canonical key in the AST.
   * @default []
   */
  aliases?: readonly string[];
}

/** An entity whose keys are user data (metrics, params, tags): every key follows one rule. */
export interface OpenEntityOptions {
  /** Prefixes selecting the entity, e.g. `['metrics', 'metric']`. */
  prefixes: readonly string[];
  anyKey: FieldOptions;
}

/** An entity with a fixed set of keys (attributes, dataset fields). */
export interface ClosedEntityOptions {
  /** Prefixes selecting the entity; attributes are also selected by a bare identifier. */
  prefixes: readonly string[];
  keys: Readonly<Record<string, KeyOptions>>;
}

/** Either kind of entity. */
export type EntityOptions = OpenEntityOptions | ClosedEntityOptions;

/** Input of {@link defineSearchSchema}. */
export interface SearchSchemaOptions {
  name: string;
  /** Entities the target supports; bare identifiers are attributes, so omit `attribute` to forbid them. */
  entities: Partial<Record<EntityKind, EntityOptions>>;
}

/** Operators that only make sense on strings. */
const STRING_ONLY_OPS: ReadonlySet<ComparisonOp> = new Set(['LIKE', 'ILIKE', 'IN', 'NOT IN']);

/**
 * Builds and checks a {@link SearchSchema}. Mistakes in the definition (a prefix used twice, an
 * alias shadowing a key, `LIKE` on a number) throw a plain `Error` at definition time, since they
 * are programming errors rather than bad requests.
 *
 * @example
 * const MODEL_VERSION_SEARCH_SCHEMA = defineSearchSchema({
 *   name: 'model versions',
 *   entities: {
 *     attribute: {
 *       prefixes: [],
 *       keys: {
 *         name: { type: 'string', operators: ['=', '!=', 'LIKE', 'ILIKE'], orderable: true },
 *         run_id: { type: 'string', operators: ['=', '!=', 'LIKE', 'ILIKE', 'IN'] },
 *         source_path: { type: 'string', operators: ['=', '!=', 'LIKE', 'ILIKE'] },
 *         version_number: { type: 'number', operators: ['=', '!=', '<', '<=', '>', '>='], orderable: true },
 *       },
 *     },
 *     tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: ['=', '!=', 'LIKE', 'ILIKE'] } },
 *   },
 * });
 */
export function defineSearchSchema(options: SearchSchemaOptions): SearchSchema {
  const fail = (problem: string): never => {
    throw new Error(`Invalid search schema '${options.name}': ${problem}`);
  };
  const entities = new Map<EntityKind, EntityRule>();
  const prefixes = new Map<string, EntityKind>();

  for (const kind of ENTITY_KINDS) {
    const entity = options.entities[kind];
    if (entity === undefined) continue;
    if (entity.prefixes.length === 0 && kind !== 'attribute') fail(`entity '${kind}' has no prefix`);
    for (const prefix of entity.prefixes) {
      const lower = prefix.toLowerCase();
      const owner = prefixes.get(lower);
      if (owner !== undefined) fail(`prefix '${prefix}' is used by both '${owner}' and '${kind}'`);
      if (lower === '') fail(`entity '${kind}' has an empty prefix`);
      prefixes.set(lower, kind);
    }

    const fieldRule = (field: FieldOptions, what: string): FieldRule => {
      if (field.type === 'number') {
        const bad = field.operators.find((op) => STRING_ONLY_OPS.has(op));
        if (bad !== undefined) fail(`operator '${bad}' on numeric ${what}`);
      }
      return Object.freeze({
        type: field.type,
        operators: Object.freeze([...new Set(field.operators)]),
        orderable: field.orderable ?? false,
      });
    };

    const keys = new Map<string, FieldRule>();
    const aliases = new Map<string, string>();
    let anyKey: FieldRule | undefined;
    if ('anyKey' in entity) {
      anyKey = fieldRule(entity.anyKey, `entity '${kind}'`);
    } else {
      for (const [key, field] of Object.entries(entity.keys)) {
        if (key === '') fail(`entity '${kind}' has an empty key`);
        keys.set(key, fieldRule(field, `key '${kind}.${key}'`));
      }
      for (const [key, field] of Object.entries(entity.keys)) {
        for (const alias of field.aliases ?? []) {
          if (keys.has(alias) || aliases.has(alias))
            fail(`alias '${alias}' of '${kind}.${key}' is already taken`);
          aliases.set(alias, key);
        }
      }
    }
    entities.set(
      kind,
      Object.freeze({ kind, prefixes: Object.freeze([...entity.prefixes]), anyKey, keys, aliases }),
    );
  }
  return Object.freeze({ name: options.name, entities, prefixes });
}

/** Every key (canonical and alias) of a closed entity, for "expected one of" hints. */
export function knownKeys(entity: EntityRule): string[] {
  return [...entity.keys.keys(), ...entity.aliases.keys()];
}
