// The limit the serving benchmark measures Keel against: the least a Node server can do to put an ONNX
// model behind HTTP. One Fastify route parses `{"inputs": [[...], ...]}`, runs one onnxruntime session
// (on the event loop, with the same session options Keel's workers use) and answers
// `{"predictions": [[...], ...]}`. No validation, batching, metrics or worker threads.
//
//   node bench/bare-onnx-server.mjs --model model.onnx --port 5002
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import ort from 'onnxruntime-node';

const { values: args } = parseArgs({
  options: { model: { type: 'string' }, port: { type: 'string', default: '5002' } },
});
const session = await ort.InferenceSession.create(args.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const [inputName] = session.inputNames;
const [outputName] = session.outputNames;

const app = Fastify({ logger: false });
app.get('/ping', async () => '\n');
app.post('/predict', async (request) => {
  const rows = request.body.inputs;
  const width = rows[0].length;
  const data = new Float32Array(rows.length * width);
  for (const [i, row] of rows.entries()) data.set(row, i * width);
  const out = (await session.run({ [inputName]: new ort.Tensor('float32', data, [rows.length, width]) }))[
    outputName
  ];
  const [n, k] = out.dims;
  const predictions = [];
  for (let i = 0; i < n; i++) predictions.push(Array.from(out.data.subarray(i * k, (i + 1) * k)));
  return { predictions };
});
await app.listen({ host: '127.0.0.1', port: Number(args.port) });
