/**
 * The one interface every model flavor implements (issue 5, "Model format"): the serving layer calls
 * `predict()` without knowing whether an ONNX session, a JS module or a child process answers.
 */
import type { MLmodel, ModelInput, Signature } from '@keel/core';

/** A tensor in a model's output: values flattened in row-major order, plus the shape. */
export interface OutputTensor {
  data: number[];
  shape: number[];
}

/**
 * What a model returns: named tensors (ONNX outputs) or named columns of equal length.
 * @example { kind: 'tensors', tensors: { output: { data: [0.2, 0.8], shape: [1, 2] } } }
 */
export type ModelOutput =
  | { kind: 'tensors'; tensors: Record<string, OutputTensor> }
  | { kind: 'columns'; columns: Record<string, unknown[]>; rowCount: number };

/**
 * One input or output as the model's runtime declares it (an ONNX graph's value info), for protocol
 * metadata such as the Open Inference Protocol's model metadata.
 * @example { name: 'input', type: 'float32', shape: [-1, 30] }
 */
export interface ModelValueInfo {
  name: string;
  /** Element type in onnxruntime's spelling (`float32`, `int64`, `bool`, `string`, …); `undefined` when unknown. */
  type: string | undefined;
  /** Dimensions, `-1` for a variable one; `undefined` when the rank is unknown. */
  shape: number[] | undefined;
}

/** The inputs and outputs a model's runtime declares. */
export interface ModelIo {
  inputs: readonly ModelValueInfo[];
  outputs: readonly ModelValueInfo[];
}

/** Who a model is: its name, the flavor that loaded it and the parsed `MLmodel`. */
export interface ModelMetadata {
  /** Name used in protocol paths, e.g. the model directory's name. */
  name: string;
  /** The flavor that loaded the model (`onnx`, …). */
  flavor: string;
  mlmodel: MLmodel;
  /**
   * The model's stored serving input example (`serving_input_example.json`, a body ready to POST to
   * `/invocations`), when it has one.
   */
  servingInputExample?: unknown;
}

/**
 * A loaded model, ready to score.
 *
 * @example
 * const model = await loadModelFromDirectory('./model');
 * const output = await model.predict(enforceSignature(input, model.signature ?? {}));
 * await model.close();
 */
export interface Model {
  readonly metadata: ModelMetadata;
  /** The signature from `MLmodel`, `undefined` when the model was logged without one. */
  readonly signature: Signature | undefined;
  /** Inputs and outputs as the runtime declares them, when it does (the onnx flavor's graph). */
  readonly io?: ModelIo;
  /** Calls the model can run at once (its worker threads), when fixed; servers size their concurrency by it. */
  readonly workerCount?: number;
  /**
   * Whether the model can take a request now: `false` while a crashed worker or child process waits
   * for its restart (predict then rejects with TEMPORARILY_UNAVAILABLE). A model without the property
   * is ready once loaded.
   */
  readonly ready?: boolean;
  /**
   * Scores one input (already checked with `enforceSignature`). Rejects with a `KeelError` for an input
   * the model cannot take and for a runtime failure.
   */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput>;
  /** Releases the model's resources (sessions, workers, child processes); `predict` rejects afterwards. */
  close(): Promise<void>;
}
