import { Command } from 'commander';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';

/**
 * `keel predictions feedback <request-id> <label>`: sends the ground truth of a call. The label
 * is read as JSON (`1`, `true`, `{"fraud":true}`); text that is not JSON is sent as a string. A
 * second label replaces the first.
 *
 * @example
 * keel predictions feedback 7c9e6679-7425-40de-944b-e07fc1f90ae7 '{"fraud": true}'
 * keel predictions feedback req-42 spam
 */
export function predictionsFeedbackCommand(io: CliIo): Command {
  return withTrackingUri(new Command('feedback'))
    .description("Set the ground-truth label of a call's prediction records")
    .argument('<request-id>', 'the x-request-id of the call')
    .argument('<label>', 'the label, as JSON (a number, true/false, an object…) or plain text')
    .action(async (requestId: string, text: string, flags: TrackingFlags) => {
      const label = labelOf(text);
      await trackingClient(flags).predictions.feedback(requestId, label);
      io.stdout.write(`Labelled ${requestId}: ${JSON.stringify(label)}\n`);
    });
}

/** JSON when it parses, else the text itself. */
export function labelOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
