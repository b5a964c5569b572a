import type { FastifyInstance } from 'fastify';

/** Requests one server process works on at once before it sheds load. @default 1024 */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

/**
 * Bounds the requests a process holds at once: past `maxInFlight`, a request is answered at once
 * with 503 TEMPORARILY_UNAVAILABLE and `Retry-After: 1` (MLflow's clients retry 503 with backoff)
 * instead of queueing without limit and growing memory. `GET /health` is never shed, so a load
 * balancer does not take a busy but healthy replica out of rotation.
 */
export function installLoadShedding(app: FastifyInstance, maxInFlight = DEFAULT_MAX_IN_FLIGHT): void {
  let inFlight = 0;
  // One listener for every response (a closure per request would be garbage per request).
  const finished = (): void => {
    inFlight--;
  };
  // A callback hook, not an async one: it runs for every request, and an async hook costs each a
  // promise and a microtask hop.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url === '/health') {
      done();
      return;
    }
    if (inFlight >= maxInFlight) {
      reply
        .status(503)
        .header('retry-after', '1')
        .send({
          error_code: 'TEMPORARILY_UNAVAILABLE',
          message: `Server busy: ${inFlight} requests in flight (limit ${maxInFlight}); retry shortly`,
        });
      return;
    }
    inFlight++;
    // 'close' fires once per response, whether it finished or the client went away mid-request.
    reply.raw.on('close', finished);
    done();
  });
}
