import type { TrainIrisResult } from './train.js';

/**
 * The closing lines both entry points print: the run, its accuracy, its artifacts, the logged model
 * and its registered version, and the URL of its record in Keel's REST API.
 */
export function runSummary(trackingUri: string, result: TrainIrisResult): string {
  const base = trackingUri.replace(/\/+$/, '');
  return [
    '',
    `Run:            ${result.runId}`,
    `Experiment:     ${result.experimentId}`,
    `Test accuracy:  ${result.testAccuracy.toFixed(4)}`,
    `Train accuracy: ${result.trainAccuracy.toFixed(4)}`,
    `Artifacts:      ${result.artifacts.join(', ')}`,
    `Model:          ${result.modelUri}`,
    `Registered:     ${result.registeredModelUri}`,
    `Record:         ${base}/api/2.0/mlflow/runs/get?run_id=${result.runId}`,
    '',
  ].join('\n');
}
