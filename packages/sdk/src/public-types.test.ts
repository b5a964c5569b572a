import { describe, expectTypeOf, it } from 'vitest';
import type {
  ActiveRun,
  DescribedDataset,
  EndStatus,
  Experiment,
  FileInfo,
  KeelClient,
  Metric,
  MetricWithRunId,
  Run,
  RunInfo,
  TransferProgress,
} from './index.js';
import { describeDataset } from './index.js';

// Type-level tests: checked by `tsc -p tsconfig.test.json` (a wrong type fails the typecheck).
// The checks sit in functions that are type-checked but never called: `keel` and `run` only
// exist as types.
declare const keel: KeelClient;
declare const run: ActiveRun;
const typeOnly = (checks: () => void): void => {
  expectTypeOf(checks).toBeFunction();
};

describe('public types', () => {
  it("withRun returns the callback's type", () =>
    typeOnly(() => {
      expectTypeOf(keel.withRun({}, async () => 42)).toEqualTypeOf<Promise<number>>();
      expectTypeOf(keel.withRun({ experiment: 'x' }, async (r) => ({ id: r.runId }))).toEqualTypeOf<
        Promise<{ id: string }>
      >();
      expectTypeOf(keel.withRun({}, async () => undefined)).toEqualTypeOf<Promise<undefined>>();
      expectTypeOf<Parameters<Parameters<KeelClient['withRun']>[1]>[0]>().toEqualTypeOf<ActiveRun>();
      // @ts-expect-error the callback must return a promise
      void keel.withRun({}, () => 1);
    }));

  it('types the client methods', () =>
    typeOnly(() => {
      expectTypeOf(keel.createExperiment('x')).toEqualTypeOf<Promise<string>>();
      expectTypeOf(keel.getExperimentByName('x')).toEqualTypeOf<Promise<Experiment | undefined>>();
      expectTypeOf(keel.iterateExperiments()).toExtend<AsyncIterable<Experiment>>();
      expectTypeOf(keel.iterateRuns({ experimentIds: ['1'] })).toExtend<AsyncIterable<Run>>();
      expectTypeOf(keel.updateRun('r', { status: 'FINISHED' })).toEqualTypeOf<Promise<RunInfo>>();
      expectTypeOf(keel.getMetricHistory('r', 'k')).toEqualTypeOf<Promise<Metric[]>>();
      expectTypeOf(keel.getMetricHistoryBulkInterval(['r'], 'k')).toEqualTypeOf<Promise<MetricWithRunId[]>>();
      expectTypeOf(keel.listArtifacts('r')).toEqualTypeOf<Promise<FileInfo[]>>();
      expectTypeOf(keel.downloadArtifacts('r', 'p', '/tmp')).toEqualTypeOf<Promise<string>>();
      expectTypeOf(keel.startRun()).toEqualTypeOf<Promise<ActiveRun>>();
      // @ts-expect-error searchRuns needs experimentIds
      void keel.searchRuns({});
      // @ts-expect-error not a run status
      void keel.updateRun('r', { status: 'DONE' });
    }));

  it('types the fluent run', () =>
    typeOnly(() => {
      expectTypeOf(run.logMetric('loss', 1)).toEqualTypeOf<void>();
      expectTypeOf(run.logParams)
        .parameter(0)
        .toEqualTypeOf<Readonly<Record<string, string | number | boolean>>>();
      expectTypeOf(run.end).parameter(0).toEqualTypeOf<EndStatus | undefined>();
      expectTypeOf<EndStatus>().toEqualTypeOf<'FINISHED' | 'FAILED' | 'KILLED'>();
      expectTypeOf(run.startChild()).toEqualTypeOf<Promise<ActiveRun>>();
      // @ts-expect-error a child cannot name another parent
      void run.startChild({ parent: 'other' });
      // @ts-expect-error metrics are numbers
      run.logMetric('loss', '1');
      // @ts-expect-error RUNNING is not an end status
      void run.end('RUNNING');
    }));

  it('types datasets and progress', () =>
    typeOnly(() => {
      expectTypeOf(describeDataset([{ a: 1 }], { name: 'n' })).toEqualTypeOf<Promise<DescribedDataset>>();
      expectTypeOf<DescribedDataset['schema']>().toEqualTypeOf<string>();
      expectTypeOf<DescribedDataset>().toExtend<Parameters<ActiveRun['logInput']>[0]>();
      expectTypeOf<TransferProgress>().toHaveProperty('totalBytes').toEqualTypeOf<number | undefined>();
    }));
});
