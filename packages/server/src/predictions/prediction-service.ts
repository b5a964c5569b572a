import { invalidParameter, notFound, type PredictionRecord } from '@keel/core';
import type { Actor } from '../changes/change.js';
import { type Clock, systemClock } from '../services/clock.js';
import { canonicalPayloadJson } from './prediction-record.js';
import type { PredictionCursor, PredictionFilter, PredictionStore } from './prediction-store.js';
import { csvLine, csvLineOf, PREDICTION_CSV_COLUMNS, toWirePrediction } from './prediction-wire.js';

/** Largest page of {@link PredictionService.search}. */
export const MAX_PREDICTION_PAGE = 1000;
/** @default page size of {@link PredictionService.search} */
export const DEFAULT_PREDICTION_PAGE = 100;
/** Longest label accepted, in characters of its JSON. */
export const MAX_LABEL_CHARS = 1024 * 1024;

/** A search: filters plus paging. */
export interface PredictionSearchQuery extends PredictionFilter {
  /** 1 to {@link MAX_PREDICTION_PAGE}. @default 100 */
  maxResults?: number;
  pageToken?: string;
}

/** Formats of {@link PredictionService.exportLines}. */
export type PredictionExportFormat = 'jsonl' | 'csv';

/** An export: filters, format, and an optional cap on the number of records. */
export interface PredictionExportQuery extends PredictionFilter {
  format: PredictionExportFormat;
  /** Stop after this many records. @default every matching record */
  maxResults?: number;
}

/** Collaborators of {@link PredictionService}. */
export interface PredictionServiceOptions {
  store: PredictionStore;
  /** Source of label timestamps. @default systemClock */
  clock?: Clock;
  /**
   * The recorder of this process: feedback for a request id not found yet waits (briefly) for
   * the recorder's buffer to reach the store, so a label sent right after the answer finds it.
   */
  recorder?: { flush(): Promise<void> };
  /** Rows read per query while exporting. @default 1000 */
  exportPageSize?: number;
  /** Longest wait for the recorder before feedback answers 404. @default 2000 */
  feedbackFlushTimeoutMs?: number;
}

/**
 * Reads and labels prediction records: searches newest first with keyset page tokens (stable
 * while records keep arriving), streamed exports as JSON lines or CSV, ground-truth feedback by
 * request id, and per-version counts for the lineage graph.
 *
 * @example
 * const predictions = new PredictionService({ store: new PredictionStore(connection) });
 * const { records, nextPageToken } = await predictions.search({ deployment: 'fraud', maxResults: 50 });
 * await predictions.feedback(actor, { requestId: records[0].request_id, label: { fraud: true } });
 */
export class PredictionService {
  readonly #store: PredictionStore;
  readonly #clock: Clock;
  readonly #recorder: { flush(): Promise<void> } | undefined;
  readonly #exportPageSize: number;
  readonly #feedbackFlushTimeoutMs: number;

  constructor(options: PredictionServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#recorder = options.recorder;
    this.#exportPageSize = options.exportPageSize ?? 1000;
    this.#feedbackFlushTimeoutMs = options.feedbackFlushTimeoutMs ?? 2000;
  }

  /**
   * One page of records matching every given filter, newest first.
   *
   * @example
   * const page = await predictions.search({ modelName: 'fraud', modelVersion: '7', status: 200, from: Date.now() - 3_600_000 });
   */
  async search(
    query: PredictionSearchQuery,
  ): Promise<{ records: PredictionRecord[]; nextPageToken?: string }> {
    const maxResults = query.maxResults ?? DEFAULT_PREDICTION_PAGE;
    if (!Number.isSafeInteger(maxResults) || maxResults < 1 || maxResults > MAX_PREDICTION_PAGE) {
      throw invalidParameter(
        `Invalid value ${maxResults} for parameter 'max_results': it must be between 1 and ${MAX_PREDICTION_PAGE}`,
      );
    }
    const filter = checkedFilter(query);
    const rows = await this.#store.search(filter, decodePredictionPageToken(query.pageToken), maxResults + 1);
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    return {
      records: page.map(toWirePrediction),
      ...(rows.length > maxResults && last
        ? {
            nextPageToken: encodePredictionPageToken({
              receivedAt: last.received_at,
              recordId: last.record_id,
            }),
          }
        : {}),
    };
  }

  /**
   * Every matching record, newest first, as lines of JSON (one {@link PredictionRecord} per
   * line) or CSV (a header line first, columns {@link PREDICTION_CSV_COLUMNS}). The filters are
   * checked and the first page is read before this resolves, so a bad request or an unreachable
   * store is an error here rather than a broken stream; later pages are read as the iterator is
   * consumed, one page in memory at a time.
   *
   * @example
   * for await (const line of await predictions.exportLines({ format: 'csv', deployment: 'fraud' })) out.write(line);
   */
  async exportLines(query: PredictionExportQuery): Promise<AsyncIterable<string>> {
    if (query.format !== 'jsonl' && query.format !== 'csv') {
      throw invalidParameter(
        `Invalid value '${String(query.format)}' for parameter 'format': expected jsonl or csv`,
      );
    }
    const limit = query.maxResults ?? Number.POSITIVE_INFINITY;
    if (query.maxResults !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw invalidParameter(
        `Invalid value ${limit} for parameter 'max_results': it must be a positive integer`,
      );
    }
    const filter = checkedFilter(query);
    const pageSize = this.#exportPageSize;
    const store = this.#store;
    const first = await store.search(filter, undefined, Math.min(pageSize, limit));
    const format = query.format;
    return (async function* lines() {
      if (format === 'csv') yield csvLine(PREDICTION_CSV_COLUMNS);
      let rows = first;
      let sent = 0;
      for (;;) {
        for (const row of rows) {
          yield format === 'csv' ? csvLineOf(row) : `${JSON.stringify(toWirePrediction(row))}\n`;
        }
        sent += rows.length;
        const last = rows[rows.length - 1];
        if (last === undefined || rows.length < pageSize || sent >= limit) return;
        rows = await store.search(
          filter,
          { receivedAt: last.received_at, recordId: last.record_id },
          Math.min(pageSize, limit - sent),
        );
      }
    })();
  }

  /**
   * Sets the ground-truth label of every record of a request id (a call and its shadow call),
   * with the time and who sent it. Sending another label overwrites it, and its time. A request
   * id not stored yet is looked up again once this process's recorder has written its buffer.
   *
   * @example
   * await predictions.feedback(actor, { requestId: 'c0ffee…', label: 1 });
   */
  async feedback(actor: Actor, input: { requestId: string; label: unknown }): Promise<void> {
    if (typeof input.requestId !== 'string' || input.requestId === '') {
      throw invalidParameter("Missing value for required parameter 'request_id'");
    }
    if (input.label === undefined || input.label === null) {
      throw invalidParameter("Missing value for required parameter 'label'");
    }
    const label = canonicalPayloadJson(input.label);
    if (label.length > MAX_LABEL_CHARS) {
      throw invalidParameter(
        `Invalid value for parameter 'label': its JSON is ${label.length} characters, more than ${MAX_LABEL_CHARS}`,
      );
    }
    const set = () => this.#store.setLabel(input.requestId, label, this.#clock(), actor.user);
    if ((await set()) > 0) return;
    if ((await this.#flushRecorder()) && (await set()) > 0) return;
    throw notFound(`No prediction with request id '${input.requestId}'`);
  }

  /**
   * How many records each deployment holds for one model version (shadow calls included).
   *
   * @example
   * await predictions.countsByModelVersion('fraud', '7'); // [{ deployment: 'fraud-api', count: 1204 }]
   */
  countsByModelVersion(name: string, version: string): Promise<{ deployment: string; count: number }[]> {
    return this.#store.countsByModelVersion(name, version);
  }

  /** Waits for the recorder's flush, at most `feedbackFlushTimeoutMs`; whether it finished. */
  async #flushRecorder(): Promise<boolean> {
    const recorder = this.#recorder;
    if (recorder === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#feedbackFlushTimeoutMs);
    });
    try {
      return await Promise.race([recorder.flush().then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Checks the filters shared by search and export. */
function checkedFilter(query: PredictionFilter): PredictionFilter {
  const filter: PredictionFilter = {};
  for (const key of ['deployment', 'modelName', 'modelVersion', 'caller'] as const) {
    const value = query[key];
    if (value !== undefined) filter[key] = value;
  }
  for (const key of ['status', 'from', 'to'] as const) {
    const value = query[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value))
      throw invalidParameter(`Invalid value ${value} for parameter '${key}': expected an integer`);
    filter[key] = value;
  }
  return filter;
}

/** Keyset tokens: base64url of `{"t": received_at, "r": record_id}` of the last record of the page. */
export function encodePredictionPageToken(cursor: PredictionCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.receivedAt, r: cursor.recordId })).toString('base64url');
}

/** Decodes a token from {@link encodePredictionPageToken}; absent or empty is the first page. */
export function decodePredictionPageToken(token: string | undefined): PredictionCursor | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      t?: unknown;
      r?: unknown;
    };
    if (typeof parsed.t === 'number' && Number.isSafeInteger(parsed.t) && typeof parsed.r === 'string') {
      return { receivedAt: parsed.t, recordId: parsed.r };
    }
  } catch {
    // fall through to the error below
  }
  throw invalidParameter(`Invalid page_token '${token.slice(0, 100)}'`);
}
