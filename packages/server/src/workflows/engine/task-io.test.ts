import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactValue, TaskSpec } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectOutputs, readCommandOutputs, renderCommand, TaskUserError } from './task-io.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-task-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function spec(outputs: TaskSpec['interface']['outputs'], extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: 't',
    kind: 'command',
    interface: { inputs: { data: { type: 'file' }, k: { type: 'int' }, cfg: { type: 'json' } }, outputs },
    retries: 0,
    codeHash: 'a'.repeat(64),
    ...extra,
  };
}

const fakeUpload = async (path: string): Promise<ArtifactValue> => ({
  $artifact: `workflows/data/${'0'.repeat(64)}`,
  sha256: '0'.repeat(64),
  kind: path.endsWith('dir') ? 'directory' : 'file',
});

describe('renderCommand', () => {
  it('replaces input, output and files placeholders in argv and env', () => {
    const task = spec(
      { out: { type: 'file' } },
      {
        command: {
          argv: [
            'prog',
            '{{files}}/fit.py',
            '--data={{inputs.data}}',
            '{{inputs.k}}',
            '{{inputs.cfg}}',
            '{{outputs.out}}',
          ],
          env: { K: '{{ inputs.k }}', SHIPPED: '{{ files }}' },
        },
      },
    );

    const rendered = renderCommand(
      task,
      { data: '/w/in/data', k: 3, cfg: { a: [1] } },
      { out: '/w/out/out' },
      '/w/files',
    );

    expect(rendered).toEqual({
      argv: ['prog', '/w/files/fit.py', '--data=/w/in/data', '3', '{"a":[1]}', '/w/out/out'],
      env: { K: '3', SHIPPED: '/w/files' },
    });
  });

  it('refuses a placeholder of an undeclared input, naming the argument', () => {
    const task = spec({}, { command: { argv: ['prog', '{{inputs.nope}}'] } });

    expect(() => renderCommand(task, {}, {}, '/w/files')).toThrow(
      new TaskUserError("Task 't' command.argv[1]: {{inputs.nope}} names no declared input"),
    );
  });
});

describe('readCommandOutputs', () => {
  it('reads numbers, booleans, strings and JSON from the output files', async () => {
    const task = spec({
      f: { type: 'float' },
      b: { type: 'boolean' },
      s: { type: 'string' },
      j: { type: 'array', items: { type: 'int' } },
      o: { type: 'optional', of: { type: 'int' } },
      file: { type: 'file' },
    });
    const paths = Object.fromEntries(
      ['f', 'b', 's', 'j', 'o', 'file'].map((name) => [name, join(dir, name)]),
    );
    await writeFile(paths.f as string, ' 0.93\n');
    await writeFile(paths.b as string, 'True\n');
    await writeFile(paths.s as string, 'two\nlines\n');
    await writeFile(paths.j as string, '[1,2]');

    const outputs = await readCommandOutputs(task, paths);

    expect(outputs).toEqual({ f: 0.93, b: true, s: 'two\nlines', j: [1, 2], o: null, file: paths.file });
  });

  it('names the output whose file is missing or unreadable', async () => {
    await writeFile(join(dir, 'bad'), 'abc');

    await expect(readCommandOutputs(spec({ n: { type: 'int' } }), { n: join(dir, 'none') })).rejects.toThrow(
      "Task 't': outputs.n: the command did not write {{outputs.n}}",
    );
    await expect(readCommandOutputs(spec({ n: { type: 'int' } }), { n: join(dir, 'bad') })).rejects.toThrow(
      'Task \'t\': outputs.n: expected a number in its file, got "abc"',
    );
  });
});

describe('collectOutputs', () => {
  it('uploads file outputs inside arrays and records and checks the rest', async () => {
    await writeFile(join(dir, 'm1'), 'x');
    const task = spec({
      models: { type: 'array', items: { type: 'file' } },
      best: { type: 'record', fields: { model: { type: 'file' }, score: { type: 'float' } } },
      note: { type: 'optional', of: { type: 'string' } },
    });

    const outputs = await collectOutputs(
      task,
      { models: ['m1'], best: { model: join(dir, 'm1'), score: 1 }, extra: 1 },
      dir,
      fakeUpload,
    );

    const uploaded = { $artifact: `workflows/data/${'0'.repeat(64)}`, sha256: '0'.repeat(64), kind: 'file' };
    expect(outputs).toEqual({ models: [uploaded], best: { model: uploaded, score: 1 }, note: null });
  });

  it('refuses a path that does not exist or is of the wrong kind', async () => {
    const task = spec({ model: { type: 'file' } });

    await expect(collectOutputs(task, { model: 'nothing-here' }, dir, fakeUpload)).rejects.toThrow(
      `Task 't': outputs.model: nothing exists at '${join(dir, 'nothing-here')}'`,
    );
    await expect(collectOutputs(task, { model: dir }, dir, fakeUpload)).rejects.toThrow(
      `Task 't': outputs.model must be a file path (file); '${dir}' is not one`,
    );
    await expect(collectOutputs(task, 42, dir, fakeUpload)).rejects.toThrow(
      "Task 't' must return an object with its outputs (model), got 42",
    );
  });
});
