// A `keel-jsonl/1` model process for tests: doubles column `x`, and misbehaves on request.
// Startup is chosen by KEEL_TEST_MODE (normal, exit-at-start, never-ready, chatty, stubborn);
// KEEL_TEST_CRASH_IF_EXISTS=<file> makes it exit at start while that file exists, and
// KEEL_TEST_HANG_IF_EXISTS=<file> never print its ready line while that file exists. Each request's
// `params.action` picks a reply: fail, garbage, bad-output, wrong-id, exit, tensors (default: doubled
// columns); `params.sleepMs` delays the reply.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const mode = process.env.KEEL_TEST_MODE ?? 'normal';
const marker = process.env.KEEL_TEST_CRASH_IF_EXISTS;
const hangMarker = process.env.KEEL_TEST_HANG_IF_EXISTS;
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

if (marker && existsSync(marker)) {
  console.error('refusing to start: marker file present');
  process.exit(2);
}
const hang = hangMarker && existsSync(hangMarker);
switch (hang ? 'never-ready' : mode) {
  case 'exit-at-start':
    console.error('cannot load the model');
    process.exit(3);
    break;
  case 'never-ready':
    console.error('loading forever');
    setInterval(() => undefined, 1000);
    break;
  case 'chatty':
    console.log('hello from a library');
    break;
  case 'stubborn':
    // Ignores both the end of stdin and SIGTERM: only SIGKILL ends it.
    process.on('SIGTERM', () => console.error('ignoring SIGTERM'));
    setInterval(() => undefined, 1000);
    send({ ready: true });
    break;
  default:
    console.error('model loaded');
    send({ ready: true });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, input, params = {} } = JSON.parse(line);
  const answer = () => {
    switch (params.action) {
      case 'fail':
        return send({ id, error: { message: params.message ?? 'bad input' } });
      case 'garbage':
        return process.stdout.write('this is not json\n');
      case 'bad-output':
        return send({ id, output: 'nope' });
      case 'wrong-id':
        return send({ id: id + 1000, output: [1] });
      case 'exit':
        console.error('fatal: exiting on request');
        return process.exit(params.code ?? 7);
      case 'tensors':
        return send({
          id,
          output: { kind: 'tensors', tensors: { y: { data: [1, 2, 3, 4], shape: [2, 2] } } },
        });
      default:
        return send({ id, output: { doubled: input.columns.x.map((v) => v * 2) } });
    }
  };
  if (params.sleepMs) setTimeout(answer, params.sleepMs);
  else answer();
});
