import { describe, expect, it } from 'vitest';
import { datasetView } from './dataset-info';

describe('datasetView', () => {
  it('reads the source uri, row count, columns and context', () => {
    expect(
      datasetView({
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: {
          name: 'churn-train',
          digest: 'a1b2',
          source_type: 'local',
          source: '{"uri": "/data/train.csv"}',
          profile: '{"num_rows": 1200, "num_elements": 4800}',
          schema: '{"mlflow_colspec": [{"type": "double", "name": "tenure"}, {"type": "long"}]}',
        },
      }),
    ).toEqual({
      name: 'churn-train',
      digest: 'a1b2',
      context: 'training',
      sourceType: 'local',
      source: '/data/train.csv',
      rows: 1200,
      columns: [
        { name: 'tenure', type: 'double' },
        { name: '#1', type: 'long' },
      ],
    });
  });

  it('shows fields that are not the expected JSON as they are', () => {
    const view = datasetView({
      dataset: { name: 'd', digest: 'x', source_type: 'http', source: 'not json', schema: '{"other": 1}' },
    });
    expect(view.source).toBe('not json');
    expect(view.rows).toBeUndefined();
    expect(view.columns).toBeUndefined();
    expect(view.context).toBeUndefined();
  });
});
