// The workflow `bench/workflows.mjs` measures: a fan-out of trivial tasks (`double`, one per item of
// `xs`, as a map) and a fan-in (`sum`). Both tasks are cached by their inputs.
import { map, t, task, workflow } from '../packages/sdk/dist/index.js';

/** x → 2x */
export const double = task(
  { name: 'double', inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version: '1' } },
  ({ x }) => ({ y: x * 2 }),
);

/** Σ xs */
export const sum = task(
  { name: 'sum', inputs: { xs: t.array(t.int()) }, outputs: { total: t.int() }, cache: { version: '1' } },
  ({ xs }) => ({ total: xs.reduce((total, x) => total + x, 0) }),
);

/** sum(map(double, xs)) */
export const fan = workflow({ name: 'bench-fan', inputs: { xs: t.array(t.int()) } }, ({ xs }) => {
  const doubled = map(double, { x: xs }, { over: ['x'] });
  return { total: sum({ xs: doubled.y }).total };
});
