import { EXPERIMENT_SEARCH_SCHEMA, REGISTERED_MODEL_SEARCH_SCHEMA } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { searchBoxFilter } from './paged-search';

describe('searchBoxFilter', () => {
  it('searches names containing a plain text, quotes doubled', () => {
    expect(searchBoxFilter('churn', REGISTERED_MODEL_SEARCH_SCHEMA)).toBe("name ILIKE '%churn%'");
    expect(searchBoxFilter("bob's model", REGISTERED_MODEL_SEARCH_SCHEMA)).toBe(
      "name ILIKE '%bob''s model%'",
    );
    expect(searchBoxFilter('', REGISTERED_MODEL_SEARCH_SCHEMA)).toBeUndefined();
  });

  it("sends a filter of the list's grammar as it is", () => {
    const filter = "tags.team = 'growth' AND name LIKE 'churn%'";
    expect(searchBoxFilter(filter, REGISTERED_MODEL_SEARCH_SCHEMA)).toBe(filter);
    expect(searchBoxFilter("tags.owner != 'ml'", EXPERIMENT_SEARCH_SCHEMA)).toBe("tags.owner != 'ml'");
  });

  it('treats text that is not a complete filter as part of a name', () => {
    expect(searchBoxFilter("tags.team = 'gro", REGISTERED_MODEL_SEARCH_SCHEMA)).toBe(
      "name ILIKE '%tags.team = ''gro%'",
    );
    // `metrics.*` is a run filter, not a model one.
    expect(searchBoxFilter('metrics.acc > 1', REGISTERED_MODEL_SEARCH_SCHEMA)).toBe(
      "name ILIKE '%metrics.acc > 1%'",
    );
  });
});
