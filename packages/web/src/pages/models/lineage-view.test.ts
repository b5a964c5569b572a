import { describe, expect, it } from 'vitest';
import type { LineageGraph } from '../../api/lineage';
import { lineageView } from './lineage-view';

/** The example of docs/lineage.md. */
const GRAPH: LineageGraph = {
  root: 'model_version:iris/2',
  nodes: [
    {
      id: 'model_version:iris/2',
      kind: 'model_version',
      name: 'iris',
      version: '2',
      current_stage: 'Production',
      aliases: ['champion'],
      run_id: 'r1',
    },
    { id: 'registered_model:iris', kind: 'registered_model', name: 'iris' },
    {
      id: 'run:r1',
      kind: 'run',
      run_id: 'r1',
      run_name: 'train',
      status: 'FINISHED',
      user_id: 'ann',
      code_version: { git_commit: 'abc123def4567', source_name: '/src/train.py', source_type: 'LOCAL' },
    },
    { id: 'experiment:1', kind: 'experiment', experiment_id: '1', name: 'iris' },
    { id: 'dataset:iris@d1g3st', kind: 'dataset', name: 'iris', digest: 'd1g3st', context: 'training' },
    { id: 'model_version:iris/1', kind: 'model_version', name: 'iris', version: '1', current_stage: 'None' },
    {
      id: 'deployment:iris-api',
      kind: 'deployment',
      name: 'iris-api',
      serving: true,
      revision: 4,
      arms: ['canary'],
      prediction_count: 96,
    },
    { id: 'monitor:m', kind: 'monitor' },
  ],
  edges: [
    { from: 'model_version:iris/2', to: 'registered_model:iris', kind: 'version_of' },
    { from: 'model_version:iris/2', to: 'run:r1', kind: 'produced_by' },
    { from: 'run:r1', to: 'experiment:1', kind: 'in_experiment' },
    { from: 'run:r1', to: 'dataset:iris@d1g3st', kind: 'consumed' },
    { from: 'model_version:iris/1', to: 'run:r1', kind: 'produced_by' },
    { from: 'model_version:iris/2', to: 'model_version:iris/1', kind: 'sibling_version' },
    { from: 'deployment:iris-api', to: 'model_version:iris/2', kind: 'serves' },
    { from: 'monitor:m', to: 'model_version:iris/2', kind: 'watches' },
  ],
};

describe('lineageView', () => {
  const view = lineageView(GRAPH);
  const box = (id: string) => view.boxes.find((b) => b.id === id);

  it('draws one box per node, plus the run’s code', () => {
    expect(view.boxes.map((b) => b.id)).toEqual([
      'model_version:iris/2',
      'registered_model:iris',
      'run:r1',
      'code:r1',
      'experiment:1',
      'dataset:iris@d1g3st',
      'model_version:iris/1',
      'deployment:iris-api',
      'monitor:m',
    ]);
    expect(box('model_version:iris/2')).toMatchObject({
      kicker: 'This version',
      title: 'iris v2',
      lines: ['Production @champion'],
      href: '/models/iris/versions/2',
      root: true,
    });
    expect(box('model_version:iris/1')).toMatchObject({ title: 'iris v1', lines: [], root: false });
    expect(box('run:r1')).toMatchObject({ title: 'train', lines: ['finished · ann'], href: '/runs/r1' });
    expect(box('code:r1')).toMatchObject({ title: 'train.py', lines: ['commit abc123def4', 'local'] });
    expect(box('dataset:iris@d1g3st')?.lines).toEqual(['training · #d1g3st']);
    expect(box('deployment:iris-api')).toMatchObject({
      lines: ['serving · canary', '96 predictions'],
      href: '/deployments/iris-api',
      tone: 'serving',
    });
    expect(box('monitor:m')).toMatchObject({ kicker: 'monitor', title: 'monitor:m' });
  });

  it('points the arrows along the data, without sibling shortcuts', () => {
    expect(view.arrows.map((a) => `${a.source} -> ${a.target} (${a.label})`)).toEqual([
      'code:r1 -> run:r1 (code)',
      'registered_model:iris -> model_version:iris/2 (version)',
      'run:r1 -> model_version:iris/2 (produced)',
      'experiment:1 -> run:r1 (contains)',
      'dataset:iris@d1g3st -> run:r1 (input)',
      'run:r1 -> model_version:iris/1 (produced)',
      'model_version:iris/2 -> deployment:iris-api (serves)',
      'monitor:m -> model_version:iris/2 (watches)',
    ]);
  });
});
