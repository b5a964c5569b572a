import type { FastifyInstance } from 'fastify';

/** Requests one server process works on at once before it sheds load. @default 1024 */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

/**
 * The count of requests a process is working on, against its limit. Shared by the load-shedding
 * hook and whatever answers requests without Fastify's hooks (`deployments/routes/direct-calls.ts`),
 * so that one limit covers both.
 */
export class InFlightLimit {
  readonly max: number;
  #count = 0;
  /** Ends one request: a listener shared by every response (a closure each would be garbage each). */
  readonly leave = (): void => {
    this.#count--;
  };

  constructor(max: number = DEFAULT_MAX_IN_FLIGHT) {
    this.max = max;
  }

  /** Requests in flight now. */
  get count(): number {
    return this.#count;
  }

  /** Counts one more request unless the limit is reached; whether it did. Pair with {@link leave}. */
  tryEnter(): boolean {
    if (this.#count >= this.max) return false;
    this.#count++;
    return true;
  }
}

/**
 * Bounds the requests a process holds at once: past `maxInFlight`, a request is answered at once
 * with 503 TEMPORARILY_UNAVAILABLE and `Retry-After: 1` (MLflow's clients retry 503 with backoff)
 * instead of queueing without limit and growing memory. `GET /health` is never shed, so a load
 * balancer does not take a busy but healthy replica out of rotation. Returns the limit, for
 * requests answered outside Fastify's hooks to count against.
 */
export function installLoadShedding(
  app: FastifyInstance,
  maxInFlight = DEFAULT_MAX_IN_FLIGHT,
): InFlightLimit {
  const limit = new InFlightLimit(maxInFlight);
  // A callback hook, not an async one: it runs for every request, and an async hook costs each a
  // promise and a microtask hop.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url === '/health') {
      done();
      return;
    }
    if (!limit.tryEnter()) {
      reply
        .status(503)
        .header('retry-after', '1')
        .send({
          error_code: 'TEMPORARILY_UNAVAILABLE',
          message: `Server busy: ${limit.count} requests in flight (limit ${limit.max}); retry shortly`,
        });
      return;
    }
    // 'close' fires once per response, whether it finished or the client went away mid-request.
    reply.raw.on('close', limit.leave);
    done();
  });
  return limit;
}
