import { describe, expect, it } from 'vitest';
import { applySuggestion, suggestFilter } from './filter-suggestions';

const keys = { metrics: ['acc', 'val loss'], params: ['lr', 'optimizer'], tags: ['mlflow.runName'] };
const labels = (text: string, caret = text.length) =>
  suggestFilter(text, caret, keys).items.map((i) => i.label);

describe('suggestFilter', () => {
  it('offers the loaded keys by prefix, of the whole identifier or of the key', () => {
    expect(labels('metr')).toEqual(['metrics.acc', 'metrics.`val loss`']);
    expect(labels('opt')).toEqual(['params.optimizer']);
    expect(labels('attributes.st')).toEqual(['attributes.start_time', 'attributes.status']);
    expect(labels('metrics.acc > 0.5 AND ta')).toEqual(['tags.mlflow.runName']);
    expect(labels('')).toContain('attributes.run_id');
  });

  it('offers the operators of the entity after an identifier', () => {
    expect(labels('metrics.acc ')).toEqual(['=', '!=', '<', '<=', '>', '>=']);
    expect(labels('params.lr ')).toEqual(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);
    expect(labels('attributes.run_name ')).toEqual(['=', '!=', 'LIKE', 'ILIKE']);
    expect(labels('attributes.start_time <')).toEqual(['<', '<=']);
    expect(labels('tags.x NOT')).toEqual(['NOT IN']);
    expect(labels('status I')).toEqual(['ILIKE']);
  });

  it('offers the run statuses after a status comparison, and AND / OR after a comparison', () => {
    expect(labels("attributes.status = 'F")).toEqual(['FINISHED', 'FAILED']);
    expect(suggestFilter('status != ', 10, keys).items.map((i) => i.insert)).toContain("'KILLED'");
    expect(labels('metrics.acc > 0.5 ')).toEqual(['AND', 'OR']);
    expect(labels("params.lr IN ('0.1', ")).toEqual([]);
    expect(labels('metrics.acc > ')).toEqual([]);
  });

  it('uses the text before the caret', () => {
    expect(labels('metrics.acc > 1', 4)).toEqual(['metrics.acc', 'metrics.`val loss`']);
  });
});

describe('applySuggestion', () => {
  it('replaces the partial word and puts the caret after a space', () => {
    const range = suggestFilter('metr', 4, keys);
    expect(applySuggestion('metr', range, range.items[0]!)).toEqual({ text: 'metrics.acc ', caret: 12 });
    const mid = suggestFilter('metr > 1', 4, keys);
    expect(applySuggestion('metr > 1', mid, mid.items[0]!)).toEqual({ text: 'metrics.acc > 1', caret: 12 });
  });
});
