/**
 * A small workflow module for the workflow client and CLI tests: two tasks in a row and an
 * interface with one input of each kind the CLI parses (`int`, `float`, `boolean`, `string`,
 * `json`, `dataset`, `directory`). `count` logs to stdout, `greet` to stderr; `greet` takes
 * `times` × 100 ms (so a watcher sees it run) and fails, for good, when `who` is `fail`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { t, task, workflow } from '../index.js';

export const count = task(
  {
    name: 'count',
    inputs: { data: t.dataset(), images: t.directory() },
    outputs: { rows: t.int(), files: t.int() },
  },
  ({ data, images }) => countFiles(data, images),
);

async function countFiles(data: string, images: string): Promise<{ rows: number; files: number }> {
  const rows = (await readFile(data, 'utf8')).trim().split('\n').length - 1;
  console.log(`counted ${rows} rows`);
  return { rows, files: (await readdir(images)).length };
}

export const greet = task(
  {
    name: 'greet',
    inputs: {
      who: t.string(),
      times: t.int(),
      rows: t.int(),
      loud: t.boolean(),
      scale: t.float(),
      extra: t.json(),
    },
    outputs: { line: t.string() },
  },
  ({ who, times, rows, loud, scale }) => greeting(who, times, `${rows} rows, scale ${scale}`, loud),
);

async function greeting(
  who: string,
  times: number,
  details: string,
  loud: boolean,
): Promise<{ line: string }> {
  console.error(`greeting ${who}`);
  await sleep(times * 100);
  if (who === 'fail') throw new Error(`cannot greet '${who}'`);
  const line = `hello ${who} x${times}, ${details}`;
  return { line: loud ? line.toUpperCase() : line };
}

export const hello = workflow(
  {
    name: 'hello',
    inputs: {
      data: t.dataset(),
      images: t.directory(),
      who: t.string(),
      times: t.int(),
      loud: t.boolean(),
      scale: t.float(),
      extra: t.json(),
    },
    defaults: { loud: false, scale: 1, extra: {} },
    description: 'Counts rows and greets',
  },
  ({ data, images, who, times, loud, scale, extra }) => {
    const counted = count({ data, images });
    return greet({ who, times, rows: counted.rows, loud, scale, extra });
  },
);
