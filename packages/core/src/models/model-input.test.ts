import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import {
  decodeScoringRequest,
  enforceSignature,
  type ModelInput,
  parseCsvScoringRequest,
  parseJsonScoringRequest,
  UNNAMED_TENSOR,
} from './model-input.js';
import { parseSignature } from './signature.js';

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeelError) return { code: error.code, message: error.message };
    throw error;
  }
  return { code: 'none', message: '' };
}

/** The sklearn iris signature MLflow writes, with one optional column added. */
const IRIS = parseSignature({
  inputs:
    '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "double", "name": "sepal width (cm)", "required": true}, {"type": "long", "name": "batch", "required": false}]',
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
});

/** A small ONNX MLP's input: a batch of 3-feature rows. */
const MLP = parseSignature({
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}, "name": "input"}]',
});

describe('decodeScoringRequest', () => {
  it('decodes dataframe_split, ignoring the index', () => {
    expect(
      parseJsonScoringRequest(
        '{"dataframe_split": {"index": [7, 8], "columns": ["sepal length (cm)", "sepal width (cm)"], "data": [[5.1, 3.5], [6.2, 2.9]]}}',
      ),
    ).toEqual({
      input: {
        kind: 'columns',
        columns: { 'sepal length (cm)': [5.1, 6.2], 'sepal width (cm)': [3.5, 2.9] },
        rowCount: 2,
      },
    });
  });

  it("reads Python's bare NaN and Infinity tokens as numbers, leaving strings alone", () => {
    expect(
      parseJsonScoringRequest('{"inputs": {"x": [NaN, Infinity, -Infinity], "s": ["NaN"]}}').input,
    ).toEqual({
      kind: 'tensors',
      tensors: {
        x: { data: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], shape: [3] },
        s: { data: ['NaN'], shape: [1] },
      },
    });
  });

  it('names dataframe_split columns 0, 1, … when columns is absent', () => {
    expect(decodeScoringRequest({ dataframe_split: { data: [[1, 'a']] } }).input).toEqual({
      kind: 'columns',
      columns: { '0': [1], '1': ['a'] },
      rowCount: 1,
    });
  });

  it('decodes dataframe_records, filling missing keys with null, and passes params through', () => {
    expect(
      decodeScoringRequest({
        dataframe_records: [{ a: 1 }, { a: 2, b: 'x' }, { b: 'y' }],
        params: { threshold: 0.7 },
      }),
    ).toEqual({
      input: { kind: 'columns', columns: { a: [1, 2, null], b: [null, 'x', 'y'] }, rowCount: 3 },
      params: { threshold: 0.7 },
    });
  });

  it('decodes instances as rows of dicts or as a tensor', () => {
    expect(
      decodeScoringRequest({
        instances: [
          { a: 1, b: true },
          { a: 2, b: false },
        ],
      }).input,
    ).toEqual({
      kind: 'columns',
      columns: { a: [1, 2], b: [true, false] },
      rowCount: 2,
    });
    expect(
      decodeScoringRequest({
        instances: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      }).input,
    ).toEqual({
      kind: 'tensors',
      tensors: { [UNNAMED_TENSOR]: { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] } },
    });
  });

  it('decodes inputs as a tensor or a dict of named tensors', () => {
    expect(
      decodeScoringRequest({
        inputs: [
          [[1], [2]],
          [[3], [4]],
        ],
      }).input,
    ).toEqual({
      kind: 'tensors',
      tensors: { '': { data: [1, 2, 3, 4], shape: [2, 2, 1] } },
    });
    expect(
      decodeScoringRequest({
        inputs: {
          ids: [1, 2],
          mask: [
            [1, 0],
            [0, 1],
          ],
          scale: 0.5,
        },
      }).input,
    ).toEqual({
      kind: 'tensors',
      tensors: {
        ids: { data: [1, 2], shape: [2] },
        mask: { data: [1, 0, 0, 1], shape: [2, 2] },
        scale: { data: [0.5], shape: [] },
      },
    });
  });

  it.each([
    ['a top-level list', [{ a: 1 }]],
    ['no format key', { data: [[1]] }],
    ['a 1.x pandas body', { columns: ['a'], data: [[1]] }],
    ['two format keys', { inputs: [1], instances: [1] }],
    ['a string', 'hello'],
  ])('refuses %s with BAD_REQUEST and the 2.0 protocol note', (_, body) => {
    const error = failure(() => decodeScoringRequest(body));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(
      "exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}",
    );
    expect(error.message).toContain('scoring protocol has changed in MLflow version 2.0');
  });

  it('lists the fields it received', () => {
    expect(failure(() => decodeScoringRequest({ inputs: [1], instances: [1] })).message).toContain(
      "Received dictionary with input fields: ['inputs', 'instances']",
    );
  });

  it.each([
    ['not JSON', '{"inputs": [1,', 'Failed to parse input from JSON'],
    [
      'split without data',
      '{"dataframe_split": {"columns": ["a"]}}',
      "'dataframe_split' must be an object with a 'data' list",
    ],
    [
      'split columns not a list',
      '{"dataframe_split": {"columns": "a", "data": []}}',
      "'dataframe_split.columns'",
    ],
    [
      'split row too short',
      '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}',
      "'dataframe_split.data' row 1",
    ],
    [
      'records not objects',
      '{"dataframe_records": [[1, 2]]}',
      "'dataframe_records' must be a list of objects",
    ],
    ['ragged inputs', '{"inputs": [[1, 2], [3]]}', "'inputs' is not a rectangular array"],
    ['scalar beside a list', '{"inputs": [[1, 2], 3]}', "'inputs' is not a rectangular array"],
    ['list beside a scalar', '{"instances": [1, [2]]}', "'instances' is not a rectangular array"],
    ['ragged named input', '{"inputs": {"x": [[1], [2, 3]]}}', "'inputs.x' is not a rectangular array"],
    ['params not an object', '{"inputs": [1], "params": [1]}', "'params' must be a JSON object"],
  ])('refuses %s with BAD_REQUEST naming the field', (_, text, message) => {
    const error = failure(() => parseJsonScoringRequest(text));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(message);
  });
});

describe('parseCsvScoringRequest', () => {
  it('parses RFC 4180 quoting, CRLF, empty fields, and numbers the signature declares numeric', () => {
    const csv =
      '"sepal length (cm)",sepal width (cm),batch,note\r\n5.1,3.5,1,"says ""hi"", twice"\r\n6.2,,2,"two\nlines"\r\n';
    expect(parseCsvScoringRequest(csv, IRIS).input).toEqual({
      kind: 'columns',
      columns: {
        'sepal length (cm)': [5.1, 6.2],
        'sepal width (cm)': [3.5, null],
        batch: [1, 2],
        note: ['says "hi", twice', 'two\nlines'],
      },
      rowCount: 2,
    });
  });

  it('keeps numeric-looking text as strings when the signature says string', () => {
    const signature = parseSignature({
      inputs: '[{"type": "string", "name": "zip"}, {"type": "boolean", "name": "ok"}]',
    });
    expect(parseCsvScoringRequest('zip,ok\n01234,True\n75001,false\n', signature).input).toEqual({
      kind: 'columns',
      columns: { zip: ['01234', '75001'], ok: [true, false] },
      rowCount: 2,
    });
  });

  it('infers numeric columns like pandas without a signature, skipping blank lines', () => {
    expect(parseCsvScoringRequest('a,b\n1,x\n\n2.5e3,y').input).toEqual({
      kind: 'columns',
      columns: { a: [1, 2500], b: ['x', 'y'] },
      rowCount: 2,
    });
  });

  it('leaves unparseable numbers as strings for enforcement to name', () => {
    const { input } = parseCsvScoringRequest('sepal length (cm),sepal width (cm)\n5.1,abc\n', IRIS);
    const error = failure(() => enforceSignature(input, IRIS));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain("column 'sepal width (cm)' at row 0");
  });

  it.each([
    ['an empty body', '', 'no header'],
    ['an unterminated quote', 'a,b\n1,"oops\n', 'unterminated quoted field starting on line 2'],
    ['a short row', 'a,b\n1,2\n3\n', 'CSV line 3 has 1 fields, expected 2'],
    ['a long row', 'a\n"x\ny",2\n', 'CSV line 2 has 2 fields, expected 1'],
  ])('refuses %s with BAD_REQUEST', (_, csv, message) => {
    const error = failure(() => parseCsvScoringRequest(csv));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(message);
  });
});

describe('enforceSignature (columns)', () => {
  const columns = (cols: Record<string, unknown[]>): ModelInput => ({
    kind: 'columns',
    columns: cols,
    rowCount: Object.values(cols)[0]?.length ?? 0,
  });

  it('orders columns as the signature does, drops extras, converts integers to double', () => {
    const input = columns({ extra: ['x', 'y'], 'sepal width (cm)': [3, 2.9], 'sepal length (cm)': [5, 6.2] });
    const result = enforceSignature(input, IRIS);
    expect(result).toEqual({
      kind: 'columns',
      columns: { 'sepal length (cm)': [5, 6.2], 'sepal width (cm)': [3, 2.9] },
      rowCount: 2,
    });
    expect(Object.keys(result.kind === 'columns' ? result.columns : {})).toEqual([
      'sepal length (cm)',
      'sepal width (cm)',
    ]);
  });

  it('takes a bare list of values as the column of a one-column model, named or not', () => {
    for (const [spec, name] of [
      ['{"type": "string", "name": "text"}', 'text'],
      ['{"type": "string"}', '0'],
    ]) {
      const signature = parseSignature({ inputs: `[${spec}]` });
      const { input } = decodeScoringRequest({ inputs: ['a', 'b'] });
      expect(enforceSignature(input, signature)).toEqual({
        kind: 'columns',
        columns: { [name as string]: ['a', 'b'] },
        rowCount: 2,
      });
    }
  });

  it('allows null in an optional column and in a required double column (NaN)', () => {
    const input = columns({ 'sepal length (cm)': [null], 'sepal width (cm)': [1], batch: [null] });
    expect(enforceSignature(input, IRIS)).toEqual({
      kind: 'columns',
      columns: { 'sepal length (cm)': [null], 'sepal width (cm)': [1], batch: [null] },
      rowCount: 1,
    });
  });

  it('returns the input unchanged without an input schema', () => {
    const input = columns({ anything: ['goes'] });
    expect(enforceSignature(input, {})).toBe(input);
  });

  it('decodes binary and datetime columns', () => {
    const signature = parseSignature({
      inputs: '[{"type": "binary", "name": "img"}, {"type": "datetime", "name": "at"}]',
    });
    const result = enforceSignature(columns({ img: ['AQID'], at: ['2024-02-14T09:31:07Z'] }), signature);
    expect(result).toEqual({
      kind: 'columns',
      columns: { img: [new Uint8Array([1, 2, 3])], at: [new Date('2024-02-14T09:31:07Z')] },
      rowCount: 1,
    });
  });

  it('accepts a 2-D unnamed tensor with one value per column', () => {
    const { input } = decodeScoringRequest({ inputs: [[5.1, 3.5, 1]] });
    expect(enforceSignature(input, IRIS)).toEqual({
      kind: 'columns',
      columns: { 'sepal length (cm)': [5.1], 'sepal width (cm)': [3.5], batch: [1] },
      rowCount: 1,
    });
  });

  it('accepts a dict of 1-D inputs as columns', () => {
    const { input } = decodeScoringRequest({
      inputs: { 'sepal length (cm)': [5.1], 'sepal width (cm)': [3.5] },
    });
    expect(enforceSignature(input, IRIS)).toEqual({
      kind: 'columns',
      columns: { 'sepal length (cm)': [5.1], 'sepal width (cm)': [3.5] },
      rowCount: 1,
    });
  });

  const TYPED = parseSignature({
    inputs:
      '[{"type": "boolean", "name": "flag"}, {"type": "integer", "name": "i32"}, {"type": "long", "name": "n"}, {"type": "float", "name": "f"}, {"type": "string", "name": "s"}, {"type": "binary", "name": "b"}, {"type": "datetime", "name": "d"}]',
  });
  const GOOD = { flag: true, i32: 1, n: 3, f: 1.5, s: 'x', b: 'AA==', d: '2024-01-01' };

  it('accepts a row of every type', () => {
    expect(enforceSignature(decodeScoringRequest({ dataframe_records: [GOOD] }).input, TYPED).kind).toBe(
      'columns',
    );
  });

  it.each([
    ['flag', 'true'],
    ['flag', null],
    ['i32', 1.5],
    ['i32', 2 ** 31],
    ['n', 3.25],
    ['n', '3'],
    ['n', null],
    ['f', '1.5'],
    ['s', 5],
    ['b', 'not base64!'],
    ['b', 7],
    ['d', 'yesterday'],
    ['d', 20240101],
  ])('refuses %s = %j with INVALID_PARAMETER_VALUE naming column and row', (column, value) => {
    const { input } = decodeScoringRequest({ dataframe_records: [GOOD, { ...GOOD, [column]: value }] });
    const error = failure(() => enforceSignature(input, TYPED));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(`column '${column}' at row 1`);
  });

  it('refuses NaN in a long column', () => {
    const nan = failure(() =>
      enforceSignature(columns({ batch: [1, Number.NaN] }), {
        inputs: { kind: 'columns', columns: [{ type: 'long', name: 'batch', required: true }] },
      }),
    );
    expect(nan.code).toBe('INVALID_PARAMETER_VALUE');
    expect(nan.message).toContain("column 'batch' at row 1");
  });

  it('refuses a missing required column, naming it and the extras', () => {
    const error = failure(() =>
      enforceSignature(columns({ 'sepal length (cm)': [1], sepal_width: [2] }), IRIS),
    );
    expect(error).toEqual({
      code: 'INVALID_PARAMETER_VALUE',
      message: `Model is missing inputs ['sepal width (cm)']. Note that there were extra inputs: ["sepal_width"]`,
    });
  });

  it('names every missing required column at once', () => {
    const error = failure(() => enforceSignature(columns({ batch: [1] }), IRIS));
    expect(error.message).toBe(
      "Model is missing inputs ['sepal length (cm)', 'sepal width (cm)']. Note that there were extra inputs: []",
    );
  });

  it.each([
    [
      'a 2-D tensor of the wrong width',
      { inputs: [[1, 2]] },
      'has 2 columns per row but the model signature declares 3',
    ],
    [
      'a 2-D named input',
      { inputs: { 'sepal length (cm)': [[1]] } },
      "Input 'sepal length (cm)' must be a 1-D list",
    ],
    [
      'inputs of different lengths',
      { inputs: { a: [1, 2], b: [1] } },
      "Input 'b' has 1 values but other columns have 2",
    ],
  ])('refuses %s', (_, body, message) => {
    const error = failure(() => enforceSignature(decodeScoringRequest(body).input, IRIS));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(message);
  });
});

describe('enforceSignature (tensors)', () => {
  it('names an unnamed input after the single spec and checks shape with -1', () => {
    const { input } = decodeScoringRequest({
      inputs: [
        [0.1, 0.2, 0.3],
        [1, 2, 3],
      ],
    });
    expect(enforceSignature(input, MLP)).toEqual({
      kind: 'tensors',
      tensors: { input: { data: [0.1, 0.2, 0.3, 1, 2, 3], shape: [2, 3] } },
    });
  });

  it('stacks dataframe columns into one [rows, columns] tensor for an unnamed spec', () => {
    const signature = parseSignature({
      inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]',
    });
    const { input } = decodeScoringRequest({
      dataframe_split: {
        columns: ['a', 'b'],
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    });
    expect(enforceSignature(input, signature)).toEqual({
      kind: 'tensors',
      tensors: { '': { data: [1, 2, 3, 4], shape: [2, 2] } },
    });
  });

  it('stacks dataframe columns into the single named 2-D tensor of the signature', () => {
    const { input } = decodeScoringRequest({
      dataframe_split: { columns: ['f0', 'f1', 'f2'], data: [[0.1, 0.2, 0.3]] },
    });
    expect(enforceSignature(input, MLP)).toEqual({
      kind: 'tensors',
      tensors: { input: { data: [0.1, 0.2, 0.3], shape: [1, 3] } },
    });
  });

  it('maps columns to named 1-D tensors and drops extra inputs', () => {
    const signature = parseSignature({
      inputs:
        '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}, "name": "ids"}, {"type": "tensor", "tensor-spec": {"dtype": "bool", "shape": [-1]}, "name": "mask"}]',
    });
    const { input } = decodeScoringRequest({ dataframe_records: [{ ids: 4, mask: true, other: 'x' }] });
    expect(enforceSignature(input, signature)).toEqual({
      kind: 'tensors',
      tensors: { ids: { data: [4], shape: [1] }, mask: { data: [true], shape: [1] } },
    });
  });

  it.each([
    [
      'wrong rank',
      { inputs: [0.1, 0.2, 0.3] },
      "Shape of input 'input' does not match the model signature: expected [-1, 3], got [3]",
    ],
    [
      'wrong size',
      { inputs: [[0.1, 0.2]] },
      "Shape of input 'input' does not match the model signature: expected [-1, 3], got [1, 2]",
    ],
    ['a missing named input', { inputs: { features: [[1, 2, 3]] } }, "Model is missing input 'input'"],
    [
      'a string value',
      { inputs: { input: [[1, 'x', 3]] } },
      'Value "x" at flat index 1 of input \'input\' does not fit dtype float32',
    ],
  ])('refuses %s with INVALID_PARAMETER_VALUE naming the input', (_, body, message) => {
    const error = failure(() => enforceSignature(decodeScoringRequest(body).input, MLP));
    expect(error).toEqual({ code: 'INVALID_PARAMETER_VALUE', message });
  });

  it.each([
    ['int8', 128],
    ['int32', 1.5],
    ['uint8', -1],
    ['int64', 2 ** 60],
    ['bool', 1],
    ['str', 1],
  ])('refuses %s value %j', (dtype, value) => {
    const signature = parseSignature({
      inputs: `[{"type": "tensor", "tensor-spec": {"dtype": "${dtype}", "shape": [-1]}, "name": "x"}]`,
    });
    const error = failure(() =>
      enforceSignature({ kind: 'tensors', tensors: { x: { data: [value], shape: [1] } } }, signature),
    );
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(`of input 'x' does not fit dtype ${dtype}`);
  });
});
