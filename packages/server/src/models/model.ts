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

/** Who a model is: its name, the flavor that loaded it and the parsed `MLmodel`. */
export interface ModelMetadata {
  /** Name used in protocol paths, e.g. the model directory's name. */
  name: string;
  /** The flavor that loaded the model (`onnx`, …). */
  flavor: string;
  mlmodel: MLmodel;
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
  /**
   * Scores one input (already checked with `enforceSignature`). Rejects with a `KeelError` for an input
   * the model cannot take and for a runtime failure.
   */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput>;
  /** Releases the model's resources (sessions, workers, child processes); `predict` rejects afterwards. */
  close(): Promise<void>;
}
