import type { Run } from '@keel/core';

/** A run on the compare page, with the colour it has in every chart, plot and table there. */
export interface CompareRun {
  run: Run;
  /** Run name, or the id when the run has none. */
  name: string;
  /** Index into the series colours (`seriesColor`): the run's place in the page's `runs=` list. */
  colorIndex: number;
}
