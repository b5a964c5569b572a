import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRows, describeDataset } from './index.js';

const IRIS_COLUMNS = [
  'sepal length (cm)',
  'sepal width (cm)',
  'petal length (cm)',
  'petal width (cm)',
  'target',
];

let dir: string;
let iris: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-dataset-'));
  iris = join(dir, 'iris.csv');
  // scikit-learn's iris.csv (BSD), kept with the tests: first line `150,4,setosa,versicolor,virginica`.
  copyFileSync(fileURLToPath(new URL('./testing/iris.csv', import.meta.url)), iris);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const parse = (json: string) => JSON.parse(json) as Record<string, unknown>;

describe('describeDataset on iris.csv', () => {
  it('counts 150 rows and describes the columns with MLflow colspec types', async () => {
    const dataset = await describeDataset(iris, { name: 'iris', columns: IRIS_COLUMNS, targets: 'target' });
    expect(dataset).toMatchObject({ name: 'iris', source_type: 'local' });
    expect(parse(dataset.source)).toEqual({ uri: iris });
    expect(parse(dataset.schema)).toEqual({
      mlflow_colspec: [
        ...IRIS_COLUMNS.slice(0, 4).map((name) => ({ type: 'double', name, required: true })),
        { type: 'long', name: 'target', required: true },
      ],
    });
    const profile = parse(dataset.profile) as {
      num_rows: number;
      num_elements: number;
      targets: string;
      columns: Record<string, { type: string; nulls: number; min: number; max: number; mean: number }>;
    };
    expect(profile.num_rows).toBe(150);
    expect(profile.num_elements).toBe(750);
    expect(profile.targets).toBe('target');
    expect(profile.columns['sepal length (cm)']).toMatchObject({
      type: 'double',
      nulls: 0,
      min: 4.3,
      max: 7.9,
    });
    expect(profile.columns['sepal length (cm)']?.mean).toBeCloseTo(5.8433, 3);
    expect(profile.columns.target).toEqual({ type: 'long', nulls: 0, min: 0, max: 2, mean: 1 });
  });

  it('has a digest that is stable across calls and changes with the data', async () => {
    const a = await describeDataset(iris, { name: 'iris', columns: IRIS_COLUMNS });
    const b = await describeDataset(iris, { name: 'iris-again', columns: IRIS_COLUMNS });
    expect(a.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(b.digest).toBe(a.digest);

    const changed = join(dir, 'iris-changed.csv');
    writeFileSync(changed, readFileSync(iris, 'utf8').replace('5.1,3.5,1.4,0.2,0', '5.1,3.5,1.4,0.3,0'));
    expect((await describeDataset(changed, { name: 'iris', columns: IRIS_COLUMNS })).digest).not.toBe(
      a.digest,
    );

    const fewer = join(dir, 'iris-fewer.csv');
    writeFileSync(fewer, readFileSync(iris, 'utf8').split('\n').slice(0, 150).join('\n'));
    const shorter = await describeDataset(fewer, { name: 'iris', columns: IRIS_COLUMNS });
    expect(parse(shorter.profile).num_rows).toBe(149);
    expect(shorter.digest).not.toBe(a.digest);

    const renamed = await describeDataset(iris, {
      name: 'iris',
      columns: [...IRIS_COLUMNS.slice(0, 4), 'label'],
    });
    expect(renamed.digest).not.toBe(a.digest);
  });

  it("uses the first line as names by default (scikit-learn's header line here)", async () => {
    const dataset = await describeDataset(iris, { name: 'iris-raw' });
    const names = (parse(dataset.schema).mlflow_colspec as { name: string }[]).map((c) => c.name);
    expect(names).toEqual(['150', '4', 'setosa', 'versicolor', 'virginica']);
    expect(parse(dataset.profile).num_rows).toBe(150);
  });

  it('reads a headerless file as data, naming the columns', async () => {
    const dataset = await describeDataset(iris, { name: 'iris', header: false });
    expect(parse(dataset.profile).num_rows).toBe(151);
    const names = (parse(dataset.schema).mlflow_colspec as { name: string }[]).map((c) => c.name);
    expect(names).toEqual(['column_0', 'column_1', 'column_2', 'column_3', 'column_4']);
  });

  it('records the given source URI with its source type', async () => {
    const http = await describeDataset(iris, { name: 'iris', sourceUri: 'https://example.com/iris.csv' });
    expect(http).toMatchObject({ source_type: 'http', source: '{"url":"https://example.com/iris.csv"}' });
    const s3 = await describeDataset(iris, { name: 'iris', sourceUri: 's3://bucket/iris.csv' });
    expect(s3).toMatchObject({ source_type: 's3', source: '{"uri":"s3://bucket/iris.csv"}' });
  });

  it('refuses an unknown target column and a ragged row', async () => {
    await expect(describeDataset(iris, { name: 'iris', targets: 'species' })).rejects.toThrow(/species/);
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1,2\n3\n');
    await expect(describeDataset(ragged, { name: 'r' })).rejects.toThrow(
      /line 3: expected 2 fields, found 1/,
    );
  });
});

describe('describeDataset on rows', () => {
  const rows = [
    { x: 1, y: 0.5, label: 'cat', ok: true },
    { x: 2, y: null, label: 'dog', ok: false },
    { x: 3, y: 1.5, label: 'cat' },
  ];

  it('infers types, counts nulls (missing keys too) and summarises numbers', async () => {
    const dataset = await describeDataset(rows, { name: 'pets', targets: 'label' });
    expect(dataset.source_type).toBe('code');
    expect(parse(dataset.schema)).toEqual({
      mlflow_colspec: [
        { type: 'long', name: 'x', required: true },
        { type: 'double', name: 'y', required: false },
        { type: 'string', name: 'label', required: true },
        { type: 'boolean', name: 'ok', required: false },
      ],
    });
    expect(parse(dataset.profile)).toEqual({
      num_rows: 3,
      num_elements: 12,
      targets: 'label',
      columns: {
        x: { type: 'long', nulls: 0, min: 1, max: 3, mean: 2 },
        y: { type: 'double', nulls: 1, min: 0.5, max: 1.5, mean: 1 },
        label: { type: 'string', nulls: 0 },
        ok: { type: 'boolean', nulls: 1 },
      },
    });
  });

  it('gives the same digest as the same table written as CSV, and a new one for new data', async () => {
    const csv = join(dir, 'pets.csv');
    writeFileSync(csv, 'x,y,label,ok\n1,0.5,cat,true\n2,,dog,false\n3,1.5,cat,\n');
    const fromRows = await describeDataset(rows, { name: 'pets' });
    const fromCsv = await describeDataset(csv, { name: 'pets' });
    expect(fromCsv.digest).toBe(fromRows.digest);
    expect(fromCsv.schema).toBe(fromRows.schema);
    const changed = await describeDataset([...rows.slice(0, 2), { x: 3, y: 1.5, label: 'cow' }], {
      name: 'pets',
    });
    expect(changed.digest).not.toBe(fromRows.digest);
  });

  it('widens mixed columns: long+double → double, number+text → string', async () => {
    const dataset = await describeDataset(
      [
        { a: 1, b: 1 },
        { a: 2.5, b: 'n/a' },
      ],
      { name: 'mixed' },
    );
    expect((parse(dataset.schema).mlflow_colspec as { type: string }[]).map((c) => c.type)).toEqual([
      'double',
      'string',
    ]);
  });
});

describe('csvRows', () => {
  async function* chunks(...parts: string[]) {
    yield* parts;
  }
  const collect = async (...parts: string[]) => {
    const out: { fields: string[]; line: number }[] = [];
    for await (const row of csvRows(chunks(...parts))) out.push(row);
    return out;
  };

  it('parses quotes, escaped quotes, delimiters and line breaks inside quotes, across chunks', async () => {
    const rows = await collect('\uFEFFa,"b, ""c""",d\r', '\n"multi\nline",x,', '"y"\n\n', 'last,row,here');
    expect(rows).toEqual([
      { fields: ['a', 'b, "c"', 'd'], line: 1 },
      { fields: ['multi\nline', 'x', 'y'], line: 2 },
      { fields: ['last', 'row', 'here'], line: 5 },
    ]);
  });

  it('handles CR-only line ends and empty fields', async () => {
    expect(await collect('a,,c\r1,2,\r')).toEqual([
      { fields: ['a', '', 'c'], line: 1 },
      { fields: ['1', '2', ''], line: 2 },
    ]);
  });

  it('refuses an unterminated quote', async () => {
    await expect(collect('a,"b\n')).rejects.toThrow(/unterminated quote/);
  });
});
