/**
 * The first prediction of a freshly loaded model, made before any caller's: it pays for lazy
 * initialization (onnxruntime's first run, a JS module's caches) and proves the model answers.
 */
import { decodeScoringRequest, enforceSignature, KeelError } from '@keel/core';
import type { Model } from '../../models/model.js';
import { enforceParams } from '../../serving/inference-params.js';

/**
 * Scores the model's serving input example (`model.metadata.servingInputExample`, a body of MLflow's
 * scoring protocol) once, checked against its signature as `/invocations` would check it. Does
 * nothing when the model has no example. Returns whether a prediction was made.
 *
 * @throws a `KeelError` naming the model when the example cannot be decoded or scored (the code of
 *   the underlying error, INTERNAL_ERROR for a non-Keel one): a model that cannot answer its own
 *   example is not put in front of callers.
 *
 * @example
 * const model = await loadModelFromDirectory(dir);
 * await warmUpModel(model); // true when the example was scored
 */
export async function warmUpModel(model: Model): Promise<boolean> {
  const example = model.metadata.servingInputExample;
  if (example === undefined) return false;
  try {
    const { input, params } = decodeScoringRequest(example);
    const { signature } = model;
    await model.predict(
      signature ? enforceSignature(input, signature) : input,
      enforceParams(params, signature?.params),
    );
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new KeelError(
      error instanceof KeelError ? error.code : 'INTERNAL_ERROR',
      `Model '${model.metadata.name}' failed its warm-up prediction on its serving input example: ${message}`,
      { cause: error },
    );
  }
}
