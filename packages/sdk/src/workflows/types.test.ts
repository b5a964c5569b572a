import type { JsonValue } from '@keel/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  command,
  map,
  type Ref,
  type Task,
  type TaskContext,
  t,
  task,
  type ValueOf,
  when,
  workflow,
} from '../index.js';

// Type-level tests: checked by `tsc -p tsconfig.test.json` (a wrong type fails the typecheck).
// The checks sit in functions that are type-checked but never called.
const typeOnly = (checks: () => void): void => {
  expectTypeOf(checks).toBeFunction();
};

const fitModel = task(
  {
    name: 'fit',
    inputs: { train: t.dataset({ format: 'csv' }), alpha: t.float(), seed: t.optional(t.int()) },
    outputs: { model: t.file(), score: t.float(), notes: t.optional(t.string()) },
  },
  async (inputs, ctx) => {
    expectTypeOf(inputs).toEqualTypeOf<{ train: string; alpha: number; seed: number | null }>();
    expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
    return { model: ctx.outputPath('model.onnx'), score: 0.9 };
  },
);
const pick = task(
  {
    name: 'pick',
    inputs: { scores: t.array(t.float()), models: t.array(t.file()) },
    outputs: { best: t.record({ model: t.file(), score: t.float() }) },
  },
  ({ scores, models }) => ({ best: { model: models[0] ?? '', score: scores[0] ?? 0 } }),
);

describe('workflow types', () => {
  it('infers the values of t types', () =>
    typeOnly(() => {
      expectTypeOf<ValueOf<ReturnType<typeof t.int>>>().toEqualTypeOf<number>();
      expectTypeOf<ValueOf<ReturnType<typeof t.boolean>>>().toEqualTypeOf<boolean>();
      expectTypeOf<ValueOf<ReturnType<typeof t.directory>>>().toEqualTypeOf<string>();
      expectTypeOf<ValueOf<ReturnType<typeof t.model>>>().toEqualTypeOf<string>();
      expectTypeOf<ValueOf<ReturnType<typeof t.json>>>().toEqualTypeOf<JsonValue>();
      const nested = t.array(t.record({ xs: t.array(t.float()), name: t.optional(t.string()) }));
      expectTypeOf<ValueOf<typeof nested>>().toEqualTypeOf<{ xs: number[]; name: string | null }[]>();
    }));

  it('checks a task function against its declared interface', () =>
    typeOnly(() => {
      expectTypeOf(fitModel.run)
        .parameter(0)
        .toEqualTypeOf<{ train: string; alpha: number; seed: number | null }>();
      expectTypeOf(fitModel.run).returns.resolves.toEqualTypeOf<{
        model: string;
        score: number;
        notes?: string | null;
      }>();
      // @ts-expect-error score must be a number
      task({ name: 'x', outputs: { score: t.float() } }, () => ({ score: 'high' }));
      // @ts-expect-error the output model is missing
      task({ name: 'x', outputs: { model: t.file() } }, async () => ({}));
      // @ts-expect-error alpha is a number, not a string
      task({ name: 'x', inputs: { alpha: t.float() } }, ({ alpha }) => ({ n: alpha.toUpperCase() }));
      expectTypeOf(
        command({ name: 'c', outputs: { out: t.file() }, argv: ['x', '{{outputs.out}}'] }),
      ).toEqualTypeOf<Task<Record<never, never>, { out: { type: 'file' } }>>();
    }));

  it('types the references a task call returns and the inputs it takes', () =>
    typeOnly(() => {
      workflow(
        { name: 'w', inputs: { data: t.dataset(), alphas: t.array(t.float()) } },
        ({ data, alphas }) => {
          expectTypeOf(data).toEqualTypeOf<Ref<{ type: 'dataset'; format?: 'csv' | 'parquet' | 'jsonl' }>>();
          const one = fitModel({ train: data, alpha: 0.1 });
          expectTypeOf(one.score).toEqualTypeOf<Ref<{ type: 'float' }>>();
          expectTypeOf(one.notes).toEqualTypeOf<Ref<{ type: 'optional'; of: { type: 'string' } }>>();
          // @ts-expect-error train must be a dataset reference, not a float
          fitModel({ train: one.score, alpha: 0.1 });
          // @ts-expect-error alpha is required
          fitModel({ train: data });
          // @ts-expect-error a dataset cannot be written as a literal
          fitModel({ train: 'data.csv', alpha: 0.1 });
          // @ts-expect-error not an input
          fitModel({ train: data, alpha: 0.1, beta: 2 });
          const fits = map(fitModel, { train: data, alpha: alphas }, { over: ['alpha'] });
          expectTypeOf(fits.score).toEqualTypeOf<Ref<{ type: 'array'; items: { type: 'float' } }>>();
          const best = pick({ scores: fits.score, models: [one.model, fits.model] as never });
          expectTypeOf(best.best.spec.fields.score).toEqualTypeOf<{ type: 'float' }>();
          // @ts-expect-error a scalar where a list is mapped over
          map(fitModel, { train: data, alpha: 0.5 }, { over: ['alpha'] });
          pick({ scores: [one.score, 0.5], models: [one.model] });
        },
      );
    }));

  it('types sub-workflow calls and branch outputs', () =>
    typeOnly(() => {
      const prep = workflow(
        { name: 'prep', inputs: { data: t.dataset(), k: t.int() }, defaults: { k: 3 } },
        ({ data }) => ({ train: data }),
      );
      workflow({ name: 'outer', inputs: { data: t.dataset() } }, ({ data }) => {
        const parts = prep({ data });
        expectTypeOf(parts.train).toEqualTypeOf<
          Ref<{ type: 'dataset'; format?: 'csv' | 'parquet' | 'jsonl' }>
        >();
        // @ts-expect-error data is required (k has a default)
        prep({ k: 2 });
        const result = fitModel({ train: parts.train, alpha: 1 });
        const gate = when(result.score)
          .gt(0.9)
          .then(() => ({ score: result.score, label: 'good' }))
          .otherwise(() => ({ score: result.score, label: 'bad' }));
        expectTypeOf(gate.score).toEqualTypeOf<Ref<{ type: 'float' }>>();
        // @ts-expect-error a float is compared with a number, not a string
        when(result.score).gt('high');
        return { score: gate.score };
      });
    }));
});
