/**
 * The Open Inference Protocol (KServe V2) REST API (serving-and-monitoring.md §1.1–§1.3): health,
 * server and model metadata, model readiness and `infer` with JSON tensors, under `/v2`.
 *
 * Status codes (the protocol leaves them to the server), each with the body `{"error": "<message>"}`:
 *
 * | Status | When |
 * |---|---|
 * | 400 | the body is not JSON or not a valid inference request (missing `inputs`, a bad `name`/`shape`/`datatype`/`data`, an element count that does not match the shape, a value that does not fit its datatype, `FP16` or any other use of the binary tensor data extension, an unknown name in `outputs`), or the input does not fit the model's signature |
 * | 404 | an unknown model name or version, or an unknown `/v2` path |
 * | 413 | a body larger than the server's limit |
 * | 503 | the micro-batcher's queue is full (with `Retry-After`); `…/ready` while the model is not ready (body `{ready: false}`) |
 * | 500 | the model failed while scoring |
 */
import {
  type ColumnType,
  enforceSignature,
  KEEL_VERSION,
  KeelError,
  type ModelInput,
  notFound,
  type Tensor,
  type TensorDtype,
  UNNAMED_TENSOR,
} from '@keel/core';
import type { FastifyError, FastifyInstance } from 'fastify';
import { clientErrorStatus, type ErrorResponse, errorMessage } from '../http/error-handler.js';
import type { Model, ModelOutput, ModelValueInfo } from '../models/model.js';
import { enforceParams } from './inference-params.js';
import { acceptTextBodies, bodyText, type ServedModel, type ServingRouteConfig } from './served-model.js';

/** The protocol's tensor datatypes. */
export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

/** One of {@link OIP_DATATYPES}. */
export type OipDatatype = (typeof OIP_DATATYPES)[number];

/** A model input or output in model metadata; `-1` marks a variable dimension. */
export interface TensorMetadata {
  name: string;
  datatype: OipDatatype;
  shape: number[];
}

/** `GET /v2/models/{name}[/versions/{version}]`. */
export interface ModelMetadataResponse {
  name: string;
  /** Present when the model is served with a version. */
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** One tensor of an inference response; `data` is flat, row-major. */
export interface InferOutputTensor {
  name: string;
  shape: number[];
  datatype: OipDatatype;
  data: unknown[];
}

/** `POST /v2/models/{name}[/versions/{version}]/infer` response. */
export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: InferOutputTensor[];
}

/** An inference request decoded into what the model takes. */
export interface DecodedInferRequest {
  input: ModelInput;
  /** The request's `parameters`, before {@link enforceParams}. */
  parameters?: Record<string, unknown>;
  id?: string;
  /** Names listed in `outputs`; absent means every output. */
  outputs?: string[];
}

const TENSOR_DTYPE_TO_OIP: Readonly<Record<TensorDtype, OipDatatype>> = {
  bool: 'BOOL',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  str: 'BYTES',
  bytes: 'BYTES',
  object: 'BYTES',
};

const COLUMN_TYPE_TO_OIP: Readonly<Record<ColumnType, OipDatatype>> = {
  boolean: 'BOOL',
  integer: 'INT32',
  long: 'INT64',
  float: 'FP32',
  double: 'FP64',
  string: 'BYTES',
  binary: 'BYTES',
  datetime: 'BYTES',
};

/** onnxruntime element types; the rest (bfloat16, complex, 4-bit…) have no JSON datatype. */
const ORT_TYPE_TO_OIP: Readonly<Record<string, OipDatatype>> = {
  bool: 'BOOL',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

/** Integer datatypes' ranges. 64-bit values past 2^53 lose precision in JSON numbers. */
const INT_RANGES: Readonly<Partial<Record<OipDatatype, readonly [number, number]>>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 2 ** 32 - 1],
  UINT64: [0, 2 ** 64 - 1],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  INT64: [-(2 ** 63), 2 ** 63 - 1],
};

const BINARY_EXTENSION =
  "needs the binary tensor data extension, which this server does not implement (its server metadata lists no 'binary_tensor_data')";

function badRequest(message: string): KeelError {
  return new KeelError('BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 100);
}

/**
 * The platform string of model metadata: `onnx_onnxv1` for the onnx flavor, `keel_<flavor>` for
 * Keel's own flavors (`keel_js`, `keel_process`).
 */
export function platformOf(model: Model): string {
  return model.metadata.flavor === 'onnx' ? 'onnx_onnxv1' : `keel_${model.metadata.flavor}`;
}

/**
 * A model's inputs and outputs as tensor metadata. The signature decides when it has the schema:
 * tensor specs keep their shape and map their dtype (`float32` → `FP32`, `str` → `BYTES`…); column specs
 * become one 1-D input per column, shape `[-1]`, typed by column type (`long` → `INT64`, `string` →
 * `BYTES`…). Without it, the runtime's declaration (`model.io`, an ONNX graph) is used, leaving out
 * values that have no JSON datatype. An unnamed spec takes the runtime's name at its position, else
 * `input` / `output`.
 *
 * @example
 * modelTensors(model) // { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }], outputs: [...] }
 */
export function modelTensors(model: Model): { inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
  const fromSchema = (which: 'inputs' | 'outputs', fallback: string): TensorMetadata[] => {
    const schema = model.signature?.[which];
    const io = model.io?.[which] ?? [];
    if (schema?.kind === 'tensors') {
      return schema.tensors.map((spec, i) => ({
        name: spec.name ?? io[i]?.name ?? fallback,
        datatype: TENSOR_DTYPE_TO_OIP[spec.dtype],
        shape: [...spec.shape],
      }));
    }
    if (schema?.kind === 'columns') {
      return schema.columns.map((spec, i) => ({
        name: spec.name ?? String(i),
        datatype: COLUMN_TYPE_TO_OIP[spec.type],
        shape: [-1],
      }));
    }
    return io.flatMap((info: ModelValueInfo) => {
      const datatype = info.type === undefined ? undefined : ORT_TYPE_TO_OIP[info.type];
      // A value of unknown rank is listed with one variable dimension; the protocol has no "any rank".
      return datatype === undefined ? [] : [{ name: info.name, datatype, shape: [...(info.shape ?? [-1])] }];
    });
  };
  return { inputs: fromSchema('inputs', 'input'), outputs: fromSchema('outputs', 'output') };
}

/** Checks one input's fields and returns its flat data. */
function decodeTensor(entry: unknown, index: number): { name: string; tensor: Tensor } {
  if (!isRecord(entry)) throw badRequest(`inputs[${index}] must be an object {name, shape, datatype, data}`);
  const { name, shape, datatype, data, parameters } = entry;
  if (typeof name !== 'string') throw badRequest(`inputs[${index}].name must be a string`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw badRequest(`Input '${name}': shape must be a list of non-negative integers, got ${show(shape)}`);
  }
  if (typeof datatype !== 'string' || !(OIP_DATATYPES as readonly string[]).includes(datatype)) {
    throw badRequest(
      `Input '${name}': datatype must be one of ${OIP_DATATYPES.join(', ')}, got ${show(datatype)}`,
    );
  }
  if (datatype === 'FP16')
    throw badRequest(`Input '${name}': datatype FP16 has no JSON form; it ${BINARY_EXTENSION}`);
  if (isRecord(parameters) && parameters.binary_data_size !== undefined) {
    throw badRequest(`Input '${name}': binary_data_size ${BINARY_EXTENSION}`);
  }
  if (!Array.isArray(data)) throw badRequest(`Input '${name}': data must be a (flat or nested) list`);
  const flat = data.some(Array.isArray) ? data.flat(Number.POSITIVE_INFINITY) : data;
  const expected = (shape as number[]).reduce((product, d) => product * d, 1);
  if (flat.length !== expected) {
    throw badRequest(
      `Input '${name}': data has ${flat.length} elements but shape [${shape.join(', ')}] holds ${expected}`,
    );
  }
  const fits = elementCheck(datatype as OipDatatype);
  for (let i = 0; i < flat.length; i++) {
    if (!fits(flat[i])) {
      throw badRequest(`Input '${name}': element ${i} (${show(flat[i])}) is not a valid ${datatype} value`);
    }
  }
  return { name, tensor: { data: flat, shape: shape as number[] } };
}

function elementCheck(datatype: OipDatatype): (value: unknown) => boolean {
  const range = INT_RANGES[datatype];
  if (range !== undefined) {
    const [min, max] = range;
    return (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  }
  switch (datatype) {
    case 'BOOL':
      return (v) => typeof v === 'boolean';
    case 'BYTES':
      return (v) => typeof v === 'string';
    default:
      return (v) => typeof v === 'number';
  }
}

/**
 * Decodes an inference request body for `model`:
 * - `inputs` (required, non-empty, unique names): each `{name, shape, datatype, data}` with `data` flat or
 *   nested, as many elements as the shape holds, each valid for the datatype (`BOOL` booleans, integer
 *   types integers in range, `FP32`/`FP64` numbers, `BYTES` strings; `FP16` is refused);
 * - inputs become named tensors; for a model with a column signature they become columns (each input
 *   `[rows]` or `[rows, 1]`), except a single `[rows, columns]` input, which `enforceSignature` splits;
 *   for a model whose signature has one unnamed tensor, the single input feeds it whatever its name;
 * - `parameters` (optional object) → returned for {@link enforceParams}; `id` (optional string) and
 *   `outputs` (optional list of `{name}`) are returned as they are.
 *
 * @throws BAD_REQUEST naming the field or input.
 *
 * @example
 * decodeInferRequest({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }, model).input
 * // { kind: 'tensors', tensors: { input: { data: [1, 2], shape: [1, 2] } } }
 */
export function decodeInferRequest(body: unknown, model: Model): DecodedInferRequest {
  if (!isRecord(body)) throw badRequest('The inference request must be a JSON object');
  const { id, parameters, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw badRequest(`'id' must be a string, got ${show(id)}`);
  if (parameters !== undefined && !isRecord(parameters)) throw badRequest("'parameters' must be an object");
  if (parameters?.binary_data_output === true) throw badRequest(`binary_data_output ${BINARY_EXTENSION}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw badRequest("'inputs' is required: a non-empty list of {name, shape, datatype, data}");
  }
  const decoded = inputs.map(decodeTensor);
  const names = new Set<string>();
  for (const { name } of decoded) {
    if (names.has(name)) throw badRequest(`Input '${name}' is given twice`);
    names.add(name);
  }
  const result: DecodedInferRequest = { input: toModelInput(decoded, model) };
  if (parameters !== undefined) result.parameters = parameters;
  if (id !== undefined) result.id = id;
  if (outputs !== undefined) result.outputs = decodeOutputs(outputs);
  return result;
}

function toModelInput(decoded: { name: string; tensor: Tensor }[], model: Model): ModelInput {
  const schema = model.signature?.inputs;
  const [only] = decoded;
  if (schema?.kind === 'columns') {
    const isColumn = (name: string) => schema.columns.some((spec) => spec.name === name);
    if (
      decoded.length === 1 &&
      only !== undefined &&
      only.tensor.shape.length === 2 &&
      !isColumn(only.name)
    ) {
      return { kind: 'tensors', tensors: { [UNNAMED_TENSOR]: only.tensor } };
    }
    const columns: Record<string, unknown[]> = {};
    let rowCount: number | undefined;
    for (const { name, tensor } of decoded) {
      const [rows, width = 1, ...rest] = tensor.shape;
      if (rows === undefined || width !== 1 || rest.length > 0) {
        throw badRequest(
          `Input '${name}' must have shape [rows] or [rows, 1]: the model takes columns, got [${tensor.shape.join(', ')}]`,
        );
      }
      if (rowCount !== undefined && rows !== rowCount) {
        throw badRequest(`Input '${name}' has ${rows} rows but other inputs have ${rowCount}`);
      }
      rowCount = rows;
      columns[name] = tensor.data;
    }
    return { kind: 'columns', columns, rowCount: rowCount ?? 0 };
  }
  if (schema?.kind === 'tensors' && schema.tensors.length === 1 && schema.tensors[0]?.name === undefined) {
    if (decoded.length === 1 && only !== undefined) {
      return { kind: 'tensors', tensors: { [UNNAMED_TENSOR]: only.tensor } };
    }
  }
  return { kind: 'tensors', tensors: Object.fromEntries(decoded.map(({ name, tensor }) => [name, tensor])) };
}

function decodeOutputs(outputs: unknown): string[] {
  if (!Array.isArray(outputs)) throw badRequest("'outputs' must be a list of {name}");
  return outputs.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string')
      throw badRequest(`outputs[${i}].name must be a string`);
    if (isRecord(entry.parameters) && entry.parameters.binary_data === true) {
      throw badRequest(`Output '${entry.name}': binary_data ${BINARY_EXTENSION}`);
    }
    if (isRecord(entry.parameters) && entry.parameters.classification !== undefined) {
      throw badRequest(`Output '${entry.name}': the classification extension is not implemented`);
    }
    return entry.name;
  });
}

/** The output names a model declares: its signature's when all are named, else its runtime's. */
function declaredOutputNames(model: Model): string[] | undefined {
  const schema = model.signature?.outputs;
  if (schema === undefined) return model.io?.outputs.map((info) => info.name);
  const specs = schema.kind === 'tensors' ? schema.tensors : schema.columns;
  const names = specs.map((spec) => spec.name);
  return names.every((name) => name !== undefined) ? (names as string[]) : undefined;
}

function checkOutputNames(requested: readonly string[] | undefined, known: readonly string[]): void {
  for (const name of requested ?? []) {
    if (!known.includes(name)) {
      throw badRequest(`Unknown output '${name}'; the model's outputs are [${known.join(', ')}]`);
    }
  }
}

/**
 * Builds the inference response from the model's output: every tensor (or column, as a `[rows]` tensor,
 * `[rows, n]` when each row holds a list of n values) in the model's order, or only those `outputs` named. Datatypes come from the model's declared outputs
 * (see {@link modelTensors}) when they name it, else from the values (`BOOL` for booleans, `BYTES` for
 * strings, `FP64` for other numbers).
 *
 * @throws BAD_REQUEST for a requested output the model did not produce.
 */
export function encodeInferResponse(
  output: ModelOutput,
  request: Pick<DecodedInferRequest, 'id' | 'outputs'>,
  context: { name: string; version: string | undefined; declared: readonly TensorMetadata[] },
): InferResponse {
  const produced: [string, { data: unknown[]; shape: number[] }][] =
    output.kind === 'tensors'
      ? Object.entries(output.tensors)
      : Object.entries(output.columns).map(([name, values]) => [
          name,
          columnTensor(name, values, output.rowCount),
        ]);
  checkOutputNames(
    request.outputs,
    produced.map(([name]) => name),
  );
  const selected = request.outputs ? produced.filter(([name]) => request.outputs?.includes(name)) : produced;
  const { declared } = context;
  const [onlyDeclared] = declared;
  const outputs = selected.map(([name, { data, shape }]): InferOutputTensor => {
    const declaredType =
      declared.find((d) => d.name === name)?.datatype ??
      (declared.length === 1 && produced.length === 1 ? onlyDeclared?.datatype : undefined);
    const datatype = declaredType ?? inferDatatype(data);
    return { name, shape: [...shape], datatype, data: outputData(datatype, data) };
  });
  return {
    model_name: context.name,
    ...(context.version === undefined ? {} : { model_version: context.version }),
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs,
  };
}

/** A column as a tensor: `[rows]`, or `[rows, …]` when each value is itself a (rectangular) list. */
function columnTensor(
  name: string,
  values: unknown[],
  rowCount: number,
): { data: unknown[]; shape: number[] } {
  if (!values.some(Array.isArray)) return { data: values, shape: [rowCount] };
  const shape = [rowCount];
  for (let probe: unknown = values[0]; Array.isArray(probe); probe = probe[0]) shape.push(probe.length);
  const data = values.flat(Number.POSITIVE_INFINITY);
  if (data.length !== shape.reduce((product, d) => product * d, 1)) {
    throw new KeelError(
      'INTERNAL_ERROR',
      `The model's output column '${name}' holds lists of different lengths`,
    );
  }
  return { data, shape };
}

function inferDatatype(data: readonly unknown[]): OipDatatype {
  if (data.length > 0 && data.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (data.length > 0 && data.every((v) => typeof v === 'string' || v instanceof Uint8Array)) return 'BYTES';
  return 'FP64';
}

function outputData(datatype: OipDatatype, data: readonly unknown[]): unknown[] {
  switch (datatype) {
    case 'BOOL':
      return data.map((v) => v === true || (typeof v === 'number' && v !== 0));
    case 'BYTES':
      return data.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v)));
    default:
      return data.some((v) => typeof v === 'bigint')
        ? data.map((v) => (typeof v === 'bigint' ? Number(v) : v))
        : [...data];
  }
}

/**
 * What `infer` needs to know about one model, computed once per model rather than per request: its
 * tensor metadata ({@link modelTensors}), platform ({@link platformOf}) and declared output names.
 */
export interface InferModelInfo {
  readonly model: Model;
  readonly platform: string;
  readonly tensors: { inputs: TensorMetadata[]; outputs: TensorMetadata[] };
  /** The output names the model declares, when it names them all; `undefined` otherwise. */
  readonly declaredOutputs: readonly string[] | undefined;
}

/**
 * Computes {@link InferModelInfo} for `model`.
 *
 * @example
 * const info = inferModelInfo(model);
 * const { decoded, input, params } = prepareInfer(readInferBody(text, headers), info);
 */
export function inferModelInfo(model: Model): InferModelInfo {
  return {
    model,
    platform: platformOf(model),
    tensors: modelTensors(model),
    declaredOutputs: declaredOutputNames(model),
  };
}

/**
 * Reads an `infer` body as JSON, whatever its `Content-Type` (as KServe does; `curl -d` sends
 * `application/x-www-form-urlencoded`).
 *
 * @throws BAD_REQUEST for a binary request (`Inference-Header-Content-Length`) or a body that is not JSON.
 */
export function readInferBody(text: string, headers: Readonly<Record<string, unknown>>): unknown {
  if (headers['inference-header-content-length'] !== undefined) {
    throw badRequest(`Inference-Header-Content-Length: a binary request body ${BINARY_EXTENSION}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** An inference request ready to score: the decoded request, its input and its checked parameters. */
export interface PreparedInfer {
  decoded: DecodedInferRequest;
  /** Checked against the signature when the model has one. */
  input: ModelInput;
  /** After {@link enforceParams}. */
  params: Record<string, unknown> | undefined;
}

/**
 * Decodes an `infer` body (see {@link decodeInferRequest}) for the model of `info`, checks the requested
 * `outputs` against the names the model declares, the input against its signature and the parameters
 * against its parameter schema.
 *
 * @throws BAD_REQUEST / INVALID_PARAMETER_VALUE naming the field, input or output.
 */
export function prepareInfer(body: unknown, info: InferModelInfo): PreparedInfer {
  const { model, declaredOutputs } = info;
  const { signature } = model;
  const decoded = decodeInferRequest(body, model);
  // Checked before scoring when the model declares its output names, and against what it produced after.
  if (declaredOutputs !== undefined) checkOutputNames(decoded.outputs, declaredOutputs);
  const input = signature ? enforceSignature(decoded.input, signature) : decoded.input;
  return { decoded, input, params: enforceParams(decoded.parameters, signature?.params) };
}

/**
 * Makes `scope` (registered with `{ prefix: '/v2' }`) answer its errors and unknown paths as
 * `{"error": "<message>"}`: a `KeelError` with its status, Fastify's client errors (413…) with theirs,
 * anything else a logged, opaque 500.
 */
export function installOpenInferenceErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((error: FastifyError | KeelError | Error, request, reply) => {
    const answer = openInferenceErrorResponse(error, request.id);
    if (answer.unhandled) request.log.error({ err: error }, 'unhandled error');
    return reply.status(answer.status).send(answer.body);
  });
  scope.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `No endpoint ${request.method} ${request.url.split('?')[0]}` }),
  );
}

/**
 * The answer {@link installOpenInferenceErrors}' handler gives `error`: a {@link KeelError}'s status,
 * an error's 4xx `statusCode`, else an opaque 500; the body is `{"error": "<message>"}`.
 */
export function openInferenceErrorResponse(
  error: unknown,
  requestId: string,
): ErrorResponse<{ error: string }> {
  if (error instanceof KeelError)
    return { status: error.status, body: { error: error.message }, unhandled: false };
  const status = clientErrorStatus(error);
  if (status !== undefined) return { status, body: { error: errorMessage(error) }, unhandled: false };
  return { status: 500, body: { error: `Internal error (request id ${requestId})` }, unhandled: true };
}

/** Options of {@link openInferenceRoutes}. */
export interface OpenInferenceRoutesOptions {
  served: ServedModel;
}

interface ModelPath {
  name: string;
  version?: string;
}

/**
 * Registers the Open Inference Protocol routes on `scope`; register it with `{ prefix: '/v2' }`. The
 * scope answers its own errors (including unknown `/v2` paths) as `{"error": "<message>"}` with the
 * codes in this module's table. Routes:
 *
 * - `GET /v2/health/live` → 200 `{live: true}`; `GET /v2/health/ready` → 200 `{ready: true}` or 503
 *   `{ready: false}`;
 * - `GET /v2` → `{name: 'keel', version, extensions: []}` (no extension is implemented);
 * - `GET /v2/models/{name}[/versions/{version}]` → {@link ModelMetadataResponse};
 * - `GET /v2/models/{name}[/versions/{version}]/ready` → 200 `{name, ready: true}` or 503 `{name, ready: false}`;
 * - `POST /v2/models/{name}[/versions/{version}]/infer` → {@link InferResponse}.
 *
 * A path without a version addresses the served model whatever its version; a path with one must name
 * the version the server was given (an unversioned server has none). An `infer` body is read as JSON
 * whatever its `Content-Type` (as KServe does; `curl -d` sends `application/x-www-form-urlencoded`).
 */
export function openInferenceRoutes(
  scope: FastifyInstance,
  options: OpenInferenceRoutesOptions,
  done: (error?: Error) => void,
): void {
  const { served } = options;
  const info = inferModelInfo(served.model);
  const metadata: ModelMetadataResponse = {
    name: served.name,
    ...(served.version === undefined ? {} : { versions: [served.version] }),
    platform: info.platform,
    ...info.tensors,
  };
  const route = { config: { protocol: 'oip' } satisfies ServingRouteConfig };

  acceptTextBodies(scope, served.bodyLimit);
  installOpenInferenceErrors(scope);

  const resolve = ({ name, version }: ModelPath): void => {
    if (name !== served.name)
      throw notFound(`Model '${name}' not found; this server serves '${served.name}'`);
    if (version !== undefined && version !== served.version) {
      throw notFound(
        served.version === undefined
          ? `Model '${name}' has no version '${version}': it is served without a version`
          : `Model '${name}' has no version '${version}'; this server serves version '${served.version}'`,
      );
    }
  };

  scope.get('/', route, async () => ({ name: 'keel', version: KEEL_VERSION, extensions: [] }));
  scope.get('/health/live', route, async () => ({ live: true }));
  scope.get('/health/ready', route, async (_request, reply) => {
    const ready = served.isReady();
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  for (const base of ['/models/:name', '/models/:name/versions/:version']) {
    scope.get<{ Params: ModelPath }>(base, route, async (request) => {
      resolve(request.params);
      return metadata;
    });
    scope.get<{ Params: ModelPath }>(`${base}/ready`, route, async (request, reply) => {
      resolve(request.params);
      const ready = served.isReady();
      return reply.status(ready ? 200 : 503).send({ name: served.name, ready });
    });
    scope.post<{ Params: ModelPath }>(`${base}/infer`, route, async (request, reply) => {
      resolve(request.params);
      const body = readInferBody(bodyText(request.body), request.headers);
      const { decoded, input, params } = prepareInfer(body, info);
      const output = await served.predict(input, params);
      const response = encodeInferResponse(output, decoded, {
        name: served.name,
        version: served.version,
        declared: info.tensors.outputs,
      });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(response));
    });
  }
  done();
}
