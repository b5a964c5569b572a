/**
 * Fastify's per-request logger, made only when a request logs something.
 *
 * Fastify gives every request a child of the app's logger (`request.log`, bound to the request id).
 * A pino child costs an object, a copy of the bindings and their serialisation; a server answering
 * thousands of prediction calls a second, which log nothing at the usual levels, pays that for
 * every call. {@link lazyChildLoggerFactory} hands Fastify a stand-in that answers "is this level
 * on?" from the parent and makes the real child on the first line actually written.
 */
import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Write = (...args: unknown[]) => void;

/** pino's level numbers, for a child created with a level of its own. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  fatal: 60,
  error: 50,
  warn: 40,
  info: 30,
  debug: 20,
  trace: 10,
  silent: Number.POSITIVE_INFINITY,
};

interface ParentLogger extends FastifyBaseLogger {
  isLevelEnabled?(level: string): boolean;
}

class LazyChildLogger {
  readonly #parent: ParentLogger;
  readonly #bindings: Record<string, unknown>;
  readonly #options: { level?: string };
  #child: FastifyBaseLogger | undefined;

  constructor(parent: ParentLogger, bindings: Record<string, unknown>, options: { level?: string }) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get level(): string {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#write('error', args);
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }

  info(...args: unknown[]): void {
    this.#write('info', args);
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }

  silent(): void {}

  isLevelEnabled(level: string): boolean {
    if (this.#child !== undefined) return (this.#child as ParentLogger).isLevelEnabled?.(level) ?? true;
    const own = this.#options.level;
    if (own !== undefined) return (LEVEL_VALUES[level] ?? 0) >= (LEVEL_VALUES[own] ?? 0);
    return this.#parent.isLevelEnabled?.(level) ?? true;
  }

  child(bindings: Record<string, unknown>, options?: { level?: string }): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }

  #write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#real()[level] as Write)(...args);
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }
}

/**
 * A `childLoggerFactory` for Fastify: the request's logger is made when it first writes a line at
 * an enabled level, with the same bindings and options Fastify would have given it.
 *
 * @example
 * const app = Fastify({ logger: { level: 'warn' } });
 * app.setChildLoggerFactory(lazyChildLoggerFactory);
 */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  options: { level?: string },
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
