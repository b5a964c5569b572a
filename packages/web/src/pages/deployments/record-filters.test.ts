import { describe, expect, it } from 'vitest';
import { parseRecordFilters, predictionFiltersOf, recordFilterQuery } from './record-filters';

describe('record filters', () => {
  it('reads the URL, ignoring an unknown range', () => {
    const view = parseRecordFilters(
      new URLSearchParams('version=iris%2Fv2%2F3&caller=ann&status=503&range=2y'),
    );
    expect(view).toEqual({ version: 'iris/v2/3', caller: 'ann', status: '503', range: '' });
    expect(recordFilterQuery(view)).toEqual({
      version: 'iris/v2/3',
      caller: 'ann',
      status: '503',
      range: '',
    });
    expect(parseRecordFilters(new URLSearchParams(''))).toEqual({
      version: '',
      caller: '',
      status: '',
      range: '',
    });
  });

  it('turns them into API filters: model name and version split at the last slash, a time range from now', () => {
    const view = { version: 'iris/v2/3', caller: ' ann ', status: '200', range: '1h' };
    expect(predictionFiltersOf(view, 'iris', 10_000_000)).toEqual({
      deployment: 'iris',
      modelName: 'iris/v2',
      modelVersion: '3',
      caller: 'ann',
      status: '200',
      from: 10_000_000 - 3_600_000,
    });
    expect(predictionFiltersOf({ version: '4', caller: '', status: '2xx', range: '' }, 'd', 0)).toEqual({
      deployment: 'd',
      modelVersion: '4',
    });
  });
});
