import { describe, expect, it } from 'vitest';
import { COMPARISON_OPS } from './ast.js';
import { EXPERIMENT_SEARCH_SCHEMA, RUN_SEARCH_SCHEMA } from './builtin-schemas.js';
import { InvalidSearchError } from './invalid-search-error.js';
import { parseFilter } from './parse-filter.js';
import { parseOrderBy } from './parse-order-by.js';
import { defineSearchSchema, type SearchSchemaOptions } from './search-schema.js';

const STRING_OPS = ['=', '!=', 'LIKE', 'ILIKE'] as const;
const NUMERIC_OPS = ['=', '!=', '>', '>=', '<', '<='] as const;

/** What a model-version search (mlflow-compat §2.4) would define; proves the registry can reuse the parser. */
const MODEL_VERSION_SCHEMA = defineSearchSchema({
  name: 'model versions',
  entities: {
    attribute: {
      prefixes: [],
      keys: {
        name: { type: 'string', operators: STRING_OPS, orderable: true },
        run_id: { type: 'string', operators: [...STRING_OPS, 'IN'] },
        source_path: { type: 'string', operators: STRING_OPS },
        version_number: { type: 'number', operators: NUMERIC_OPS, orderable: true },
      },
    },
    tag: { prefixes: ['tags', 'tag'], anyKey: { type: 'string', operators: STRING_OPS } },
  },
});

function rejection(run: () => unknown): InvalidSearchError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSearchError);
    return error as InvalidSearchError;
  }
  throw new Error('expected a rejection');
}

describe('defineSearchSchema', () => {
  it('builds a schema the parser can use for another search target', () => {
    expect(
      parseFilter(
        "name = 'm' AND version_number >= 2 AND run_id IN ('r1') AND tag.stage = 'prod'",
        MODEL_VERSION_SCHEMA,
      ),
    ).toEqual({
      kind: 'and',
      items: [
        { kind: 'comparison', entity: 'attribute', key: 'name', op: '=', value: 'm', position: 0 },
        { kind: 'comparison', entity: 'attribute', key: 'version_number', op: '>=', value: 2, position: 15 },
        { kind: 'comparison', entity: 'attribute', key: 'run_id', op: 'IN', value: ['r1'], position: 39 },
        { kind: 'comparison', entity: 'tag', key: 'stage', op: '=', value: 'prod', position: 60 },
      ],
    });
    expect(parseOrderBy(['version_number DESC'], MODEL_VERSION_SCHEMA)).toEqual([
      { entity: 'attribute', key: 'version_number', ascending: false },
    ]);
  });

  it('enforces per-key operators and the default of not orderable', () => {
    expect(rejection(() => parseFilter("run_id NOT IN ('a')", MODEL_VERSION_SCHEMA)).position).toBe(7);
    expect(rejection(() => parseOrderBy(['source_path'], MODEL_VERSION_SCHEMA)).message).toMatch(
      /attribute 'source_path' cannot be ordered by at position 0/,
    );
  });

  it('rejects prefixes for entities a schema does not define', () => {
    const error = rejection(() => parseFilter("attributes.name = 'x'", MODEL_VERSION_SCHEMA));
    expect(error.position).toBe(0);
    expect(error.message).toMatch(/unknown entity 'attributes' at position 0 \(expected one of: tags, tag\)/);
  });

  it('rejects bare identifiers when the schema has no attributes', () => {
    const tagsOnly = defineSearchSchema({
      name: 'tags only',
      entities: { tag: { prefixes: ['tags'], anyKey: { type: 'string', operators: ['='] } } },
    });
    expect(parseFilter("tags.a = 'x'", tagsOnly)).toMatchObject({ entity: 'tag', key: 'a' });
    expect(rejection(() => parseFilter("name = 'x'", tagsOnly)).message).toMatch(
      /unknown attribute 'name' at position 0/,
    );
  });

  it('freezes what it builds and defaults orderable to false', () => {
    expect(Object.isFrozen(MODEL_VERSION_SCHEMA)).toBe(true);
    const attribute = MODEL_VERSION_SCHEMA.entities.get('attribute');
    expect(attribute?.keys.get('run_id')).toEqual({
      type: 'string',
      operators: [...STRING_OPS, 'IN'],
      orderable: false,
    });
    expect(Object.isFrozen(attribute?.keys.get('run_id')?.operators)).toBe(true);
  });

  it.each<[string, SearchSchemaOptions, RegExp]>([
    [
      'a prefix used twice, ignoring case',
      {
        name: 's',
        entities: {
          tag: { prefixes: ['tags'], anyKey: { type: 'string', operators: ['='] } },
          param: { prefixes: ['Tags'], anyKey: { type: 'string', operators: ['='] } },
        },
      },
      /prefix 'tags' is used by both 'param' and 'tag'/,
    ],
    [
      'an entity other than attributes without a prefix',
      { name: 's', entities: { metric: { prefixes: [], anyKey: { type: 'number', operators: ['='] } } } },
      /entity 'metric' has no prefix/,
    ],
    [
      'an empty prefix',
      { name: 's', entities: { metric: { prefixes: [''], anyKey: { type: 'number', operators: ['='] } } } },
      /entity 'metric' has an empty prefix/,
    ],
    [
      'a string-only operator on a numeric field',
      {
        name: 's',
        entities: { metric: { prefixes: ['m'], anyKey: { type: 'number', operators: ['=', 'LIKE'] } } },
      },
      /operator 'LIKE' on numeric entity 'metric'/,
    ],
    [
      'IN on a numeric key',
      {
        name: 's',
        entities: { attribute: { prefixes: [], keys: { n: { type: 'number', operators: ['IN'] } } } },
      },
      /operator 'IN' on numeric key 'attribute\.n'/,
    ],
    [
      'an alias shadowing a key',
      {
        name: 's',
        entities: {
          attribute: {
            prefixes: [],
            keys: {
              a: { type: 'string', operators: ['='] },
              b: { type: 'string', operators: ['='], aliases: ['a'] },
            },
          },
        },
      },
      /alias 'a' of 'attribute\.b' is already taken/,
    ],
    [
      'an alias given twice',
      {
        name: 's',
        entities: {
          attribute: {
            prefixes: [],
            keys: {
              a: { type: 'string', operators: ['='], aliases: ['x'] },
              b: { type: 'string', operators: ['='], aliases: ['x'] },
            },
          },
        },
      },
      /alias 'x' of 'attribute\.b' is already taken/,
    ],
    [
      'an empty key',
      {
        name: 's',
        entities: { attribute: { prefixes: [], keys: { '': { type: 'string', operators: ['='] } } } },
      },
      /entity 'attribute' has an empty key/,
    ],
  ])('throws for %s', (_what, options, problem) => {
    expect(() => defineSearchSchema(options)).toThrow(problem);
  });
});

describe('RUN_SEARCH_SCHEMA', () => {
  const attributes = RUN_SEARCH_SCHEMA.entities.get('attribute');

  it('matches MLflow operators per entity, plus IN / NOT IN on params and tags', () => {
    expect(RUN_SEARCH_SCHEMA.entities.get('metric')?.anyKey).toEqual({
      type: 'number',
      operators: ['=', '!=', '>', '>=', '<', '<='],
      orderable: true,
    });
    for (const kind of ['param', 'tag'] as const) {
      expect(RUN_SEARCH_SCHEMA.entities.get(kind)?.anyKey).toEqual({
        type: 'string',
        operators: ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'],
        orderable: true,
      });
    }
  });

  it('allows IN / NOT IN among string attributes on run_id only', () => {
    const withIn = [...(attributes?.keys ?? [])]
      .filter(([, rule]) => rule.operators.includes('IN'))
      .map(([key]) => key);
    expect(withIn).toEqual(['run_id']);
  });

  it('lets every attribute be ordered by, and no dataset field', () => {
    expect([...(attributes?.keys.values() ?? [])].every((rule) => rule.orderable)).toBe(true);
    expect(
      [...(RUN_SEARCH_SCHEMA.entities.get('dataset')?.keys.values() ?? [])].some((rule) => rule.orderable),
    ).toBe(false);
  });

  it('uses only known operators', () => {
    for (const entity of RUN_SEARCH_SCHEMA.entities.values()) {
      for (const rule of [entity.anyKey, ...entity.keys.values()]) {
        for (const op of rule?.operators ?? []) expect(COMPARISON_OPS).toContain(op);
      }
    }
  });
});

describe('EXPERIMENT_SEARCH_SCHEMA', () => {
  it('defines attributes and tags only', () => {
    expect([...EXPERIMENT_SEARCH_SCHEMA.entities.keys()]).toEqual(['tag', 'attribute']);
    expect([...(EXPERIMENT_SEARCH_SCHEMA.entities.get('attribute')?.keys.keys() ?? [])]).toEqual([
      'name',
      'experiment_id',
      'creation_time',
      'last_update_time',
    ]);
  });
});
