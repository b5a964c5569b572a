import type { PredictionRecord } from '@keel/core';
import { paginate } from './paginate.js';
import type { KeelRestClient } from './rest-client.js';

/** Where Keel mounts its prediction-record API, below the tracking URI. */
export const PREDICTIONS_API_PREFIX = '/api/2.0/keel/predictions';

/** Filters of a prediction search or export; all optional, combined with AND. */
export interface PredictionFilterOptions {
  deployment?: string;
  modelName?: string;
  /** A version number; give `modelName` too unless every model's version N is meant. */
  modelVersion?: string | number;
  /** The user or API key id that made the call. */
  caller?: string;
  /** HTTP status answered, e.g. 200 or 503. */
  status?: number;
  /** Earliest time received, epoch ms, inclusive. */
  from?: number;
  /** Latest time received, epoch ms, inclusive. */
  to?: number;
}

/** Options of {@link PredictionsClient.search}. */
export interface SearchPredictionsOptions extends PredictionFilterOptions {
  /** Page size, 1 to 1000. @default 100 */
  maxResults?: number;
  pageToken?: string;
}

/** Options of {@link PredictionsClient.export}. */
export interface ExportPredictionsOptions extends PredictionFilterOptions {
  /** @default 'jsonl' */
  format?: 'jsonl' | 'csv';
  /** Stop after this many records. @default every match */
  maxResults?: number;
}

/** One page of {@link PredictionsClient.search}. */
export interface PredictionsPage {
  predictions: PredictionRecord[];
  nextPageToken?: string;
}

/**
 * Keel's prediction records — one per answered deployment call, with who called which model
 * version, when, with what and what came back — through `/api/2.0/keel/predictions`. Reached as
 * `client.predictions`; errors are the SDK's typed errors.
 *
 * @example
 * const keel = new KeelClient();
 * const { predictions } = await keel.predictions.search({ deployment: 'fraud', status: 200, maxResults: 20 });
 * await keel.predictions.feedback(predictions[0].request_id, { fraud: false });
 * for await (const chunk of keel.predictions.export({ format: 'csv', from: Date.now() - 86_400_000 })) out.write(chunk);
 */
export class PredictionsClient {
  private readonly rest: KeelRestClient;

  /** Use `KeelClient.predictions`; this shares the client's HTTP settings. */
  constructor(rest: KeelRestClient) {
    this.rest = rest;
  }

  /**
   * One page of records matching the filters, newest first.
   * @example const { predictions, nextPageToken } = await keel.predictions.search({ caller: 'alice' });
   */
  async search(options: SearchPredictionsOptions = {}): Promise<PredictionsPage> {
    const url = this.urlOf('', {
      ...filterQuery(options),
      max_results: options.maxResults,
      page_token: options.pageToken,
    });
    const { response, done } = await this.rest.request({ method: 'GET', url });
    let page: { predictions?: PredictionRecord[]; next_page_token?: string };
    try {
      page = (await response.json()) as typeof page;
    } finally {
      done();
    }
    return {
      predictions: page.predictions ?? [],
      ...(page.next_page_token ? { nextPageToken: page.next_page_token } : {}),
    };
  }

  /**
   * Every matching record, newest first, fetching page after page as the loop goes.
   * @example for await (const p of keel.predictions.iterate({ deployment: 'fraud' })) console.log(p.request_id);
   */
  iterate(options: Omit<SearchPredictionsOptions, 'pageToken'> = {}): AsyncGenerator<PredictionRecord> {
    return paginate(async (pageToken) => {
      const page = await this.search({ ...options, ...(pageToken === undefined ? {} : { pageToken }) });
      return { items: page.predictions, nextPageToken: page.nextPageToken };
    });
  }

  /**
   * The server's export as it streams: text chunks whose concatenation is the whole file —
   * JSON lines (one {@link PredictionRecord} per line) or CSV with a header line. Nothing is
   * held in memory beyond one chunk.
   *
   * @example
   * const out = createWriteStream('predictions.csv');
   * for await (const chunk of keel.predictions.export({ format: 'csv', deployment: 'fraud' })) out.write(chunk);
   */
  async *export(options: ExportPredictionsOptions = {}): AsyncGenerator<string> {
    const url = this.urlOf('/export', {
      ...filterQuery(options),
      format: options.format,
      max_results: options.maxResults,
    });
    const { response, touch, done } = await this.rest.request({ method: 'GET', url });
    try {
      if (response.body === null) return;
      const decoder = new TextDecoder();
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        const text = decoder.decode(bytes, { stream: true });
        if (text !== '') yield text;
      }
      const rest = decoder.decode();
      if (rest !== '') yield rest;
    } finally {
      done();
    }
  }

  /**
   * Sends the ground truth for a request (any JSON value); it labels the request's records (the
   * call and its shadow). A second label replaces the first. Throws `NotFoundError` for a
   * request id with no record.
   * @example await keel.predictions.feedback('9b2f…', { fraud: true });
   */
  async feedback(requestId: string, label: unknown): Promise<void> {
    const body = JSON.stringify({ request_id: requestId, label });
    const { response, done } = await this.rest.request({
      method: 'POST',
      url: this.urlOf('/feedback', {}),
      headers: { 'content-type': 'application/json' },
      body: () => body,
    });
    try {
      await response.arrayBuffer();
    } finally {
      done();
    }
  }

  private urlOf(path: string, query: Record<string, string | number | undefined>): string {
    const url = new URL(
      `${this.rest.options.trackingUri.replace(/\/+$/, '')}${PREDICTIONS_API_PREFIX}${path}`,
    );
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.href;
  }
}

function filterQuery(options: PredictionFilterOptions): Record<string, string | number | undefined> {
  return {
    deployment: options.deployment,
    model_name: options.modelName,
    model_version: options.modelVersion === undefined ? undefined : String(options.modelVersion),
    caller: options.caller,
    status: options.status,
    from: options.from,
    to: options.to,
  };
}
