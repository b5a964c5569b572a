#!/usr/bin/env node
// Trains the iris example against a running Keel server:
//   KEEL_TRACKING_URI=http://127.0.0.1:5000 npm run -w @keel/example-iris train -- --epochs 300
import { parseArgs } from 'node:util';
import { resolveTrackingUri } from '@keel/sdk';
import { runSummary } from './summary.js';
import { type TrainIrisOptions, trainIris } from './train.js';

try {
  const { values } = parseArgs({
    options: {
      'tracking-uri': { type: 'string' },
      experiment: { type: 'string' },
      'run-name': { type: 'string' },
      lr: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const trackingUri = resolveTrackingUri(values['tracking-uri']);
  const options: TrainIrisOptions = { trackingUri, log: (line) => process.stdout.write(`${line}\n`) };
  if (values.experiment !== undefined) options.experiment = values.experiment;
  if (values['run-name'] !== undefined) options.runName = values['run-name'];
  if (values.lr !== undefined) options.learningRate = numberFlag('lr', values.lr);
  if (values.epochs !== undefined) options.epochs = numberFlag('epochs', values.epochs);
  if (values.seed !== undefined) options.seed = numberFlag('seed', values.seed);
  process.stdout.write(runSummary(trackingUri, await trainIris(options)));
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

function numberFlag(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`--${name} '${text}' is not a number`);
  return value;
}
