/**
 * MLflow's pyfunc scoring protocol (mlflow-compat.md §4), as `mlflow models serve` answers it:
 * `GET /ping`, `GET /health`, `GET /version` and `POST /invocations` with a JSON or CSV body.
 * Errors are MLflow's `{error_code, message}` (the app's error handler), except the 415s, which
 * MLflow answers in plain text.
 */
import {
  decodeScoringRequest,
  enforceSignature,
  KEEL_VERSION,
  KeelError,
  parseCsvScoringRequest,
  parseJsonAllowingNonFinite,
  type ScoringRequest,
} from '@keel/core';
import type { FastifyInstance } from 'fastify';
import type { Model, ModelOutput, OutputTensor } from '../models/model.js';
import { PREDICTIONS_COLUMN } from '../models/model-output.js';
import { enforceParams } from './inference-params.js';
import { acceptTextBodies, bodyText, type ServedModel, type ServingRouteConfig } from './served-model.js';

// Same text as core's scoring-request errors (and MLflow's), so every 2.0-protocol hint reads alike.
const PROTOCOL_CHANGE_INFO =
  "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request format. To resolve the error, either update your request format or adjust your MLflow Model's requirements file to specify an older version of MLflow (for example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). For more information about the updated MLflow Model scoring protocol in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

/** Media types `POST /invocations` accepts, in MLflow's order. */
export const SCORING_CONTENT_TYPES = ['text/csv', 'application/json'] as const;

/** How a `Content-Type` header decides the parsing of a scoring body: JSON, CSV, or a 415 with its message. */
export type ScoringContentType =
  | { kind: 'json' }
  | { kind: 'csv' }
  | { kind: 'unsupported'; message: string };

/**
 * Reads a `POST /invocations` content type with MLflow's rules, checked in MLflow's order:
 * 1. a `charset` other than `utf-8` (case-insensitive; absent means `utf-8`) → "The scoring server only
 *    supports UTF-8";
 * 2. any other parameter → "Unrecognized content type parameters: …" plus the 2.0-protocol explanation;
 * 3. a media type other than `application/json` or `text/csv` (or none) → "This predictor only supports
 *    the following content types: …".
 *
 * Unlike MLflow, media types and parameter names are compared case-insensitively (RFC 9110) and a
 * quoted parameter value is unquoted.
 *
 * @example
 * scoringContentType('application/json; charset=UTF-8'); // { kind: 'json' }
 * scoringContentType('application/json; format=pandas-split'); // { kind: 'unsupported', message: 'Unrecognized content type parameters: format. IMPORTANT: …' }
 */
export function scoringContentType(header: string | undefined): ScoringContentType {
  const [rawMediaType = '', ...pairs] = (header ?? '').split(';');
  const parameters = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    if (key === '') continue;
    parameters.set(
      key,
      eq < 0
        ? ''
        : pair
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
    );
  }
  const charset = (parameters.get('charset') ?? 'utf-8').toLowerCase();
  if (charset !== 'utf-8') return { kind: 'unsupported', message: 'The scoring server only supports UTF-8' };
  const unexpected = [...parameters.keys()].filter((key) => key !== 'charset');
  if (unexpected.length > 0) {
    return {
      kind: 'unsupported',
      message: `Unrecognized content type parameters: ${unexpected.join(', ')}. ${PROTOCOL_CHANGE_INFO}`,
    };
  }
  const mediaType = rawMediaType.trim().toLowerCase();
  if (mediaType === 'application/json') return { kind: 'json' };
  if (mediaType === 'text/csv') return { kind: 'csv' };
  return {
    kind: 'unsupported',
    message: `This predictor only supports the following content types: Types: [${SCORING_CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}]. Got '${header ?? ''}'.`,
  };
}

/**
 * The body of a `POST /invocations` as its content type reads it: the parsed JSON value (non-finite
 * tokens `NaN`, `Infinity` allowed, as MLflow's pandas reader does) or the CSV text as it is;
 * {@link decodeScoringBody} turns it into the model's input.
 *
 * @throws BAD_REQUEST "Failed to parse input from JSON: …" for a JSON body that does not parse.
 *
 * @example
 * readScoringBody('json', '{"inputs": [[1, NaN]]}'); // { inputs: [[1, NaN]] }
 * readScoringBody('csv', 'x\n1\n'); // 'x\n1\n'
 */
export function readScoringBody(kind: 'json' | 'csv', text: string): unknown {
  if (kind === 'csv') return text;
  try {
    return parseJsonAllowingNonFinite(text);
  } catch (error) {
    throw new KeelError('BAD_REQUEST', `Failed to parse input from JSON: ${(error as Error).message}`);
  }
}

/**
 * Decodes a body read by {@link readScoringBody} into what `model` scores: core's
 * `decodeScoringRequest` (JSON) or `parseCsvScoringRequest` (CSV, typed by the signature), checked with
 * `enforceSignature` when the model has a signature, its `params` with {@link enforceParams}.
 *
 * @throws BAD_REQUEST / INVALID_PARAMETER_VALUE for a malformed body, an input that does not fit the
 *   signature, or `params` that do not fit their schema.
 *
 * @example
 * const { input, params } = decodeScoringBody('json', { inputs: [[1, 2]] }, model);
 * const output = await model.predict(input, params);
 */
export function decodeScoringBody(
  kind: 'json' | 'csv',
  body: unknown,
  model: Pick<Model, 'signature'>,
): ScoringRequest {
  const { signature } = model;
  const scoring: ScoringRequest =
    kind === 'json' ? decodeScoringRequest(body) : parseCsvScoringRequest(String(body), signature);
  const input = signature ? enforceSignature(scoring.input, signature) : scoring.input;
  const params = enforceParams(scoring.params, signature?.params);
  return params === undefined ? { input } : { input, params };
}

/**
 * The `predictions` of a scoring response, as MLflow's `_get_jsonable_obj` shapes them:
 * - one tensor → a nested list following its shape (a numpy array's `tolist()`); a 0-d tensor → its value;
 * - several tensors → an object of name → nested list;
 * - the single column {@link PREDICTIONS_COLUMN} → its values as a plain list: that is how the `js` and
 *   `process` flavors carry a model that returned an array (MLflow answers a numpy array's `tolist()`);
 * - other columns → a list of records, one object per row (a DataFrame's `to_dict(orient='records')`;
 *   MLflow does this for a single named column too, since it turns a Series into a one-column DataFrame).
 *
 * Non-finite numbers become `null`; binary values (`Uint8Array`) become base64 strings; bigints numbers.
 *
 * @example
 * toPredictions({ kind: 'tensors', tensors: { y: { data: [1, 2, 3, 4], shape: [2, 2] } } }); // [[1, 2], [3, 4]]
 * toPredictions({ kind: 'columns', columns: { y: [1, 2] }, rowCount: 2 }); // [{ y: 1 }, { y: 2 }]
 * toPredictions({ kind: 'columns', columns: { predictions: [1, 2] }, rowCount: 2 }); // [1, 2]
 */
export function toPredictions(output: ModelOutput): unknown {
  if (output.kind === 'columns') {
    const entries = Object.entries(output.columns);
    const [first] = entries;
    if (entries.length === 1 && first?.[0] === PREDICTIONS_COLUMN) return first[1].map(jsonValue);
    return Array.from({ length: output.rowCount }, (_, r) => {
      const record: Record<string, unknown> = {};
      for (const [name, column] of entries) record[name] = jsonValue(column[r]);
      return record;
    });
  }
  const entries = Object.entries(output.tensors);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) return nested(only[1]);
  return Object.fromEntries(entries.map(([name, tensor]) => [name, nested(tensor)]));
}

/** A flat row-major tensor as nested lists. */
function nested({ data, shape }: OutputTensor): unknown {
  if (shape.length === 0) return data[0];
  let offset = 0;
  const build = (depth: number): unknown[] => {
    const size = shape[depth] ?? 0;
    if (depth === shape.length - 1) {
      const leaf = data.slice(offset, offset + size);
      offset += size;
      return leaf;
    }
    return Array.from({ length: size }, () => build(depth + 1));
  };
  return build(0);
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Options of {@link mlflowScoringRoutes}. */
export interface MlflowScoringRoutesOptions {
  served: ServedModel;
}

/**
 * Registers MLflow's scoring routes on `scope` (a Fastify plugin; register it on the server's root so
 * the app's MLflow error handler answers its errors):
 *
 * - `GET /ping`, `GET /health` → 200 with body `"\n"` while the model is ready, else 503 (MLflow answers
 *   404 for a model that failed to load; Keel's models can be briefly unready, e.g. while a `process`
 *   flavor's child restarts, which is what 503 means);
 * - `GET /version` → Keel's version, as text;
 * - `POST /invocations` → `{"predictions": …}` (see {@link toPredictions}). The body is read with
 *   {@link readScoringBody} and decoded with {@link decodeScoringBody} (`dataframe_split`,
 *   `dataframe_records`, `instances`, `inputs`, plus `params`; or CSV), then scored through the
 *   micro-batcher.
 *
 * Status codes: 400 BAD_REQUEST / INVALID_PARAMETER_VALUE for a malformed body or an input that does not
 * fit the signature; 413 past the body limit; 415 (text/plain, MLflow's messages) for an unsupported
 * content type (see {@link scoringContentType}); 503 TEMPORARILY_UNAVAILABLE with `Retry-After` when
 * the batcher's queue is full; 500 INTERNAL_ERROR when the model fails.
 */
export function mlflowScoringRoutes(
  scope: FastifyInstance,
  options: MlflowScoringRoutesOptions,
  done: (error?: Error) => void,
): void {
  const { served } = options;
  const route = { config: { protocol: 'mlflow' } satisfies ServingRouteConfig };
  acceptTextBodies(scope, served.bodyLimit);

  for (const url of ['/ping', '/health']) {
    scope.get(url, route, async (_request, reply) =>
      reply
        .status(served.isReady() ? 200 : 503)
        .type('application/json')
        .send('\n'),
    );
  }
  scope.get('/input-example', route, async (_request, reply) => {
    const example = served.model.metadata.servingInputExample;
    if (example === undefined) {
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `Model '${served.name}' was logged without an input example`,
      );
    }
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(example));
  });
  scope.get('/version', route, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send(KEEL_VERSION),
  );

  scope.post('/invocations', route, async (request, reply) => {
    const contentType = scoringContentType(request.headers['content-type']);
    if (contentType.kind === 'unsupported') {
      return reply.status(415).type('text/plain; charset=utf-8').send(contentType.message);
    }
    const body = readScoringBody(contentType.kind, bodyText(request.body));
    const { input, params } = decodeScoringBody(contentType.kind, body, served.model);
    const output = await served.predict(input, params);
    return reply
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ predictions: toPredictions(output) }));
  });
  done();
}
