/**
 * The two wire protocols of a deployment call, built from the model server's own decoding and
 * encoding (`serving/mlflow-scoring.ts`, `serving/open-inference.ts`): the same request gets the same
 * answer from a deployment arm as from `keel models serve` serving that model.
 */
import type { Model } from '../../models/model.js';
import {
  decodeScoringBody,
  readScoringBody,
  scoringContentType,
  toPredictions,
} from '../../serving/mlflow-scoring.js';
import {
  encodeInferResponse,
  type InferModelInfo,
  inferModelInfo,
  prepareInfer,
  readInferBody,
} from '../../serving/open-inference.js';
import type { CallBody, CallProtocol } from './deployment-call.js';

/**
 * An MLflow scoring body whose content type MLflow refuses: answered 415 in plain text (as
 * `/invocations` does), not in the JSON error shape.
 */
export class UnsupportedMediaTypeError extends Error {
  override readonly name = 'UnsupportedMediaTypeError';
  readonly statusCode = 415;
}

/** A scoring body read by its content type. */
export interface ScoringBody {
  kind: 'json' | 'csv';
  /** The body as received. */
  text: string;
  /** The parsed JSON value, or the CSV text. */
  value: unknown;
}

/** An Open Inference Protocol request body: as received, and parsed. */
export interface InferBody {
  text: string;
  value: unknown;
}

/**
 * MLflow's scoring protocol (`POST /deployments/{name}/invocations`): JSON or CSV by `Content-Type`
 * with `/invocations`' rules (see `scoringContentType`), decoded for each arm's model by its
 * signature, answered `{"predictions": …}`.
 */
export const MLFLOW_CALL: CallProtocol<ScoringBody> = {
  name: 'mlflow',
  read(call: CallBody): ScoringBody {
    const contentType = scoringContentType(call.headers['content-type']);
    if (contentType.kind === 'unsupported') throw new UnsupportedMediaTypeError(contentType.message);
    const text = call.body;
    return { kind: contentType.kind, text, value: readScoringBody(contentType.kind, text) };
  },
  // A JSON body is kept as sent (NaN and Infinity tokens included); CSV as a JSON string.
  recordedInputJson: (body) => (body.kind === 'json' ? body.text : JSON.stringify(body.text)),
  async score(body, arm) {
    const { input, params } = decodeScoringBody(body.kind, body.value, arm.model);
    const output = await arm.predict(input, params);
    return { predictions: toPredictions(output) };
  },
};

/**
 * The Open Inference Protocol's `infer` for deployments: `model_name` is the deployment's name,
 * `model_version` the version of the arm that answered. `infos` caches each model's tensor metadata.
 */
export function openInferenceCall(infos: ModelInfos = new ModelInfos()): CallProtocol<InferBody> {
  return {
    name: 'v2',
    read(call) {
      return { text: call.body, value: readInferBody(call.body, call.headers) };
    },
    recordedInputJson: (body) => body.text,
    async score(body, arm, lease) {
      const info = infos.of(arm.model);
      const { decoded, input, params } = prepareInfer(body.value, info);
      const output = await arm.predict(input, params);
      return encodeInferResponse(output, decoded, {
        name: lease.deployment,
        version: arm.modelVersion,
        declared: info.tensors.outputs,
      });
    },
  };
}

/** {@link InferModelInfo} computed once per loaded model (models are shared and long-lived). */
export class ModelInfos {
  readonly #infos = new WeakMap<Model, InferModelInfo>();

  of(model: Model): InferModelInfo {
    let info = this.#infos.get(model);
    if (info === undefined) {
      info = inferModelInfo(model);
      this.#infos.set(model, info);
    }
    return info;
  }
}
